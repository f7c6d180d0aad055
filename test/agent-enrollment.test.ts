/**
 * The agent's enrollment as the endpoint binds it: the node makes its credential and keeps it (0600) before it
 * sends it, so an enrollment whose answer never came back, or that a reboot cut short, is sent again with the
 * same credential and accepted; and a name another machine holds stops the agent with the operator's command.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { FakeMachine, profileConfig } from './helpers/agent-machine';
import { enrollBody, labPoolEndpoint, labWorker, reportBody, send, type LocalEndpoint } from './helpers/https-client';

const CREDENTIAL_FILE = '/var/lib/labimg/credential.json';

test('an enrollment the endpoint took but never answered is sent again with the same credential, and accepted', async (t) => {
  const { e, token } = await labPoolEndpoint(t);
  const node = labWorker(e);
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
  const stored = JSON.parse(machine.read(CREDENTIAL_FILE) ?? '{}') as { renewAfter: string };
  t.like(stored, { url: node.endpoint!.url, node: 'w-1', credential, enrolled: true });
  // Renewed at half the default 30-day lifetime, by the node's clock.
  t.true(Math.abs(Date.parse(stored.renewAfter) - (Date.now() + 15 * 86_400_000)) < 60_000, stored.renewAfter);
  t.is(machine.mode(CREDENTIAL_FILE), 0o600);
  t.true((await e.registry.reports('w-1')).length > 0, 'its reports are stored under the name it holds');
  t.false(run.stdout.includes(credential), 'the credential is never logged');
});

test('a name another machine holds stops the agent with the command that releases it', async (t) => {
  const { e, token } = await labPoolEndpoint(t);
  const node = labWorker(e);
  const other = createHash('sha256').update('the first w-1').digest('base64url');
  t.is((await send(e.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody('w-1'), headers: { 'labimg-node-credential': other } })).status, 200);
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu'), node, secrets: { enrollmentToken: token } });
  t.teardown(() => machine.dispose());
  const run = await machine.runAgent(['run', '--phase', 'bake']);
  t.regex(run.stdout, /enrolling: the endpoint answered 409: node "w-1" is enrolled already, bound to the credential it enrolled with; .*`labimg nodes forget w-1`/);
  // It keeps its own credential, so that once the operator releases the name, its next run enrolls with it.
  t.like(JSON.parse(machine.read(CREDENTIAL_FILE) ?? '{}'), { node: 'w-1', enrolled: false });
});

interface StoredCredential {
  url: string;
  node: string;
  credential: string;
  enrolled: boolean;
  renewAfter?: string;
  next?: string;
}

function storedCredential(machine: FakeMachine): StoredCredential {
  return JSON.parse(machine.read(CREDENTIAL_FILE) ?? '{}') as StoredCredential;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A worker enrolled against an endpoint whose credentials live `ttlMs`, its credential file as the agent leaves
 * it (renewal at half the lifetime). Enrolled over HTTP rather than by an agent run, which takes seconds of the
 * short lifetimes these tests need.
 */
async function enrolledWorker(t: { teardown(fn: () => unknown): void }, ttlMs: number): Promise<{ e: LocalEndpoint; token: string; machine: FakeMachine }> {
  const { e, token } = await labPoolEndpoint(t, { credentials: { ttlMs, graceMs: 600_000 } });
  const node = labWorker(e);
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu'), node, secrets: { enrollmentToken: token } });
  t.teardown(() => machine.dispose());
  const credential = createHash('sha256').update(`w-1 ${Math.random()}`).digest('base64url');
  const enrolled = await send(e.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody('w-1'), headers: { 'labimg-node-credential': credential } });
  if (enrolled.status !== 200) throw new Error(enrolled.text);
  const renewAfter = new Date(Date.now() + ttlMs / 2).toISOString();
  machine.write(CREDENTIAL_FILE, JSON.stringify({ url: node.endpoint?.url, node: 'w-1', credential, enrolled: true, renewAfter }), 0o600);
  return { e, token, machine };
}

