/**
 * `labimg build P --packer`: refuses before writing anything when Packer is missing, and otherwise runs the
 * packer commands the installed version needs. A recording stand-in plays Packer here: a real bake needs a
 * cloud image download and KVM (test/packer.test.ts runs Debian's real packer validate on the template).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cliPath, repoRoot, tempDir } from './helpers/cli';

function labimgWithPath(args: string[], pathDirs: string[]) {
  const result = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8', cwd: repoRoot, env: { ...process.env, PATH: pathDirs.join(':') } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/**
 * A `packer` that answers `version` with `version` and logs every other call's argv, then its folder, as a JSON
 * line. A seed folder it is given is logged by what it holds while Packer runs: file names and modes.
 */
function fakePacker(version: string, exitCode = 0): { dir: string; calls: () => string[][] } {
  const dir = tempDir();
  const log = path.join(dir, 'calls.jsonl');
  const script = `#!${process.execPath}
const fs = require('fs');
const argv = process.argv.slice(2);
if (argv[0] === 'version') { console.log(${JSON.stringify(version)}); process.exit(0); }
const logged = argv.map((arg) => {
  const seed = /^-var=seed_dir=(.*)$/.exec(arg);
  if (!seed) return arg;
  const files = fs.readdirSync(seed[1]).sort().map((name) => name + ' ' + (fs.statSync(seed[1] + '/' + name).mode & 0o777).toString(8));
  return 'seed ' + (fs.statSync(seed[1]).mode & 0o777).toString(8) + ': ' + files.join(', ') + ' @' + seed[1];
});
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify([...logged, 'in ' + process.cwd()]) + '\\n');
process.exit(${exitCode});
`;
  writeFileSync(path.join(dir, 'packer'), script, { mode: 0o755 });
  return { dir, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as string[]) : []) };
}

test('without Packer on PATH, --packer exits 1 with one line saying what to install, and writes nothing', (t) => {
  const out = tempDir();
  const result = labimgWithPath(['build', 'centos-gpu', '--out', out, '--packer', '--tar'], [tempDir()]);
  t.is(result.code, 1);
  t.is(result.stderr, 'labimg: --packer: packer is not on PATH; install Packer (Debian 12: apt-get install packer; elsewhere: https://developer.hashicorp.com/packer/install) and run again; nothing was written\n');
  t.is(result.stdout, '');
  t.deepEqual(readdirSync(out), []);
});

test('with Packer 1.6.6, --packer writes the build, then runs packer build per base image and no packer init', (t) => {
  const out = tempDir();
  const packer = fakePacker('Packer v1.6.6');
  const result = labimgWithPath(['build', 'ubuntu', '--out', out, '--packer'], [packer.dir, path.dirname(process.execPath), '/usr/bin', '/bin']);
  t.is(result.code, 0, result.stderr);
  const buildDir = path.join(path.resolve(out), 'ubuntu');
  t.true(existsSync(path.join(buildDir, 'ubuntu.pkrvars.hcl')));
  const template = path.join(repoRoot, 'packer');
  // In the build folder: the vars file's paths are relative to it. The qemu bake has a private seed folder
  // while it runs, with its own key, gone afterwards.
  const [qemu, ami, ...more] = packer.calls();
  t.deepEqual(more, []);
  const seed = qemu?.[3] ?? '';
  t.regex(seed, /^seed 700: build-key 600, meta-data 644, user-data 644 @/);
  t.false(existsSync(seed.slice(seed.indexOf('@') + 1)), 'the seed is deleted after the bake');
  t.deepEqual(qemu, ['build', '-only=qemu.cloud', '-var-file=ubuntu.pkrvars.hcl', seed, template, `in ${buildDir}`]);
  t.deepEqual(ami, ['build', '-only=amazon-ebs.ami', '-var-file=ubuntu.pkrvars.hcl', template, `in ${buildDir}`]);
});

