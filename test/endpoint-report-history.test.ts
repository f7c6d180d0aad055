/**
 * A node's reports live in one history entry (endpoint/node-reports.ts): bounded by count and by bytes, each id
 * stored once however many times or replicas send it, and the reports an older data directory kept one file each
 * still read and still forgotten.
 */
import test from 'ava';
import type { PhaseReport } from '../contract/agent-config';
import { renderNodePage } from '../endpoint/node-page';
import { REPORT_BYTES_KEPT_PER_NODE, REPORTS_KEPT_PER_NODE } from '../endpoint/node-reports';
import { KEYS } from '../endpoint/records';
import { Registry } from '../endpoint/registry';
import { EtcdStore } from '../endpoint/store/etcd-store';
import { FileStore } from '../endpoint/store/file-store';
import type { Store } from '../endpoint/store/store';
import { tempDir } from './helpers/cli';
import { startEtcd } from './helpers/etcd';

/** Report `n` of w-1, made n seconds after 18:00 by its clock. */
function report(n: number, extra: Partial<PhaseReport> = {}): PhaseReport {
  const at = new Date(Date.UTC(2026, 11, 1, 18, 0, n)).toISOString();
  return { id: crypto.randomUUID(), node: 'w-1', profile: 'debian12', role: 'worker', phase: 'boot', step: `step-${n}`, status: 'done', at, gpu: false, ...extra };
}

async function enrolled(store: Store): Promise<Registry> {
  const registry = new Registry(store);
  await registry.createPool('lab', 'debian12');
  await registry.enroll({ name: 'w-1', pool: 'lab', role: 'worker', profile: 'debian12', gpu: false, credentialSha256: '0'.repeat(64) });
  return registry;
}

async function nodePage(registry: Registry): Promise<string> {
  const history = await registry.reportHistory('w-1');
  const node = (await registry.fleet()).nodes.find((n) => n.node === 'w-1')!;
  return renderNodePage({ node, generatedAt: new Date().toISOString(), reports: history.reports, droppedReports: history.dropped, audit: [], refreshSeconds: 5 });
}

