/**
 * Crash and resume: the agent is killed (SIGKILL, via the LABIMG_AGENT_CRASH_AFTER test hook) right after a
 * step's apply — before it re-checks the step or records it as done — and then started again. The machine
 * must end exactly as after an uninterrupted run, and no step's changes may be made twice.
 */
import test from 'ava';
import type { NodeConfig } from '../contract/agent-config';
import { FakeMachine, fixture, profileConfig, isQuery } from './helpers/agent-machine';
import { agentState, CENTOS_GPU_CONTROL_PLANE_STEPS } from './helpers/agent-scenario';

const controlPlane = fixture<NodeConfig>('node-control-plane');

function changes(machine: FakeMachine): string[][] {
  return machine
    .commands()
    .map((c) => c.argv.map((a) => a.split(machine.root).join('<root>')))
    .filter((argv) => !isQuery(argv));
}

let reference: FakeMachine;
test.before(async () => {
  reference = await FakeMachine.create({ config: profileConfig('centos-gpu'), node: controlPlane, gpu: true });
  const run = await reference.runAgent(['run']);
  if (run.code !== 0) throw new Error(run.stdout);
});
test.after.always(() => reference?.dispose());

// Every step of the profile, bake and boot: a kill may come after any of them.
// node-registered is never applied on a control plane (kubeadm init waits for its Node), so nothing runs to crash after.
for (const crashAfter of CENTOS_GPU_CONTROL_PLANE_STEPS.map((phaseAndId) => phaseAndId.split(':')[1]!).filter((id) => id !== 'node-registered')) {
  // One at a time: each run spawns dozens of stand-in processes, and 2 cores serve them all.
  test.serial(`killed right after applying ${crashAfter}, the next run converges without repeating it`, async (t) => {
    const machine = await FakeMachine.create({ config: profileConfig('centos-gpu'), node: controlPlane, gpu: true });
    t.teardown(() => machine.dispose());

    const crashed = await machine.runAgent(['run'], { LABIMG_AGENT_CRASH_AFTER: crashAfter });
    t.is(crashed.signal, 'SIGKILL', crashed.stdout);
    t.is(agentState(machine).steps[crashAfter]?.status, 'running', 'state.json still says the step was in progress');

    const resumed = await machine.runAgent(['run']);
    t.is(resumed.code, 0, resumed.stdout);
    t.regex(resumed.stdout, new RegExp(`^<4>the previous run stopped during step ${crashAfter}; checking it again$`, 'm'));
    t.regex(resumed.stdout, new RegExp(`^<6>${crashAfter}: already done`, 'm'));

    t.deepEqual(changes(machine), changes(reference), 'the same changes, in the same order, each made once');
    t.deepEqual(machine.snapshot(), reference.snapshot());
    const steps = agentState(machine).steps;
    for (const [id, record] of Object.entries(steps)) {
      // The crashed step was applied, but never recorded as done; node-registered is found done (kubeadm init
      // waits for the control plane's Node), never applied.
      t.is(record.applied, id === crashAfter || id === 'node-registered' ? 0 : 1, id);
      t.not(record.status, 'running');
    }
  });
}
