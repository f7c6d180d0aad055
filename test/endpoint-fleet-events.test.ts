/**
 * The fleet's live side, against a real EndpointServer over HTTPS: the event stream tells of each enrollment and
 * report as the node now stands, and of nothing secret; it outlives the idle and request timeouts that close
 * every other quiet connection, but not its own caps; and the node page lists a node's reports and its enrollment
 * and join events, without a token, credential or key.
 */
import test from 'ava';
import { rmSync } from 'node:fs';
import type { FleetNode } from '../contract/endpoint-api';
import { openEventStream } from './helpers/event-stream';
import { enrollBody, publishBody, reportBody, send, startEndpoint, type LocalEndpoint } from './helpers/https-client';
import type { EndpointLimits } from '../endpoint/server';

async function endpoint(t: { teardown(fn: () => Promise<void>): void }, limits: Partial<EndpointLimits> = {}): Promise<{ e: LocalEndpoint; token: string; cpToken: string }> {
  const e = await startEndpoint({ limits });
  t.teardown(async () => {
    await e.close();
    rmSync(e.dataDir, { recursive: true, force: true });
  });
  await e.registry.createPool('lab', 'ubuntu');
  const { token } = await e.registry.createToken('lab', { role: 'worker' });
  const { token: cpToken } = await e.registry.createToken('lab', { role: 'control-plane' });
  return { e, token, cpToken };
}

async function enroll(e: LocalEndpoint, token: string, node: string, role: 'worker' | 'control-plane' = 'worker'): Promise<string> {
  const answer = await send(e.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody(node, role) });
  if (answer.status !== 200) throw new Error(answer.text);
  return (answer.json as { credential: string }).credential;
}

test('the event stream sends each enrollment and report as the node now stands, and nothing secret', async (t) => {
  const { e, token } = await endpoint(t);
  const stream = await openEventStream(e.port, e.ca.certPem);
  t.teardown(() => stream.close());
  t.is(stream.status, 200);
  await stream.waitForText('\n\n');

  const credential = await enroll(e, token, 'w-1');
  const enrolled = JSON.parse((await stream.waitFor((ev) => ev.event === 'node')).data) as FleetNode;
  t.like(enrolled, { node: 'w-1', pool: 'lab', state: 'enrolled-no-report' });

  const sent = await send(e.port, { method: 'POST', path: '/v1/nodes/w-1/reports', token: credential, json: reportBody('w-1', { step: 'kubeadm-join', status: 'started' }) });
  t.is(sent.status, 200, sent.text);
  const reported = JSON.parse((await stream.waitFor((ev) => ev.event === 'node' && ev.data.includes('"status":"started"'))).data) as FleetNode;
  t.like(reported, { node: 'w-1', step: 'kubeadm-join', status: 'started', state: 'in-progress' });
  t.deepEqual(reported.steps?.map((s) => `${s.step} ${s.status}`), ['kubeadm-join started']);

  // A resend of the same report stores nothing, and tells nothing.
  const before = stream.events().length;
  const done = reportBody('w-1');
  for (let i = 0; i < 2; i += 1) t.is((await send(e.port, { method: 'POST', path: '/v1/nodes/w-1/reports', token: credential, json: done })).status, 200);
  await stream.waitFor((ev) => ev.data.includes('"status":"done"'));
  // A later event marks where an event of the resend would have come by.
  await enroll(e, token, 'w-2');
  await stream.waitFor((ev) => ev.data.includes('"node":"w-2"'));
  t.deepEqual(stream.events().slice(before).map((ev) => (JSON.parse(ev.data) as FleetNode).node), ['w-1', 'w-2'], 'one event for the report, none for its resend');

  const [tokenId] = token.split('.');
  for (const secret of [credential, token, token.split('.')[1] as string]) t.false(stream.raw().includes(secret), 'no credential or token in the stream');
  t.false(stream.raw().includes(`"${tokenId}"`), 'not even the token id');
});

test('a stream outlives the idle and request timeouts by its heartbeat, and still gets events after them', async (t) => {
  // Timeouts of a second or two, so the test sees several of them pass: every other quiet connection is closed.
  const { e, token } = await endpoint(t, { idleTimeoutMs: 1_500, requestTimeoutMs: 1_500, headersTimeoutMs: 1_000, checkIntervalMs: 500, heartbeatMs: 300 });
  const stream = await openEventStream(e.port, e.ca.certPem);
  t.teardown(() => stream.close());
  t.false(await stream.closedWithin(5_000), 'open after more than three idle timeouts');
  t.true(stream.raw().split(': keep-alive\n\n').length > 3, 'heartbeats kept it busy');
  await enroll(e, token, 'w-late');
  t.like(JSON.parse((await stream.waitFor((ev) => ev.event === 'node')).data), { node: 'w-late' });
});

