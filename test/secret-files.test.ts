/**
 * Every file labimg writes that holds a secret is 0600 from the moment it exists, whatever the umask and
 * whatever was there before: the CLI runs here under `umask 000` (the widest), in folders anyone may write, over
 * files left with wider modes and a planted symlink. Token files (`pool create|token-create --out`), a pool's
 * user-data, a build's user-data and tarball, `labimg boot`'s NoCloud seed, user-data and VM disk, and the file
 * store that holds the endpoint CA's key.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cliPath, labimg, tempDir } from './helpers/cli';

const TOKEN = /^[a-z0-9]{8}\.[A-Za-z0-9_-]{43}$/;

/** The built CLI under `umask 000`, set by a real shell, as a user with a careless profile would run it. */
function labimgUmask000(args: string[], options: { stdoutFile?: string } = {}): { code: number; stdout: string; stderr: string } {
  const redirect = options.stdoutFile === undefined ? '' : ' > "$OUT_FILE"';
  const result = spawnSync('sh', ['-c', `umask 000; exec "$0" "$@"${redirect}`, process.execPath, cliPath, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, OUT_FILE: options.stdoutFile ?? '' },
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const modeOf = (file: string): number => statSync(file).mode & 0o777;

/** A folder anyone may write to, holding `names` as files anyone may read and write: what a careless setup leaves. */
function wideOpenFolder(dir: string, names: string[]): void {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  for (const name of names) {
    writeFileSync(path.join(dir, name), 'stale\n');
    chmodSync(path.join(dir, name), 0o666);
  }
}

test('pool create and token-create --out write the token 0600 under umask 000, replacing a 0666 file and a symlink', (t) => {
  const dir = tempDir('labimg-secret-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const data = path.join(dir, 'data');
  const tokens = path.join(dir, 'tokens');
  wideOpenFolder(tokens, ['lab.token']);
  // A symlink planted where the control-plane token goes: the token must not land in the file it points to.
  const victim = path.join(dir, 'victim');
  writeFileSync(victim, 'untouched\n');
  chmodSync(victim, 0o644);
  symlinkSync(victim, path.join(tokens, 'lab-cp.token'));

  const created = labimgUmask000(['pool', 'create', 'lab', '--profile', 'ubuntu', '--data', data, '--out', path.join(tokens, 'lab.token')]);
  t.is(created.code, 0, created.stderr);
  t.is(created.stdout, '', 'with --out nothing goes to stdout');
  const worker = readFileSync(path.join(tokens, 'lab.token'), 'utf8');
  t.regex(worker.trim(), TOKEN);
  t.is(modeOf(path.join(tokens, 'lab.token')), 0o600);
  t.regex(created.stderr, /wrote the token to \S+lab\.token \(mode 0600\)/);
  t.false(created.stderr.includes(worker.trim()), 'the token is not on stderr');

  const cp = labimgUmask000(['pool', 'token-create', 'lab', '--role', 'control-plane', '--data', data, '--out', path.join(tokens, 'lab-cp.token')]);
  t.is(cp.code, 0, cp.stderr);
  t.is(cp.stdout, '');
  const cpFile = path.join(tokens, 'lab-cp.token');
  t.true(lstatSync(cpFile).isFile(), 'the symlink was replaced by a file of its own');
  t.is(modeOf(cpFile), 0o600);
  t.is(readFileSync(victim, 'utf8'), 'untouched\n');
  t.is(modeOf(victim), 0o644);
  t.deepEqual(readdirSync(tokens).sort(), ['lab-cp.token', 'lab.token'], 'no temp file left behind');

  // The store knows both tokens by the ids the files carry, and the files work where the README uses them.
  const listed = JSON.parse(labimg(['pool', 'list', '--json', '--data', data]).stdout) as Array<{ tokens: Array<{ id: string; role?: string }> }>;
  t.deepEqual(
    listed[0]?.tokens.map((entry) => entry.id).sort(),
    [worker, readFileSync(cpFile, 'utf8')].map((token) => token.split('.')[0]).sort(),
  );
  const fingerprint = /endpoint CA fingerprint (sha256:[a-f0-9]{64})/.exec(created.stderr)?.[1] as string;
  const out = path.join(dir, 'out');
  const built = labimgUmask000(['build', 'ubuntu', '--out', out, '--endpoint', 'https://10.0.0.5:8443', '--endpoint-ca-fingerprint', fingerprint, '--pool', 'lab', '--enrollment-token-file', path.join(tokens, 'lab.token'), '--control-plane-token-file', cpFile, '--tar']);
  t.is(built.code, 0, built.stderr);
  // What a build writes with a token in it is 0600 under umask 000 as well.
  for (const [file, token] of [['user-data-worker.yaml', worker], ['user-data-control-plane.yaml', readFileSync(cpFile, 'utf8')]] as const) {
    t.true(readFileSync(path.join(out, 'ubuntu', file), 'utf8').includes(token.trim()), `${file} carries its token`);
    t.is(modeOf(path.join(out, 'ubuntu', file)), 0o600, file);
  }
  t.is(modeOf(path.join(out, 'ubuntu.tar.gz')), 0o600, 'the tarball holds the tokens');
});

test('a build over a tarball left 0666 replaces it with a 0600 one under umask 000', (t) => {
  const dir = tempDir('labimg-secret-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const token = path.join(dir, 'token');
  writeFileSync(token, `${'a'.repeat(8)}.${'b'.repeat(43)}\n`, { mode: 0o600 });
  const out = path.join(dir, 'out');
  wideOpenFolder(out, ['ubuntu.tar.gz']);
  const built = labimgUmask000(['build', 'ubuntu', '--out', out, '--endpoint', 'https://10.0.0.5:8443', '--endpoint-ca-fingerprint', `sha256:${'0'.repeat(64)}`, '--pool', 'lab', '--enrollment-token-file', token, '--tar']);
  t.is(built.code, 0, built.stderr);
  t.is(modeOf(path.join(out, 'ubuntu.tar.gz')), 0o600);
  t.not(readFileSync(path.join(out, 'ubuntu.tar.gz'), 'utf8'), 'stale\n');
});

test('pool create --user-data replaces a 0666 file with a 0600 one under umask 000', (t) => {
  const dir = tempDir('labimg-secret-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  wideOpenFolder(dir, ['lab-worker.yaml']);
  const userData = path.join(dir, 'lab-worker.yaml');
  const created = labimgUmask000(['pool', 'create', 'lab', '--profile', 'ubuntu', '--data', path.join(dir, 'data'), '--endpoint', 'https://10.0.0.5:8443', '--user-data', userData]);
  t.is(created.code, 0, created.stderr);
  t.is(modeOf(userData), 0o600);
  t.true(readFileSync(userData, 'utf8').includes(created.stdout.trim()), 'the user-data holds the token printed');
});

test('a token on stdout redirected into a file others may read gets a warning naming --out; a private one does not', (t) => {
  const dir = tempDir('labimg-secret-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const data = path.join(dir, 'data');
  t.is(labimg(['pool', 'create', 'lab', '--profile', 'ubuntu', '--data', data]).code, 0);

  const shared = path.join(dir, 'shared.token');
  const redirected = labimgUmask000(['pool', 'token-create', 'lab', '--data', data], { stdoutFile: shared });
  t.is(redirected.code, 0, redirected.stderr);
  t.regex(readFileSync(shared, 'utf8').trim(), TOKEN);
  t.is(modeOf(shared), 0o666, 'a shell redirect under umask 000 makes a file anyone may read: what --out is for');
  t.regex(redirected.stderr, /warning: stdout is a file other users may read \(mode 0666\), and the token is in it: chmod 600 it, or use --out FILE/);

  const private0600 = path.join(dir, 'private.token');
  closeSync(openSync(private0600, 'w', 0o600));
  const quiet = labimgUmask000(['pool', 'token-create', 'lab', '--data', data], { stdoutFile: private0600 });
  t.is(quiet.code, 0, quiet.stderr);
  t.notRegex(quiet.stderr, /warning/);
  // To a pipe (how scripts and the tests capture it) there is nothing to warn about either.
  t.notRegex(labimg(['pool', 'token-create', 'lab', '--data', data]).stderr, /warning/);
});

test('--out naming a folder is refused before a token is made; one that fails later names the token to revoke', (t) => {
  const dir = tempDir('labimg-secret-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const data = path.join(dir, 'data');
  t.is(labimg(['pool', 'create', 'lab', '--profile', 'ubuntu', '--data', data]).code, 0);
  const tokenIds = (): string[] => (JSON.parse(labimg(['pool', 'list', '--json', '--data', data]).stdout) as Array<{ tokens: Array<{ id: string }> }>)[0]?.tokens.map((entry) => entry.id) ?? [];
  const before = tokenIds();
  mkdirSync(path.join(dir, 'a-folder'));
  const folder = labimg(['pool', 'token-create', 'lab', '--data', data, '--out', path.join(dir, 'a-folder')]);
  t.is(folder.code, 1);
  t.regex(folder.stderr, /--out \S+a-folder is a folder: name the file the token goes to/);
  t.deepEqual(tokenIds(), before, 'no token was made');

  // A file where a folder of the path should be: found only when the token is written.
  writeFileSync(path.join(dir, 'a-file'), '');
  const late = labimg(['pool', 'token-create', 'lab', '--data', data, '--out', path.join(dir, 'a-file', 'lab.token')]);
  t.is(late.code, 1);
  const id = /the token ([a-z0-9]{8}) was made but is written nowhere: revoke it \(labimg pool token-revoke \1\)/.exec(late.stderr)?.[1];
  t.truthy(id, late.stderr);
  t.deepEqual(tokenIds(), [...before, id].sort(), 'the token named is the one made');
  t.is(late.stdout, '', 'the token is not shown anywhere else');
  t.deepEqual(readdirSync(dir).sort(), ['a-file', 'a-folder', 'data'], 'no temp file left behind');
});

test('labimg boot under umask 000 in a 0777 work folder: the seed, its user-data and the VM disk are 0600', (t) => {
  const dir = tempDir('labimg-secret-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const data = path.join(dir, 'data');
  const created = labimg(['pool', 'create', 'lab', '--profile', 'debian12', '--data', data]);
  t.is(created.code, 0, created.stderr);
  const tokenFile = path.join(dir, 'lab.token');
  writeFileSync(tokenFile, created.stdout, { mode: 0o600 });
  const fingerprint = /endpoint CA fingerprint (sha256:[a-f0-9]{64})/.exec(created.stderr)?.[1] as string;
  const base = path.join(dir, 'base.qcow2');
  t.is(spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', base, '64M']).status, 0);
  // A --work folder made by hand, wide open, with a seed and user-data of an earlier run left 0666.
  const work = path.join(dir, 'work');
  wideOpenFolder(work, ['seed.iso', 'user-data']);
  // qemu stops at once on a kernel that is not there: everything the VM needs is written by then.
  const boot = (): ReturnType<typeof labimgUmask000> =>
    labimgUmask000(['boot', 'debian12', '--role', 'worker', '--disk', base, '--kernel', path.join(dir, 'no-kernel'), '--initrd', path.join(dir, 'no-initrd'), '--append', 'console=ttyS0', '--accel', 'tcg', '--work', work, '--timeout', '2m', '--endpoint', 'https://10.0.2.2:8443', '--endpoint-ca-fingerprint', fingerprint, '--pool', 'lab', '--enrollment-token-file', tokenFile]);
  const first = boot();
  t.regex(first.stderr, /qemu: could not (load|open) kernel/, `${first.stdout}${first.stderr}`);
  for (const file of ['seed.iso', 'user-data', 'disk.qcow2', 'serial.log']) t.is(modeOf(path.join(work, file)), 0o600, file);
  const inIso = spawnSync('isoinfo', ['-J', '-x', '/user-data', '-i', path.join(work, 'seed.iso')], { encoding: 'utf8' }).stdout;
  t.true(inIso.includes(created.stdout.trim()), 'the seed carries the enrollment token: why it is 0600');
  t.deepEqual(readdirSync(work).filter((name) => name.startsWith('.')), [], 'no staging folder left behind');

  // A disk left 0644 by an earlier labimg is the same machine again, and made 0600.
  chmodSync(path.join(work, 'disk.qcow2'), 0o644);
  boot();
  t.is(modeOf(path.join(work, 'disk.qcow2')), 0o600);
  t.true(existsSync(path.join(work, 'seed.iso')));
});

test('the file store keeps the CA key and token hashes 0600 under umask 000, in a data folder left 0777', (t) => {
  const dir = tempDir('labimg-secret-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const data = path.join(dir, 'data');
  wideOpenFolder(data, []);
  const created = labimgUmask000(['pool', 'create', 'lab', '--profile', 'ubuntu', '--data', data, '--out', path.join(dir, 'lab.token')]);
  t.is(created.code, 0, created.stderr);
  const walk = (folder: string): string[] => readdirSync(folder, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? [path.join(folder, entry.name), ...walk(path.join(folder, entry.name))] : [path.join(folder, entry.name)]));
  const entries = walk(data);
  t.regex(readFileSync(path.join(data, 'kv.log'), 'utf8'), /PRIVATE KEY/, 'the CA key is in the store');
  for (const entry of entries) t.is(modeOf(entry), statSync(entry).isDirectory() ? 0o700 : 0o600, path.relative(data, entry));
});
