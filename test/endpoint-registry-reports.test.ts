/**
 * A node's reports come back in the order the node made them, whatever order the store keeps them in (the
 * file store lists by report id, a random UUID): a reader sees each step's "started" before its "done".
 */
import test from 'ava';
import type { PhaseReport } from '../contract/agent-config';
import { Registry } from '../endpoint/registry';
import { FileStore } from '../endpoint/store/file-store';
import { tempDir } from './helpers/cli';

function report(id: string, step: string, status: PhaseReport['status'], at: string): PhaseReport {
  return { id, node: 'w-1', profile: 'debian12', role: 'worker', phase: 'bake', step, status, at, gpu: false };
}

test('reports are listed in the node\'s order, not in their ids\' order', async (t) => {
  const registry = new Registry(new FileStore(tempDir('labimg-reports-')));
  await registry.createPool('lab', 'debian12');
  await registry.enroll({ name: 'w-1', pool: 'lab', role: 'worker', profile: 'debian12', gpu: false, credentialSha256: '0'.repeat(64) });
  // Ids sorting the other way round from the times.
  const made = [
    report('f0000000-0000-4000-8000-000000000000', 'install-runtime', 'started', '2026-12-01T18:00:01.000Z'),
    report('e0000000-0000-4000-8000-000000000000', 'install-runtime', 'done', '2026-12-01T18:01:25.000Z'),
    report('d0000000-0000-4000-8000-000000000000', 'containerd-config', 'started', '2026-12-01T18:01:25.500Z'),
    report('c0000000-0000-4000-8000-000000000000', 'containerd-config', 'done', '2026-12-01T18:01:28.000Z'),
  ];
  // Delivered out of order too, as an outbox resend after a reboot can.
  for (const r of [made[2], made[0], made[3], made[1]]) t.true(await registry.addReport('w-1', r!));
  const listed = await registry.reports('w-1');
  t.deepEqual(listed.map((r) => `${r.step} ${r.status}`), made.map((r) => `${r.step} ${r.status}`));
});

/** A boot report of w-1 by its clock, minute `minute` past 18:00. */
function boot(step: string, status: PhaseReport['status'], minute: number): PhaseReport {
  return { ...report(crypto.randomUUID(), step, status, `2026-12-01T18:${String(minute).padStart(2, '0')}:00.000Z`), phase: 'boot' };
}

async function fleetNode(registry: Registry) {
  const node = (await registry.fleet()).nodes.find((n) => n.node === 'w-1');
  if (!node) throw new Error('w-1 is missing from the fleet');
  return { state: node.state, ready: node.ready, departedAt: node.departedAt, step: `${node.step} ${node.status}` };
}

test('a node whose latest report is leaving done has departed, whatever it did before; a later report brings it back', async (t) => {
  const registry = new Registry(new FileStore(tempDir('labimg-reports-')));
  await registry.createPool('lab', 'debian12');
  await registry.enroll({ name: 'w-1', pool: 'lab', role: 'worker', profile: 'debian12', gpu: false, credentialSha256: '0'.repeat(64) });

  await registry.addReport('w-1', boot('complete', 'done', 1));
  t.deepEqual(await fleetNode(registry), { state: 'ready', ready: true, departedAt: undefined, step: 'complete done' });
  // A re-run fails, and then the machine is powered off on purpose: it left, it is not failed.
  await registry.addReport('w-1', boot('kubelet-config', 'failed', 2));
  t.deepEqual(await fleetNode(registry), { state: 'failed', ready: true, departedAt: undefined, step: 'kubelet-config failed' });
  await registry.addReport('w-1', boot('leaving', 'done', 3));
  t.deepEqual(await fleetNode(registry), { state: 'departed', ready: false, departedAt: '2026-12-01T18:03:00.000Z', step: 'leaving done' });

  // Started again: its new run is in progress, and the run before it left does not make it ready.
  await registry.addReport('w-1', boot('kubelet-config', 'started', 10));
  t.deepEqual(await fleetNode(registry), { state: 'in-progress', ready: false, departedAt: undefined, step: 'kubelet-config started' });
  await registry.addReport('w-1', boot('complete', 'done', 11));
  t.deepEqual(await fleetNode(registry), { state: 'ready', ready: true, departedAt: undefined, step: 'complete done' });

  // It leaves again, later: departed from that second leaving on.
  await registry.addReport('w-1', boot('leaving', 'done', 20));
  t.deepEqual(await fleetNode(registry), { state: 'departed', ready: false, departedAt: '2026-12-01T18:20:00.000Z', step: 'leaving done' });
});

test('a leaving report that is not "done" does not make a node departed', async (t) => {
  const registry = new Registry(new FileStore(tempDir('labimg-reports-')));
  await registry.createPool('lab', 'debian12');
  await registry.enroll({ name: 'w-1', pool: 'lab', role: 'worker', profile: 'debian12', gpu: false, credentialSha256: '0'.repeat(64) });
  await registry.addReport('w-1', boot('leaving', 'started', 1));
  t.deepEqual(await fleetNode(registry), { state: 'in-progress', ready: false, departedAt: undefined, step: 'leaving started' });
  await registry.addReport('w-1', boot('leaving', 'failed', 2));
  t.is((await fleetNode(registry)).state, 'failed');
});
