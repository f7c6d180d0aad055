/**
 * The route table (contract/endpoint-routes.ts) against both of its users: every route is called through
 * the agent's own client (HttpsEndpointSession for a node's routes, PinnedHttpsClient with routePath for the
 * rest) against a real EndpointServer on loopback, and must answer as the table says. A route of the table
 * that this file does not call is a compile error (CALLS is a mapped type over the table's keys), and the
 * server's own request counters must show every key answered with the table's status, so neither a route
 * the agent cannot reach nor a route name that drifted from the table goes unnoticed.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { HttpsEndpointSession } from '../agent/endpoint/session';
import { PinnedHttpsClient, type EndpointResponse } from '../agent/endpoint/pinned-https';
import { RealHost } from '../agent/host/real-host';
import { silentLogger } from '../agent/log';
import { Redactor } from '../agent/redact';
import type { Role } from '../contract/agent-config';
import { PATHS } from '../contract/node-paths';
import { NODE_NAME_MAX, type FleetView } from '../contract/endpoint-api';
import { matchRoute, routeKeys, routeMethod, routePath, ROUTES, type Answer, type ParamsOf, type RouteKey } from '../contract/endpoint-routes';
import { caFingerprintOf } from '../endpoint/pki';
import type { PxeCatalog, PxeMachine } from '../contract/pxe-catalog';
import { tempDir } from './helpers/cli';
import { awsDocument, makeMetadataSigner, signContent } from './helpers/instance-metadata';
import { openEventStream } from './helpers/event-stream';
import { publishBody, reportBody, startEndpoint, type LocalEndpoint } from './helpers/https-client';

const AGENT_BUNDLE = '// the agent, as far as this test is concerned\n';
const AGENT_FILE = `${createHash('sha256').update(AGENT_BUNDLE).digest('hex')}.js`;
const MACHINE: PxeMachine = { mac: '52-54-00-12-34-56', node: 'pxe-1', profile: 'ubuntu', role: 'worker', pool: 'lab' };
const KERNEL = 'not an installer kernel, but bytes all the same\n';
/** The cloud whose signed instance identity documents pool "lab" takes. */
const CLOUD = makeMetadataSigner();

/** A PXE catalog with one machine and one asset: the endpoint's routes are under test here, not the renderers. */
function pxeCatalog(assetsDir: string): PxeCatalog {
  return {
    machine: (mac) => (mac === MACHINE.mac ? MACHINE : undefined),
    chainScript: (pxeBase) => `#!ipxe\nchain ${pxeBase}/nodes/\${netX/mac:hexhyp}/boot.ipxe\n`,
    localBootScript: () => '#!ipxe\nexit\n',
    nodeFile: async (_machine, name, context) => (name === 'user-data' ? Buffer.from(`#cloud-config\n# ${(await context.enrollmentToken()).length}\n`) : undefined),
    assetsDir,
  };
}

/** The parameters each route is called with: one entry per route, or this does not compile. */
const PARAMS: { [K in RouteKey]: ParamsOf<K> } = {
  'POST /v1/enroll': {},
  'POST /v1/enroll/identity': {},
  'GET /v1/identity/nonce': {},
  'POST /v1/nodes/:node/credential': { node: 'w-1' },
  'POST /v1/nodes/:node/reports': { node: 'w-1' },
  'GET /v1/nodes/:node/join': { node: 'w-1' },
  'PUT /v1/nodes/:node/join-material': { node: 'cp-1' },
  'GET /v1/agent/:bundle': { bundle: AGENT_FILE },
  'GET /v1/fleet': {},
  'GET /fleet': {},
  'GET /fleet/nodes/:node': { node: 'w-1' },
  'GET /v1/fleet/events': {},
  'GET /': {},
  'GET /metrics': {},
  'GET /healthz': {},
  'GET /pxe/boot.ipxe': {},
  'GET /pxe/nodes/:mac/:file': { mac: MACHINE.mac, file: 'user-data' },
  'POST /pxe/nodes/:mac/installed': { mac: MACHINE.mac },
  'GET /pxe/assets/**': { rest: 'casper/vmlinuz' },
};

