import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { listProfiles, loadProfile, ProfileError, type LoadOptions } from '../builder/profiles';
import { loadProfileKept } from '../builder/profiles/cache';
import { KEPT_LOADS_MAX, keptLoadsIn } from '../cli/profile-cache';
import { cliPath, filesIn, repoRoot, tempDir } from './helpers/cli';

const shippedDir = path.join(repoRoot, 'profiles');

/** A load through kept loads in `cacheDir`, and whether it was loaded afresh. */
function keptLoad(cacheDir: string, ref: string, options: LoadOptions, identity = 'labimg-a') {
  let fresh = false;
  const profile = loadProfileKept(ref, options, keptLoadsIn(cacheDir, identity), () => {
    fresh = true;
  });
  return { profile, fresh };
}

const entries = (cacheDir: string) =>
  existsSync(path.join(cacheDir, 'profiles')) ? readdirSync(path.join(cacheDir, 'profiles')).filter((name) => name.endsWith('.json')) : [];

/** The shipped profiles copied into a folder of the test's own, and the folder. */
function ownProfiles(): string {
  const dir = path.join(tempDir(), 'profiles');
  cpSync(shippedDir, dir, { recursive: true });
  return dir;
}

/** A cache folder, a copy of the shipped profiles, and a child profile `lab.yaml` with `text`, in a folder of its own. */
function labProfile(text: string) {
  const childDir = tempDir();
  const child = path.join(childDir, 'lab.yaml');
  writeFileSync(child, text);
  return { cacheDir: tempDir(), dir: ownProfiles(), childDir, child };
}

test('a kept load is the load itself, for every shipped profile, with and without a mirror', (t) => {
  const cacheDir = tempDir();
  let compared = 0;
  for (const { name, abstract } of listProfiles(shippedDir)) {
    if (abstract) continue;
    for (const mirror of [undefined, 'aliyun'] as const) {
      const options: LoadOptions = { dir: shippedDir, ...(mirror ? { mirror } : {}) };
      let expected;
      try {
        expected = loadProfile(name, options);
      } catch (error) {
        // Some profiles download from hosts the preset has no rule for: never kept, found anew each time.
        t.true(error instanceof ProfileError, `${name} ${mirror}`);
        t.throws(() => keptLoad(cacheDir, name, options), { instanceOf: ProfileError });
        t.throws(() => keptLoad(cacheDir, name, options), { instanceOf: ProfileError });
        continue;
      }
      const first = keptLoad(cacheDir, name, options);
      const second = keptLoad(cacheDir, name, options);
      t.true(first.fresh, `${name} ${mirror}: the first load reads the files`);
      t.false(second.fresh, `${name} ${mirror}: the second is kept`);
      t.deepEqual(first.profile, expected);
      t.deepEqual(second.profile, expected);
      compared++;
    }
  }
  t.true(compared >= 20, `${compared} profiles and mirrors compared`);
  t.is(statSync(path.join(cacheDir, 'profiles')).mode & 0o777, 0o700);
  for (const entry of entries(cacheDir)) t.is(statSync(path.join(cacheDir, 'profiles', entry)).mode & 0o777, 0o600, entry);
});

test('an edit to any file of the chain is loaded afresh', (t) => {
  const { cacheDir, dir, child } = labProfile('extends: debian12\nkubernetes:\n  version: 1.34.2\n');
  t.is(keptLoad(cacheDir, child, { dir }).profile.kubernetes.version, '1.34.2');
  t.false(keptLoad(cacheDir, child, { dir }).fresh);

  // The leaf.
  writeFileSync(child, 'extends: debian12\nkubernetes:\n  version: 1.33.5\n');
  const afterLeaf = keptLoad(cacheDir, child, { dir });
  t.true(afterLeaf.fresh);
  t.is(afterLeaf.profile.kubernetes.version, '1.33.5');

  // The root of the chain, two files up.
  const base = path.join(dir, 'base.yaml');
  const before = keptLoad(cacheDir, child, { dir }).profile;
  writeFileSync(base, readFileSync(base, 'utf8').replace(/\n$/, '\n# an edit that changes no value\n'));
  const afterComment = keptLoad(cacheDir, child, { dir });
  t.true(afterComment.fresh, 'any change to the text is a change');
  t.deepEqual(afterComment.profile, before);
});

test('a file that appears where the load found none is loaded afresh', (t) => {
  const { cacheDir, dir, childDir, child } = labProfile('extends: debian12\n');
  t.is(keptLoad(cacheDir, child, { dir }).profile.extendsChain[0], 'debian12');
  t.false(keptLoad(cacheDir, child, { dir }).fresh);
  // A parent is looked for beside the child first: a debian12.yaml there now comes before the shipped one.
  writeFileSync(path.join(childDir, 'debian12.yaml'), 'extends: debian13\n');
  const shadowed = keptLoad(cacheDir, child, { dir });
  t.true(shadowed.fresh);
  t.deepEqual(shadowed.profile.extendsChain.slice(0, 2), ['debian12', 'debian13']);
  t.is(shadowed.profile.os.versionId, '13');
  t.false(keptLoad(cacheDir, child, { dir }).fresh);
});

test('another labimg, another mirror or another profiles folder never meets an entry, and an older labimg\'s entries go', (t) => {
  const cacheDir = tempDir();
  const dir = ownProfiles();
  t.true(keptLoad(cacheDir, 'ubuntu', { dir }, 'labimg-a').fresh);
  t.false(keptLoad(cacheDir, 'ubuntu', { dir }, 'labimg-a').fresh);
  t.true(keptLoad(cacheDir, 'ubuntu', { dir, mirror: 'aliyun' }, 'labimg-a').fresh);
  t.true(keptLoad(cacheDir, 'ubuntu', { dir: shippedDir }, 'labimg-a').fresh);
  t.is(entries(cacheDir).length, 3);
  t.true(keptLoad(cacheDir, 'ubuntu', { dir }, 'labimg-b').fresh);
  t.is(entries(cacheDir).length, 1, 'the entries of labimg-a are gone');
  t.true(keptLoad(cacheDir, 'ubuntu', { dir }, 'labimg-a').fresh);
});

