/**
 * What the agent does with answers of the join endpoint that break the contract: a proxy's HTML page with 200,
 * an empty object, no CA hashes, a bootstrap token of the wrong shape, a body cut short. Each is a NotYet naming
 * the route and what was wrong, so the join step waits it out as it waits for an endpoint that is not ready; none
 * reaches kubeadm, and none crashes the agent. Against a small HTTPS stand-in of the endpoint, under the endpoint's
 * own CA, that answers what each test scripts.
 */
import test, { type ExecutionContext } from 'ava';
import { promises as fs, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ServerResponse } from 'node:http';
import { retryUntil } from '../agent/endpoint/backoff';
import { HttpsEndpointSession, isTransient, NotYet } from '../agent/endpoint/session';
import { RealHost } from '../agent/host/real-host';
import type { Logger } from '../agent/log';
import { Redactor } from '../agent/redact';
import type { JoinMaterial } from '../contract/endpoint-api';
import { NODE_CREDENTIAL_HEADER } from '../contract/endpoint-api';
import { caFingerprintOf, issueServerIdentity, loadOrCreateCa } from '../endpoint/pki';
import { FileStore } from '../endpoint/store/file-store';
import { tempDir } from './helpers/cli';

const NODE = 'worker-1';
const TOKEN = 'abcdef.0123456789abcdef';
const HASH = `sha256:${'ab'.repeat(32)}`;
const GOOD: JoinMaterial = { apiServerEndpoint: '10.0.0.10:6443', token: TOKEN, caCertHashes: [HASH] };
const ENROLLMENT_TOKEN = `abcdefgh.${'A'.repeat(43)}`;

/** One answer of the stand-in: a status, a content type and the body's bytes, or a body cut short. */
type Answer = { status: number; type: string; body: string } | { truncated: string };

const json = (value: unknown, status = 200): Answer => ({ status, type: 'application/json', body: JSON.stringify(value) });
const HTML: Answer = { status: 200, type: 'text/html', body: '<html><body><h1>Proxy login</h1></body></html>' };
// A Content-Length the body never reaches: the connection closes after half of it.
const TRUNCATED: Answer = { truncated: JSON.stringify(GOOD) };
// The whole body as sent, cut inside a value: Content-Length and body agree, the JSON does not end.
const CUT_JSON: Answer = { status: 200, type: 'application/json', body: JSON.stringify(GOOD).slice(0, 40) };

interface StandIn {
  url: string;
  caFingerprint: string;
  /** What the next answers are, per route ("POST /v1/enroll", "GET join", "POST reports"); the last one repeats. */
  script: Record<string, Answer[]>;
  served: string[];
}

