/**
 * Time per phase, as the fleet shows it: the sum of that phase's step durations, and nothing else. The
 * report that ends a run carries the whole run's duration; it once landed in the boot phase's total, so a
 * node whose boot steps took 21 s showed a boot phase of more than a minute.
 */
import test from 'ava';
import type { PhaseReport } from '../contract/agent-config';
import { RUN_COMPLETE_STEP } from '../contract/agent-config';
import type { FleetView } from '../contract/endpoint-api';
import { enrollBody, labPoolEndpoint, reportBody, send } from './helpers/https-client';

test('the boot phase in /v1/fleet is the sum of its steps\' durations; the run\'s own report is not a step', async (t) => {
  const { e, token } = await labPoolEndpoint(t);
  const enrolled = await send(e.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody('w-1') });
  t.is(enrolled.status, 200, enrolled.text);
  const { credential } = enrolled.json as { credential: string };

  let second = 0;
  const at = () => new Date(Date.UTC(2026, 11, 2, 9, 0, (second += 1))).toISOString();
  const step = (phase: PhaseReport['phase'], name: string, status: PhaseReport['status'], durationMs?: number): PhaseReport =>
    reportBody('w-1', { phase, step: name, status, at: at(), ...(durationMs === undefined ? {} : { durationMs }) });
  const reports = [
    step('bake', 'install-runtime', 'started'),
    step('bake', 'install-runtime', 'done', 84_000),
    step('bake', 'containerd-config', 'skipped', 500),
    step('boot', 'gpu-switch', 'skipped', 1_200),
    step('boot', 'kubeadm-join', 'started'),
    step('boot', 'kubeadm-join', 'done', 20_000),
    // The whole run, bake and boot, filed under the phase the run ended in.
    step('boot', RUN_COMPLETE_STEP, 'done', 106_000),
  ];
  for (const report of reports) {
    const sent = await send(e.port, { method: 'POST', path: '/v1/nodes/w-1/reports', token: credential, json: report });
    t.is(sent.status, 200, sent.text);
  }

  const fleet = (await send(e.port, { path: '/v1/fleet' })).json as FleetView;
  const node = fleet.nodes.find((n) => n.node === 'w-1');
  t.truthy(node);
  // 1.2 s + 20 s; and 84 s + 0.5 s.
  t.deepEqual(Object.fromEntries(node!.phases.map((p) => [p.phase, p.durationMs])), { bake: 84_500, boot: 21_200 });
  t.true(node!.ready, 'the completion report still marks the node ready');
});