test("the refresh timer's job renews the credential past half its lifetime; the old one is taken only until it would have expired", async (t) => {
  // 20 s: the first refresh must run before half of it has passed, and starting an agent on a loaded machine took
  // over the 2 s that a 4 s lifetime left.
  const { e, machine } = await enrolledWorker(t, 20_000);
  const first = storedCredential(machine);
  t.is((await e.registry.node('w-1'))?.credentialSha256, sha256(first.credential));

  const early = await machine.runAgent(['refresh']);
  t.is(early.code, 0, early.stdout + early.stderr);
  t.is(storedCredential(machine).credential, first.credential, 'not renewed before half its lifetime');

  await sleep(Date.parse(first.renewAfter ?? '') - Date.now() + 100);
  const refresh = await machine.runAgent(['refresh']);
  t.is(refresh.code, 0, refresh.stdout + refresh.stderr);
  const renewed = storedCredential(machine);
  t.not(renewed.credential, first.credential);
  t.is(renewed.next, undefined, 'the rotation is finished');
  t.is(machine.mode(CREDENTIAL_FILE), 0o600);
  const record = await e.registry.node('w-1');
  t.is(record?.credentialSha256, sha256(renewed.credential));
  t.is((await e.registry.auditTrail()).filter((event) => event.action === 'credential-rotated' && event.node === 'w-1').length, 1);
  t.false(refresh.stdout.includes(renewed.credential) || refresh.stdout.includes(first.credential), 'no credential is logged');
  t.deepEqual(await e.registry.reports('w-1'), [], "a worker's refresh has no step to run, so it reports nothing every 15 minutes");

  // The replaced credential still works for requests under way, but cannot rotate again, and stops at its expiry.
  const report = (credential: string) => send(e.port, { method: 'POST', path: '/v1/nodes/w-1/reports', token: credential, json: reportBody('w-1') });
  t.is((await report(first.credential)).status, 200);
  const again = await send(e.port, { method: 'POST', path: '/v1/nodes/w-1/credential', token: first.credential, headers: { 'labimg-node-credential': createHash('sha256').update('a thief').digest('base64url') } });
  t.is(again.status, 409, again.text);
  t.regex(again.text, /replaced already; only the current one rotates/);
  await sleep(Date.parse(record?.previousCredential?.acceptedUntil ?? '') - Date.now() + 100);
  const late = await report(first.credential);
  t.is(late.status, 401);
  t.regex(late.text, /has expired/);
  t.is((await report(renewed.credential)).status, 200);
});

test('a rotation the endpoint took but never answered is finished with the next credential, even after the old one expired', async (t) => {
  const { e, machine } = await enrolledWorker(t, 8_000);
  const first = storedCredential(machine);
  const firstExpires = Date.parse((await e.registry.node('w-1'))?.credentialExpiresAt ?? '');
  await sleep(4_000);
  // What a run killed after the endpoint took its rotation leaves: the next credential kept, its answer not.
  const next = createHash('sha256').update('w-1, next').digest('base64url');
  machine.write(CREDENTIAL_FILE, JSON.stringify({ ...first, next }), 0o600);
  const taken = await send(e.port, { method: 'POST', path: '/v1/nodes/w-1/credential', token: first.credential, headers: { 'labimg-node-credential': next } });
  t.is(taken.status, 200, taken.text);
  // The old credential's grace ends with its lifetime, four seconds before the next one's.
  await sleep(firstExpires - Date.now() + 200);

  const run = await machine.runAgent(['refresh']);
  t.is(run.code, 0, run.stdout + run.stderr);
  t.like(storedCredential(machine), { credential: next, enrolled: true, next: undefined });
  const audit = await e.registry.auditTrail();
  t.is(audit.filter((event) => event.action === 'node-enrolled').length, 1, 'finished without enrolling again');
  t.is(audit.filter((event) => event.action === 'credential-rotated').length, 1, 'the second send changed nothing');
});

test('a node whose credential expired while it was off enrolls again with its token and keeps its name', async (t) => {
  const { e, machine } = await enrolledWorker(t, 3_000);
  const first = storedCredential(machine);
  await sleep(3_200);
  const stale = await send(e.port, { method: 'POST', path: '/v1/nodes/w-1/reports', token: first.credential, json: reportBody('w-1') });
  t.is(stale.status, 401);
  t.regex(stale.text, /has expired; the node enrolls again with its role's token/);

  const run = await machine.runAgent(['run', '--phase', 'bake']);
  t.is(run.code, 0, run.stdout + run.stderr);
  // Past its renewal time, the agent tries to renew first; the endpoint takes neither credential, so it enrolls.
  t.regex(run.stdout, /the endpoint takes neither this node's credential nor the next one; enrolling it again/);
  const record = await e.registry.node('w-1');
  t.true(Date.parse(record?.credentialExpiresAt ?? '') > Date.now(), 'a new lifetime');
  // Enrolled again at least once; on a loaded machine a run can outlast even its new 3-second credential.
  const enrolled = (await e.registry.auditTrail()).filter((event) => event.action === 'node-enrolled');
  t.true(enrolled.length >= 2, `${enrolled.length} enrollments`);
  t.is(enrolled.filter((event) => event.node !== 'w-1').length, 0);
});

test('a request past half the lifetime renews the credential first, in the middle of a run', async (t) => {
  const { e, machine } = await enrolledWorker(t, 60_000);
  const first = storedCredential(machine);
  machine.write(CREDENTIAL_FILE, JSON.stringify({ ...first, renewAfter: new Date(Date.now() - 1_000).toISOString() }), 0o600);
  const run = await machine.runAgent(['run', '--phase', 'bake']);
  t.is(run.code, 0, run.stdout + run.stderr);
  const renewed = storedCredential(machine);
  t.not(renewed.credential, first.credential);
  t.is((await e.registry.node('w-1'))?.credentialSha256, sha256(renewed.credential));
  const audit = await e.registry.auditTrail();
  t.is(audit.filter((event) => event.action === 'credential-rotated').length, 1, 'renewed once, not per report');
  t.is(audit.filter((event) => event.action === 'node-enrolled').length, 1);
  t.true((await e.registry.reports('w-1')).length > 0, 'its reports went out with the renewed credential');
});
