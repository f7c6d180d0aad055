/**
 * The control plane's side of the GPU readiness gate: `agent.js gpu-gate`, a real process watching the stand-in API
 * server's nodes through `kubectl get nodes --watch`, lifts the gate from each node once its nvidia.com/gpu is
 * allocatable, and from no other node, and no other taint; it survives the watch ending. The node's own side (the
 * taint at registration, the wait) is in agent-centos, agent-join and agent-plan.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import type { NodeConfig } from '../contract/agent-config';
import { gateLiftPatch } from '../agent/gpu/readiness-gate';
import { freshHostAnswers, freshHostFiles } from '../agent/fresh-host';
import { DryRunHost } from '../agent/host/dry-run-host';
import { silentLogger } from '../agent/log';
import { gpuAllocatable } from '../agent/steps/gpu-ready';
import { FAKE_BIN, FakeMachine, fixture, profileConfig } from './helpers/agent-machine';

const GATE = { key: 'nvidia.com/gpu', value: 'labimg-gpu-not-ready', effect: 'NoSchedule' };
const OTHER = { key: 'dedicated', value: 'training', effect: 'NoSchedule' };
const controlPlane = fixture<NodeConfig>('node-control-plane');

interface StoredNode {
  kind: 'Node';
  name: string;
  labels: Record<string, string>;
  taints: Array<Record<string, string>>;
}

const node = (name: string, taints: StoredNode['taints']): StoredNode => ({ kind: 'Node', name, labels: {}, taints });

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function taintsOf(machine: FakeMachine, name: string): StoredNode['taints'] | undefined {
  return machine.fakeState<StoredNode[]>('kube-objects').find((o) => o.name === name)?.taints;
}

/** A control plane whose API server holds these nodes; each node's allocatable GPUs as the kubelet reports them. */
async function clusterOf(nodes: StoredNode[], allocatable: Record<string, number>): Promise<FakeMachine> {
  const machine = await FakeMachine.create({ config: profileConfig('rocky9'), node: controlPlane });
  // What kubeadm init left: kubectl installed (rocky9's pin) and the admin credential.
  machine.writeFakeState('packages', { ...machine.fakeState<object>('packages'), kubectl: { version: '1.35.9-150500.1.1' } });
  machine.write('/etc/kubernetes/admin.conf', 'the admin credential (stand-in)\n', 0o600);
  machine.writeFakeState('kube-objects', nodes);
  machine.writeFakeState('gpu-allocatable', allocatable);
  return machine;
}

test('the gate is lifted from a node when its GPUs become allocatable, and from no other node, and no other taint', async (t) => {
  const machine = await clusterOf([node('gpu-1', [GATE]), node('gpu-2', [OTHER, GATE]), node('cpu-1', [OTHER])], { 'gpu-1': 0, 'gpu-2': 0, 'cpu-1': 0 });
  t.teardown(() => machine.dispose());
  const gate = machine.runAgent(['gpu-gate']);

  // Nothing allocatable: the watch has listed every node, and nothing was patched.
  await until('the watch to start', () => (machine.commands().some((c) => c.argv.includes('--watch')) ? true : undefined));
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  t.deepEqual(taintsOf(machine, 'gpu-1'), [GATE]);
  t.deepEqual(taintsOf(machine, 'gpu-2'), [OTHER, GATE]);

  // gpu-2's device plugin registers two GPUs: only its gate goes, its own taint stays.
  machine.writeFakeState('gpu-allocatable', { 'gpu-1': 0, 'gpu-2': 2, 'cpu-1': 0 });
  t.deepEqual(await until('gpu-2 lifted', () => (taintsOf(machine, 'gpu-2')?.length === 1 ? taintsOf(machine, 'gpu-2') : undefined)), [OTHER]);
  t.deepEqual(taintsOf(machine, 'gpu-1'), [GATE]);
  t.deepEqual(taintsOf(machine, 'cpu-1'), [OTHER]);

  machine.writeFakeState('gpu-allocatable', { 'gpu-1': 1, 'gpu-2': 2, 'cpu-1': 0 });
  t.deepEqual(await until('gpu-1 lifted', () => (taintsOf(machine, 'gpu-1')?.length === 0 ? [] : undefined)), []);

  // The gate logs a lift once kubectl's patch has returned, a moment after the stand-in stored it.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const patches = machine.commands().filter((c) => c.argv[3] === 'patch');
  t.deepEqual(patches.map((c) => c.argv.slice(3, 6)), [['patch', 'node', 'gpu-2'], ['patch', 'node', 'gpu-1']]);
  machine.dispose();
  const { stdout } = await gate;
  t.regex(stdout, /^<6>node gpu-2: 2 nvidia\.com\/gpu allocatable; lifted the GPU readiness gate$/m);
  t.regex(stdout, /^<6>node gpu-1: 1 nvidia\.com\/gpu allocatable; lifted the GPU readiness gate$/m);
});

