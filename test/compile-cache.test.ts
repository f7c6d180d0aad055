import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { BUNDLE_WRAPPER_HEAD, buildIdentity, compileCacheDir, loadBundle } from '../cli/compile-cache';
import { cliPath, filesIn, repoRoot, tempDir } from './helpers/cli';

/** A CommonJS file that exports what it computed, with `answer` as its only varying part. */
function writeBundle(dir: string, answer: number): string {
  const file = path.join(dir, 'bundle.cjs');
  writeFileSync(file, `exports.answer = function answer() { return ${answer}; };\nexports.dirname = __dirname;\nexports.path = require('node:path').sep;\n`);
  return file;
}

const cacheFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.v8'));

test('a bundle runs as require would run it, and its second load takes the cache the first one saved', (t) => {
  const dir = tempDir();
  const cache = path.join(dir, 'cache', 'v8');
  const bundle = writeBundle(dir, 41);
  const first = loadBundle<{ answer(): number; dirname: string; path: string }>(bundle, 'build', cache);
  t.is(first.exports.answer(), 41);
  t.is(first.exports.dirname, dir);
  t.is(first.exports.path, '/');
  t.false(first.cacheUsed);
  first.saveCache();
  const [file] = cacheFiles(cache);
  t.regex(file ?? '', /^build-bundle\.[0-9a-f]{16}-[0-9a-f]{8}-[0-9A-Za-z._]+-linux-[a-z0-9]+\.v8$/, 'the command, then the bundle file\'s name and sha256');
  t.is(statSync(path.join(cache, file!)).mode & 0o777, 0o600);
  t.is(statSync(cache).mode & 0o777, 0o700);

  const second = loadBundle<{ answer(): number }>(bundle, 'build', cache);
  t.true(second.cacheUsed);
  t.is(second.exports.answer(), 41);
});

test('a bundle of the same length but other content gets its own cache, and the older one is removed', (t) => {
  // V8 checks only a cache's source length: with the old cache, the new bundle would answer 41.
  const dir = tempDir();
  const cache = path.join(dir, 'v8');
  const bundle = writeBundle(dir, 41);
  loadBundle(bundle, 'build', cache).saveCache();
  writeBundle(dir, 42);
  const changed = loadBundle<{ answer(): number }>(bundle, 'build', cache);
  t.false(changed.cacheUsed);
  t.is(changed.exports.answer(), 42);
  changed.saveCache();
  t.is(cacheFiles(cache).length, 1, 'the first bundle\'s cache is gone');
  t.true(loadBundle(bundle, 'build', cache).cacheUsed);
});

test('with the digest the build recorded, a bundle changed afterwards (same length, same digest) still gets a cache of its own', (t) => {
  const dir = tempDir();
  const cache = path.join(dir, 'v8');
  const bundle = writeBundle(dir, 41);
  const recorded = 'ab'.repeat(32); // the launcher's constant, not recomputed from the file
  const first = loadBundle<{ answer(): number }>(bundle, 'build', cache, recorded);
  first.saveCache();
  t.regex(cacheFiles(cache)[0] ?? '', /^build-bundle\.abababababababab\.\d+\.\d+-[0-9a-f]{8}-/);
  t.true(loadBundle(bundle, 'build', cache, recorded).cacheUsed);
  // An edit by hand: same length, and a later modification time.
  writeBundle(dir, 42);
  utimesSync(bundle, new Date(), new Date(Date.now() + 5_000));
  const edited = loadBundle<{ answer(): number }>(bundle, 'build', cache, recorded);
  t.false(edited.cacheUsed);
  t.is(edited.exports.answer(), 42);
});

test('a cache file that others may write is not used', (t) => {
  const dir = tempDir();
  const cache = path.join(dir, 'v8');
  const bundle = writeBundle(dir, 7);
  loadBundle(bundle, 'build', cache).saveCache();
  chmodSync(path.join(cache, cacheFiles(cache)[0]!), 0o666);
  t.false(loadBundle(bundle, 'build', cache).cacheUsed);
  chmodSync(path.join(cache, cacheFiles(cache)[0]!), 0o600);
  chmodSync(cache, 0o777);
  t.false(loadBundle(bundle, 'build', cache).cacheUsed, 'nor one in a folder others may write');
});

test('each CLI bundle is written inside Node\'s own CommonJS wrapper, which the launcher then compiles as it is', (t) => {
  t.is(BUNDLE_WRAPPER_HEAD, Module.wrap('\0').split('\0')[0] ?? '');
  for (const name of ['labimg-cli.cjs', 'labimg-build.cjs']) {
    const source = readFileSync(path.join(path.dirname(cliPath), name), 'utf8');
    t.true(source.startsWith(BUNDLE_WRAPPER_HEAD), name);
    t.true(source.endsWith('\n});\n'), name);
  }
  // A plain CommonJS file still loads: it is wrapped as it is read.
  const dir = tempDir();
  t.is(loadBundle<{ answer(): number }>(writeBundle(dir, 7), 'build', path.join(dir, 'v8')).exports.answer(), 7);
});

test('the cache lives in the user\'s cache folder, and NODE_DISABLE_COMPILE_CACHE=1 turns it off', (t) => {
  t.is(compileCacheDir({ XDG_CACHE_HOME: '/home/ops/.xdg', HOME: '/home/ops' }), '/home/ops/.xdg/labimg/v8');
  t.is(compileCacheDir({ HOME: '/home/ops' }), '/home/ops/.cache/labimg/v8');
  t.is(compileCacheDir({ XDG_CACHE_HOME: 'relative', HOME: '/home/ops' }), '/home/ops/.cache/labimg/v8', 'a relative XDG_CACHE_HOME is ignored, as the XDG specification says');
  t.is(compileCacheDir({ HOME: '/home/ops', NODE_DISABLE_COMPILE_CACHE: '1' }), undefined);
});

