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
