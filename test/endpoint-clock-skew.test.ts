/**
 * A node's clock decides nothing about what the fleet shows: through a real `labimg serve`, on the file store and on
 * etcd, a node whose clock ran 8 hours ahead reports `started`, NTP sets its clock, and its `failed` at the right
 * time is what the fleet shows, error and all. The 8 hours are flagged while its latest report carries them; a
 * report from further ahead than a day is refused with 400; departure is decided by arrival too.
 */
import test, { type ExecutionContext } from 'ava';
import path from 'node:path';
import type { FleetNode, FleetView } from '../contract/endpoint-api';
import type { PhaseReport } from '../contract/agent-config';
import { labimg, tempDir } from './helpers/cli';
import { createPool, startServe, storeArgs, type RunningServe } from './helpers/endpoint';
import { startEtcd, type RunningEtcd } from './helpers/etcd';
import { enrollBody, errorOf, reportBody, send } from './helpers/https-client';

const HOUR = 3_600_000;

let etcd: RunningEtcd | undefined;

test.before(async () => {
  etcd = await startEtcd();
});

test.after.always(async () => {
  await etcd?.stop();
});

type Backend = 'file' | 'etcd';

interface Lab {
  serve: RunningServe;
  store: { data: string; etcd?: string; etcdPrefix?: string };
  credential: string;
}

let prefixes = 0;

/** A real `labimg serve` on `backend` with pool "lab" and node w-1 enrolled. */
async function lab(t: ExecutionContext, backend: Backend): Promise<Lab> {
  const data = path.join(tempDir('labimg-skew-'), 'data');
  prefixes += 1;
  const store = backend === 'etcd' ? { data, etcd: etcd?.url, etcdPrefix: `skew-${process.pid}-${prefixes}/` } : { data };
  const token = createPool(store, 'lab', 'ubuntu');
  const serve = await startServe(store);
  t.teardown(() => serve.kill());
  const enrolled = await send(serve.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody('w-1') });
  t.is(enrolled.status, 200, enrolled.text);
  return { serve, store, credential: (enrolled.json as { credential: string }).credential };
}

async function report(l: Lab, fields: Partial<PhaseReport>) {
  return send(l.serve.port, { method: 'POST', path: '/v1/nodes/w-1/reports', token: l.credential, json: reportBody('w-1', fields) });
}

async function fleetNode(l: Lab): Promise<FleetNode> {
  const answer = await send(l.serve.port, { path: '/v1/fleet' });
  const node = (answer.json as FleetView).nodes.find((n) => n.node === 'w-1');
  if (!node) throw new Error(`w-1 is missing from the fleet: ${answer.text}`);
  return node;
}

function at(offsetMs: number): string {
  return new Date(Date.now() + offsetMs).toISOString();
}