test('labimg builds alike with and without its cache, keeps one per command that succeeded, and none for a usage error', (t) => {
  const home = tempDir();
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: home, ...env } });
  const cache = path.join(home, 'labimg', 'v8');
  const outs = [tempDir(), tempDir(), tempDir(), tempDir()];
  t.is(run(['build', 'debian12', '--out', outs[0]!]).status, 0);
  t.deepEqual(readdirSync(path.join(home, 'labimg')).sort(), ['builds', 'profiles'], 'a run that loaded its profile afresh keeps no code: its repeats take the kept load');
  t.is(run(['build', 'debian12', '--out', outs[1]!]).status, 0);
  t.deepEqual(cacheFiles(cache).map((name) => name.split('-')[0]), ['build']);
  t.is(run(['build', 'debian12', '--out', outs[2]!]).status, 0);
  t.is(run(['build', 'debian12', '--out', outs[3]!], { NODE_DISABLE_COMPILE_CACHE: '1' }).status, 0);
  const files = filesIn(path.join(outs[0]!, 'debian12'));
  t.true(files.includes('user-data-control-plane.yaml'));
  for (const out of outs.slice(1)) {
    t.deepEqual(filesIn(path.join(out, 'debian12')), files);
    for (const file of files) t.true(readFileSync(path.join(out, 'debian12', file)).equals(readFileSync(path.join(outs[0]!, 'debian12', file))), file);
  }
  t.is(run(['buidl', 'debian12']).status, 2);
  t.is(run(['--help']).status, 0);
  t.deepEqual(cacheFiles(cache).map((name) => name.split('-')[0]).sort(), ['build', 'cli']);
});

test('labimg build runs from a bundle of its own, without the other commands\' work; the two bundles\' caches and the kept loads live side by side', (t) => {
  const home = tempDir();
  const run = (args: string[]) => spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: home } });
  const buildBundle = path.join(path.dirname(cliPath), 'labimg-build.cjs');
  const fullBundle = path.join(path.dirname(cliPath), 'labimg-cli.cjs');
  t.true(statSync(buildBundle).size < statSync(fullBundle).size * 0.75, 'a quarter smaller at least');

  // It knows no other command: the launcher gives it only command lines that start with build. Run here as the
  // launcher runs it: the file is a function of Node's CommonJS wrapper, compiled as it is.
  const runBundle = (bundle: string, args: string[]) =>
    spawnSync(
      process.execPath,
      [
        '-e',
        `const file = ${JSON.stringify(bundle)}; const module = { exports: {} };
         require('node:vm').runInThisContext(require('node:fs').readFileSync(file, 'utf8'), { filename: file })(module.exports, require('node:module').createRequire(file), module, file, require('node:path').dirname(file));
         process.argv = ['node', 'labimg', ...${JSON.stringify(args)}]; module.exports.main();`,
      ],
      { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: home, COLUMNS: '100' } },
    );
  const direct = runBundle(buildBundle, ['validate', 'debian12']);
  t.is(direct.status, 2);
  t.regex(direct.stderr, /^labimg: Unknown arguments: validate, debian12\n/);
  // Its build is the whole CLI's build, to the help text.
  const help = [runBundle(buildBundle, ['build', '--help']), runBundle(fullBundle, ['build', '--help'])];
  t.is(help[0]!.status, 0);
  t.regex(help[0]!.stdout, /^labimg build <profile>\n[^]*--out/);
  t.is(help[0]!.stdout, help[1]!.stdout);

  for (let i = 0; i < 2; i++) {
    t.is(run(['build', 'debian12', '--out', tempDir()]).status, 0);
    t.is(run(['plan', 'debian12', '--role', 'worker']).status, 0);
  }
  t.is(run(['build', '--help']).status, 0);
  const caches = cacheFiles(path.join(home, 'labimg', 'v8')).map((name) => name.split('-').slice(0, 2).join('-').replace(/\..*/, ''));
  t.deepEqual(caches.sort(), ['build-build', 'plan-cli'], 'the build command\'s from its bundle, plan\'s from the whole CLI; neither removed the other');
  t.is(readdirSync(path.join(home, 'labimg', 'profiles')).length, 1, 'one kept load of debian12 for both bundles');
  // A command line that names build after a global flag is the whole CLI's: it still builds.
  const out = tempDir();
  t.is(run(['--profiles', path.join(repoRoot, 'profiles'), 'build', 'debian12', '--out', out]).status, 0);
  t.true(filesIn(path.join(out, 'debian12')).includes('manifest.json'));
});

test('the build\'s identity covers every bundle as built, and an edit of any one after the build', (t) => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'a.cjs'), 'a');
  writeFileSync(path.join(dir, 'b.cjs'), 'b');
  const digests = { 'a.cjs': 'aa'.repeat(32), 'b.cjs': 'bb'.repeat(32) };
  const built = buildIdentity(dir, digests);
  t.regex(built ?? '', /^a{16}\.1\.\d+\+b{16}\.1\.\d+$/);
  t.is(buildIdentity(dir, digests), built);
  t.not(buildIdentity(dir, { ...digests, 'b.cjs': 'cc'.repeat(32) }), built, 'another build');
  utimesSync(path.join(dir, 'b.cjs'), new Date(), new Date(Date.now() + 5_000));
  t.not(buildIdentity(dir, digests), built, 'b edited since');
  t.is(buildIdentity(dir, { ...digests, 'c.cjs': 'dd'.repeat(32) }), undefined, 'a bundle missing: nothing is kept');
});
