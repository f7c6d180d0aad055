/**
 * The pool's attacks, run as an attacker would: through the README's own commands against a real `labimg serve`,
 * on both store backends (the file store and a real etcd). Each must be refused with a specific message and
 * leave an audit record.
 *
 * 1. A worker becomes a control plane: the token in a worker's user-data (readable by any process on the
 *    instance, or by anyone who reaches the cloud's metadata service) enrolls "evil-cp" as a control plane, to
 *    get the certificate key and publish the pool's join material.
 * 2. Any holder of the pool token takes over a node name: it enrolls "w-1" again, which used to hand it a fresh
 *    credential for the name and lock the real w-1 out.
 * 3. Anyone who knows an installed machine's MAC fetches its installer config over plain HTTP, which used to
 *    mint a fresh token for the machine's name and delete the machine's own.
 */
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { startEtcd } from './helpers/etcd';
import { createPool, createPoolToken, plainGet, startServe, storeArgs, type ServeOptions } from './helpers/endpoint';
import { kickstartScripts, landedFiles } from './helpers/pxe-checks';
import { enrollBody, send } from './helpers/https-client';
import { labimg, tempDir } from './helpers/cli';

type Store = Pick<ServeOptions, 'data' | 'etcd' | 'etcdPrefix'>;


/** What `labimg build` put in the worker's user-data for /etc/labimg/secrets.json. */
function workerTokenFromUserData(dir: string): string {
  const config = load(readFileSync(path.join(dir, 'user-data-worker.yaml'), 'utf8')) as { write_files: Array<{ path: string; content: string }> };
  const secrets = config.write_files.find((file) => file.path === '/etc/labimg/secrets.json');
  if (!secrets) throw new Error('the worker user-data writes no secrets.json');
  return (JSON.parse(secrets.content) as { enrollmentToken: string }).enrollmentToken;
}