for (const backend of ['file', 'etcd'] as const) {
  test(`${backend}: a node 8 h ahead before NTP reports started, then failed at the right time: the fleet shows the failure`, async (t) => {
    const l = await lab(t, backend);
    // A report that waited two hours in the outbox (an outage) says nothing about the clock: not flagged.
    t.is((await report(l, { step: 'install-runtime', status: 'done', at: at(-2 * HOUR) })).status, 200);
    t.is((await fleetNode(l)).clockSkewMs, undefined);
    const ahead = at(8 * HOUR);
    t.is((await report(l, { step: 'kubeadm-join', status: 'started', at: ahead })).status, 200);

    // Flagged while its latest report carries the skew: in /v1/fleet, `labimg nodes --json`, the table and the page.
    const skewed = await fleetNode(l);
    t.like(skewed, { state: 'in-progress', step: 'kubeadm-join', status: 'started', lastReportAt: ahead });
    t.true(skewed.clockSkewMs !== undefined && Math.abs(skewed.clockSkewMs - 8 * HOUR) < 10 * 60_000, `clockSkewMs ${skewed.clockSkewMs}`);
    const json = labimg(['nodes', '--json', ...storeArgs(l.store)]);
    t.is(json.code, 0, json.stderr);
    const listed = (JSON.parse(json.stdout) as FleetView).nodes.find((n) => n.node === 'w-1');
    t.true(listed?.clockSkewMs !== undefined && listed.clockSkewMs > 7 * HOUR, json.stdout);
    const table = labimg(['nodes', ...storeArgs(l.store)]);
    t.regex(table.stdout, /w-1 .* \(clock 8h 00m ahead\)/, table.stdout);
    const page = await send(l.serve.port, { path: '/fleet' });
    t.regex(page.text, /<span class="clock-skew" data-clock-skew-ms="\d+"[^>]*>clock 8h 00m ahead<\/span>/);
    const metrics = await send(l.serve.port, { path: '/metrics' });
    t.regex(metrics.text, /^labimg_node_clock_skew_seconds\{node="w-1",pool="lab"\} 28[0-9]{3}(\.\d+)?$/m);

    // NTP has set the clock: the failure, 8 hours "earlier" by the node's times, is the latest report.
    const onTime = at(0);
    t.is((await report(l, { step: 'kubeadm-join', status: 'failed', at: onTime, error: 'kubeadm join: connection refused' })).status, 200);
    const failed = await fleetNode(l);
    t.like(failed, { state: 'failed', step: 'kubeadm-join', status: 'failed', lastReportAt: onTime, error: 'kubeadm join: connection refused' });
    t.is(failed.clockSkewMs, undefined, 'a report on time clears the flag');
    t.true(Math.abs(Date.parse(failed.lastReceivedAt ?? '') - Date.now()) < 10 * 60_000, failed.lastReceivedAt);
    const after = labimg(['nodes', ...storeArgs(l.store)]);
    t.regex(after.stdout, /w-1 .*failed .*kubeadm join: connection refused/, after.stdout);
    t.notRegex(after.stdout, /clock/);
  });

  test(`${backend}: a report more than 24 h ahead of the endpoint's clock is refused with 400; 23 h ahead is taken and flagged`, async (t) => {
    const l = await lab(t, backend);
    for (const far of ['9999-12-31T23:59:59Z', at(25 * HOUR)]) {
      const refused = await report(l, { step: 'kubeadm-join', status: 'done', at: far });
      t.is(refused.status, 400, refused.text);
      t.regex(errorOf(refused), /^invalid report: at: .* h ahead of the endpoint's clock .*; reports more than 24 h ahead are refused; set the node's clock \(NTP\)$/);
    }
    t.like(await fleetNode(l), { state: 'enrolled-no-report', step: undefined });
    const listed = labimg(['nodes', '--json', ...storeArgs(l.store)]);
    t.false(listed.stdout.includes('9999'), 'nothing of the refused reports was stored');

    t.is((await report(l, { step: 'kubeadm-join', status: 'done', at: at(23 * HOUR) })).status, 200);
    const node = await fleetNode(l);
    t.true((node.clockSkewMs ?? 0) > 22 * HOUR, String(node.clockSkewMs));
  });

  test(`${backend}: departure goes by arrival: a node that left by a clock 8 h ahead and came back on time is not departed`, async (t) => {
    const l = await lab(t, backend);
    t.is((await report(l, { step: 'complete', status: 'done', at: at(8 * HOUR - 60_000) })).status, 200);
    const leftAhead = at(8 * HOUR);
    t.is((await report(l, { step: 'leaving', status: 'done', at: leftAhead })).status, 200);
    t.like(await fleetNode(l), { state: 'departed', departedAt: leftAhead });
    // Booted again, clock set: its first report is older than the leaving one by the node's times, yet later.
    t.is((await report(l, { step: 'kubelet-config', status: 'started', at: at(0) })).status, 200);
    t.like(await fleetNode(l), { state: 'in-progress', ready: false, departedAt: undefined, step: 'kubelet-config' });
    // And the other way round: a completion 8 h "later" than the leaving that follows it does not outrank it.
    t.is((await report(l, { step: 'complete', status: 'done', at: at(9 * HOUR) })).status, 200);
    t.like(await fleetNode(l), { state: 'ready', ready: true });
    const leftOnTime = at(0);
    t.is((await report(l, { step: 'leaving', status: 'done', at: leftOnTime })).status, 200);
    t.like(await fleetNode(l), { state: 'departed', ready: false, departedAt: leftOnTime });
  });
}

test('a resend of a report the node made before its latest changes nothing', async (t) => {
  const l = await lab(t, 'file');
  const started = reportBody('w-1', { step: 'kubeadm-join', status: 'started', at: at(8 * HOUR) });
  const send1 = await send(l.serve.port, { method: 'POST', path: '/v1/nodes/w-1/reports', token: l.credential, json: started });
  t.deepEqual(send1.json, { stored: true });
  t.is((await report(l, { step: 'kubeadm-join', status: 'failed', at: at(0), error: 'boom' })).status, 200);
  const resent = await send(l.serve.port, { method: 'POST', path: '/v1/nodes/w-1/reports', token: l.credential, json: started });
  t.deepEqual(resent.json, { stored: false });
  t.like(await fleetNode(l), { state: 'failed', error: 'boom' });
});
