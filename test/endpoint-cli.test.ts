/** `labimg pool …`, `nodes` and `audit` as a user runs them, on a real data directory. */
import test from 'ava';
import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { labimg, tempDir } from './helpers/cli';
import { freePort, startServe } from './helpers/endpoint';

test('pool create prints the token once, writes the pool user-data 0600, and the rest of the pool commands manage it', (t) => {
  const dir = tempDir('labimg-pool-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const data = path.join(dir, 'data');
  const userData = path.join(dir, 'lab-worker.yaml');

  const created = labimg(['pool', 'create', 'lab', '--profile', 'ubuntu', '--data', data, '--ttl', '24h', '--endpoint', 'https://10.0.0.5:8443', '--user-data', userData]);
  t.is(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  t.regex(token, /^[a-z0-9]{8}\.[A-Za-z0-9_-]{43}$/, 'stdout is the token alone');
  const fingerprint = /endpoint CA fingerprint (sha256:[a-f0-9]{64})/.exec(created.stderr)?.[1];
  t.truthy(fingerprint);
  t.false(created.stderr.includes(token), 'the token is not repeated on stderr');
  t.is(statSync(userData).mode & 0o777, 0o600);
  const files = (load(readFileSync(userData, 'utf8')) as { write_files: Array<{ path: string; content: string; permissions: string }> }).write_files;
  const secrets = files.find((f) => f.path === '/etc/labimg/secrets.json');
  t.is(secrets?.permissions, '0600');
  t.deepEqual(JSON.parse(secrets?.content ?? '{}'), { enrollmentToken: token });
  const node = JSON.parse(files.find((f) => f.path === '/etc/labimg/node.json')?.content ?? '{}');
  t.like(node, { role: 'worker', pool: 'lab', endpoint: { url: 'https://10.0.0.5:8443', caFingerprint: fingerprint } });

  const [id] = token.split('.');
  const listed = labimg(['pool', 'list', '--data', data]);
  t.is(listed.code, 0, listed.stderr);
  t.regex(listed.stdout, new RegExp(`lab  profile ubuntu[\\s\\S]*token ${id}  valid until `));
  t.false(listed.stdout.includes(token.split('.')[1] as string), 'no secret in the listing');
  t.false(JSON.stringify(JSON.parse(labimg(['pool', 'list', '--data', data, '--json']).stdout)).includes('secretSha256'));

  t.is(labimg(['pool', 'create', 'lab', '--profile', 'ubuntu', '--data', data]).stderr.trim(), 'labimg: pool "lab" already exists');
  const revoked = labimg(['pool', 'token-revoke', id as string, '--data', data]);
  t.is(revoked.stdout, `revoked enrollment token ${id} of pool lab\n`);
  t.regex(labimg(['pool', 'list', '--data', data]).stdout, new RegExp(`token ${id}  revoked `));

  const second = labimg(['pool', 'token-create', 'lab', '--data', data, '--ttl', '30m']);
  t.is(second.code, 0, second.stderr);
  t.not(second.stdout.trim(), token);

  t.is(labimg(['nodes', '--data', data]).stdout, 'no nodes have enrolled yet\n');
  const audit = labimg(['audit', '--data', data]).stdout;
  t.deepEqual(
    audit.trim().split('\n').map((line) => line.split(/\s+/)[1]),
    ['pool-created', 'token-created', 'token-revoked', 'token-created'],
  );
  t.false(audit.includes(token));
});

test('a bad profile, pool name or duration is refused before anything is stored', (t) => {
  const dir = tempDir('labimg-pool-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const data = path.join(dir, 'data');
  const badProfile = labimg(['pool', 'create', 'lab', '--profile', 'ubunto', '--data', data]);
  t.is(badProfile.code, 1);
  t.regex(badProfile.stderr, /ubuntu/, 'suggests the closest profile');
  t.is(labimg(['pool', 'create', 'Lab_1', '--profile', 'ubuntu', '--data', data]).stderr.trim(), 'labimg: pool name "Lab_1": expected a DNS label (lowercase letters, digits and "-", at most 63)');
  t.regex(labimg(['pool', 'create', 'lab', '--profile', 'ubuntu', '--data', data, '--ttl', '1y']).stderr, /--ttl: expected a duration such as 30m, 24h or 7d, got "1y"/);
  t.regex(labimg(['pool', 'create', 'lab', '--profile', 'ubuntu', '--data', data, '--user-data', 'x.yaml']).stderr, /--user-data needs --endpoint/);
  t.is(labimg(['pool', 'list', '--data', data]).stdout, 'no pools yet; `labimg pool create NAME --profile P` makes one\n');
});

test('a second serve on a data directory in use is refused in one line that names the holder, with no stack trace', async (t) => {
  const dir = tempDir('labimg-busy-');
  const first = await startServe({ data: dir });
  t.teardown(async () => {
    await first.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const second = labimg(['serve', '--listen', `127.0.0.1:${await freePort()}`, '--data', dir]);
  t.is(second.code, 1);
  t.is(second.stderr, `labimg: ${dir} is in use by another labimg serve (pid ${first.pid}); stop it, or give this one its own --data\n`);
});

test('revoking a token that does not exist names the command that lists tokens, and that command exists', (t) => {
  const dir = tempDir('labimg-revoke-');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const revoked = labimg(['pool', 'token-revoke', 'abcd1234', '--data', dir]);
  t.is(revoked.code, 1);
  const named = /`labimg (pool [a-z-]+)` lists them/.exec(revoked.stderr)?.[1];
  t.is(named, 'pool list', revoked.stderr);
  t.false(revoked.stderr.includes('    at '), 'no stack trace');
  t.is(labimg([...(named as string).split(' '), '--data', dir]).code, 0);
});
