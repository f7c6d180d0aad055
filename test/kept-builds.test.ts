import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { loadProfile } from '../builder/profiles';
import { renderBuild, type BuildInputs } from '../builder/build';
import { compileAgentConfig, nodeRuntimeOf } from '../builder/compile';
import { useGzipOf } from '../builder/render/gzip';
import { keepBuilds, keptBuildFor } from '../cli/kept-builds';
import { writeDirectoryAtomically } from '../cli/output';
import { agentPath, cliPath, filesIn, repoRoot, tempDir } from './helpers/cli';

const shippedDir = path.join(repoRoot, 'profiles');
const shipped = readdirSync(shippedDir)
  .filter((name) => name.endsWith('.yaml') && name !== 'base.yaml')
  .map((name) => name.replace(/\.yaml$/, ''));

/** The agent as the CLI carries it: its Zopfli gzip registered for the renderers, as cli/package-files.ts does. */
const agentBundle = readFileSync(agentPath);
useGzipOf(agentBundle, readFileSync(`${agentPath}.gz`));

/** What `labimg build NAME` renders, with the built agent (the CLI's own inputs, less its flags). */
function inputsOf(name: string): BuildInputs {
  const profile = loadProfile(name, { dir: shippedDir });
  const agentConfig = compileAgentConfig(profile);
  return { profileName: profile.name, agentConfig, nodeRuntime: nodeRuntimeOf(profile), agentBundle, labimgVersion: '0.0.0-test' };
}

/** Renders `inputs` into OUT/name as `labimg build` does, keeping the build: the folder it leaves. */
async function buildKept(inputs: BuildInputs): Promise<string> {
  const out = path.join(tempDir(), inputs.profileName);
  const files = renderBuild(inputs);
  await writeDirectoryAtomically(out, files);
  keptBuildFor(inputs)!.keep(files);
  return out;
}

