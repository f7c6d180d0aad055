/**
 * `labimg build P --tar`: the build as one tarball to carry to a PXE server or an air-gapped site. Read back
 * with GNU tar, the tool the people receiving it will use.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Manifest } from '../builder/manifest';
import { filesIn, labimg, tempDir } from './helpers/cli';

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

function buildTar(profile: string, extra: string[] = []): { out: string; archive: string; stdout: string } {
  const out = tempDir();
  const result = labimg(['build', profile, '--out', out, '--tar', ...extra]);
  if (result.code !== 0) throw new Error(`labimg build ${profile} --tar failed (${result.code}):\n${result.stderr}`);
  return { out, archive: path.join(out, `${profile}.tar.gz`), stdout: result.stdout };
}

function gnuTar(args: string[]): string {
  const result = spawnSync('tar', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tar ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

for (const profile of ['centos-gpu', 'ubuntu']) {
  test(`${profile}: two --tar builds are byte-identical, and the terminal names the archive's sha256`, (t) => {
    const first = buildTar(profile);
    const second = buildTar(profile);
    const bytes = readFileSync(first.archive);
    t.true(bytes.equals(readFileSync(second.archive)));
    t.regex(first.stdout, new RegExp(`wrote \\S+${profile}\\.tar\\.gz  ${bytes.length} B  sha256 ${sha256(bytes)}\\n`));
  });
}

test('the archive unpacks with GNU tar to exactly the build directory, every file matching the manifest', (t) => {
  const { out, archive } = buildTar('centos-gpu');
  const unpacked = tempDir();
  gnuTar(['-xzf', archive, '-C', unpacked]);
  const manifest = JSON.parse(readFileSync(path.join(out, 'centos-gpu', 'manifest.json'), 'utf8')) as Manifest;
  const names = filesIn(path.join(unpacked, 'centos-gpu'));
  t.deepEqual(names, [...manifest.files.map((f) => f.name), 'manifest.json'].sort());
  for (const entry of manifest.files) {
    const file = path.join(unpacked, 'centos-gpu', entry.name);
    t.is(sha256(readFileSync(file)), entry.sha256, entry.name);
    t.is((statSync(file).mode & 0o777).toString(8).padStart(4, '0'), entry.mode, `${entry.name} keeps its mode`);
    t.true(readFileSync(file).equals(readFileSync(path.join(out, 'centos-gpu', entry.name))));
  }
});

test('entries carry no build time, no builder user and sorted names', (t) => {
  const { archive } = buildTar('ubuntu');
  const listing = gnuTar(['--numeric-owner', '--full-time', '-tvzf', archive]).trim().split('\n');
  const names = listing.map((line) => line.split(/\s+/).at(-1) as string);
  t.deepEqual(names, [...names].sort(), 'sorted by path');
  t.is(names[0], 'ubuntu/');
  for (const line of listing) t.regex(line, /^[-d][-rwx]{9} 0\/0\s+\d+ 2000-01-01 00:00:00 /, line);
  // gzip's own header: no file name (FLG 0) and time 0.
  const header = readFileSync(archive).subarray(0, 10);
  t.is(header[3], 0);
  t.is(header.readUInt32LE(4), 0);
});

test('an archive holding a token is written 0600, like the user-data inside it', (t) => {
  const tokenFile = path.join(tempDir(), 'token');
  writeFileSync(tokenFile, `abcdefgh.${'A'.repeat(43)}\n`, { mode: 0o600 });
  const fingerprint = `sha256:${'ab'.repeat(32)}`;
  const { archive } = buildTar('ubuntu', ['--endpoint', 'https://10.0.0.5:8443', '--endpoint-ca-fingerprint', fingerprint, '--pool', 'lab', '--enrollment-token-file', tokenFile]);
  t.is(statSync(archive).mode & 0o777, 0o600);
  const plain = buildTar('ubuntu');
  t.is(statSync(plain.archive).mode & 0o777, 0o644);
});
