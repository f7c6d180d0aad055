/** dist/agent.js as a command: refusing configs it does not know, phases, status, usage errors. */
import test from 'ava';
import type { NodeConfig } from '../contract/agent-config';
import { FakeMachine, fixture, profileConfig } from './helpers/agent-machine';

const controlPlane = fixture<NodeConfig>('node-control-plane');

test('an AgentConfig of another version is refused with a clear message, before any change', async (t) => {
  const config = { ...profileConfig('ubuntu'), version: 2 } as any;
  const machine = await FakeMachine.create({ config, node: controlPlane });
  t.teardown(() => machine.dispose());
  const run = await machine.runAgent(['run']);
  t.is(run.code, 2);
  t.regex(run.stdout, /^<3>\/etc\/labimg\/agent\.json: this agent reads apiVersion labimg\.dev\/v1, kind AgentConfig, version 1; the file has apiVersion "labimg\.dev\/v1", kind "AgentConfig", version 2\./m);
  t.deepEqual(machine.commands(), []);
});

test('an unknown apiVersion or kind is refused too', async (t) => {
  const machine = await FakeMachine.create({ config: { ...profileConfig('ubuntu'), apiVersion: 'labimg.dev/v2', kind: 'Profile' } as any, node: controlPlane });
  t.teardown(() => machine.dispose());
  const run = await machine.runAgent(['run']);
  t.is(run.code, 2);
  t.regex(run.stdout, /apiVersion "labimg\.dev\/v2", kind "Profile"/);
});

test('the bake phase needs no node.json and runs no boot step; the boot phase needs node.json', async (t) => {
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu') });
  t.teardown(() => machine.dispose());
  const bake = await machine.runAgent(['run', '--phase', 'bake']);
  t.is(bake.code, 0, bake.stdout);
  t.false(machine.commands().some((c) => c.argv[0] === 'kubeadm' && c.argv[1] !== 'config'));
  t.false(machine.exists('/var/lib/labimg/outbox'), 'no instance yet: nothing to report');

  const boot = await machine.runAgent(['run', '--phase', 'boot']);
  t.is(boot.code, 2);
  t.regex(boot.stdout, /^<3>the boot phase needs \/etc\/labimg\/node\.json/m);
});

test('status lists every step from state.json', async (t) => {
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu') });
  t.teardown(() => machine.dispose());
  const before = await machine.runAgent(['status']);
  t.regex(before.stdout, /^no agent state yet/);
  await machine.runAgent(['run', '--phase', 'bake']);
  const after = await machine.runAgent(['status']);
  t.is(after.code, 0);
  t.regex(after.stdout, /^done {5}bake {2}apt-repos \(applied 1x, /m);
  t.regex(after.stdout, /^done {5}bake {2}pull-images /m);
});

test('bad usage exits 2 with the usage text', async (t) => {
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu') });
  t.teardown(() => machine.dispose());
  const unknown = await machine.runAgent(['run', '--phase', 'later']);
  t.is(unknown.code, 2);
  t.regex(unknown.stdout, /--phase must be one of bake, boot, all/);
  const flag = await machine.runAgent(['run', '--frobnicate']);
  t.is(flag.code, 2);
  t.regex(flag.stderr, /unknown option --frobnicate\nusage:/);
});

test('a failing command names the step and its output, and the run stops there', async (t) => {
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu'), node: controlPlane });
  t.teardown(() => machine.dispose());
  const run = await machine.runAgent(['run'], { LABIMG_FAKE_FAIL: 'modprobe br_netfilter' });
  t.is(run.code, 1);
  t.regex(run.stdout, /^<3>step kernel-modules failed: modprobe br_netfilter: exit status 1$/m);
  t.regex(run.stdout, /^<3>modprobe: injected failure/m);
  t.false(machine.commands().some((c) => c.argv[0] === 'sysctl'), 'nothing after the failed step runs');
  const state = JSON.parse(machine.read('/var/lib/labimg/state.json') ?? '{}');
  t.is(state.steps['kernel-modules'].status, 'failed');
  t.regex(state.steps['kernel-modules'].error, /modprobe br_netfilter: exit status 1/);

  const retry = await machine.runAgent(['run']);
  t.is(retry.code, 0, retry.stdout);
});