async function attacks(t: ExecutionContext, store: Store): Promise<void> {
  const serve = await startServe(store);
  t.teardown(() => serve.kill());
  const tokenFile = path.join(tempDir(), 'lab.token');
  writeFileSync(tokenFile, `${createPool(store, 'lab', 'ubuntu')}\n`, { mode: 0o600 });
  const cpTokenFile = path.join(tempDir(), 'lab-cp.token');
  writeFileSync(cpTokenFile, `${createPoolToken(store, 'lab', ['--role', 'control-plane'])}\n`, { mode: 0o600 });
  const out = tempDir();
  const built = labimg(['build', 'ubuntu', '--out', out, '--endpoint', serve.url, '--endpoint-ca-fingerprint', serve.caFingerprint, '--pool', 'lab',
    '--enrollment-token-file', tokenFile, '--control-plane-token-file', cpTokenFile]);
  t.is(built.code, 0, built.stderr);

  const stolen = workerTokenFromUserData(path.join(out, 'ubuntu'));
  const answer = await send(serve.port, { method: 'POST', path: '/v1/enroll', token: stolen, json: enrollBody('evil-cp', 'control-plane') });
  t.is(answer.status, 403, answer.text);
  t.deepEqual(answer.json, {
    error: 'this enrollment token grants the worker role, not control-plane; a control plane enrolls with its own token (`labimg pool token-create lab --role control-plane`)',
  });

  const nodes = labimg(['nodes', '--json', ...storeArgs(store)]);
  t.false(nodes.stdout.includes('evil-cp'), 'nothing was enrolled');
  const audit = labimg(['audit', ...storeArgs(store)]);
  t.regex(audit.stdout, /enrollment-refused\s+pool=lab node=evil-cp token=\S+ from=127\.0\.0\.1 reason="this enrollment token grants the worker role, not control-plane;/);
  // 2. The real w-1 enrolls with a credential it made; the stolen token then tries to take its name.
  const w1 = createHash('sha256').update('the real w-1').digest('base64url');
  t.is((await send(serve.port, { method: 'POST', path: '/v1/enroll', token: stolen, json: enrollBody('w-1'), headers: { 'labimg-node-credential': w1 } })).status, 200);
  for (const headers of [{}, { 'labimg-node-credential': createHash('sha256').update('the attacker').digest('base64url') }] as Array<Record<string, string>>) {
    const takeover = await send(serve.port, { method: 'POST', path: '/v1/enroll', token: stolen, json: enrollBody('w-1'), headers });
    t.is(takeover.status, 409, takeover.text);
    t.regex((takeover.json as { error: string }).error, /^node "w-1" is enrolled already, bound to the credential it enrolled with; .*`labimg nodes forget w-1`/);
  }
  t.is((await send(serve.port, { path: '/v1/nodes/w-1/join', token: w1 })).status, 503, 'the real w-1 is not locked out');
  const trail = labimg(['audit', ...storeArgs(store)]).stdout;
  t.is(trail.split('\n').filter((line) => /enrollment-refused\s+pool=lab node=w-1 /.test(line)).length, 2);
}

/** The PXE attack against `labimg serve --pxe-groups`, on `store`: steal an installed machine's name by its MAC. */
async function pxeAttack(t: ExecutionContext, store: Store): Promise<void> {
  const mac = '52-54-00-12-34-56';
  const groups = path.join(tempDir(), 'pxe-groups.yaml');
  writeFileSync(groups, `groups:\n  - name: rack1-cp-1\n    selector: { mac: "${mac}" }\n    profile: centos\n    role: control-plane\n    pool: rack1\n`);
  createPool(store, 'rack1', 'centos');
  const serve = await startServe({ ...store, extraArgs: ['--pxe-groups', groups, '--pxe-listen', '127.0.0.1:0'] });
  const pxePort = serve.pxePort!;
  t.teardown(() => serve.kill());
  const kickstart = () => plainGet(pxePort, `/pxe/nodes/${mac}/kickstart.cfg`);

  // The real machine installs: its kickstart carries its token, and its agent enrolls with its own credential.
  const installed = await kickstart();
  t.is(installed.status, 200);
  const [post] = kickstartScripts(installed.text);
  const token = (JSON.parse(landedFiles(post!.body).get('/etc/labimg/secrets.json')!) as { enrollmentToken: string }).enrollmentToken;
  const own = createHash('sha256').update('rack1-cp-1, installed').digest('base64url');
  t.is((await send(serve.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody('rack1-cp-1', 'control-plane'), headers: { 'labimg-node-credential': own } })).status, 200);

  // The attacker asks for the same config: no config, no token.
  const stolen = await kickstart();
  t.is(stolen.status, 409);
  t.regex(stolen.text, /machine 52-54-00-12-34-56 is installed \(its installer finished, or node rack1-cp-1 has enrolled\), so its install config is not served again/);
  // The token it might have copied earlier is spent, and the name is bound: the real node keeps working.
  const replay = await send(serve.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody('rack1-cp-1', 'control-plane') });
  t.is(replay.status, 403, replay.text);
  t.is((await send(serve.port, { path: '/v1/nodes/rack1-cp-1/join', token: own })).status, 503, 'the real node is not locked out');
  t.regex(labimg(['audit', ...storeArgs(store)]).stdout, /enrollment-refused\s+pool=rack1 node=rack1-cp-1 token=\S+ from=127\.0\.0\.1 reason="the enrollment token has enrolled as many nodes/);
}

test('an installed machine\'s MAC gets an attacker no config and no token (file store)', async (t) => {
  await pxeAttack(t, { data: tempDir('labimg-attack-') });
});

test.serial('an installed machine\'s MAC gets an attacker no config and no token (etcd)', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  await pxeAttack(t, { data: tempDir('labimg-attack-'), etcd: etcd.url, etcdPrefix: 'pxe-attack-test/' });
});

test('a worker\'s user-data token enrolls no control plane and takes no node\'s name (file store)', async (t) => {
  await attacks(t, { data: tempDir('labimg-attack-') });
});

test.serial('a worker\'s user-data token enrolls no control plane and takes no node\'s name (etcd)', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  await attacks(t, { data: tempDir('labimg-attack-'), etcd: etcd.url, etcdPrefix: 'attack-test/' });
});