interface World {
  t: ExecutionContext;
  e: LocalEndpoint;
  /** A control plane and a worker of pool "lab", as the agent talks to the endpoint. */
  cp: HttpsEndpointSession;
  worker: HttpsEndpointSession;
  /** The worker's root, where its agent keeps its credential. */
  workerHost: RealHost;
  client: PinnedHttpsClient;
}

/** A route called through the agent's pinned client, its path from the table: the answer is checked against the table. */
async function callPinned<K extends RouteKey>(w: World, route: K): Promise<EndpointResponse> {
  const response = await w.client.request(routeMethod(route), routePath(route, PARAMS[route]));
  answersAsTheTableSays(w.t, route, response);
  return response;
}

function answersAsTheTableSays(t: ExecutionContext, route: RouteKey, response: EndpointResponse): void {
  const answer: Answer = ROUTES[route].answer;
  const type = String(response.headers['content-type']);
  t.is(response.status, answer.status, `${route}: ${JSON.stringify(response.body)}`);
  if (answer.kind === 'json') {
    t.is(type, 'application/json; charset=utf-8', route);
    t.is(typeof response.body, 'object', route);
  } else if (answer.kind === 'empty') {
    t.is(response.body, undefined, route);
  } else if (answer.kind === 'events') {
    t.fail(`${route}: a stream is read with openEventStream, not the agent's client`);
  } else {
    t.is(type, answer.contentType, route);
    t.true(Number(response.headers['content-length']) > 0, route);
    t.is(response.headers['cache-control'], answer.cache === 'immutable' ? 'public, max-age=31536000, immutable' : 'no-store', route);
  }
}

/**
 * How each route of the table is called, in the order a pool's life needs them (enroll before reports,
 * publish before join). A mapped type over the table's keys: a route added to the table without a call here,
 * or a call for a route the table lost, does not compile.
 */
