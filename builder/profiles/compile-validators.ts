/**
 * Compiles the profile schema's validators with ajv: what scripts/generate-profile-validators.ts writes out for
 * the bundle, and what the sources fall back to when those are missing or stale (validators.ts).
 */
import Ajv from 'ajv';
import { PROFILE_SCHEMA, type JsonSchema, type ProfileValidators } from './validators';

/** Copy of the schema in which `requiredAfterMerge` has become `required`. */
export function withRequiredAfterMerge(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withRequiredAfterMerge);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: JsonSchema = {};
  for (const [keyword, value] of Object.entries(schema)) copy[keyword] = withRequiredAfterMerge(value);
  const afterMerge = copy.requiredAfterMerge;
  if (Array.isArray(afterMerge)) {
    const required = Array.isArray(copy.required) ? (copy.required as string[]) : [];
    copy.required = [...new Set([...required, ...(afterMerge as string[])])];
  }
  return copy;
}

/**
 * Keywords that can only ever fail with an error of their own: every one but `required` (and the `type` that
 * strict mode wants beside it). The merged profile's validator reports nothing but missing fields (each file was
 * checked whole before the merge, schema.ts validateMergedCompleteness), and the profile schema has no `not`,
 * `anyOf`, `oneOf` or `contains`, whose verdict another keyword could change; an `if` is kept whole, since it
 * decides which fields its `then` or `else` requires.
 */
const ASSERTIONS_BUT_REQUIRED = new Set([
  'additionalProperties', 'const', 'enum', 'format', 'maxItems', 'maxLength', 'maximum', 'minItems', 'minLength', 'minimum',
  'pattern', 'propertyNames', 'uniqueItems',
  // Annotations, which check nothing.
  '$comment', 'default', 'description', 'examples', 'patternErrorMessage', 'title', 'typeErrorMessage',
]);

/** Copy of the schema with only what decides whether a field is missing; a schema-valued additionalProperties stays. */
function requiredOnly(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(requiredOnly);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: JsonSchema = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (keyword === 'if') copy[keyword] = value;
    else if (keyword === 'properties' || keyword === 'definitions') copy[keyword] = Object.fromEntries(Object.entries(value as JsonSchema).map(([name, sub]) => [name, requiredOnly(sub)]));
    else if (keyword === 'additionalProperties' && typeof value === 'object') copy[keyword] = requiredOnly(value);
    else if (!ASSERTIONS_BUT_REQUIRED.has(keyword)) copy[keyword] = requiredOnly(value);
  }
  return copy;
}

/**
 * The schema the merged profile is checked against: requiredAfterMerge made required, every other check left
 * out. Half the size of the whole schema's validator (107 KB of generated code against 209 KB), which each command
 * that loads a profile reads and runs.
 */
export function schemaForMergedProfile(schema: unknown): unknown {
  return requiredOnly(withRequiredAfterMerge(schema));
}

export function newAjv(options: { emitSource?: boolean } = {}): Ajv {
  // verbose: errors carry the failing data and parent schema, which the messages quote.
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, code: { source: options.emitSource === true } });
  // Annotations only: they change no result. patternErrorMessage is also understood by VS Code.
  ajv.addKeyword({ keyword: 'requiredAfterMerge', schemaType: 'array' });
  ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' });
  // What a value of the wrong type should have been, where "expected a mapping of fields" would not say (schema.ts).
  ajv.addKeyword({ keyword: 'typeErrorMessage', schemaType: 'string' });
  return ajv;
}

export function compileProfileValidators(options: { emitSource?: boolean } = {}): ProfileValidators & { ajv: { file: Ajv; merged: Ajv } } {
  const ajv = { file: newAjv(options), merged: newAjv(options) };
  return {
    ajv,
    file: ajv.file.compile(PROFILE_SCHEMA),
    merged: ajv.merged.compile(schemaForMergedProfile(PROFILE_SCHEMA) as JsonSchema),
  };
}
