/**
 * The join endpoint as an attacker sees it: every way a request can be refused, over real TLS sockets against
 * an in-process EndpointServer. Each refusal is checked three ways: the exact status, a message that says
 * why (revoked, expired, which field), and that nothing reached the store that should not have.
 *
 * The last section holds regressions: server bugs found while this file was written, each with how it showed.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { rmSync } from 'node:fs';
import https from 'node:https';
import { EndpointUnreachable, PinMismatch, PinnedHttpsClient } from '../agent/endpoint/pinned-https';
import { LEAVING_STEP } from '../contract/agent-config';
import { NODE_NAME_MAX } from '../contract/endpoint-api';
import { authorityKeyIdentifier, commonNameOf, issuerNamed, pemOf, signCertificate, subjectAltName } from '../endpoint/certificate';
import { caFingerprintOf, issueServerIdentity, type ServerIdentity } from '../endpoint/pki';
import type { Registry } from '../endpoint/registry';
import type { EndpointLimits } from '../endpoint/server';
import { sha256Hex } from '../endpoint/tokens';
import {
  enrollBody,
  errorOf,
  filesUnder,
  parseResponse,
  publishBody,
  rawExchange,
  rawRequest,
  reportBody,
  send,
  spawnEndpoint,
  startEndpoint,
  type Answer,
  type ChildEndpoint,
  type EndpointSetup,
  type LocalEndpoint,
  type ParsedResponse,
} from './helpers/https-client';

/** High enough that no test but the rate-limit ones ever meets the limiter. */
const NO_RATE_LIMIT: Partial<EndpointLimits> = { authFailures: 100_000 };
const BODY_LIMIT = 2048;

async function endpoint(t: ExecutionContext, setup: EndpointSetup = {}): Promise<LocalEndpoint> {
  const e = await startEndpoint({ ...setup, limits: { ...NO_RATE_LIMIT, bodyBytes: BODY_LIMIT, ...setup.limits } });
  t.teardown(async () => {
    await e.close();
    rmSync(e.dataDir, { recursive: true, force: true });
  });
  return e;
}

async function childEndpoint(t: ExecutionContext, setup: EndpointSetup = {}): Promise<ChildEndpoint> {
  const e = await spawnEndpoint({ ...setup, limits: { ...NO_RATE_LIMIT, bodyBytes: BODY_LIMIT, ...setup.limits } });
  t.teardown(async () => {
    await e.close();
    rmSync(e.dataDir, { recursive: true, force: true });
  });
  return e;
}

/** A server with pool "lab", its worker enrollment token and a control-plane token good for one enrollment. */
async function poolEndpoint(t: ExecutionContext, setup: EndpointSetup = {}): Promise<LocalEndpoint & { token: string; cpToken: string }> {
  const e = await endpoint(t, setup);
  await e.registry.createPool('lab', 'ubuntu');
  const { token } = await e.registry.createToken('lab', { role: 'worker' });
  const { token: cpToken } = await e.registry.createToken('lab', { role: 'control-plane', uses: 1 });
  return { ...e, token, cpToken };
}

interface Credentials {
  /** The pool's enrollment token. */
  token: string;
  /** Node credentials: cp-1 (control plane), w-1 (worker). */
  cp: string;
  w1: string;
}

interface Fleet extends Credentials {
  e: LocalEndpoint;
  /** The credential of w-2, a second worker. */
  w2: string;
}

/** Pool "lab" with a control-plane node and two workers, enrolled over HTTPS. */
async function enrolledFleet(t: ExecutionContext, setup: EndpointSetup = {}): Promise<Fleet> {
  const { token, cpToken, ...e } = await poolEndpoint(t, setup);
  const [cp, w1, w2] = await Promise.all([enroll(e.port, cpToken, 'cp-1', 'control-plane'), enroll(e.port, token, 'w-1'), enroll(e.port, token, 'w-2')]);
  return { e, token, cp, w1, w2 };
}

async function enroll(port: number, token: string, node: string, role: 'control-plane' | 'worker' = 'worker'): Promise<string> {
  const answer = await send(port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody(node, role) });
  if (answer.status !== 200) throw new Error(`enrolling ${node}: ${answer.status} ${answer.text}`);
  return (answer.json as { credential: string }).credential;
}

/** A raw response as an Answer, for errorOf. */
function jsonAnswer(response: ParsedResponse): Answer {
  const text = response.body.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: {}, text, json };
}

function refused(t: ExecutionContext, answer: Answer, status: number, message: RegExp): void {
  t.is(answer.status, status, answer.text);
  t.regex(errorOf(answer), message);
  if (status === 401) t.is(answer.headers['www-authenticate'], 'Bearer');
}

/** The secret half of an enrollment token "<id>.<secret>". */
function secretOf(token: string): string {
  return token.slice(token.indexOf('.') + 1);
}

function otherSecret(token: string): string {
  const secret = secretOf(token);
  return `${token.slice(0, token.indexOf('.'))}.${secret[0] === 'A' ? 'B' : 'A'}${secret.slice(1)}`;
}

// ── enrollment ───────────────────────────────────────────────────────────────────────────────────────────

