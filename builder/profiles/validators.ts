/**
 * The two ajv validators of profiles/schema.json, and how they are made.
 *
 * Compiling them costs about 150 ms, half of a `labimg build`. So the bundle step writes them out as plain
 * JavaScript (ajv's standalone mode, scripts/generate-profile-validators.ts) and loading uses those, but
 * only when they were generated from the schema as it is now: each carries the schema's sha256, and a
 * mismatch (someone edited schema.json and ran the sources without rebuilding) falls back to compiling.
 */
import { createHash } from 'node:crypto';
import Ajv, { type ValidateFunction } from 'ajv';
import profileSchema from '../../profiles/schema.json';

export type JsonSchema = { [keyword: string]: unknown };

export interface ProfileValidators {
  /** Each file on its own: types, unknown fields, formats. */
  file: ValidateFunction;
  /** The merged profile: also the fields marked requiredAfterMerge. */
  merged: ValidateFunction;
}

export const PROFILE_SCHEMA: JsonSchema = profileSchema as JsonSchema;
export const PROFILE_SCHEMA_SHA256 = createHash('sha256').update(JSON.stringify(profileSchema)).digest('hex');

/** Copy of the schema in which `requiredAfterMerge` has become `required`. */
export function schemaForMergedProfile(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(schemaForMergedProfile);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: JsonSchema = {};
  for (const [keyword, value] of Object.entries(schema)) copy[keyword] = schemaForMergedProfile(value);
  const afterMerge = copy.requiredAfterMerge;
  if (Array.isArray(afterMerge)) {
    const required = Array.isArray(copy.required) ? (copy.required as string[]) : [];
    copy.required = [...new Set([...required, ...(afterMerge as string[])])];
  }
  return copy;
}

export function newAjv(options: { emitSource?: boolean } = {}): Ajv {
  // verbose: errors carry the failing data and parent schema, which the messages quote.
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, code: { source: options.emitSource === true } });
  // Annotations only: they change no result. patternErrorMessage is also understood by VS Code.
  ajv.addKeyword({ keyword: 'requiredAfterMerge', schemaType: 'array' });
  ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' });
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

interface GeneratedValidator extends ValidateFunction {
  schemaSha256?: string;
}

/** The generated validators when they match the schema; undefined otherwise (then compile). */
function generatedValidators(): ProfileValidators | undefined {
  try {
    // Static paths, so the bundler inlines them; in the sources they exist only after a build.
    const file = require('./generated/file-validator.js') as GeneratedValidator;
    const merged = require('./generated/merged-validator.js') as GeneratedValidator;
    if (file.schemaSha256 === PROFILE_SCHEMA_SHA256 && merged.schemaSha256 === PROFILE_SCHEMA_SHA256) return { file, merged };
  } catch {
    // Not generated yet: fall through.
  }
  return undefined;
}

let validators: ProfileValidators | undefined;

export function profileValidators(): ProfileValidators {
  validators ??= generatedValidators() ?? compileProfileValidators();
  return validators;
}
