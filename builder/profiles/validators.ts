/**
 * The two ajv validators of profiles/schema.json.
 *
 * Compiling them costs about 150 ms, half of a `labimg build`. So the bundle step writes them out as plain
 * JavaScript (ajv's standalone mode, scripts/generate-profile-validators.ts) and loading uses those, but
 * only when they were generated from the schema as it is now: each carries the schema's sha256, and a
 * mismatch (someone edited schema.json and ran the sources without rebuilding) falls back to compiling
 * (compile-validators.ts), which loads ajv's compiler only then.
 */
import { sha256Hex } from '../../contract/sha256';
import type { ValidateFunction } from 'ajv';
import profileSchema from '../../profiles/schema.json';

export type JsonSchema = { [keyword: string]: unknown };

export interface ProfileValidators {
  /** Each file on its own: types, unknown fields, formats. */
  file: ValidateFunction;
  /** The merged profile: also the fields marked requiredAfterMerge. */
  merged: ValidateFunction;
}

export const PROFILE_SCHEMA: JsonSchema = profileSchema as JsonSchema;
export const PROFILE_SCHEMA_SHA256 = sha256Hex(JSON.stringify(profileSchema));

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

/**
 * Only the sources, run before a build or after an edit of the schema, get here: the bundle always carries
 * validators generated from its own schema. The module's name is a variable so that the bundler leaves ajv's
 * compiler (130 KB, parsed on every start otherwise) out of the CLI.
 */
function compiledValidators(): ProfileValidators {
  const compiler = './compile-validators';
  return (require(compiler) as { compileProfileValidators(): ProfileValidators }).compileProfileValidators();
}

let validators: ProfileValidators | undefined;

export function profileValidators(): ProfileValidators {
  validators ??= generatedValidators() ?? compiledValidators();
  return validators;
}
