import test from 'ava';
import { load } from 'js-yaml';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { compileProfileValidators, newAjv, withRequiredAfterMerge } from '../builder/profiles/compile-validators';
import { PROFILE_SCHEMA, PROFILE_SCHEMA_SHA256, profileValidators } from '../builder/profiles/validators';
import { loadProfile } from '../builder/profiles';

const repo = path.resolve(__dirname, '..');

test('after a build, the precompiled validators are the ones in use, stamped with the current schema', (t) => {
  const { file, merged } = profileValidators();
  t.is((file as unknown as { schemaSha256?: string }).schemaSha256, PROFILE_SCHEMA_SHA256, 'npm test builds first; run `npm run build`');
  t.is((merged as unknown as { schemaSha256?: string }).schemaSha256, PROFILE_SCHEMA_SHA256);
});

test('precompiled and freshly compiled validators give the same verdicts and errors', (t) => {
  const generated = profileValidators();
  const fresh = compileProfileValidators();
  const samples: unknown[] = [
    load(readFileSync(path.join(repo, 'profiles/centos-gpu.yaml'), 'utf8')),
    load(readFileSync(path.join(repo, 'profiles/base.yaml'), 'utf8')),
    { kubernetes: { podSubnet: 5, serviceSubnett: '10.96.0.0/12' }, os: { packageManager: 'pacman' } },
    { agent: { nodeRuntime: { url: 'http://x/node.zip', sha256: 'nope' } } },
  ];
  for (const kind of ['file', 'merged'] as const) {
    for (const sample of samples) {
      t.is(generated[kind](sample), fresh[kind](sample));
      t.deepEqual(generated[kind].errors ?? null, fresh[kind].errors ?? null);
    }
  }
  t.false(fresh.file(samples[2]), 'the bad samples really are bad');
});

/** Each shipped profile merged with its parents as plain data, the way loading merges them (extends from the child up). */
function mergedShippedProfiles(): Record<string, unknown> {
  const dir = path.join(repo, 'profiles');
  const read = (name: string) => load(readFileSync(path.join(dir, `${name}.yaml`), 'utf8')) as Record<string, unknown>;
  const merge = (base: unknown, over: unknown): unknown => {
    if (!isMap(base) || !isMap(over)) return over;
    const out: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(over)) out[key] = key in base ? merge(base[key], value) : value;
    return out;
  };
  const merged: Record<string, unknown> = {};
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.yaml'))) {
    const chain = [read(file.slice(0, -'.yaml'.length))];
    while (typeof chain[0]!.extends === 'string') chain.unshift(read(chain[0]!.extends));
    merged[file] = chain.reduce((base, over) => merge(Object.fromEntries(Object.entries(base).filter(([key]) => !['description', 'extends', 'abstract'].includes(key))), over) as Record<string, unknown>);
  }
  return merged;
}
const isMap = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** `value` with the field at each path of up to three keys removed, one at a time. */
function withOneFieldRemoved(value: Record<string, unknown>, depth = 3): Record<string, unknown>[] {
  const variants: Record<string, unknown>[] = [];
  for (const key of Object.keys(value)) {
    const { [key]: removed, ...rest } = value;
    variants.push(rest);
    if (depth > 1 && isMap(removed)) for (const inner of withOneFieldRemoved(removed, depth - 1)) variants.push({ ...value, [key]: inner });
  }
  return variants;
}

test('the merged profile validator, which checks only for missing fields, finds every field the whole schema finds missing', (t) => {
  // The whole schema with requiredAfterMerge made required: what the merged profile was checked against before.
  const whole = newAjv().compile(withRequiredAfterMerge(PROFILE_SCHEMA) as object);
  const { merged } = profileValidators();
  const missing = (validate: ValidateFunction, sample: unknown) =>
    validate(sample) ? [] : (validate.errors ?? []).filter((error) => error.keyword === 'required').map((error) => `${error.instancePath} ${String(error.params.missingProperty)}`).sort();
  let samples = 0;
  let incomplete = 0;
  // As merged from the files (what follows from the version not yet derived), and as loading resolves it, complete
  // (base is abstract: no machine, so loading refuses it).
  const resolved = Object.fromEntries(
    readdirSync(path.join(repo, 'profiles')).filter((name) => name.endsWith('.yaml') && name !== 'base.yaml').map((name) => [`${name} resolved`, JSON.parse(JSON.stringify(loadProfile(name.slice(0, -'.yaml'.length), { dir: path.join(repo, 'profiles') })))]),
  );
  for (const [file, profile] of Object.entries({ ...mergedShippedProfiles(), ...resolved })) {
    for (const sample of [profile as Record<string, unknown>, ...withOneFieldRemoved(profile as Record<string, unknown>)]) {
      const expected = missing(whole, sample);
      t.deepEqual(missing(merged, sample), expected, `${file}: ${JSON.stringify(expected)}`);
      samples += 1;
      if (expected.length > 0) incomplete += 1;
    }
  }
  t.true(incomplete > 100 && incomplete < samples, `${incomplete} of ${samples} samples miss a field: the comparison would prove little`);
  t.log(`${incomplete} of ${samples} samples miss a field`);
});
