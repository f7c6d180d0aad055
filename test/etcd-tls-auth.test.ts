/**
 * The endpoint's store on an etcd that speaks TLS only, wants a client certificate and has authentication on, as
 * a site that keeps the endpoint's CA key in etcd runs it: a real etcd with certificates made by openssl here, a
 * least-privilege user whose role may read and write the store's prefix and nothing else, and the built CLI.
 * `labimg serve`, `pool`, `nodes`, `audit` and `ca show` work over it with --etcd-cacert/--etcd-cert/--etcd-key
 * and --etcd-user/--etcd-password-file; a wrong CA, a missing or foreign client certificate, a wrong password,
 * and flags that would weaken it are refused, each with a message that names what to fix.
 */
import test from 'ava';
import { Etcd3, Range } from 'etcd3';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { labimg, tempDir } from './helpers/cli';
import { startServe } from './helpers/endpoint';
import { issueTestCertificate, makeTestCa, startEtcd, type RunningEtcd, type TestCa } from './helpers/etcd';

const PASSWORD = 'correct horse battery staple';
const PREFIX = 'labimg/';

interface Site {
  dir: string;
  etcd: RunningEtcd;
  ca: TestCa;
  client: TestCa;
  /** A client certificate from a CA etcd does not trust. */
  foreign: TestCa;
  otherCa: TestCa;
  passwordFile: string;
}

let site: Site | undefined;

test.before(async () => {
  const dir = tempDir('labimg-etcd-tls-');
  const ca = makeTestCa(dir, 'etcd-ca');
  const otherCa = makeTestCa(dir, 'other-ca');
  const server = issueTestCertificate(dir, ca, 'etcd-server');
  const client = issueTestCertificate(dir, ca, 'labimg-client');
  const foreign = issueTestCertificate(dir, otherCa, 'foreign-client');
  const etcd = await startEtcd({ tls: { certFile: server.certFile, keyFile: server.keyFile, caFile: ca.certFile, clientCertAuth: true } });
  // etcdctl is not installed (Debian packages it apart, in etcd-client): the users and roles are made with the
  // etcd3 client's auth API. etcd enables auth only once a root user holding the root role exists.
  const admin = new Etcd3({ hosts: etcd.url, credentials: { rootCertificate: readFileSync(ca.certFile), certChain: readFileSync(client.certFile), privateKey: readFileSync(client.keyFile) } });
  try {
    await admin.role('root').create();
    await admin.user('root').create('root-password-not-used-by-labimg');
    await admin.user('root').addRole('root');
    await admin.role('labimg').create();
    await admin.role('labimg').grant({ permission: 'Readwrite', range: Range.prefix(PREFIX) });
    await admin.user('labimg').create(PASSWORD);
    await admin.user('labimg').addRole('labimg');
    await admin.auth.authEnable();
  } finally {
    admin.close();
  }
  const passwordFile = path.join(dir, 'etcd-password');
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  site = { dir, etcd, ca, client, foreign, otherCa, passwordFile };
});

test.after.always(async () => {
  await site?.etcd.stop();
  if (site) rmSync(site.dir, { recursive: true, force: true });
});

function given(): Site {
  if (!site) throw new Error('the TLS etcd did not start');
  return site;
}

/** Every flag a site with TLS, a client certificate and a user gives; `change` replaces or removes some. */
function etcdFlags(change: Record<string, string | undefined> = {}): string[] {
  const s = given();
  const flags: Record<string, string | undefined> = {
    '--etcd': s.etcd.url,
    '--etcd-cacert': s.ca.certFile,
    '--etcd-cert': s.client.certFile,
    '--etcd-key': s.client.keyFile,
    '--etcd-user': 'labimg',
    '--etcd-password-file': s.passwordFile,
    ...change,
  };
  return Object.entries(flags).flatMap(([flag, value]) => (value === undefined ? [] : [flag, value]));
}

