import test from 'ava';
import { load } from 'js-yaml';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { compileProfileValidators } from '../builder/profiles/compile-validators';
import { PROFILE_SCHEMA_SHA256, profileValidators } from '../builder/profiles/validators';

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
