/**
 * Structural checks with the JSON Schema that ships in profiles/schema.json (the same file editors use).
 *
 * Two passes: every file on its own (types, unknown fields, formats), then the merged profile for the
 * fields it must have once its whole `extends` chain is laid together. The schema marks those with
 * `requiredAfterMerge`, a labimg keyword editors ignore (a single file may legitimately leave them to
 * its parent); the second validator is compiled from a copy where they become plain `required`.
 * ajv's errors are turned into findings that point at the file and line of the offending value.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { findingAt, type Finding, type PathSegment } from './findings';
import type { SourceNode } from './source';
import { didYouMean } from './suggest';
import { locate, locateKey, nodeAt, toPlain } from './tree';
import { profileValidators, type JsonSchema } from './validators';

/** A JSON pointer from ajv → path segments, list indexes as numbers (the tree tells which is which). */
function segmentsOf(root: SourceNode, pointer: string): PathSegment[] {
  if (pointer === '') return [];
  const segments: PathSegment[] = [];
  let node: SourceNode | undefined = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node?.kind === 'list') {
      const index = Number(key);
      segments.push(index);
      node = node.items[index];
    } else {
      segments.push(key);
      node = node?.kind === 'map' ? node.entries.get(key)?.node : undefined;
    }
  }
  return segments;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  null: 'nothing',
  object: 'a mapping of fields',
  array: 'a list',
};

function describeValue(value: unknown): string {
  if (value === null) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}

function expectedTypes(types: unknown): string {
  const list = (Array.isArray(types) ? types : [types]).map((type) => TYPE_NAMES[String(type)] ?? String(type));
  return list.length > 1 ? `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}` : (list[0] ?? 'a value');
}

function patternExpectation(error: ErrorObject): string {
  const explained = (error.parentSchema as JsonSchema | undefined)?.patternErrorMessage;
  return typeof explained === 'string' ? explained : `a value matching ${String(error.params.pattern)}`;
}

/** The indexes of two equal list items, in order. */
function duplicatePair(error: ErrorObject): [number, number] {
  const { i, j } = error.params as { i: number; j: number };
  return i < j ? [i, j] : [j, i];
}

/** What went wrong, in words; `node` is the offending value's node when it exists. */
function messageFor(error: ErrorObject, node: SourceNode | undefined): string {
  const data: unknown = error.data;
  switch (error.keyword) {
    case 'type': {
      const types = error.params.type;
      const wantsString = (Array.isArray(types) ? types : [types]).includes('string');
      // YAML turns 20.04 into a number and true into a boolean; quoting keeps the text as written.
      const hint = wantsString && node?.kind === 'scalar' && node.value !== null ? `; quote it: "${node.source}"` : '';
      const explained = (error.parentSchema as JsonSchema | undefined)?.typeErrorMessage;
      return `expected ${typeof explained === 'string' ? explained : expectedTypes(types)}, got ${describeValue(data)}${hint}`;
    }
    case 'enum': {
      const allowed = (error.params.allowedValues as unknown[]).map((value) => JSON.stringify(value));
      const suggestion = typeof data === 'string' ? didYouMean(data, (error.params.allowedValues as unknown[]).map(String)) : '';
      return `expected one of ${allowed.join(', ')}, got ${describeValue(data)}${suggestion}`;
    }
    case 'pattern':
      return `expected ${patternExpectation(error)}, got ${describeValue(data)}`;
    case 'minLength':
      return 'must not be empty';
    case 'maxLength':
      return `expected at most ${String(error.params.limit)} characters, got ${(data as string).length}`;
    case 'minItems':
      return `expected at least ${String(error.params.limit)} item(s), got ${(data as unknown[]).length}`;
    case 'uniqueItems': {
      const [first, second] = duplicatePair(error);
      return `${describeValue((data as unknown[])[first])} is listed twice (items ${first} and ${second})`;
    }
    case 'minimum':
    case 'maximum': {
      const schema = error.parentSchema as JsonSchema;
      return `expected a number from ${String(schema.minimum)} to ${String(schema.maximum)}, got ${describeValue(data)}`;
    }
    default:
      return `${error.message ?? 'is invalid'}, got ${describeValue(data)}`;
  }
}

