/**
 * labimg-leave.service and `agent.js leave` on their own: the unit as systemd reads it, the choice between a
 * power-off and a reboot from what `systemctl list-jobs` shows, and the bounds on a shutdown's wait: a node
 * that never enrolled sends nothing, and an endpoint that takes the connection and never answers holds the
 * shutdown no longer than the deadline. (test/pool-scale-in.test.ts has the whole pool leaving.)
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { LEAVE_DEADLINE_MS } from '../agent/cli/leave-command';
import { LEAVE_SERVICE_UNIT } from '../agent/steps/leave-unit';
import { PATHS } from '../contract/node-paths';
import { FakeMachine, profileConfig } from './helpers/agent-machine';
import { tempDir } from './helpers/cli';
import { systemdOrderingCycles, systemdVerify } from './helpers/validators';

const FINGERPRINT = `sha256:${'a'.repeat(64)}`;

test('the unit: systemd verifies it, it stops before the network at shutdown, and it adds no ordering cycle', (t) => {
  // verify checks that ExecStop's program exists: this machine's node stands in for the node's runtime.
  const unit = LEAVE_SERVICE_UNIT.replace(`${PATHS.nodeRuntimeDir}/bin/node`, process.execPath);
  const file = path.join(tempDir(), 'labimg-leave.service');
  writeFileSync(file, unit);
  const verified = systemdVerify(file);
  t.is(verified.code, 0, verified.output);
  t.regex(LEAVE_SERVICE_UNIT, /^After=network-online\.target$/m);
  t.regex(LEAVE_SERVICE_UNIT, /^ExecStop=\/opt\/labimg\/node\/bin\/node \/opt\/labimg\/agent\.js leave$/m);
  t.regex(LEAVE_SERVICE_UNIT, /^RemainAfterExit=yes$/m);
  t.deepEqual(systemdOrderingCycles({ 'labimg-leave.service': unit }), []);
});

async function enrolledWorker(endpointUrl: string, enrolled: boolean): Promise<FakeMachine> {
  const machine = await FakeMachine.create({
    config: profileConfig('ubuntu'),
    node: { apiVersion: 'labimg.dev/v1', kind: 'NodeConfig', role: 'worker', pool: 'lab', nodeName: 'worker-1', endpoint: { url: endpointUrl, caFingerprint: FINGERPRINT } },
    secrets: { enrollmentToken: 'lab.0123456789abcdef0123456789abcdef' },
  });
  if (enrolled) machine.write('/var/lib/labimg/credential.json', JSON.stringify({ url: endpointUrl, node: 'worker-1', credential: 'c'.repeat(43), enrolled: true }), 0o600);
  return machine;
}

test('a machine that never enrolled, or that reboots, sends nothing and waits for nothing', async (t) => {
  const never = await enrolledWorker('https://127.0.0.1:9', false);
  t.teardown(() => never.dispose());
  never.writeFakeState('jobs', [{ id: 7, unit: 'poweroff.target', type: 'start', state: 'waiting' }]);
  const run = await never.runAgent(['leave']);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /never enrolled: nothing to tell/);

  const rebooting = await enrolledWorker('https://127.0.0.1:9', true);
  t.teardown(() => rebooting.dispose());
  rebooting.writeFakeState('jobs', [{ id: 9, unit: 'reboot.target', type: 'start', state: 'waiting' }]);
  const reboot = await rebooting.runAgent(['leave']);
  t.is(reboot.code, 0, reboot.stderr);
  t.regex(reboot.stdout, /not powering off/);
});

test('an endpoint that takes the connection and never answers holds the shutdown no longer than the deadline', async (t) => {
  const sockets: net.Socket[] = [];
  const silent = net.createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
  });
  const url = `https://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
  const machine = await enrolledWorker(url, true);
  t.teardown(() => machine.dispose());
  machine.writeFakeState('jobs', [{ id: 7, unit: 'halt.target', type: 'start', state: 'waiting' }]);
  const started = Date.now();
  const run = await machine.runAgent(['leave']);
  const tookMs = Date.now() - started;
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout + run.stderr, /could not tell https:\/\/127\.0\.0\.1:\d+: no answer in time/);
  t.true(sockets.length > 0, 'it did try');
  // The unit's TimeoutStopSec is 30 s; Node's start and the stand-ins take the rest.
  t.true(tookMs < LEAVE_DEADLINE_MS + 10_000, `took ${tookMs} ms`);
  t.false((run.stdout + run.stderr).includes('c'.repeat(43)), 'the credential is not logged');
});
