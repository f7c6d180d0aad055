/**
 * A report the endpoint refuses for good (400: its time is more than a day ahead of the endpoint's clock) is set
 * aside by the real agent, kept in outbox-rejected and never sent again, while the reports after it are delivered.
 */
import test from 'ava';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import type { PhaseReport } from '../contract/agent-config';
import { FakeMachine, profileConfig } from './helpers/agent-machine';
import { labPoolEndpoint, labWorker, send } from './helpers/https-client';

const OUTBOX = '/var/lib/labimg/outbox';
const REJECTED = '/var/lib/labimg/outbox-rejected';

/** How many report requests the endpoint answered with `code`, from its own /metrics. */
async function reportAnswers(port: number, code: number): Promise<number> {
  const metrics = (await send(port, { path: '/metrics' })).text;
  const line = metrics.split('\n').find((l) => l.startsWith('labimg_endpoint_requests_total{') && l.includes('route="POST /v1/nodes/:node/reports"') && l.includes(`code="${code}"`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

test('a report from a clock far ahead is refused once, kept in outbox-rejected, and the agent goes on', async (t) => {
  const { e, token } = await labPoolEndpoint(t);
  const node = labWorker(e);
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu'), node, secrets: { enrollmentToken: token } });
  t.teardown(() => machine.dispose());
  // What a boot before NTP left in the outbox: a report dated far in the future.
  const future: PhaseReport = { id: randomUUID(), node: 'w-1', profile: 'ubuntu', role: 'worker', phase: 'bake', step: 'install-runtime', status: 'started', at: '9999-12-31T23:59:59.000Z', gpu: false };
  machine.write(`${OUTBOX}/00000000.json`, `${JSON.stringify(future)}\n`, 0o600);

  const first = await machine.runAgent(['run', '--phase', 'bake']);
  t.is(first.code, 0, first.stdout + first.stderr);
  t.regex(first.stdout + first.stderr, /the endpoint refused report 00000000\.json; kept in \/var\/lib\/labimg\/outbox-rejected: .*reports more than 24 h ahead are refused/);
  t.is(machine.read(`${REJECTED}/00000000.json`)?.trim(), JSON.stringify(future));
  t.is(machine.mode(`${REJECTED}/00000000.json`), 0o600);
  t.deepEqual(readdirSync(machine.path(OUTBOX)), [], 'every other report was delivered');
  const stored = await e.registry.reports('w-1');
  t.true(stored.length > 0);
  t.false(stored.some((r) => r.id === future.id));
  t.is(await reportAnswers(e.port, 400), 1);

  // The next run sends what it reports, never the refused one again.
  const second = await machine.runAgent(['run', '--phase', 'bake']);
  t.is(second.code, 0, second.stdout + second.stderr);
  t.is(await reportAnswers(e.port, 400), 1, 'the refused report was not sent again');
});