const CALLS: { [K in RouteKey]: (w: World) => Promise<void> } = {
  'POST /v1/enroll': async (w) => {
    // The session enrolls on its first call, with the token from secrets.json; the report is the next route's.
    await w.cp.sendReport(reportBody('cp-1', { role: 'control-plane' }));
    w.t.truthy(await w.e.registry.node('cp-1'));
  },
  'POST /v1/enroll/identity': async (w) => {
    const document = awsDocument({ accountId: '123456789012', region: 'us-east-1', instanceId: 'i-0abc', imageId: 'ami-0abc', pendingTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
    const body = { node: 'i-0abc', role: 'worker', profile: 'ubuntu', gpu: false, pool: 'lab', provider: 'aws', signature: signContent(CLOUD, Buffer.from(document)) };
    const credential = createHash('sha256').update('i-0abc').digest('base64url');
    const response = await w.client.request(routeMethod('POST /v1/enroll/identity'), routePath('POST /v1/enroll/identity', {}), { body, headers: { 'labimg-node-credential': credential } });
    answersAsTheTableSays(w.t, 'POST /v1/enroll/identity', response);
    w.t.like(response.body, { node: 'i-0abc', pool: 'lab', credential });
  },
  'GET /v1/identity/nonce': async (w) => {
    const nonce = (await callPinned(w, 'GET /v1/identity/nonce')).body as { nonce: string; expiresAt: string };
    w.t.regex(nonce.nonce, /^[0-9]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  },
  'POST /v1/nodes/:node/reports': async (w) => {
    const answer = await w.worker.sendReport(reportBody('w-1'));
    w.t.deepEqual(answer, { stored: true });
  },
  'POST /v1/nodes/:node/credential': async (w) => {
    // Renewal is due at half the credential's lifetime; the stored renewal time is moved there, as time would.
    const file = JSON.parse((await w.workerHost.readFile(PATHS.credential)) ?? '{}') as { credential: string; renewAfter: string };
    await w.workerHost.writeFile(PATHS.credential, JSON.stringify({ ...file, renewAfter: new Date(Date.now() - 1000).toISOString() }), 0o600);
    await w.worker.renewCredentialIfDue();
    const renewed = JSON.parse((await w.workerHost.readFile(PATHS.credential)) ?? '{}') as { credential: string; renewAfter: string };
    w.t.not(renewed.credential, file.credential);
    w.t.is((await w.e.registry.node('w-1'))?.credentialSha256, createHash('sha256').update(renewed.credential).digest('hex'));
    w.t.true(Date.parse(renewed.renewAfter) > Date.now());
  },
  'PUT /v1/nodes/:node/join-material': async (w) => {
    w.t.is(await w.cp.publishJoinMaterial(publishBody()), undefined);
  },
  'GET /v1/nodes/:node/join': async (w) => {
    const material = await w.worker.joinMaterial(false);
    w.t.like(material, { apiServerEndpoint: publishBody().apiServerEndpoint, token: publishBody().token, caCertHashes: publishBody().caCertHashes });
    w.t.is(material.certificateKey, undefined, 'the certificate key only for a control plane that asks');
    w.t.is((await w.cp.joinMaterial(true)).certificateKey, publishBody().certificateKey);
  },
  'GET /v1/agent/:bundle': async (w) => {
    await callPinned(w, 'GET /v1/agent/:bundle');
  },
  'GET /v1/fleet': async (w) => {
    const fleet = (await callPinned(w, 'GET /v1/fleet')).body as FleetView;
    w.t.deepEqual(fleet.nodes.map((n) => n.node).sort(), ['cp-1', 'i-0abc', 'w-1']);
  },
  'GET /fleet': async (w) => {
    await callPinned(w, 'GET /fleet');
  },
  'GET /fleet/nodes/:node': async (w) => {
    await callPinned(w, 'GET /fleet/nodes/:node');
  },
  'GET /v1/fleet/events': async (w) => {
    // A stream never ends by itself, and the agent's client waits for the end: read its start, then hang up.
    const stream = await openEventStream(w.e.port, w.e.ca.certPem);
    w.t.is(stream.status, ROUTES['GET /v1/fleet/events'].answer.status);
    w.t.is(stream.headers['content-type'], 'text/event-stream; charset=utf-8');
    w.t.is(stream.headers['cache-control'], 'no-store');
    await stream.waitForText('\n\n', 10_000);
    w.t.regex(stream.raw(), /^retry: \d+\n/);
    stream.close();
  },
  'GET /': async (w) => {
    await callPinned(w, 'GET /');
  },
  'GET /metrics': async (w) => {
    await callPinned(w, 'GET /metrics');
  },
  'GET /healthz': async (w) => {
    await callPinned(w, 'GET /healthz');
  },
  'GET /pxe/boot.ipxe': async (w) => {
    await callPinned(w, 'GET /pxe/boot.ipxe');
  },
  'GET /pxe/nodes/:mac/:file': async (w) => {
    await callPinned(w, 'GET /pxe/nodes/:mac/:file');
  },
  'POST /pxe/nodes/:mac/installed': async (w) => {
    // The token the served config carried: the install's, derived again for the same generation.
    const { token } = await w.e.registry.machineToken('lab', MACHINE.node, MACHINE.role, 3_600_000);
    const route = 'POST /pxe/nodes/:mac/installed';
    answersAsTheTableSays(w.t, route, await w.client.request(routeMethod(route), routePath(route, PARAMS[route]), { token }));
    const { port } = await w.e.server.listenPxe(0, '127.0.0.1');
    const script = await fetch(`http://127.0.0.1:${port}${routePath('GET /pxe/nodes/:mac/:file', { mac: MACHINE.mac, file: 'boot.ipxe' })}`);
    w.t.is(await script.text(), '#!ipxe\nexit\n', 'the machine boots from its disk');
  },
  'GET /pxe/assets/**': async (w) => {
    await callPinned(w, 'GET /pxe/assets/**');
  },
};

function session(e: LocalEndpoint, token: string, name: string, role: Role, host = new RealHost(tempDir('labimg-routes-node-'), silentLogger)): HttpsEndpointSession {
  const endpoint = { url: `https://127.0.0.1:${e.port}`, caFingerprint: caFingerprintOf(e.ca.certPem) };
  return new HttpsEndpointSession(endpoint, { name, role, profile: 'ubuntu', gpu: false }, { enrollmentToken: token }, host, silentLogger, new Redactor());
}

async function world(t: ExecutionContext): Promise<World> {
  const assets = tempDir('labimg-routes-assets-');
  mkdirSync(path.join(assets, 'casper'));
  writeFileSync(path.join(assets, 'casper', 'vmlinuz'), KERNEL);
  const e = await startEndpoint({ agentBundle: AGENT_BUNDLE, pxe: pxeCatalog(assets) });
  await e.registry.createPool('lab', 'ubuntu');
  await e.registry.setPoolIdentity('lab', { provider: 'aws', certificatesPem: [CLOUD.certPem], accounts: ['123456789012'], launchWindowMs: 3_600_000 });
  const { token } = await e.registry.createToken('lab', { role: 'worker' });
  const { token: cpToken } = await e.registry.createToken('lab', { role: 'control-plane', uses: 1 });
  const workerHost = new RealHost(tempDir('labimg-routes-node-'), silentLogger);
  const w: World = {
    t,
    e,
    cp: session(e, cpToken, 'cp-1', 'control-plane'),
    worker: session(e, token, 'w-1', 'worker', workerHost),
    workerHost,
    client: new PinnedHttpsClient(`https://127.0.0.1:${e.port}`, caFingerprintOf(e.ca.certPem), 20_000),
  };
  t.teardown(async () => {
    for (const client of [w.cp, w.worker, w.client]) client.close();
    await e.close();
    rmSync(e.dataDir, { recursive: true, force: true });
    rmSync(assets, { recursive: true, force: true });
  });
  return w;
}

/** How often the server answered `route` with `status`, by its own request counters. */
function answered(e: LocalEndpoint, route: RouteKey, status: number): number {
  return e.server.counters.requests.get(`${route} ${status}`) ?? 0;
}

/** The server counts a request once its answer has gone out, which a client can have read a moment before. */
async function countedSoon(counted: () => boolean): Promise<boolean> {
  for (let tries = 0; tries < 100 && !counted(); tries += 1) await new Promise((resolve) => setTimeout(resolve, 10));
  return counted();
}

test('every route of the table answers the agent as the table says, and the server counts it under its key', async (t) => {
  const w = await world(t);
  const called: RouteKey[] = [];
  for (const route of Object.keys(CALLS) as RouteKey[]) {
    const before = answered(w.e, route, ROUTES[route].answer.status);
    await CALLS[route](w);
    t.true(await countedSoon(() => answered(w.e, route, ROUTES[route].answer.status) > before), `${route} was answered ${ROUTES[route].answer.status}`);
    called.push(route);
  }
  t.deepEqual([...called].sort(), routeKeys().sort(), 'every route of the table was called, and nothing else');
  const countedRoutes = new Set([...w.e.server.counters.requests.keys()].map((key) => key.slice(0, key.lastIndexOf(' '))));
  t.deepEqual([...countedRoutes].sort(), routeKeys().sort(), 'the server named each request by its key in the table');
  t.deepEqual(w.e.warnings, []);
});

test('the plain-HTTP PXE listener serves exactly the routes the table puts on it', async (t) => {
  const w = await world(t);
  const { port } = await w.e.server.listenPxe(0, '127.0.0.1');
  for (const route of routeKeys()) {
    const status = await plainStatus(port, routeMethod(route), routePath(route, PARAMS[route]));
    // Asked with no token: a route that needs one is there all the same, and refuses.
    const served = ROUTES[route].who === 'anyone' ? ROUTES[route].answer.status : 401;
    t.is(status, ROUTES[route].listeners === 'https and pxe' ? served : 404, route);
  }
});

test('without a PXE catalog the PXE routes are no routes at all', async (t) => {
  const e = await startEndpoint({ agentBundle: AGENT_BUNDLE });
  t.teardown(async () => {
    await e.close();
    rmSync(e.dataDir, { recursive: true, force: true });
  });
  const client = new PinnedHttpsClient(`https://127.0.0.1:${e.port}`, caFingerprintOf(e.ca.certPem), 20_000);
  t.teardown(() => client.close());
  for (const route of routeKeys().filter((key) => 'pxeCatalog' in ROUTES[key])) {
    const response = await client.request(routeMethod(route), routePath(route, PARAMS[route]));
    t.is(response.status, 404, route);
    t.regex((response.body as { error: string }).error, /no such route/, route);
  }
  t.is((await client.request('GET', routePath('GET /healthz', {}))).status, 200);
});

function plainStatus(port: number, method: string, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .request({ host: '127.0.0.1', port, method, path: target }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject)
      .end();
  });
}

// ── the path builder and the matcher ────────────────────────────────────────────────────────────────────

test('a path built from the table matches back to its route and parameters', (t) => {
  for (const route of routeKeys()) {
    const target = routePath(route, PARAMS[route]);
    const segments = target === '/' ? [] : target.slice(1).split('/');
    t.deepEqual(matchRoute(routeMethod(route), segments, routeKeys()), { route, params: PARAMS[route] }, target);
  }
  t.is(routePath('GET /v1/nodes/:node/join', { node: 'w-1' }, { controlPlane: 'true' }), '/v1/nodes/w-1/join?controlPlane=true');
  t.is(routePath('GET /', {}), '/');
  t.deepEqual(matchRoute('DELETE', ['v1', 'nodes', 'w-1', 'join'], routeKeys()), { allow: ['GET'] });
  t.deepEqual(matchRoute('GET', ['v1', 'nodes', 'W-1', 'join'], routeKeys()), { allow: [] });
});

const BAD_PARAMS: Array<{ title: string; build: () => string; kind: string }> = [
  { title: 'a node name with "/"', build: () => routePath('POST /v1/nodes/:node/reports', { node: 'w-1/../cp-1' }), kind: 'node' },
  { title: 'a node name ".."', build: () => routePath('GET /v1/nodes/:node/join', { node: '..' }), kind: 'node' },
  { title: 'an empty node name', build: () => routePath('GET /v1/nodes/:node/join', { node: '' }), kind: 'node' },
  { title: 'a node name in capitals', build: () => routePath('GET /v1/nodes/:node/join', { node: 'W-1' }), kind: 'node' },
  { title: 'a node name too long', build: () => routePath('GET /v1/nodes/:node/join', { node: 'a'.repeat(NODE_NAME_MAX + 1) }), kind: 'node' },
  { title: 'a node name with a query', build: () => routePath('PUT /v1/nodes/:node/join-material', { node: 'cp-1?controlPlane=true' }), kind: 'node' },
  { title: 'a MAC with colons', build: () => routePath('GET /pxe/nodes/:mac/:file', { mac: '52:54:00:12:34:56', file: 'boot.ipxe' }), kind: 'mac' },
  { title: 'a PXE file ".."', build: () => routePath('GET /pxe/nodes/:mac/:file', { mac: MACHINE.mac, file: '..' }), kind: 'file' },
  { title: 'a PXE file name too long', build: () => routePath('GET /pxe/nodes/:mac/:file', { mac: MACHINE.mac, file: 'f'.repeat(65) }), kind: 'file' },
  { title: 'a bundle that is not a sha256', build: () => routePath('GET /v1/agent/:bundle', { bundle: 'agent.js' }), kind: 'bundle' },
  { title: 'an asset path out of the folder', build: () => routePath('GET /pxe/assets/**', { rest: '../../etc/passwd' }), kind: 'rest' },
  { title: 'an asset path with an empty name', build: () => routePath('GET /pxe/assets/**', { rest: 'casper//vmlinuz' }), kind: 'rest' },
];

for (const { title, build, kind } of BAD_PARAMS) {
  test(`the path builder refuses ${title}`, (t) => {
    t.throws(build, { message: new RegExp(`is not a ${kind} for the path`) });
  });
}