test('with current Packer, --packer runs packer init on the plugins folder first; a failing build stops with its exit status', (t) => {
  const out = tempDir();
  const packer = fakePacker('Packer v1.11.2', 3);
  const result = labimgWithPath(['build', 'ubuntu', '--out', out, '--packer'], [packer.dir, path.dirname(process.execPath), '/usr/bin', '/bin']);
  t.is(result.code, 1);
  t.regex(result.stderr, /labimg: packer init failed \(exit 3\); the build in \S+ubuntu is complete, the image is not\n/);
  t.deepEqual(packer.calls(), [['init', path.join(repoRoot, 'packer', 'init'), `in ${path.join(path.resolve(out), 'ubuntu')}`]]);
  t.true(existsSync(path.join(out, 'ubuntu', 'manifest.json')));
});

test('a profile without a base image refuses --packer before writing anything', (t) => {
  const profiles = tempDir();
  for (const name of ['base.yaml', 'ubuntu.yaml']) writeFileSync(path.join(profiles, name), readFileSync(path.join(repoRoot, 'profiles', name)));
  const ubuntu = path.join(profiles, 'ubuntu.yaml');
  writeFileSync(ubuntu, readFileSync(ubuntu, 'utf8').replace(/\nimage:\n(?: .*\n|\n(?= ))*/, '\n'));
  t.false(readFileSync(ubuntu, 'utf8').includes('image:'), 'the fixture really lost its image block');
  const out = tempDir();
  const packer = fakePacker('Packer v1.6.6');
  const result = labimgWithPath(['build', 'ubuntu', '--profiles', profiles, '--out', out, '--packer'], [packer.dir, path.dirname(process.execPath), '/usr/bin', '/bin']);
  t.is(result.code, 1);
  t.regex(result.stderr, /^labimg: --packer: profile ubuntu names no base image to bake from \(image\.cloud or image\.amazon in \S+ubuntu\.yaml\); nothing was written\n$/);
  t.deepEqual(readdirSync(out), []);
  t.deepEqual(packer.calls(), []);
});

test('--packer-only bakes just the named source; a source the profile lacks, or an unknown one, is refused before anything is written', (t) => {
  const out = tempDir();
  const packer = fakePacker('Packer v1.6.6');
  const pathDirs = [packer.dir, path.dirname(process.execPath), '/usr/bin', '/bin'];
  const ami = labimgWithPath(['build', 'ubuntu', '--out', out, '--packer', '--packer-only', 'amazon-ebs.ami'], pathDirs);
  t.is(ami.code, 0, ami.stderr);
  t.deepEqual(
    packer.calls().map((call) => call.slice(0, 2)),
    [['build', '-only=amazon-ebs.ami']],
  );

  const profiles = tempDir();
  for (const name of ['base.yaml', 'ubuntu.yaml']) writeFileSync(path.join(profiles, name), readFileSync(path.join(repoRoot, 'profiles', name)));
  const ubuntu = path.join(profiles, 'ubuntu.yaml');
  writeFileSync(ubuntu, readFileSync(ubuntu, 'utf8').replace(/\n {2}amazon:\n(?: {4}.*\n)+/, '\n'));
  const empty = tempDir();
  const lacking = labimgWithPath(['build', 'ubuntu', '--profiles', profiles, '--out', empty, '--packer', '--packer-only', 'amazon-ebs.ami'], pathDirs);
  t.is(lacking.code, 1);
  t.is(lacking.stderr, 'labimg: --packer-only amazon-ebs.ami: profile ubuntu names no AMI (image.amazon); nothing was written\n');
  const unknown = labimgWithPath(['build', 'ubuntu', '--out', empty, '--packer', '--packer-only', 'qemu'], pathDirs);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /expected qemu\.cloud or amazon-ebs\.ami, got "qemu"/);
  t.deepEqual(readdirSync(empty), []);
  t.is(packer.calls().length, 1, 'packer ran for the first build alone');
});
