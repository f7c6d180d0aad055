/**
 * The agent's enrollment as the endpoint binds it: the node makes its credential and keeps it (0600) before it
 * sends it, so an enrollment whose answer never came back, or that a reboot cut short, is sent again with the
 * same credential and accepted; and a name another machine holds stops the agent with the operator's command.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { NodeConfig } from '../contract/agent-config';
import { caFingerprintOf } from '../endpoint/pki';
import { FakeMachine, profileConfig } from './helpers/agent-machine';
import { enrollBody, send, startEndpoint, type LocalEndpoint } from './helpers/https-client';

async function poolEndpoint(t: { teardown(fn: () => Promise<void>): void }): Promise<{ e: LocalEndpoint; token: string }> {
  const e = await startEndpoint();
  t.teardown(async () => {
    await e.close();
    rmSync(e.dataDir, { recursive: true, force: true });
  });
  await e.registry.createPool('lab', 'ubuntu');
  const { token } = await e.registry.createToken('lab', { role: 'worker' });
  return { e, token };
}

function worker(e: LocalEndpoint): NodeConfig {
  return {
    apiVersion: 'labimg.dev/v1',
    kind: 'NodeConfig',
    role: 'worker',
    pool: 'lab',
    nodeName: 'w-1',
    endpoint: { url: `https://127.0.0.1:${e.port}`, caFingerprint: caFingerprintOf(e.ca.certPem) },
  };
}

const CREDENTIAL_FILE = '/var/lib/labimg/credential.json';

test('an enrollment the endpoint took but never answered is sent again with the same credential, and accepted', async (t) => {
  const { e, token } = await poolEndpoint(t);
  const node = worker(e);
  const credential = createHash('sha256').update('w-1, first boot').digest('base64url');
  // What a first boot that died after the endpoint stored its enrollment leaves: the credential, not yet answered.
  const taken = await send(e.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody('w-1'), headers: { 'labimg-node-credential': credential } });
  t.is(taken.status, 200, taken.text);
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu'), node, secrets: { enrollmentToken: token } });
  t.teardown(() => machine.dispose());
  machine.write(CREDENTIAL_FILE, `${JSON.stringify({ url: node.endpoint!.url, node: 'w-1', credential, enrolled: false })}\n`, 0o600);

  // The bake phase reports to the endpoint too, so it needs the node's credential.
  const run = await machine.runAgent(['run', '--phase', 'bake']);
  t.is(run.code, 0, run.stdout + run.stderr);
  t.deepEqual(JSON.parse(machine.read(CREDENTIAL_FILE) ?? '{}'), { url: node.endpoint!.url, node: 'w-1', credential, enrolled: true });
  t.is(machine.mode(CREDENTIAL_FILE), 0o600);
  t.true((await e.registry.reports('w-1')).length > 0, 'its reports are stored under the name it holds');
  t.false(run.stdout.includes(credential), 'the credential is never logged');
});

test('a name another machine holds stops the agent with the command that releases it', async (t) => {
  const { e, token } = await poolEndpoint(t);
  const node = worker(e);
  const other = createHash('sha256').update('the first w-1').digest('base64url');
  t.is((await send(e.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody('w-1'), headers: { 'labimg-node-credential': other } })).status, 200);
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu'), node, secrets: { enrollmentToken: token } });
  t.teardown(() => machine.dispose());
  const run = await machine.runAgent(['run', '--phase', 'bake']);
  t.regex(run.stdout, /enrolling: the endpoint answered 409: node "w-1" is enrolled already, bound to the credential it enrolled with; .*`labimg nodes forget w-1`/);
  // It keeps its own credential, so that once the operator releases the name, its next run enrolls with it.
  t.like(JSON.parse(machine.read(CREDENTIAL_FILE) ?? '{}'), { node: 'w-1', enrolled: false });
});