const ENROLL_REFUSALS: Array<{
  title: string;
  /** The Authorization header to send, given the pool's live token and the registry. */
  authorization: (e: LocalEndpoint & { token: string }) => Promise<string | undefined>;
  status: 401 | 403;
  message: RegExp;
}> = [
  { title: 'no Authorization header', authorization: async () => undefined, status: 401, message: /missing "Authorization: Bearer <enrollment token>"/ },
  { title: 'a malformed token', authorization: async () => 'Bearer not-a-token', status: 401, message: /not of the form <id>\.<secret>/ },
  { title: 'another scheme', authorization: async ({ token }) => `Basic ${token}`, status: 401, message: /missing "Authorization: Bearer/ },
  { title: 'an unknown token of the right shape', authorization: async () => `Bearer abcdefgh.${'A'.repeat(43)}`, status: 401, message: /not known to this endpoint/ },
  { title: 'the right id with a wrong secret', authorization: async ({ token }) => `Bearer ${otherSecret(token)}`, status: 401, message: /not known to this endpoint/ },
  {
    title: 'an expired token',
    authorization: async ({ registry }) => {
      const { token } = await registry.createToken('lab', { role: 'worker', ttlMs: 1 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      return `Bearer ${token}`;
    },
    status: 403,
    message: /enrollment token has expired/,
  },
  {
    title: 'a revoked token',
    authorization: async ({ registry }) => {
      const { token, record } = await registry.createToken('lab', { role: 'worker' });
      await registry.revokeToken(record.id);
      return `Bearer ${token}`;
    },
    status: 403,
    message: /enrollment token was revoked/,
  },
];

for (const c of ENROLL_REFUSALS) {
  test(`enroll with ${c.title} is ${c.status} and enrolls nothing`, async (t) => {
    const e = await poolEndpoint(t);
    const authorization = await c.authorization(e);
    const answer = await send(e.port, { method: 'POST', path: '/v1/enroll', json: enrollBody('n-1'), headers: authorization ? { authorization } : {} });
    refused(t, answer, c.status, c.message);
    t.deepEqual(await e.registry.nodes(), []);
    t.false((await e.registry.auditTrail()).some((event) => event.action === 'node-enrolled'));
    t.is(e.server.counters.authFailures, 1);
  });
}

test('enroll with a live token answers a credential and stores only its SHA-256', async (t) => {
  const e = await poolEndpoint(t);
  const answer = await send(e.port, { method: 'POST', path: '/v1/enroll', token: e.cpToken, json: enrollBody('n-1', 'control-plane') });
  t.is(answer.status, 200, answer.text);
  const { node, pool, credential } = answer.json as { node: string; pool: string; credential: string };
  t.deepEqual({ node, pool }, { node: 'n-1', pool: 'lab' });
  t.regex(credential, /^[A-Za-z0-9_-]{43}$/);

  const record = await e.registry.node('n-1');
  t.is(record?.credentialSha256, sha256Hex(credential));
  t.like(record, { pool: 'lab', role: 'control-plane', profile: 'ubuntu', gpu: false });

  const files = await filesUnder(e.dataDir);
  t.true(files.some((f) => f.text.includes(sha256Hex(credential))), 'the hash is stored');
  for (const secret of [credential, e.token, secretOf(e.token), e.cpToken, secretOf(e.cpToken)]) {
    t.deepEqual(files.filter((f) => f.text.includes(secret)).map((f) => f.file), [], 'a secret reached the disk');
  }
  const enrolled = (await e.registry.auditTrail()).filter((event) => event.action === 'node-enrolled');
  t.like(enrolled, [{ node: 'n-1', pool: 'lab', tokenId: e.cpToken.slice(0, 8), source: '127.0.0.1' }]);

  // The credential is a node credential now: join answers "not yet", not 401.
  t.is((await send(e.port, { path: '/v1/nodes/n-1/join', token: credential })).status, 503);
});

test("enroll of a node name another pool owns is 409 and leaves that node alone", async (t) => {
  const e = await poolEndpoint(t);
  await e.registry.createPool('other', 'ubuntu');
  const { token: otherToken } = await e.registry.createToken('other', { role: 'worker' });
  const credential = await enroll(e.port, e.token, 'n-1');
  const before = await e.registry.node('n-1');

  const answer = await send(e.port, { method: 'POST', path: '/v1/enroll', token: otherToken, json: enrollBody('n-1', 'worker') });
  refused(t, answer, 409, /node "n-1" is already enrolled in pool "lab"/);
  t.deepEqual(await e.registry.node('n-1'), before);
  t.is((await send(e.port, { path: '/v1/nodes/n-1/join', token: credential })).status, 503, 'the original credential still works');
});

test('a worker token enrolls no control plane, whatever the body asks: 403, audited, nothing stored', async (t) => {
  const e = await poolEndpoint(t);
  const answer = await send(e.port, { method: 'POST', path: '/v1/enroll', token: e.token, json: enrollBody('evil-cp', 'control-plane') });
  refused(t, answer, 403, /this enrollment token grants the worker role, not control-plane; a control plane enrolls with its own token/);
  t.is(await e.registry.node('evil-cp'), undefined);
  const refusals = (await e.registry.auditTrail()).filter((event) => event.action === 'enrollment-refused');
  t.like(refusals, [{ pool: 'lab', node: 'evil-cp', tokenId: e.token.slice(0, 8), source: '127.0.0.1' }]);
  t.regex(refusals[0]?.reason ?? '', /grants the worker role/);
});

test('a control-plane token enrolls as many control planes as it was issued for, and no worker', async (t) => {
  const e = await poolEndpoint(t);
  const asWorker = await send(e.port, { method: 'POST', path: '/v1/enroll', token: e.cpToken, json: enrollBody('w-9', 'worker') });
  refused(t, asWorker, 403, /this enrollment token grants the control-plane role, not worker/);
  t.is((await send(e.port, { method: 'POST', path: '/v1/enroll', token: e.cpToken, json: enrollBody('cp-1', 'control-plane') })).status, 200);
  const second = await send(e.port, { method: 'POST', path: '/v1/enroll', token: e.cpToken, json: enrollBody('cp-2', 'control-plane') });
  refused(t, second, 403, /has enrolled as many nodes as it was issued for/);
  t.is(await e.registry.node('cp-2'), undefined);
});

test('two enrollments racing for a control-plane token\'s last use: one gets it', async (t) => {
  const e = await poolEndpoint(t);
  const answers = await Promise.all(['cp-a', 'cp-b', 'cp-c'].map((node) => send(e.port, { method: 'POST', path: '/v1/enroll', token: e.cpToken, json: enrollBody(node, 'control-plane') })));
  t.deepEqual(answers.map((a) => a.status).sort(), [200, 403, 403]);
  t.is((await e.registry.nodes()).filter((n) => n.role === 'control-plane').length, 1);
});

test('re-enrolling a worker\'s name as a control plane is 409: even a control-plane token cannot promote a node', async (t) => {
  const e = await poolEndpoint(t);
  const credential = await enroll(e.port, e.token, 'w-1');
  const before = await e.registry.node('w-1');

  const answer = await send(e.port, { method: 'POST', path: '/v1/enroll', token: e.cpToken, json: enrollBody('w-1', 'control-plane') });
  refused(t, answer, 409, /node "w-1" is enrolled as a worker, not a control-plane/);
  t.deepEqual(await e.registry.node('w-1'), before);
  t.is((await send(e.port, { path: '/v1/nodes/w-1/join', token: credential })).status, 503, 'the original credential still works');
});

// ── names bound to credentials ──────────────────────────────────────────────────────────────────────────

const NODE_CREDENTIAL = 'labimg-node-credential';
const credentialOf = (seed: string) => createHash('sha256').update(seed).digest('base64url');

test('a name is bound to the credential it enrolled with: the same machine again is accepted, anyone else is 409 and audited', async (t) => {
  const e = await poolEndpoint(t);
  const own = credentialOf('w-1 of the lab');
  const first = await send(e.port, { method: 'POST', path: '/v1/enroll', token: e.token, json: enrollBody('w-1'), headers: { [NODE_CREDENTIAL]: own } });
  t.is(first.status, 200, first.text);
  t.is((first.json as { credential: string }).credential, own, 'the endpoint keeps the credential the node made');
  const before = await e.registry.node('w-1');

  // The answer was lost, or the machine rebooted mid-enrollment: it asks again with the same credential.
  const retry = await send(e.port, { method: 'POST', path: '/v1/enroll', token: e.token, json: enrollBody('w-1'), headers: { [NODE_CREDENTIAL]: own } });
  t.is(retry.status, 200, retry.text);
  t.deepEqual(await e.registry.node('w-1'), before, 'its record stands');

  // Anyone else with the pool token: another credential, or none.
  for (const headers of [{ [NODE_CREDENTIAL]: credentialOf('an attacker') }, {}] as Array<Record<string, string>>) {
    const stolen = await send(e.port, { method: 'POST', path: '/v1/enroll', token: e.token, json: enrollBody('w-1'), headers });
    refused(t, stolen, 409, /node "w-1" is enrolled already, bound to the credential it enrolled with; .*`labimg nodes forget w-1`/);
  }
  t.deepEqual(await e.registry.node('w-1'), before);
  t.is((await send(e.port, { path: '/v1/nodes/w-1/join', token: own })).status, 503, 'the real node is not locked out');
  const refusals = (await e.registry.auditTrail()).filter((event) => event.action === 'enrollment-refused');
  t.is(refusals.length, 2);
  t.like(refusals[0], { pool: 'lab', node: 'w-1', source: '127.0.0.1' });
});

test('a credential header that is not a credential is 400 and enrolls nothing', async (t) => {
  const e = await poolEndpoint(t);
  const answer = await send(e.port, { method: 'POST', path: '/v1/enroll', token: e.token, json: enrollBody('w-1'), headers: { [NODE_CREDENTIAL]: 'short' } });
  refused(t, answer, 400, /labimg-node-credential: expected the node's credential/);
  t.is(await e.registry.node('w-1'), undefined);
});

test('a revoked node gets 401 at once and cannot enroll again; once forgotten, its name is free', async (t) => {
  const e = await poolEndpoint(t);
  const own = credentialOf('w-1 of the lab');
  t.is((await send(e.port, { method: 'POST', path: '/v1/enroll', token: e.token, json: enrollBody('w-1'), headers: { [NODE_CREDENTIAL]: own } })).status, 200);
  await e.registry.revokeNode('w-1');
  refused(t, await send(e.port, { path: '/v1/nodes/w-1/join', token: own }), 401, /the credential of node "w-1" was revoked at .*`labimg nodes forget w-1`/);
  const again = await send(e.port, { method: 'POST', path: '/v1/enroll', token: e.token, json: enrollBody('w-1'), headers: { [NODE_CREDENTIAL]: own } });
  refused(t, again, 409, /node "w-1" had its credential revoked at/);

  await e.registry.forgetNode('w-1');
  t.is(await e.registry.node('w-1'), undefined);
  const fresh = credentialOf('the reinstalled w-1');
  t.is((await send(e.port, { method: 'POST', path: '/v1/enroll', token: e.token, json: enrollBody('w-1'), headers: { [NODE_CREDENTIAL]: fresh } })).status, 200);
  t.is((await send(e.port, { path: '/v1/nodes/w-1/join', token: own })).status, 401, 'the old credential stays refused');
  t.deepEqual((await e.registry.auditTrail()).filter((event) => event.action === 'node-revoked' || event.action === 'node-forgotten').map((event) => event.action), ['node-revoked', 'node-forgotten']);
});

// ── node routes ──────────────────────────────────────────────────────────────────────────────────────────

const NODE_ROUTES = [
  { name: 'report', method: 'POST', path: (node: string) => `/v1/nodes/${node}/reports`, json: (node: string) => reportBody(node, { role: 'control-plane' }) },
  { name: 'join', method: 'GET', path: (node: string) => `/v1/nodes/${node}/join` },
  { name: 'join?controlPlane=true', method: 'GET', path: (node: string) => `/v1/nodes/${node}/join?controlPlane=true` },
  { name: 'join-material', method: 'PUT', path: (node: string) => `/v1/nodes/${node}/join-material`, json: () => publishBody() },
] as const;

const BAD_CREDENTIALS: Array<{ title: string; authorization: (f: Fleet) => string | undefined; message: RegExp }> = [
  { title: 'no credential', authorization: () => undefined, message: /missing "Authorization: Bearer <node credential>"/ },
  { title: 'a wrong credential', authorization: () => `Bearer ${'x'.repeat(43)}`, message: /credential is not valid for node "cp-1"/ },
  { title: "another node's credential", authorization: (f) => `Bearer ${f.w1}`, message: /credential is not valid for node "cp-1"/ },
  { title: 'the enrollment token', authorization: (f) => `Bearer ${f.token}`, message: /credential is not valid for node "cp-1"/ },
  { title: 'an empty bearer', authorization: () => 'Bearer ', message: /missing "Authorization: Bearer <node credential>"/ },
];

for (const route of NODE_ROUTES) {
  test(`${route.name} with each wrong credential is 401 and changes nothing`, async (t) => {
    const f = await enrolledFleet(t);
    for (const bad of BAD_CREDENTIALS) {
      const authorization = bad.authorization(f);
      const answer = await send(f.e.port, {
        method: route.method,
        path: route.path('cp-1'),
        ...('json' in route ? { json: route.json('cp-1') } : {}),
        headers: authorization ? { authorization } : {},
      });
      t.is(answer.status, 401, `${bad.title}: ${answer.text}`);
      t.regex(errorOf(answer), bad.message, bad.title);
      t.is(answer.headers['www-authenticate'], 'Bearer', bad.title);
    }
    t.deepEqual(await f.e.registry.reports('cp-1'), []);
    t.is(await f.e.registry.joinMaterial('lab'), undefined);
    t.deepEqual((await f.e.registry.node('cp-1'))?.steps, {});
    t.false((await f.e.registry.auditTrail()).some((event) => event.action === 'join-material-issued' || event.action === 'join-material-published'));
    t.is(f.e.server.counters.authFailures, BAD_CREDENTIALS.length);
  });
}

test('a node that does not exist gets 401 whatever credential it shows', async (t) => {
  const f = await enrolledFleet(t);
  refused(t, await send(f.e.port, { path: '/v1/nodes/ghost/join', token: f.cp }), 401, /not valid for node "ghost"/);
  t.is(await f.e.registry.node('ghost'), undefined);
});

test('a worker asking for the certificate key is 403 and is issued nothing', async (t) => {
  const f = await enrolledFleet(t);
  t.is((await send(f.e.port, { method: 'PUT', path: '/v1/nodes/cp-1/join-material', token: f.cp, json: publishBody() })).status, 204);
  refused(t, await send(f.e.port, { path: '/v1/nodes/w-1/join?controlPlane=true', token: f.w1 }), 403, /"w-1" enrolled as a worker; only control-plane nodes get the certificate key/);
  t.false((await f.e.registry.auditTrail()).some((event) => event.action === 'join-material-issued'));
});

test('a worker publishing join material is 403 and nothing is published', async (t) => {
  const f = await enrolledFleet(t);
  refused(t, await send(f.e.port, { method: 'PUT', path: '/v1/nodes/w-1/join-material', token: f.w1, json: publishBody() }), 403, /"w-1" enrolled as a worker; only control-plane nodes publish/);
  t.is(await f.e.registry.joinMaterial('lab'), undefined);
  t.false((await f.e.registry.auditTrail()).some((event) => event.action === 'join-material-published'));
});

test('a publication that moves the pool to another API server or CA is 409 and audited until the operator resets it', async (t) => {
  const f = await enrolledFleet(t);
  const first = publishBody();
  t.is((await send(f.e.port, { method: 'PUT', path: '/v1/nodes/cp-1/join-material', token: f.cp, json: first })).status, 204);
  // A fresh token from the same cluster is what the refresh timer publishes: accepted.
  t.is((await send(f.e.port, { method: 'PUT', path: '/v1/nodes/cp-1/join-material', token: f.cp, json: { ...first, token: 'bcdefa.123456789abcdef0' } })).status, 204);

  const moved = await send(f.e.port, { method: 'PUT', path: '/v1/nodes/cp-1/join-material', token: f.cp, json: { ...first, apiServerEndpoint: '6.6.6.6:6443' } });
  refused(t, moved, 409, /^this join material would move pool "lab" from API server 10\.0\.0\.10:6443 \(published by cp-1\) to 6\.6\.6\.6:6443; .*`labimg pool join-material-reset lab`$/);
  const otherCa = await send(f.e.port, { method: 'PUT', path: '/v1/nodes/cp-1/join-material', token: f.cp, json: { ...first, caCertHashes: [`sha256:${'6'.repeat(64)}`] } });
  refused(t, otherCa, 409, /would change the cluster CA that pool "lab" joins/);
  t.is((await f.e.registry.joinMaterial('lab'))?.apiServerEndpoint, '10.0.0.10:6443', 'workers still get the real API server');
  t.is((await f.e.registry.auditTrail()).filter((event) => event.action === 'join-material-refused').length, 2);

  await f.e.registry.resetJoinMaterial('lab');
  t.is((await send(f.e.port, { method: 'PUT', path: '/v1/nodes/cp-1/join-material', token: f.cp, json: { ...first, apiServerEndpoint: '10.0.0.20:6443' } })).status, 204);
});

test('a report about another node is 400 and stored for neither', async (t) => {
  const f = await enrolledFleet(t);
  refused(t, await send(f.e.port, { method: 'POST', path: '/v1/nodes/w-1/reports', token: f.w1, json: reportBody('w-2') }), 400, /report is about node "w-2" but was sent for "w-1"/);
  t.deepEqual(await f.e.registry.reports('w-1'), []);
  t.deepEqual(await f.e.registry.reports('w-2'), []);
  t.deepEqual((await f.e.registry.node('w-2'))?.steps, {});
});

test("one node's credential cannot mark another node departed, by its path or by its report's node", async (t) => {
  const f = await enrolledFleet(t);
  const leaving = (node: string) => reportBody(node, { step: LEAVING_STEP, status: 'done' });
  refused(t, await send(f.e.port, { method: 'POST', path: '/v1/nodes/w-2/reports', token: f.w1, json: leaving('w-2') }), 401, /credential is not valid for node "w-2"/);
  refused(t, await send(f.e.port, { method: 'POST', path: '/v1/nodes/w-1/reports', token: f.w1, json: leaving('w-2') }), 400, /report is about node "w-2" but was sent for "w-1"/);
  refused(t, await send(f.e.port, { method: 'POST', path: '/v1/nodes/cp-1/reports', token: f.w1, json: leaving('cp-1') }), 401, /credential is not valid for node "cp-1"/);
  const states = async () => Object.fromEntries((await f.e.registry.fleet()).nodes.map((n) => [n.node, n.state]));
  t.deepEqual(await states(), { 'cp-1': 'enrolled-no-report', 'w-1': 'enrolled-no-report', 'w-2': 'enrolled-no-report' });
  t.deepEqual(await f.e.registry.reports('w-2'), []);
  // Its own leaving report, with its own credential, is what makes a node departed.
  t.is((await send(f.e.port, { method: 'POST', path: '/v1/nodes/w-2/reports', token: f.w2, json: leaving('w-2') })).status, 200);
  t.deepEqual(await states(), { 'cp-1': 'enrolled-no-report', 'w-1': 'enrolled-no-report', 'w-2': 'departed' });
});

test('join material: 503 until published, then the certificate key only for a control plane that asks, every issue audited', async (t) => {
  const f = await enrolledFleet(t, { limits: { joinRetryAfterSeconds: 7 } });
  const join = (credential: string, node: string, controlPlane = false) => send(f.e.port, { path: `/v1/nodes/${node}/join${controlPlane ? '?controlPlane=true' : ''}`, token: credential });

  const early = await join(f.w1, 'w-1');
  refused(t, early, 503, /pool "lab" has not published join material yet/);
  t.is(early.headers['retry-after'], '7');

  const published = publishBody();
  const publish = await send(f.e.port, { method: 'PUT', path: '/v1/nodes/cp-1/join-material', token: f.cp, json: published });
  t.is(publish.status, 204, publish.text);
  t.like(await f.e.registry.joinMaterial('lab'), { ...published, publishedBy: 'cp-1' });

  const { apiServerEndpoint, token, caCertHashes, certificateKey } = published;
  const worker = await join(f.w1, 'w-1');
  t.is(worker.status, 200, worker.text);
  t.deepEqual(worker.json, { apiServerEndpoint, token, caCertHashes });
  const controlPlane = await join(f.cp, 'cp-1', true);
  t.is(controlPlane.status, 200, controlPlane.text);
  t.deepEqual(controlPlane.json, { apiServerEndpoint, token, caCertHashes, certificateKey });
  const controlPlaneNoKey = await join(f.cp, 'cp-1');
  t.deepEqual(controlPlaneNoKey.json, { apiServerEndpoint, token, caCertHashes }, 'no key unless asked for');

  const audit = await f.e.registry.auditTrail();
  t.like(
    audit.filter((event) => event.action === 'join-material-issued'),
    [
      { node: 'w-1', pool: 'lab', certificateKey: false, source: '127.0.0.1' },
      { node: 'cp-1', pool: 'lab', certificateKey: true },
      { node: 'cp-1', pool: 'lab', certificateKey: false },
    ],
  );
  t.is(audit.filter((event) => event.action === 'join-material-issued').length, 3);
  t.is(f.e.server.counters.joinMaterialIssued, 3);
  const auditText = JSON.stringify(audit);
  for (const secret of [f.cp, f.w1, f.w2, f.token, secretOf(f.token), token, certificateKey]) t.false(auditText.includes(secret), 'a secret in the audit trail');
});

test('join material whose token expires within a minute is not handed out', async (t) => {
  const f = await enrolledFleet(t);
  const publish = await send(f.e.port, { method: 'PUT', path: '/v1/nodes/cp-1/join-material', token: f.cp, json: publishBody(30_000) });
  t.is(publish.status, 204, publish.text);
  const answer = await send(f.e.port, { path: '/v1/nodes/w-1/join', token: f.w1 });
  refused(t, answer, 503, /bootstrap token of pool "lab" expires at .*waiting for the control plane to refresh it/);
  t.regex(String(answer.headers['retry-after']), /^[1-9][0-9]*$/);
  t.false((await f.e.registry.auditTrail()).some((event) => event.action === 'join-material-issued'));
});

test('a certificate key that expires within a minute goes to nobody, while workers still join', async (t) => {
  const f = await enrolledFleet(t);
  const material = { ...publishBody(), certificateKeyExpires: new Date(Date.now() + 30_000).toISOString() };
  t.is((await send(f.e.port, { method: 'PUT', path: '/v1/nodes/cp-1/join-material', token: f.cp, json: material })).status, 204);
  refused(t, await send(f.e.port, { path: '/v1/nodes/cp-1/join?controlPlane=true', token: f.cp }), 503, /has not published a current certificate key/);
  t.is((await send(f.e.port, { path: '/v1/nodes/w-1/join', token: f.w1 })).status, 200);
});

test('join material whose token has already expired is refused at publication', async (t) => {
  const f = await enrolledFleet(t);
  const material = { ...publishBody(), tokenExpires: new Date(Date.now() - 1000).toISOString() };
  refused(t, await send(f.e.port, { method: 'PUT', path: '/v1/nodes/cp-1/join-material', token: f.cp, json: material }), 400, /tokenExpires .* is in the past/);
  t.is(await f.e.registry.joinMaterial('lab'), undefined);
});

test('the same report sent twice is stored once', async (t) => {
  const f = await enrolledFleet(t);
  const report = reportBody('w-1');
  const first = await send(f.e.port, { method: 'POST', path: '/v1/nodes/w-1/reports', token: f.w1, json: report });
  const second = await send(f.e.port, { method: 'POST', path: '/v1/nodes/w-1/reports', token: f.w1, json: report });
  t.deepEqual([first.status, first.json], [200, { stored: true }]);
  t.deepEqual([second.status, second.json], [200, { stored: false }]);
  const stored = await f.e.registry.reports('w-1');
  t.is(stored.length, 1);
  t.like(stored[0], report);
  t.like(f.e.server.counters, { reportsStored: 1, reportsDuplicate: 1 });
});

test('the public views (fleet JSON and page, metrics) carry no secret and escape what nodes report', async (t) => {
  const f = await enrolledFleet(t);
  const published = publishBody();
  await send(f.e.port, { method: 'PUT', path: '/v1/nodes/cp-1/join-material', token: f.cp, json: published });
  const script = '<script>alert(1)</script>';
  await send(f.e.port, { method: 'POST', path: '/v1/nodes/w-1/reports', token: f.w1, json: reportBody('w-1', { status: 'failed', error: script, durationMs: 5 }) });
  const hashes = await Promise.all(['cp-1', 'w-1', 'w-2'].map(async (n) => (await f.e.registry.node(n))?.credentialSha256 ?? ''));
  const secrets = [f.cp, f.w1, f.w2, f.token, secretOf(f.token), published.token, published.certificateKey, ...hashes];
  for (const path of ['/v1/fleet', '/fleet', '/', '/metrics']) {
    const answer = await send(f.e.port, { path });
    t.is(answer.status, 200, path);
    for (const secret of secrets) t.false(answer.text.includes(secret), `${path} shows a secret`);
  }
  const page = await send(f.e.port, { path: '/fleet' });
  t.false(page.text.includes(script));
  t.true(page.text.includes('&lt;script&gt;'));
});

// ── request bodies ───────────────────────────────────────────────────────────────────────────────────────

interface BodyRoute {
  name: string;
  method: string;
  path: string;
  /** The right credential for this route, and a valid body for it. */
  token: (c: Credentials) => string;
  valid: () => Record<string, unknown>;
  /** A required field, and a field with a value of the wrong type (with the message ajv gives). */
  required: string;
  wrongType: { field: string; value: unknown; message: RegExp };
  /** Whether anything was stored by this route. */
  stored: (registry: Registry) => Promise<boolean>;
}

const BODY_ROUTES: BodyRoute[] = [
  {
    name: 'enroll',
    method: 'POST',
    path: '/v1/enroll',
    token: (f) => f.token,
    valid: () => enrollBody('n-9'),
    required: 'role',
    wrongType: { field: 'gpu', value: 'yes', message: /invalid enrollment request: gpu: must be boolean/ },
    stored: async (registry) => (await registry.node('n-9')) !== undefined,
  },
  {
    name: 'report',
    method: 'POST',
    path: '/v1/nodes/w-1/reports',
    token: (f) => f.w1,
    valid: () => ({ ...reportBody('w-1') }),
    required: 'status',
    wrongType: { field: 'durationMs', value: '5', message: /invalid report: durationMs: must be integer/ },
    stored: async (registry) => (await registry.reports('w-1')).length > 0,
  },
  {
    name: 'join-material',
    method: 'PUT',
    path: '/v1/nodes/cp-1/join-material',
    token: (f) => f.cp,
    valid: () => publishBody(),
    required: 'token',
    wrongType: { field: 'caCertHashes', value: `sha256:${'1'.repeat(64)}`, message: /invalid join material: caCertHashes: must be array/ },
    stored: async (registry) => (await registry.joinMaterial('lab')) !== undefined,
  },
];

const BODY_FAULTS: Array<{
  title: string;
  status: number;
  message: (route: BodyRoute) => RegExp;
  request: (route: BodyRoute) => { body: string | Buffer; headers?: Record<string, string> };
}> = [
  {
    title: 'a Content-Length over the limit',
    status: 413,
    message: () => new RegExp(`request body over ${BODY_LIMIT} bytes`),
    request: (route) => ({ body: JSON.stringify({ ...route.valid(), padding: 'x'.repeat(BODY_LIMIT) }) }),
  },
  { title: 'a text/plain body', status: 415, message: () => /expected Content-Type: application\/json/, request: (route) => ({ body: JSON.stringify(route.valid()), headers: { 'content-type': 'text/plain' } }) },
  { title: 'no Content-Type', status: 415, message: () => /expected Content-Type: application\/json/, request: (route) => ({ body: JSON.stringify(route.valid()), headers: {} }) },
  { title: 'invalid JSON', status: 400, message: () => /request body is not valid JSON/, request: (route) => ({ body: JSON.stringify(route.valid()).slice(0, -1) }) },
  { title: 'an empty body', status: 400, message: () => /request body is not valid JSON/, request: () => ({ body: '' }) },
  { title: 'a JSON array', status: 400, message: () => /body: must be object/, request: (route) => ({ body: JSON.stringify([route.valid()]) }) },
  { title: 'an unknown field', status: 400, message: () => /body: unknown field "extra"/, request: (route) => ({ body: JSON.stringify({ ...route.valid(), extra: 1 }) }) },
  { title: 'a __proto__ field', status: 400, message: () => /body: unknown field "__proto__"/, request: (route) => ({ body: `{"__proto__":{"admin":true},${JSON.stringify(route.valid()).slice(1)}` }) },
  {
    title: 'a missing field',
    status: 400,
    message: (route) => new RegExp(`body: missing field "${route.required}"`),
    request: (route) => {
      const body = route.valid();
      delete body[route.required];
      return { body: JSON.stringify(body) };
    },
  },
  { title: 'a field of the wrong type', status: 400, message: (route) => route.wrongType.message, request: (route) => ({ body: JSON.stringify({ ...route.valid(), [route.wrongType.field]: route.wrongType.value }) }) },
];

for (const route of BODY_ROUTES) {
  for (const fault of BODY_FAULTS) {
    test(`${route.name} with ${fault.title} is ${fault.status} and stores nothing`, async (t) => {
      const f = await enrolledFleet(t);
      const { body, headers } = fault.request(route);
      const answer = await send(f.e.port, { method: route.method, path: route.path, token: route.token(f), body, headers: headers ?? { 'content-type': 'application/json' } });
      refused(t, answer, fault.status, fault.message(route));
      t.false(await route.stored(f.e.registry));
      // The valid body still goes through: the refusal was about the fault, not the route.
      const ok = await send(f.e.port, { method: route.method, path: route.path, token: route.token(f), json: route.valid() });
      t.true(ok.status === 200 || ok.status === 204, ok.text);
    });
  }
}

// ── paths and methods ────────────────────────────────────────────────────────────────────────────────────

/** Request targets that must never reach a handler. `parser`: node's HTTP parser refuses it before routing. */
const PATH_TRICKS: Array<{ method: string; target: string; parser?: boolean }> = [
  { method: 'POST', target: '/v1/nodes/../enroll' },
  { method: 'POST', target: '/v1/nodes/w-1/../../enroll' },
  { method: 'GET', target: '/v1/nodes/%2e%2e/join' },
  { method: 'GET', target: '/v1/nodes/%2E%2E/join' },
  { method: 'GET', target: '/v1/nodes/a%2Fb/join' },
  { method: 'GET', target: '/v1/nodes/%77-1/join' },
  { method: 'POST', target: '//v1/enroll' },
  { method: 'GET', target: '/v1//nodes/w-1/join' },
  { method: 'GET', target: '/v1/nodes/./w-1/join' },
  { method: 'GET', target: '/v1/nodes/w-1/join/.' },
  { method: 'GET', target: '/v1/nodes/w-2/../w-1/join' },
  { method: 'GET', target: '/v1/nodes/UPPER/join' },
  { method: 'GET', target: '/v1/nodes/W-1/join' },
  { method: 'GET', target: `/v1/nodes/${'a'.repeat(300)}/join` },
  { method: 'GET', target: '/v1/nodes/-w-1/join' },
  { method: 'GET', target: '/v1/nodes/w-1./join' },
  { method: 'GET', target: '/v1/nodes/w-1\\..\\w-2/join' },
  { method: 'GET', target: '\\v1\\nodes\\w-1\\join', parser: true },
  { method: 'GET', target: '/v1/nodes/w-1;x/join' },
  { method: 'GET', target: '/v1/nodes/w-1%00/join' },
  { method: 'GET', target: '/v1/nodes/w-1\x00/join', parser: true },
  { method: 'GET', target: '/v1/nodes/w-1\x7f/join', parser: true },
  { method: 'GET', target: '/v1/nodes/w\u00e9/join', parser: true },
  { method: 'GET', target: 'v1/nodes/w-1/join', parser: true },
  { method: 'GET', target: 'https://127.0.0.1/v1/nodes/w-1/join' },
  { method: 'GET', target: '*' },
  { method: 'GET', target: `/v1/nodes/w-1/join?${'a'.repeat(2000)}` },
  { method: 'GET', target: `/${'a/'.repeat(600)}` },
];

test('path tricks are 400 or 404, never a route', async (t) => {
  const f = await enrolledFleet(t);
  await send(f.e.port, { method: 'PUT', path: '/v1/nodes/cp-1/join-material', token: f.cp, json: publishBody() });
  for (const trick of PATH_TRICKS) {
    // With a credential that would work, so a trick that reached a route would show up as a 2xx.
    const token = trick.method === 'POST' ? f.token : f.w1;
    const body = trick.method === 'POST' ? JSON.stringify(enrollBody('sneaky')) : '';
    const request = rawRequest(trick.method, trick.target, { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body);
    const exchange = await rawExchange(f.e.port, request);
    const response = parseResponse(exchange.bytes);
    const label = JSON.stringify(trick.target.slice(0, 80));
    t.true(response.status === 400 || response.status === 404, `${label}: ${response.status} ${response.body.toString()}`);
    if (!trick.parser) t.notThrows(() => errorOf(jsonAnswer(response)), label);
  }
  t.is(await f.e.registry.node('sneaky'), undefined);
  t.false((await f.e.registry.auditTrail()).some((event) => event.action === 'join-material-issued'));
});

const WRONG_METHODS: Array<[method: string, path: string, allow: string]> = [
  ['GET', '/v1/enroll', 'POST'],
  ['PUT', '/v1/enroll', 'POST'],
  ['GET', '/v1/nodes/w-1/reports', 'POST'],
  ['DELETE', '/v1/nodes/w-1/join', 'GET'],
  ['POST', '/v1/nodes/w-1/join', 'GET'],
  ['POST', '/v1/nodes/cp-1/join-material', 'PUT'],
  ['GET', '/v1/nodes/cp-1/join-material', 'PUT'],
  ['DELETE', '/v1/fleet', 'GET'],
  ['POST', '/healthz', 'GET'],
  ['PATCH', '/metrics', 'GET'],
  ['HEAD', '/healthz', 'GET'],
];

test('a wrong method is 405 with Allow', async (t) => {
  const f = await enrolledFleet(t);
  for (const [method, path, allow] of WRONG_METHODS) {
    const answer = await send(f.e.port, { method, path, token: f.cp });
    t.is(answer.status, 405, `${method} ${path}`);
    t.is(answer.headers.allow, allow, `${method} ${path}`);
    if (method !== 'HEAD') t.regex(errorOf(answer), new RegExp(`method ${method} not allowed`));
  }
  t.deepEqual(await f.e.registry.reports('w-1'), []);
  t.is(await f.e.registry.joinMaterial('lab'), undefined);
});

// ── rate limit ───────────────────────────────────────────────────────────────────────────────────────────

test('after 5 failed authentications more failures get 429 with Retry-After, and a valid token is still served', async (t) => {
  const limits = { authFailures: 5, authFailureWindowMs: 60_000 };
  const e = await poolEndpoint(t, { limits });
  for (const bad of [`abcdefgh.${'A'.repeat(43)}`, 'junk', otherSecret(e.token), `zzzzzzzz.${'B'.repeat(43)}`, 'x.y']) {
    t.is((await send(e.port, { method: 'POST', path: '/v1/enroll', token: bad, json: enrollBody('n-1') })).status, 401);
  }
  const limited = await send(e.port, { method: 'POST', path: '/v1/enroll', token: 'junk', json: enrollBody('n-1') });
  refused(t, limited, 429, /too many failed authentications from 127\.0\.0\.1/);
  const wait = Number(limited.headers['retry-after']);
  t.true(Number.isInteger(wait) && wait >= 1 && wait <= 60, `Retry-After ${String(limited.headers['retry-after'])}`);
  t.is(e.server.counters.rateLimited, 1);
  // Only failures are limited: the address's valid token enrolls all the same.
  t.is((await send(e.port, { method: 'POST', path: '/v1/enroll', token: e.token, json: enrollBody('n-1') })).status, 200);

  // The limit is per server process and window: a restarted server (same data) answers the next failure with 401.
  const fresh = await endpoint(t, { dataDir: e.dataDir, limits });
  t.is((await send(fresh.port, { method: 'POST', path: '/v1/enroll', token: 'junk', json: enrollBody('n-2') })).status, 401);
});

test('failed node credentials count too, never refuse the right one, and the window ends', async (t) => {
  // Long enough that four requests on a loaded 2-core machine stay inside it (2 s once did not).
  const windowMs = 6_000;
  const f = await enrolledFleet(t, { limits: { authFailures: 3, authFailureWindowMs: windowMs } });
  let windowStarted = 0; // at the latest: the first failure is counted before its answer
  for (let i = 0; i < 3; i += 1) {
    t.is((await send(f.e.port, { path: '/v1/nodes/w-1/join', token: `wrong-${i}` })).status, 401);
    windowStarted ||= Date.now();
  }
  const limited = await send(f.e.port, { path: '/v1/nodes/w-1/join', token: 'wrong-again' });
  refused(t, limited, 429, /too many failed authentications/);
  t.regex(String(limited.headers['retry-after']), /^[1-6]$/);
  t.is((await send(f.e.port, { path: '/v1/nodes/w-1/join', token: f.w1 })).status, 503, "w-1's own credential: not published yet, never 429");
  t.is((await send(f.e.port, { method: 'POST', path: '/v1/enroll', token: f.token, json: enrollBody('n-1') })).status, 200, 'the pool token too');
  await new Promise((resolve) => setTimeout(resolve, windowStarted + windowMs + 50 - Date.now()));
  t.is((await send(f.e.port, { path: '/v1/nodes/w-1/join', token: 'wrong-later' })).status, 401, 'past the window a failure is answered again');
});

// ── the agent's pinned client ────────────────────────────────────────────────────────────────────────────

function pinnedClient(t: ExecutionContext, port: number, fingerprint: string): PinnedHttpsClient {
  // A generous timeout: these tests are about the pin, and a loaded 2-core machine once took over 5 s.
  const client = new PinnedHttpsClient(`https://127.0.0.1:${port}`, fingerprint, 20_000);
  t.teardown(() => client.close());
  return client;
}

test('a client pinned to another CA sends nothing: PinMismatch, and the server saw no request', async (t) => {
  const e = await poolEndpoint(t);
  const client = pinnedClient(t, e.port, `sha256:${'0'.repeat(64)}`);
  const error = await t.throwsAsync(client.request('POST', '/v1/enroll', { token: e.token, body: enrollBody('n-1') }), { instanceOf: PinMismatch });
  t.true(error?.message.includes(caFingerprintOf(e.ca.certPem)), 'the message names the CA the server presented');
  t.is(e.server.counters.requests.size, 0);
  t.is(await e.registry.node('n-1'), undefined);
});

test('a client pinned to the right CA talks to the endpoint', async (t) => {
  const e = await poolEndpoint(t);
  const client = pinnedClient(t, e.port, caFingerprintOf(e.ca.certPem));
  const enrolled = await client.request('POST', '/v1/enroll', { token: e.token, body: enrollBody('n-1') });
  t.is(enrolled.status, 200);
  const { credential } = enrolled.body as { credential: string };
  t.is((await client.request('GET', '/v1/nodes/n-1/join', { token: credential })).status, 503);
  t.deepEqual([...e.server.counters.requests], [
    ['POST /v1/enroll 200', 1],
    ['GET /v1/nodes/:node/join 503', 1],
  ]);
});

test('an impostor at the same address with a certificate from another CA gets nothing', async (t) => {
  const real = await poolEndpoint(t);
  const pin = caFingerprintOf(real.ca.certPem);
  const seasoned = pinnedClient(t, real.port, pin);
  t.is((await seasoned.request('GET', '/v1/fleet')).status, 200, 'talks to the real endpoint first');
  await real.close();

  const impostor = await endpoint(t, { port: real.port, pki: 'own' });
  t.not(caFingerprintOf(impostor.ca.certPem), pin);
  await impostor.registry.createPool('lab', 'ubuntu');
  const fresh = pinnedClient(t, real.port, pin);
  await t.throwsAsync(fresh.request('POST', '/v1/enroll', { token: real.token, body: enrollBody('n-1') }), { instanceOf: PinMismatch, message: /presented sha256:/ });
  // Every new connection is checked against the pin, not only a client's first.
  await t.throwsAsync(seasoned.request('POST', '/v1/enroll', { token: real.token, body: enrollBody('n-1') }), { instanceOf: PinMismatch });
  t.is(impostor.server.counters.requests.size, 0);
});

test('an impostor that presents the real CA certificate above a forged server certificate gets nothing', async (t) => {
  const real = await poolEndpoint(t);
  const pin = caFingerprintOf(real.ca.certPem);
  await real.close();
  // The CA certificate is public (every node sees it in the handshake), so an impostor can present it, and can
  // make a server certificate that names it as issuer down to its key identifier; it cannot make the CA's signature.
  const impostor = await endpoint(t, { port: real.port, identity: forgedIdentity(real.ca.certPem) });
  await impostor.registry.createPool('lab', 'ubuntu');
  const client = pinnedClient(t, real.port, pin);
  await t.throwsAsync(client.request('POST', '/v1/enroll', { token: real.token, body: enrollBody('n-1') }), { instanceOf: PinMismatch, message: /presented a server certificate sha256:\S+ the pinned CA did not sign/ });
  t.is(impostor.server.counters.requests.size, 0);
});

/** A server certificate that claims `caPem` as its issuer (subject and key identifier) but is signed by another key, chained to `caPem`. */
function forgedIdentity(caPem: string): ServerIdentity {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  // The real CA's name and key identifier, with the impostor's own key to sign.
  const claimed = issuerNamed(caPem, privateKey);
  const cert = signCertificate(
    {
      serial: Buffer.from([0x01]),
      subject: commonNameOf('labimg endpoint'),
      publicKey,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      extensions: [subjectAltName(['127.0.0.1']), authorityKeyIdentifier(claimed.keyIdentifier)],
    },
    claimed,
  );
  return { certChainPem: `${pemOf(cert)}${caPem}`, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

test('a server certificate from the pinned CA that is not yet valid is refused as retryable, nothing sent', async (t) => {
  const real = await poolEndpoint(t);
  await real.close();
  // As a node whose clock has not been set yet sees a good endpoint: waiting (for NTP) fixes it, so the
  // agent retries rather than giving up as it does for a wrong CA.
  const tomorrow = new Date(Date.now() + 86_400_000);
  const early = await endpoint(t, { port: real.port, identity: issueServerIdentity(real.ca, ['127.0.0.1'], tomorrow) });
  const client = pinnedClient(t, real.port, caFingerprintOf(real.ca.certPem));
  await t.throwsAsync(client.request('POST', '/v1/enroll', { token: real.token, body: enrollBody('n-1') }), { instanceOf: EndpointUnreachable, message: /is valid from .* and this node's clock says/ });
  t.is(early.server.counters.requests.size, 0);
});

test('a pinned client makes one TLS handshake per connection and reuses it', async (t) => {
  const e = await poolEndpoint(t);
  const client = pinnedClient(t, e.port, caFingerprintOf(e.ca.certPem));
  const enrolled = await client.request('POST', '/v1/enroll', { token: e.token, body: enrollBody('n-1') });
  const { credential } = enrolled.body as { credential: string };
  t.is((await client.request('POST', '/v1/nodes/n-1/reports', { token: credential, body: reportBody('n-1') })).status, 200);
  t.is(e.server.counters.tlsConnections, 1);
});

// ── regressions: bugs found while writing this file ─────────────────────────────────────────────────────

for (const route of BODY_ROUTES) {
  // Was: on a 413 handle() ran `res.once('finish', () => req.socket.destroy())`, and for a streamed body (no
  // Content-Length) req.socket was null by then: an uncaught TypeError killed the process. Any client could do it,
  // since /v1/enroll reads the body before it checks the token. In a child process, so a crash fails only this.
  test(`${route.name} with a chunked body over the limit is 413 and the server lives on`, async (t) => {
    const e = await childEndpoint(t);
    await e.registry.createPool('lab', 'ubuntu');
    const { token } = await e.registry.createToken('lab', { role: 'worker' });
    const { token: cpToken } = await e.registry.createToken('lab', { role: 'control-plane', uses: 1 });
    const credentials: Credentials = { token, cp: await enroll(e.port, cpToken, 'cp-1', 'control-plane'), w1: await enroll(e.port, token, 'w-1') };
    const body = JSON.stringify({ ...route.valid(), padding: 'x'.repeat(BODY_LIMIT * 4) });
    const answer = await send(e.port, { method: route.method, path: route.path, token: route.token(credentials), body, chunked: true, headers: { 'content-type': 'application/json' } }).catch((error: Error) => error);
    await new Promise((resolve) => setTimeout(resolve, 200));
    t.is(e.exit(), undefined, `the endpoint died:\n${e.output()}`);
    t.false(answer instanceof Error, String(answer));
    if (!(answer instanceof Error)) refused(t, answer, 413, /request body over/);
    t.false(await route.stored(e.registry));
    t.is((await send(e.port, { path: '/healthz' })).status, 200);
  });
}

// Was: the 413 had no "Connection: close", yet the server destroyed the socket right after it, so a keep-alive
// client (node's default agent since 19, and PinnedHttpsClient) sent its next request on a dead socket: "socket hang up".
test('after a 413 a keep-alive client can send its next request', async (t) => {
  const e = await poolEndpoint(t);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const big = await send(e.port, { method: 'POST', path: '/v1/enroll', token: e.token, body: 'x'.repeat(BODY_LIMIT + 1), headers: { 'content-type': 'application/json' }, agent });
  t.is(big.status, 413);
  t.is(big.headers.connection, 'close');
  const next = await send(e.port, { path: '/healthz', agent }).catch((error: Error) => error);
  t.false(next instanceof Error, String(next));
});

// Was: names were valid up to 253 characters, but FileStore writes `.<name>.json.<12 hex>.tmp` and reads
// `<name>.json`: past 232 characters enrolling failed with ENAMETOOLONG, answered as 503 "cannot reach its store"
// (the agent retries for ever), and past 250 any request with any bearer did the same, unlimited, each with a
// "store error" warning.
test('the longest valid node name enrolls, reports and asks for join material', async (t) => {
  const f = await enrolledFleet(t);
  const name = 'a'.repeat(NODE_NAME_MAX);
  const credential = await enroll(f.e.port, f.token, name);
  const report = await send(f.e.port, { method: 'POST', path: `/v1/nodes/${name}/reports`, token: credential, json: reportBody(name) });
  t.deepEqual([report.status, report.json], [200, { stored: true }]);
  refused(t, await send(f.e.port, { path: `/v1/nodes/${name}/join`, token: credential }), 503, /has not published join material yet/);
  t.deepEqual(f.e.warnings.filter((w) => w.includes('store error')), []);
});

test('a node name one character too long is 400 at enrollment and 404 on node routes, never a store error', async (t) => {
  const f = await enrolledFleet(t);
  const name = 'a'.repeat(NODE_NAME_MAX + 1);
  refused(t, await send(f.e.port, { method: 'POST', path: '/v1/enroll', token: f.token, json: enrollBody(name) }), 400, /node: must NOT have more than/);
  refused(t, await send(f.e.port, { path: `/v1/nodes/${name}/join`, token: 'wrong' }), 404, /no such route/);
  t.deepEqual(await f.e.registry.nodes().then((nodes) => nodes.map((n) => n.name).sort()), ['cp-1', 'w-1', 'w-2']);
  t.deepEqual(f.e.warnings.filter((w) => w.includes('store error')), []);
});

// Was: the timestamp schema only checked the shape, so "2030-01-01T25:00:00Z" passed; Date.parse gave NaN, the
// "in the past" check (NaN <= now) was false, and so was join's expiry check (NaN - now < margin): the material
// was accepted and handed out for ever, never treated as expiring.
for (const field of ['tokenExpires', 'certificateKeyExpires'] as const) {
  test(`join material with a ${field} that is no real time is 400`, async (t) => {
    const f = await enrolledFleet(t);
    const material = { ...publishBody(), [field]: '2030-01-01T25:00:00Z' };
    refused(t, await send(f.e.port, { method: 'PUT', path: '/v1/nodes/cp-1/join-material', token: f.cp, json: material }), 400, new RegExp(`${field}.*not a real time`));
    t.is(await f.e.registry.joinMaterial('lab'), undefined);
  });
}

// Was: when the connection went away while a request on it waited for its body (the client hung up mid-body, or
// bytes after the request failed to parse and node closed the socket), readBody threw node's "aborted" error and
// asHttpError took it for a store failure: a "store error: aborted" warning and a 503 in the request counters, for
// any client, no credential needed.
const CUT_SHORT: Array<{ title: string; bytes: (token: string) => string }> = [
  {
    title: 'hanging up mid-body',
    bytes: (token) => `${rawRequest('POST', '/v1/enroll', { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': '500' })}{"node":`,
  },
  {
    title: 'sending garbage after a body-less POST',
    bytes: (token) => `${rawRequest('POST', '/v1/enroll', { authorization: `Bearer ${token}`, 'content-type': 'application/json' })}{"this is": "not a request"}`,
  },
  {
    title: 'sending a broken chunk',
    bytes: (token) => `${rawRequest('POST', '/v1/enroll', { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' })}zz\r\n{}\r\n0\r\n\r\n`,
  },
];

for (const c of CUT_SHORT) {
  test(`a client ${c.title} is not taken for a store failure`, async (t) => {
    const e = await poolEndpoint(t);
    await rawExchange(e.port, c.bytes(e.token), { endAfterWrite: c.title.startsWith('hanging') });
    await new Promise((resolve) => setTimeout(resolve, 200));
    t.deepEqual(e.warnings.filter((w) => w.includes('store error')), []);
    t.false([...e.server.counters.requests.keys()].some((key) => key.endsWith(' 503')), JSON.stringify([...e.server.counters.requests]));
    t.deepEqual(await e.registry.nodes(), []);
  });
}