test('a profile with findings is never kept: each load reports them', (t) => {
  const cacheDir = tempDir();
  const childDir = tempDir();
  const child = path.join(childDir, 'broken.yaml');
  writeFileSync(child, 'extends: debian12\nkubernetes:\n  versoin: 1.34.2\n');
  for (let i = 0; i < 2; i++) {
    const error = t.throws(() => keptLoad(cacheDir, child, { dir: shippedDir }), { instanceOf: ProfileError });
    t.regex(error!.message, /versoin/);
  }
  t.deepEqual(readdirSync(cacheDir), [], 'nothing was written');
});

test('an entry others may write, in a folder others may write, or with other contents is not taken', (t) => {
  const cacheDir = tempDir();
  const options = { dir: shippedDir };
  keptLoad(cacheDir, 'debian12', options);
  const [entry] = entries(cacheDir);
  const file = path.join(cacheDir, 'profiles', entry!);
  t.false(keptLoad(cacheDir, 'debian12', options).fresh);

  chmodSync(file, 0o666);
  t.true(keptLoad(cacheDir, 'debian12', options).fresh, 'writable by others');
  t.is(statSync(file).mode & 0o777, 0o600, 'and written anew, 0600');
  chmodSync(path.join(cacheDir, 'profiles'), 0o777);
  t.true(keptLoad(cacheDir, 'debian12', options).fresh, 'in a folder writable by others');
  chmodSync(path.join(cacheDir, 'profiles'), 0o700);
  t.false(keptLoad(cacheDir, 'debian12', options).fresh);

  // A planted entry under the right name, for another key: another profile's load in its place.
  const planted = JSON.parse(readFileSync(file, 'utf8')) as { key: string; profile: { name: string } };
  writeFileSync(file, JSON.stringify({ ...planted, key: '0'.repeat(64), profile: { ...planted.profile, name: 'planted' } }), { mode: 0o600 });
  const afterPlant = keptLoad(cacheDir, 'debian12', options);
  t.true(afterPlant.fresh);
  t.is(afterPlant.profile.name, 'debian12');
  writeFileSync(file, '{"key": "', { mode: 0o600 });
  t.true(keptLoad(cacheDir, 'debian12', options).fresh, 'not JSON');
});

test('labimg build keeps the profile it loaded, builds the same bytes from it, and keeps nothing with its caches off', (t) => {
  const home = tempDir();
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: home, ...env } });
  const childDir = tempDir();
  const child = path.join(childDir, 'lab.yaml');
  writeFileSync(child, 'extends: ubuntu\nkubernetes:\n  version: 1.34.2\n');
  const outs = [tempDir(), tempDir(), tempDir()];
  for (const out of outs.slice(0, 2)) t.is(run(['build', child, '--out', out]).status, 0);
  t.is(readdirSync(path.join(home, 'labimg', 'profiles')).length, 1);
  const files = filesIn(path.join(outs[0]!, 'lab'));
  t.deepEqual(filesIn(path.join(outs[1]!, 'lab')), files);
  for (const file of files) t.true(readFileSync(path.join(outs[1]!, 'lab', file)).equals(readFileSync(path.join(outs[0]!, 'lab', file))), file);
  t.regex(readFileSync(path.join(outs[1]!, 'lab', 'agent.json'), 'utf8'), /"version":"1\.34\.2"/);

  // An edit between two builds is in the second.
  writeFileSync(child, 'extends: ubuntu\nkubernetes:\n  version: 1.33.5\n');
  t.is(run(['build', child, '--out', outs[1]!]).status, 0);
  t.regex(readFileSync(path.join(outs[1]!, 'lab', 'agent.json'), 'utf8'), /"version":"1\.33\.5"/);

  const off = tempDir();
  t.is(run(['build', child, '--out', outs[2]!], { XDG_CACHE_HOME: off, NODE_DISABLE_COMPILE_CACHE: '1' }).status, 0);
  t.deepEqual(readdirSync(off), []);
});

test('no more than KEPT_LOADS_MAX loads are kept: the oldest go', (t) => {
  const cacheDir = tempDir();
  const childDir = tempDir();
  const profiles = Array.from({ length: KEPT_LOADS_MAX + 3 }, (_, i) => {
    const child = path.join(childDir, `lab${i}.yaml`);
    writeFileSync(child, 'extends: debian12\n');
    return child;
  });
  // Each new entry gets a modification time a second after the one before, whatever the file system's resolution.
  const start = Math.floor(Date.now() / 1000) - 3600;
  profiles.forEach((child, i) => {
    const before = new Set(entries(cacheDir));
    keptLoad(cacheDir, child, { dir: shippedDir });
    const added = entries(cacheDir).filter((name) => !before.has(name));
    t.is(added.length, 1);
    utimesSync(path.join(cacheDir, 'profiles', added[0]!), start + i, start + i);
  });
  t.is(entries(cacheDir).length, KEPT_LOADS_MAX);
  t.true(keptLoad(cacheDir, profiles[0]!, { dir: shippedDir }).fresh, 'the oldest went');
  t.false(keptLoad(cacheDir, profiles.at(-1)!, { dir: shippedDir }).fresh, 'the newest stayed');
});