/** A refusal: exit 1, one line naming the problem, no stack trace, no password. */
function refused(t: import('ava').ExecutionContext, args: string[], expected: RegExp): void {
  const result = labimg(args);
  t.is(result.code, 1, `${args.join(' ')}\n${result.stdout}${result.stderr}`);
  t.regex(result.stderr, expected);
  t.notRegex(result.stderr, /^\s+at /m, 'a refusal is a message, not a stack trace');
  t.false(`${result.stdout}${result.stderr}`.includes(PASSWORD), 'the password is never printed');
}

test.serial('serve, pool, nodes, audit and ca show work over TLS with a client certificate and an etcd user', async (t) => {
  const s = given();
  const serve = await startServe({ data: path.join(s.dir, 'unused'), extraArgs: etcdFlags() });
  t.teardown(() => serve.kill());

  const tokenFile = path.join(s.dir, 'lab.token');
  const created = labimg(['pool', 'create', 'lab', '--profile', 'ubuntu', '--out', tokenFile, ...etcdFlags()]);
  t.is(created.code, 0, created.stderr);
  t.is(/endpoint CA fingerprint (sha256:[a-f0-9]{64})/.exec(created.stderr)?.[1], serve.caFingerprint, 'pool create read the CA serve made, from the same etcd');
  const token = readFileSync(tokenFile, 'utf8').trim();
  t.is(statSync(tokenFile).mode & 0o777, 0o600);

  const listed = labimg(['pool', 'list', '--json', ...etcdFlags()]);
  t.is(listed.code, 0, listed.stderr);
  const pools = JSON.parse(listed.stdout) as Array<{ name: string; tokens: Array<{ id: string }> }>;
  t.deepEqual(pools.map((pool) => [pool.name, pool.tokens.map((entry) => entry.id)]), [['lab', [token.split('.')[0]]]]);

  const nodes = labimg(['nodes', ...etcdFlags()]);
  t.is(nodes.code, 0, nodes.stderr);
  t.is(nodes.stdout, 'no nodes have enrolled yet\n');
  const audit = labimg(['audit', ...etcdFlags()]);
  t.is(audit.code, 0, audit.stderr);
  t.regex(audit.stdout, /pool-created/);
  const ca = labimg(['ca', 'show', ...etcdFlags()]);
  t.is(ca.code, 0, ca.stderr);
  t.true(ca.stdout.startsWith(`${serve.caFingerprint}  ECDSA P-256`), ca.stdout);

  // The same keys, read with etcd's own client as the labimg user: the CA key lives under the prefix.
  const reader = new Etcd3({ hosts: s.etcd.url, credentials: { rootCertificate: readFileSync(s.ca.certFile), certChain: readFileSync(s.client.certFile), privateKey: readFileSync(s.client.keyFile) }, auth: { username: 'labimg', password: PASSWORD } });
  t.teardown(() => reader.close());
  const keys = await reader.getAll().prefix(PREFIX).keys();
  t.true(keys.length > 0 && keys.every((key) => key.startsWith(PREFIX)), keys.join(', '));
  for (const output of [created.stdout, created.stderr, listed.stdout, serve.output()]) t.false(output.includes(PASSWORD));
});

test('etcd refuses a client without a certificate, or with one from another CA: the message names the flag', (t) => {
  const s = given();
  refused(t, ['nodes', ...etcdFlags({ '--etcd-cert': undefined, '--etcd-key': undefined })], /etcd wants a client certificate \(it runs with --client-cert-auth\): give --etcd-cert and --etcd-key/);
  refused(t, ['pool', 'list', ...etcdFlags({ '--etcd-cert': s.foreign.certFile, '--etcd-key': s.foreign.keyFile })], /etcd refused the client certificate in --etcd-cert/);
});