test('when the API server ends the watch, the gate watches again and still lifts what became allocatable meanwhile', async (t) => {
  const machine = await clusterOf([node('gpu-1', [GATE])], { 'gpu-1': 0 });
  t.teardown(() => machine.dispose());
  // Each watch ends after a second, as an API server's watch timeout would end it; the gate starts another 5 s later.
  void machine.runAgent(['gpu-gate'], { LABIMG_FAKE_WATCH_SECONDS: '1' });
  await until('the first watch to end', () => (machine.commands().some((c) => c.argv.includes('--watch')) ? true : undefined));
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  machine.writeFakeState('gpu-allocatable', { 'gpu-1': 4 });
  t.deepEqual(await until('gpu-1 lifted', () => (taintsOf(machine, 'gpu-1')?.length === 0 ? [] : undefined), 20_000), []);
  t.true(machine.commands().filter((c) => c.argv.includes('--watch')).length >= 2);
});

test('a lift computed from a node whose taints changed since is refused whole, not applied at the wrong index', async (t) => {
  const machine = await clusterOf([node('gpu-1', [GATE])], { 'gpu-1': 1 });
  t.teardown(() => machine.dispose());
  const patch = gateLiftPatch({ spec: { taints: [GATE] as never }, status: { allocatable: { 'nvidia.com/gpu': '1' } } });
  t.is(patch, JSON.stringify([{ op: 'test', path: '/spec/taints/0', value: GATE }, { op: 'remove', path: '/spec/taints/0' }]));
  // Meanwhile an operator taints the node; its taint now sits first.
  machine.writeFakeState('kube-objects', [node('gpu-1', [OTHER, GATE])]);
  const kubectl = spawnSync('kubectl', ['--kubeconfig', machine.path('/etc/kubernetes/admin.conf'), 'patch', 'node', 'gpu-1', '--type=json', '-p', patch!], {
    env: { PATH: `${FAKE_BIN}:${process.env.PATH}`, LABIMG_FAKE_ROOT: machine.root },
    encoding: 'utf8',
  });
  t.is(kubectl.status, 1);
  t.deepEqual(taintsOf(machine, 'gpu-1'), [OTHER, GATE]);
  // Nothing to lift without allocatable GPUs or without the gate.
  t.is(gateLiftPatch({ spec: { taints: [GATE] as never }, status: { allocatable: {} } }), undefined);
  t.is(gateLiftPatch({ spec: { taints: [OTHER] as never }, status: { allocatable: { 'nvidia.com/gpu': '2' } } }), undefined);
});

test.serial('a GPU node whose GPUs never become allocatable fails its wait after 20 minutes, saying why', async (t) => {
  // The wait's real step on a host whose API server shows the node registered, behind the gate, with no GPU
  // allocatable: every poll is answered so, and the clock of its 2 s pauses is run instantly.
  const config = profileConfig('rocky9-gpu');
  const node: NodeConfig = { apiVersion: 'labimg.dev/v1', kind: 'NodeConfig', role: 'worker', nodeName: 'gpu-1' };
  const served = { kind: 'Node', metadata: { name: 'gpu-1' }, spec: { taints: [GATE] }, status: { allocatable: { cpu: '2' } } };
  const reads: string[][] = [];
  const host = new DryRunHost(freshHostFiles(config, node, true), (argv) => {
    if (argv[0] !== 'kubectl') return freshHostAnswers(config)(argv);
    reads.push(argv);
    return { code: 0, stdout: JSON.stringify(served) };
  });
  const pauses: number[] = [];
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = ((resolve: () => void, ms: number) => {
    pauses.push(ms);
    return realSetTimeout(resolve, 0);
  }) as typeof setTimeout;
  t.teardown(() => {
    globalThis.setTimeout = realSetTimeout;
  });
  const ctx = { host, config, node, secrets: {}, log: silentLogger };
  await t.throwsAsync(gpuAllocatable.apply(ctx), { message: 'no nvidia.com/gpu allocatable (is the device plugin running here?), after 20 minutes' });
  t.is(pauses.length, 600, '20 minutes of 2 s pauses');
  t.true(pauses.every((ms) => ms === 2_000));
  t.deepEqual(reads[0], ['kubectl', '--kubeconfig', '/etc/kubernetes/kubelet.conf', 'get', 'node', 'gpu-1', '-o', 'json']);

  // Allocatable, but the control plane's gate service never lifted the gate: that is what it says.
  served.status.allocatable = { cpu: '2', 'nvidia.com/gpu': '1' } as never;
  await t.throwsAsync(gpuAllocatable.apply(ctx), { message: 'the readiness gate is on (lifted by labimg-gpu-gate on the control plane), after 20 minutes' });
});