test('streams are capped per address and in all: past the cap a 503 with Retry-After, and a closed stream frees its place', async (t) => {
  const { e } = await endpoint(t, { maxStreams: 3, maxStreamsPerAddress: 2 });
  const first = await openEventStream(e.port, e.ca.certPem);
  const second = await openEventStream(e.port, e.ca.certPem);
  t.teardown(() => {
    first.close();
    second.close();
  });
  t.deepEqual([first.status, second.status], [200, 200]);
  const refused = await send(e.port, { path: '/v1/fleet/events' });
  t.is(refused.status, 503);
  t.is(refused.headers['retry-after'], '30');
  t.regex((refused.json as { error: string }).error, /too many fleet event streams open \(2 from one address\)/);
  first.close();
  // The server sees the close a moment later; a new stream is admitted once it has.
  let status = 0;
  for (let tries = 0; tries < 100 && status !== 200; tries += 1) {
    const next = await openEventStream(e.port, e.ca.certPem);
    status = next.status;
    next.close();
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.is(status, 200);
});

test('a stream that reaches its age limit is ended by the server, so no stream is held for good', async (t) => {
  const { e } = await endpoint(t, { maxAgeMs: 1_000 });
  const stream = await openEventStream(e.port, e.ca.certPem);
  t.teardown(() => stream.close());
  t.true(await stream.closedWithin(20_000));
  t.regex(stream.raw(), /^retry: 5000\n/, 'told the browser when to reconnect');
});

test('the node page: every report in order with its error, its enrollment and join events, no secret, a link back', async (t) => {
  const { e, token, cpToken } = await endpoint(t);
  const cp = await enroll(e, cpToken, 'cp-1', 'control-plane');
  t.is((await send(e.port, { method: 'PUT', path: '/v1/nodes/cp-1/join-material', token: cp, json: publishBody() })).status, 204);
  const credential = await enroll(e, token, 'w-1');
  const at = (s: number) => new Date(Date.UTC(2026, 11, 6, 9, 0, s)).toISOString();
  const reports = [
    reportBody('w-1', { phase: 'boot', step: 'gpu-driver', status: 'done', durationMs: 4_000, at: at(4) }),
    reportBody('w-1', { phase: 'boot', step: 'kubeadm-join', status: 'started', at: at(5) }),
    reportBody('w-1', { phase: 'boot', step: 'kubeadm-join', status: 'failed', durationMs: 20_000, at: at(25), error: 'kubeadm join: <timeout> waiting for the API server' }),
  ];
  for (const report of reports) t.is((await send(e.port, { method: 'POST', path: '/v1/nodes/w-1/reports', token: credential, json: report })).status, 200);
  t.is((await send(e.port, { path: '/v1/nodes/w-1/join', token: credential })).status, 200);

  const page = await send(e.port, { path: '/fleet/nodes/w-1' });
  t.is(page.status, 200);
  t.is(page.headers['content-type'], 'text/html; charset=utf-8');
  const html = page.text;
  t.true(html.includes('<a href="/fleet">← fleet</a>'));
  const rows = [...html.matchAll(/<tr class="[a-z]*" data-step="([^"]+)" data-status="([^"]+)">/g)].map((m) => `${m[1]} ${m[2]}`);
  t.deepEqual(rows, ['gpu-driver done', 'kubeadm-join started', 'kubeadm-join failed'], 'every report, in order, not only the latest of each step');
  t.true(html.includes('<pre>kubeadm join: &lt;timeout&gt; waiting for the API server</pre>'));
  const events = [...html.matchAll(/<tr data-action="([^"]+)">/g)].map((m) => m[1]);
  t.deepEqual(events, ['node-enrolled', 'join-material-issued'], "its own events, not the control plane's");
  const published = publishBody();
  const [tokenId, tokenSecret] = token.split('.') as [string, string];
  for (const secret of [credential, tokenSecret, tokenId, published.token, published.certificateKey]) t.false(html.includes(secret), 'no secret on the page');
  // The failed bar of the timeline, with the error in its tooltip.
  t.regex(html, /data-bars="[^"]*kubeadm-join,boot,failed,[\d.]+,[\d.]+,\d+,20000"/);
  t.regex(html, /<path class="failed" d="[^"]+"><title>w-1 · boot · kubeadm-join failed: [^<]*\nkubeadm join: &lt;timeout&gt;/);

  const unknown = await send(e.port, { path: '/fleet/nodes/nobody' });
  t.is(unknown.status, 404);
});
