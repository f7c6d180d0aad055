/**
 * Compiles the profile schema's validators with ajv: what scripts/generate-profile-validators.ts writes out for
 * the bundle, and what the sources fall back to when those are missing or stale (validators.ts).
 */
import Ajv from 'ajv';
import { PROFILE_SCHEMA, type JsonSchema, type ProfileValidators } from './validators';

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