// The tests that turn kept builds on for this process run one at a time: where they are kept is the process's.
test.serial('a folder that holds what the same inputs rendered is known to, for every shipped profile, without rendering', async (t) => {
  keepBuilds('identity-a', tempDir());
  for (const name of shipped) {
    const out = await buildKept(inputsOf(name));
    const manifest = keptBuildFor(inputsOf(name))?.heldBy(out);
    t.deepEqual(manifest, JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')), name);
  }
});

test.serial('a folder that differs in a byte, a mode, a file more or a file less holds no kept build', async (t) => {
  keepBuilds('identity-b', tempDir());
  const inputs = inputsOf('debian12');
  const changes: Record<string, (out: string) => void> = {
    'a byte': (out) => {
      const file = path.join(out, 'agent.json');
      const text = readFileSync(file, 'utf8');
      writeFileSync(file, text.replace('"debian12"', '"debian13"'));
    },
    'a mode': (out) => chmodSync(path.join(out, 'install-node.sh'), 0o644),
    'a file more': (out) => writeFileSync(path.join(out, 'notes.txt'), 'mine\n'),
    'a file less': (out) => rmSync(path.join(out, 'agent.json')),
  };
  for (const [what, change] of Object.entries(changes)) {
    const out = await buildKept(inputs);
    t.truthy(keptBuildFor(inputs)!.heldBy(out), what);
    change(out);
    t.is(keptBuildFor(inputs)!.heldBy(out), undefined, what);
  }
});

test.serial('other inputs, another agent, another labimg or a build with secrets never meet a kept build', async (t) => {
  const cacheDir = tempDir();
  keepBuilds('identity-c', cacheDir);
  const inputs = inputsOf('ubuntu2404');
  const out = await buildKept(inputs);
  t.truthy(keptBuildFor(inputs)!.heldBy(out));
  t.is(keptBuildFor({ ...inputs, labimgVersion: `${inputs.labimgVersion}-other` })!.heldBy(out), undefined, 'another input');
  t.is(keptBuildFor({ ...inputs, agentBundle: Buffer.concat([inputs.agentBundle, Buffer.from('\n')]) })!.heldBy(out), undefined, 'another agent');
  t.is(keptBuildFor({ ...inputs, userScripts: [{ filename: 'a.sh', content: '#!/bin/sh\n' }] })!.heldBy(out), undefined, 'a user script');
  // The same agent carried as another gzip, or gzipped as it renders, is another user-data.
  const otherGzip = Buffer.from(agentBundle);
  useGzipOf(otherGzip, gzipSync(otherGzip, { level: 9 }));
  t.is(keptBuildFor({ ...inputs, agentBundle: otherGzip })!.heldBy(out), undefined, 'the agent carried as another gzip');
  t.is(keptBuildFor({ ...inputs, agentBundle: Buffer.from(agentBundle) })!.heldBy(out), undefined, 'the agent gzipped as it renders');
  t.truthy(keptBuildFor({ ...inputs })!.heldBy(out), 'the same inputs still');
  keepBuilds('identity-d', cacheDir);
  t.is(keptBuildFor(inputs)!.heldBy(out), undefined, 'another labimg');
  t.deepEqual(readdirSync(path.join(cacheDir, 'builds')).length, 1);
  keepBuilds('identity-c', cacheDir);
  t.is(keptBuildFor({ ...inputs, join: { apiServerEndpoint: '10.0.0.10:6443', caCertHashes: [`sha256:${'a'.repeat(64)}`], token: 'abcdef.0123456789abcdef' } }), undefined, 'join material');
  t.is(keptBuildFor({ ...inputs, agentConfig: { ...inputs.agentConfig, extra: new Map() } as unknown as BuildInputs['agentConfig'] }), undefined, 'not plain data');
  t.is(keptBuildFor({ ...inputs, userScripts: [undefined] as unknown as BuildInputs['userScripts'] }), undefined, 'undefined in an array');
});

test('labimg build tells a repeat up to date from its kept build, rewrites a folder changed since, and keeps nothing with its caches off', (t) => {
  const home = tempDir();
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: home, ...env } });
  const [out, fresh] = [tempDir(), tempDir()];
  for (let i = 0; i < 3; i++) t.is(run(['build', 'centos-gpu', '--out', out]).status, 0);
  t.is(readdirSync(path.join(home, 'labimg', 'builds')).length, 1);
  const repeat = run(['build', 'centos-gpu', '--out', out]);
  t.regex(repeat.stdout, /centos-gpu is up to date: it held these files already\n  agent\.js +84\d{3} B/);
  t.regex(repeat.stderr, /^warning: user-data-control-plane\.yaml: /m, 'the warnings as a rendering build gives them');

  const off = tempDir();
  const unkept = run(['build', 'centos-gpu', '--out', fresh], { XDG_CACHE_HOME: off, NODE_DISABLE_COMPILE_CACHE: '1' });
  t.is(unkept.status, 0);
  t.deepEqual(readdirSync(off), []);
  t.is(repeat.stdout, unkept.stdout.replace(`wrote ${fresh}/centos-gpu`, `${out}/centos-gpu is up to date: it held these files already`).replaceAll(fresh, out));
  t.is(repeat.stderr, unkept.stderr);
  const files = filesIn(path.join(fresh, 'centos-gpu'));
  t.deepEqual(filesIn(path.join(out, 'centos-gpu')), files);

  // A file edited since is written again, whole.
  const userData = path.join(out, 'centos-gpu', 'user-data-worker.yaml');
  writeFileSync(userData, readFileSync(userData, 'utf8').replace('#cloud-config', '#cloud-config '));
  t.regex(run(['build', 'centos-gpu', '--out', out]).stdout, /^wrote /);
  for (const file of files) t.true(readFileSync(path.join(out, 'centos-gpu', file)).equals(readFileSync(path.join(fresh, 'centos-gpu', file))), file);
  t.regex(run(['build', 'centos-gpu', '--out', out]).stdout, /is up to date/);
});