test('a CA that did not sign etcd\'s certificate is refused before anything is sent, by serve as by pool', async (t) => {
  const s = given();
  refused(t, ['pool', 'list', ...etcdFlags({ '--etcd-cacert': s.otherCa.certFile })], /etcd's certificate is not signed by the CA in --etcd-cacert/);
  // serve stops at once rather than serve with a store it cannot reach.
  refused(t, ['serve', '--listen', '127.0.0.1:0', ...etcdFlags({ '--etcd-cacert': s.otherCa.certFile })], /labimg: etcd at https:\/\/127\.0\.0\.1:\d+ .*etcd's certificate is not signed by the CA in --etcd-cacert/);
});

test('a wrong password, no user, or a user whose role does not cover the prefix is refused by etcd, and said so', (t) => {
  const s = given();
  const wrong = path.join(s.dir, 'wrong-password');
  writeFileSync(wrong, 'not the password\n', { mode: 0o600 });
  refused(t, ['nodes', ...etcdFlags({ '--etcd-password-file': wrong })], /etcd refused the user name or password \(--etcd-user, --etcd-password-file\)/);
  refused(t, ['nodes', ...etcdFlags({ '--etcd-user': undefined, '--etcd-password-file': undefined })], /etcd has authentication on and this client gave no user: give --etcd-user and --etcd-password-file/);
  refused(t, ['nodes', ...etcdFlags({ '--etcd-prefix': 'elsewhere/' })], /etcd's user labimg may not read and write the keys under elsewhere\/: grant its role readwrite on that prefix/);
});

test('flags that would weaken the connection are refused before anything connects', (t) => {
  const s = given();
  const plain = s.etcd.url.replace('https://', 'http://');
  refused(t, ['pool', 'list', '--etcd', s.etcd.url], /--etcd https:\/\/127\.0\.0\.1:\d+ is https:\/\/ and needs --etcd-cacert FILE: the CA that signed etcd's server certificate/);
  refused(t, ['nodes', '--etcd', plain, '--etcd-cacert', s.ca.certFile], /--etcd-cacert is for TLS: give the etcd URLs as https:\/\//);
  refused(t, ['nodes', '--etcd', plain, '--etcd-user', 'labimg', '--etcd-password-file', s.passwordFile], /--etcd-user and --etcd-password-file need https:\/\/ etcd URLs/);
  refused(t, ['nodes', '--etcd', s.etcd.url, '--etcd', plain, '--etcd-cacert', s.ca.certFile], /give every URL as https:\/\/ or every one as http:\/\/, not both/);
  refused(t, ['nodes', ...etcdFlags({ '--etcd-key': undefined })], /--etcd-cert and --etcd-key go together/);
  refused(t, ['nodes', ...etcdFlags({ '--etcd-password-file': undefined })], /--etcd-user and --etcd-password-file go together/);
  refused(t, ['nodes', '--etcd-cacert', s.ca.certFile], /--etcd-cacert: only with --etcd URL/);
  refused(t, ['nodes', '--etcd', '127.0.0.1:2379'], /--etcd "127\.0\.0\.1:2379": expected a client URL such as https:\/\/10\.0\.0\.5:2379/);
  refused(t, ['nodes', ...etcdFlags({ '--etcd-cacert': s.client.keyFile })], /--etcd-cacert .*: no "-----BEGIN CERTIFICATE-----" block in it/);
  refused(t, ['nodes', ...etcdFlags({ '--etcd-key': s.ca.certFile })], /--etcd-key .*: not an unencrypted PEM private key/);
  const empty = path.join(s.dir, 'empty-password');
  writeFileSync(empty, '\n', { mode: 0o600 });
  refused(t, ['nodes', ...etcdFlags({ '--etcd-password-file': empty })], /--etcd-password-file .*: its first line is empty/);
  refused(t, ['nodes', ...etcdFlags({ '--etcd-password-file': path.join(s.dir, 'missing') })], /--etcd-password-file: cannot read .*missing/);
});