function knownFields(error: ErrorObject): string[] {
  const properties = (error.parentSchema as JsonSchema | undefined)?.properties;
  return properties && typeof properties === 'object' ? Object.keys(properties) : [];
}

/** ajv reports a bad map key twice: the summary (`propertyNames`) and the failing rule with the name as data. */
function isPropertyNameDetail(error: ErrorObject, badNames: ReadonlySet<string>): boolean {
  return error.keyword !== 'propertyNames' && typeof error.data === 'string' && badNames.has(`${error.instancePath}\0${error.data}`);
}

/** `missingFieldsIn`: the tree whose locations a missing field is reported at (see validateMergedCompleteness). */
function toFindings(root: SourceNode, errors: readonly ErrorObject[], missingFieldsIn: SourceNode = root): Finding[] {
  const badNames = new Set(
    errors.filter((error) => error.keyword === 'propertyNames').map((error) => `${error.instancePath}\0${String(error.params.propertyName)}`),
  );
  const findings: Finding[] = [];
  for (const error of errors) {
    // "must match then/else schema" only repeats the branch's own errors, which are reported.
    if (error.keyword === 'if') continue;
    const segments = segmentsOf(root, error.instancePath);
    if (error.keyword === 'additionalProperties') {
      const field = String(error.params.additionalProperty);
      const fieldPath = [...segments, field];
      const known = knownFields(error);
      const hint = didYouMean(field, known) || `; expected one of: ${known.join(', ')}`;
      findings.push(findingAt(locateKey(root, fieldPath), fieldPath, `unknown field "${field}"${hint}`));
    } else if (error.keyword === 'required') {
      const field = String(error.params.missingProperty);
      findings.push(findingAt(locate(missingFieldsIn, segments), [...segments, field], 'is required but not set in this profile or any profile it extends'));
    } else if (error.keyword === 'propertyNames') {
      const name = String(error.params.propertyName);
      const details = errors.filter((detail) => isPropertyNameDetail(detail, badNames) && detail.instancePath === error.instancePath && detail.data === name);
      const expectation = details.map((detail) => (detail.keyword === 'pattern' ? patternExpectation(detail) : detail.message)).join('; ');
      const namePath = [...segments, name];
      findings.push(findingAt(locateKey(root, namePath), namePath, `invalid name "${name}": expected ${expectation || 'a valid name'}`));
    } else if (error.keyword === 'uniqueItems') {
      // Point at the repeat, not at the list.
      const repeat = [...segments, duplicatePair(error)[1]];
      findings.push(findingAt(locate(root, repeat), segments, messageFor(error, nodeAt(root, segments))));
    } else if (!isPropertyNameDetail(error, badNames)) {
      findings.push(findingAt(locate(root, segments), segments, messageFor(error, nodeAt(root, segments))));
    }
  }
  return findings;
}

/** What a JSON Schema validator found in any located YAML document (a profile, the PXE group file), as findings. */
export function schemaFindings(root: SourceNode, validate: ValidateFunction): Finding[] {
  return validate(toPlain(root)) ? [] : toFindings(root, validate.errors ?? []);
}

/** Structure of one file on its own: field names, types, formats. */
export function validateFileStructure(root: SourceNode): Finding[] {
  return schemaFindings(root, profileValidators().file);
}

/**
 * Fields still missing once the `extends` chain is merged (other problems were reported per file).
 * A missing field was written nowhere, so it is reported in `leaf`, the profile being built, at the
 * deepest enclosing map that file has: that is where it would be added.
 */
export function validateMergedCompleteness(merged: SourceNode, leaf: SourceNode): Finding[] {
  const validate = profileValidators().merged;
  if (validate(toPlain(merged))) return [];
  return toFindings(merged, (validate.errors ?? []).filter((error) => error.keyword === 'required'), leaf);
}