async function standIn(t: ExecutionContext, script: Record<string, Answer[]>): Promise<StandIn> {
  const dir = tempDir('labimg-answers-pki-');
  const { ca } = await loadOrCreateCa(new FileStore(dir));
  await fs.rm(dir, { recursive: true, force: true });
  const identity = issueServerIdentity(ca, ['127.0.0.1']);
  const served: string[] = [];
  const next = (route: string, fallback: Answer): Answer => {
    const queue = script[route];
    if (!queue?.length) return fallback;
    return queue.length > 1 ? queue.shift()! : queue[0]!;
  };
  const send = (res: ServerResponse, answer: Answer) => {
    if ('truncated' in answer) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(answer.truncated.length) });
      res.write(answer.truncated.slice(0, answer.truncated.length / 2));
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    }
    res.writeHead(answer.status, { 'content-type': answer.type, 'content-length': String(Buffer.byteLength(answer.body)) });
    res.end(answer.body);
  };
  const server = https.createServer({ cert: identity.certChainPem, key: identity.keyPem }, (req, res) => {
    req.resume();
    req.on('end', () => {
      const route = req.url === '/v1/enroll' ? 'POST /v1/enroll' : req.url?.endsWith('/join') ? 'GET join' : req.url?.endsWith('/reports') ? 'POST reports' : `${req.method} ${req.url}`;
      served.push(route);
      const credential = req.headers[NODE_CREDENTIAL_HEADER] as string;
      if (route === 'POST /v1/enroll') return send(res, next(route, json({ node: NODE, pool: 'lab', credential })));
      if (route === 'GET join') return send(res, next(route, json(GOOD)));
      if (route === 'POST reports') return send(res, next(route, json({ stored: true })));
      return send(res, json({ error: 'no such route' }, 404));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caFingerprint: caFingerprintOf(ca.certPem), script, served };
}

/** A session of a worker that enrolls with a token, and the lines it logs. */
function session(t: ExecutionContext, endpoint: StandIn) {
  const root = tempDir('labimg-answers-node-');
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const lines: string[] = [];
  const log = recordingLogger(lines);
  const client = new HttpsEndpointSession(
    { url: endpoint.url, caFingerprint: endpoint.caFingerprint },
    { name: NODE, role: 'worker', profile: 'ubuntu', gpu: false },
    { enrollmentToken: ENROLLMENT_TOKEN },
    new RealHost(root, log),
    log,
    new Redactor(),
  );
  t.teardown(() => client.close());
  return { client, lines, root };
}

/** A Logger that keeps every line in `lines`. */
function recordingLogger(lines: string[]): Logger {
  const keep = (line: string) => void lines.push(line);
  return { debug: keep, info: keep, warn: keep, error: keep };
}

const QUICK = { firstDelayMs: 5, maxDelayMs: 20, deadlineMs: 60_000 };

for (const [name, answer, problem] of [
  ['a 200 with an HTML page', HTML, /the endpoint's answer is not a JSON object/],
  ['an empty object', json({}), /the endpoint's answer has no valid apiServerEndpoint/],
  ['no CA hashes', json({ ...GOOD, caCertHashes: [] }), /the endpoint's answer has no valid caCertHashes/],
  ['a CA hash of the wrong shape', json({ ...GOOD, caCertHashes: ['sha256:xyz'] }), /the endpoint's answer has no valid caCertHashes/],
  ['a bootstrap token of the wrong shape', json({ ...GOOD, token: 'not-a-token' }), /the endpoint's answer has no valid token/],
  ['JSON cut inside a value', CUT_JSON, /the endpoint's answer is not a JSON object/],
  ['a body cut short of its Content-Length', TRUNCATED, /cannot reach the endpoint .*aborted/],
] as const) {
  test(`join material: ${name} is a transient refusal naming what was wrong, never join material`, async (t) => {
    const endpoint = await standIn(t, { 'GET join': [answer] });
    const { client } = session(t, endpoint);
    const error = await t.throwsAsync(client.joinMaterial(false));
    t.true(isTransient(error), `${error?.name}: ${error?.message}`);
    t.regex(error!.message, problem);
    if (error instanceof NotYet) t.regex(error.message, /^asking for join material \(GET \/v1\/nodes\/:node\/join\): /);
    t.false(error!.message.includes('not-a-token'), 'a value is never echoed: it may be a secret');
  });
}

test('the join step waits out every malformed answer and joins with the first good one', async (t) => {
  const bad = [HTML, json({}), json({ ...GOOD, caCertHashes: [] }), json({ ...GOOD, token: 'NOT.A.TOKEN' }), TRUNCATED];
  const endpoint = await standIn(t, { 'GET join': [...bad, json(GOOD)] });
  const { client, lines } = session(t, endpoint);
  // The join step's own wait (agent/steps/kubeadm-join.ts), with short pauses.
  const material = await retryUntil('waiting for join material', () => client.joinMaterial(false), recordingLogger(lines), QUICK);
  t.deepEqual(material, GOOD);
  t.is(endpoint.served.filter((route) => route === 'GET join').length, bad.length + 1);
  const waits = lines.filter((line) => line.startsWith('waiting for join material: '));
  t.is(waits.length, bad.length, lines.join('\n'));
  t.regex(waits[0]!, /GET \/v1\/nodes\/:node\/join\): the endpoint's answer is not a JSON object; trying again in/);
  t.regex(waits[2]!, /has no valid caCertHashes/);
  t.false(lines.join('\n').includes('NOT.A.TOKEN'));
});

test('an enrollment answer without a valid credential is not kept; the next try enrolls with the same credential', async (t) => {
  const endpoint = await standIn(t, { 'POST /v1/enroll': [json({ node: NODE, pool: 'lab' }), json({ node: NODE, pool: 'lab', credential: 'short' })] });
  const { client, root } = session(t, endpoint);
  const first = await t.throwsAsync(client.sendReport({ id: 'x', node: NODE, profile: 'ubuntu', role: 'worker', phase: 'boot', step: 'swap-off', status: 'done', at: new Date().toISOString(), gpu: false }));
  t.true(first instanceof NotYet, first?.message);
  t.regex(first!.message, /^enrolling \(POST \/v1\/enroll\): the endpoint's answer has no valid credential$/);
  const stored = JSON.parse(await fs.readFile(`${root}/var/lib/labimg/credential.json`, 'utf8')) as { credential: string; enrolled: boolean };
  t.false(stored.enrolled, 'the credential sent is kept, not enrolled');
  // The stand-in's second (and every later) enrollment answer is of the wrong shape too.
  const second = await t.throwsAsync(client.joinMaterial(false));
  t.regex(second!.message, /has no valid credential/);
  endpoint.script['POST /v1/enroll'] = [];
  t.deepEqual(await client.joinMaterial(false), GOOD);
  const enrolled = JSON.parse(await fs.readFile(`${root}/var/lib/labimg/credential.json`, 'utf8')) as { credential: string; enrolled: boolean };
  t.deepEqual(enrolled, { ...enrolled, credential: stored.credential, enrolled: true }, 'the same credential, answered at last');
});

test("a report's answer of the wrong shape is a NotYet, so the outbox sends the report again", async (t) => {
  const endpoint = await standIn(t, { 'POST reports': [json({ stored: 'yes' })] });
  const { client } = session(t, endpoint);
  const error = await t.throwsAsync(client.sendReport({ id: 'y', node: NODE, profile: 'ubuntu', role: 'worker', phase: 'boot', step: 'swap-off', status: 'done', at: new Date().toISOString(), gpu: false }));
  t.true(error instanceof NotYet);
  t.is(error!.message, "sending a report (POST /v1/nodes/:node/reports): the endpoint's answer has no valid stored");
});