test('a node keeps its newest reports, as many as the bound, and its page says how many went', async (t) => {
  const registry = await enrolled(new FileStore(tempDir('labimg-history-')));
  const sent = Array.from({ length: REPORTS_KEPT_PER_NODE + 44 }, (_, n) => report(n));
  for (const r of sent) t.true(await registry.addReport('w-1', r));

  const history = await registry.reportHistory('w-1');
  t.is(history.dropped, 44);
  t.deepEqual(history.reports.map((r) => r.id), sent.slice(44).map((r) => r.id), 'the oldest went, in the order they came');
  const page = await nodePage(registry);
  t.regex(page, new RegExp(`44 older reports are no longer kept: a node keeps its latest ${REPORTS_KEPT_PER_NODE} reports`));
  t.is(page.match(/<tr class="[^"]*" data-step=/g)?.length, REPORTS_KEPT_PER_NODE);
});

test('long errors are bounded by bytes: the entry stays under the bound, and the newest report is always kept', async (t) => {
  const store = new FileStore(tempDir('labimg-history-'));
  const registry = await enrolled(store);
  // The longest error a report may carry (endpoint/schemas.ts).
  const sent = Array.from({ length: 100 }, (_, n) => report(n, { status: 'failed', error: `${n} `.padEnd(8192, 'x') }));
  for (const r of sent) t.true(await registry.addReport('w-1', r));

  const bytes = Buffer.byteLength((await store.get(KEYS.nodeReports('w-1'))) ?? '');
  t.true(bytes <= REPORT_BYTES_KEPT_PER_NODE, `${bytes} B`);
  t.true(bytes > REPORT_BYTES_KEPT_PER_NODE - 10_000, 'it drops no more than it must');
  const history = await registry.reportHistory('w-1');
  t.is(history.reports.length + history.dropped, sent.length);
  t.deepEqual(history.reports.map((r) => r.id), sent.slice(history.dropped).map((r) => r.id));
  t.regex(await nodePage(registry), new RegExp(`${history.dropped} older reports are no longer kept`));
});

test('a resend is stored once, whether it comes after the first or beside it', async (t) => {
  const registry = await enrolled(new FileStore(tempDir('labimg-history-')));
  const first = report(1);
  t.true(await registry.addReport('w-1', first));
  t.false(await registry.addReport('w-1', first));
  const second = report(2);
  const answers = await Promise.all([registry.addReport('w-1', second), registry.addReport('w-1', second), registry.addReport('w-1', second)]);
  t.deepEqual(answers.sort(), [false, false, true]);
  t.deepEqual((await registry.reports('w-1')).map((r) => r.id), [first.id, second.id]);
  t.is((await registry.node('w-1'))!.steps['step-2']!.id, second.id);
  t.notRegex(await nodePage(registry), /no longer kept/);
});

test('a report for a node that is not enrolled, or no longer, is not stored', async (t) => {
  const store = new FileStore(tempDir('labimg-history-'));
  const registry = await enrolled(store);
  t.false(await registry.addReport('w-9', { ...report(1), node: 'w-9' }));
  t.true(await registry.addReport('w-1', report(1)));
  await registry.forgetNode('w-1');
  // Authenticated before the node was forgotten, stored after.
  t.false(await registry.addReport('w-1', report(2)));
  t.deepEqual(await store.keys('node-reports/'), [], 'neither node keeps a history');
  await registry.enroll({ name: 'w-1', pool: 'lab', role: 'worker', profile: 'debian12', gpu: false, credentialSha256: '1'.repeat(64) });
  t.deepEqual(await registry.reports('w-1'), [], 'a new node of the name starts with no history');
});

test('every new node keeps its reports in one entry, and none under the older reports/NODE/', async (t) => {
  const store = new FileStore(tempDir('labimg-history-'));
  const registry = await enrolled(store);
  for (const name of ['w-2', 'w-3']) await registry.enroll({ name, pool: 'lab', role: 'worker', profile: 'debian12', gpu: false, credentialSha256: '0'.repeat(64) });
  await Promise.all(['w-1', 'w-2', 'w-3'].flatMap((node) => [report(1), report(2)].map((r) => registry.addReport(node, { ...r, node }))));
  t.deepEqual(await store.keys('node-reports/'), ['w-1', 'w-2', 'w-3'].map((node) => KEYS.nodeReports(node)));
  t.deepEqual(await store.keys('reports/'), []);
  for (const node of ['w-1', 'w-2', 'w-3']) t.is((await registry.reports(node)).length, 2);
});

test("a data directory's reports from before the history are read beside it, once each, and forgotten with the node", async (t) => {
  const data = tempDir('labimg-history-');
  const store = new FileStore(data);
  const registry = await enrolled(store);
  // As the endpoint stored reports before: one entry each under reports/NODE/, by id.
  const old = [report(1), report(2)].map((r) => ({ ...r, receivedAt: r.at }));
  for (const r of old) await store.put(`${KEYS.legacyReports('w-1')}${r.id}`, JSON.stringify(r));
  // The agent resends the second, its answer lost in the upgrade, then goes on.
  t.true(await registry.addReport('w-1', old[1]!));
  const later = report(3);
  t.true(await registry.addReport('w-1', later));

  t.deepEqual((await registry.reports('w-1')).map((r) => r.id), [old[0]!.id, old[1]!.id, later.id]);
  await registry.forgetNode('w-1');
  t.deepEqual(await registry.reports('w-1'), []);
  t.deepEqual(await store.keys('reports/'), []);
  t.deepEqual(await store.keys('node-reports/'), []);
});

test('etcd: two replicas taking one node\'s reports at once lose none of them', async (t) => {
  const etcd = await startEtcd();
  t.teardown(() => etcd.stop());
  const stores = [new EtcdStore({ endpoints: [etcd.url], prefix: 'history/' }), new EtcdStore({ endpoints: [etcd.url], prefix: 'history/' })];
  t.teardown(() => Promise.all(stores.map((s) => s.close())));
  const [first, second] = [await enrolled(stores[0]!), new Registry(stores[1]!)];
  const sent = Array.from({ length: 40 }, (_, n) => report(n));
  const answers = await Promise.all(sent.map((r, n) => (n % 2 === 0 ? first : second).addReport('w-1', r)));
  t.true(answers.every(Boolean));
  t.deepEqual((await second.reports('w-1')).map((r) => r.id), sent.map((r) => r.id));
  t.is(Object.keys((await first.node('w-1'))!.steps).length, sent.length);
});
