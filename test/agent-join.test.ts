/**
 * Workers: `kubeadm join` from node.json (endpoint, CA hashes) and secrets.json (token). The token must reach
 * kubeadm and nothing else: not stdout/stderr, not state.json, not the outbox, not a file left on disk.
 */
import test from 'ava';
import * as fs from 'node:fs';
import type { NodeConfig, NodeSecrets } from '../contract/agent-config';
import { FakeMachine, fixture, profileConfig, includesCommand, seedCluster, seedDevicePlugin } from './helpers/agent-machine';
import { documentOfKind, kubeadmDocuments, runScenario, Scenario } from './helpers/agent-scenario';

const worker = fixture<NodeConfig>('node-worker');
const secrets = fixture<NodeSecrets>('secrets-worker');
const TOKEN = secrets.bootstrapToken as string;
let joined: Scenario;

/**
 * The control plane's GPU readiness gate, watching this worker's Node. The stand-ins keep a machine's Node in its own
 * root, so the gate runs against the worker's root with an admin credential there, as the control plane's would.
 */
function startControlPlaneGate(machine: FakeMachine): void {
  machine.write('/etc/kubernetes/admin.conf', 'the control plane admin credential (stand-in)\n', 0o600);
  void machine.runAgent(['gpu-gate']);
}

test.before(async () => {
  // The worker's cluster: a control plane at 10.0.0.10:6443 with the fixture CA (whose pin node-worker.json
  // carries) that issued the worker's token, as `kubeadm token create` would have, and that runs NVIDIA's device
  // plugin and the GPU readiness gate.
  const prepare = (machine: FakeMachine) => {
    seedCluster(machine.cluster, [TOKEN]);
    seedDevicePlugin(machine.cluster);
    startControlPlaneGate(machine);
  };
  joined = await runScenario({ config: profileConfig('ubuntu-gpu'), node: worker, secrets, gpu: true, prepare }, ['run', '--verbose']);
});
test.after.always(() => joined?.machine.dispose());

test('the worker joins with a JoinConfiguration: token discovery pinned to the CA, GPU label', (t) => {
  const { machine, first, changes } = joined;
  t.is(first.code, 0, first.stdout);
  t.true(includesCommand(changes, ['kubeadm', 'join', '--config', '<root>/etc/labimg/kubeadm-join.yaml']));
  const join = documentOfKind(kubeadmDocuments(machine, 'join'), 'JoinConfiguration');
  t.deepEqual(join.discovery, {
    bootstrapToken: { token: TOKEN, apiServerEndpoint: '10.0.0.10:6443', caCertHashes: ['sha256:36523713f9926ca2e3a80b456e5265720cf3c5cb4fea999f5cb7f3773bcd9294'] },
  });
  t.deepEqual(join.nodeRegistration, {
    criSocket: 'unix:///var/run/containerd/containerd.sock',
    name: 'worker-1',
    kubeletExtraArgs: { 'node-labels': 'nvidia.com/gpu.present=true' },
    taints: [{ key: 'nvidia.com/gpu', value: 'labimg-gpu-not-ready', effect: 'NoSchedule' }],
  });
  t.true(machine.exists('/etc/kubernetes/kubelet.conf'));
  t.false(changes.some((c) => c[0] === 'kubeadm' && c[1] === 'init'));
  t.false(changes.some((c) => c[0] === 'kubectl' && c.includes('create')), 'CNI and device plugin are the control plane’s job');
  // Registered behind the readiness gate; the control plane's gate lifted it once the device plugin made the GPU
  // allocatable, and the worker waited for that with its own kubelet credential.
  t.deepEqual(machine.fakeState<any[]>('kube-objects').find((o) => o.kind === 'Node')?.taints, []);
  const patches = changes.filter((c) => c[0] === 'kubectl' && c[3] === 'patch');
  t.deepEqual(patches.map((c) => c.slice(0, 7)), [['kubectl', '--kubeconfig', '<root>/etc/kubernetes/admin.conf', 'patch', 'node', 'worker-1', '--type=json']]);
  t.regex(first.stdout, /^<6>gpu-allocatable: .*$/m);
});

test('the join config file is removed after use, and a second run changes nothing', (t) => {
  const { machine } = joined;
  t.false(machine.exists('/etc/labimg/kubeadm-join.yaml'));
  t.true(includesCommand(joined.changes, ['kubeadm', 'join']));
  t.deepEqual(joined.changesOnSecondRun, []);
  t.deepEqual(joined.snapshotAfterSecond, joined.snapshotAfterFirst);
});

test('the token never appears in output, state, outbox, or any file but secrets.json', (t) => {
  const { machine, first, second } = joined;
  for (const text of [first.stdout, first.stderr, second.stdout, second.stderr]) t.false(text.includes(TOKEN));
  const leaks = machine
    .allFiles()
    .filter((file) => !file.startsWith(machine.path('/.fake/')) && file !== machine.path('/etc/labimg/secrets.json'))
    .filter((file) => fs.readFileSync(file, 'utf8').includes(TOKEN));
  t.deepEqual(leaks, []);
  t.true(fs.readFileSync(machine.path('/.fake/kubeadm-configs.json'), 'utf8').includes(TOKEN), 'kubeadm did get it');
});

test('without join material the worker fails at kubeadm-join and says what to put where', async (t) => {
  const node: NodeConfig = { apiVersion: 'labimg.dev/v1', kind: 'NodeConfig', role: 'worker' };
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu'), node });
  t.teardown(() => machine.dispose());
  const run = await machine.runAgent(['run']);
  t.is(run.code, 1);
  t.regex(run.stdout, /^<3>step kubeadm-join failed: cannot join the cluster: the join material is incomplete\.$/m);
  t.regex(run.stdout, /\/etc\/labimg\/node\.json has no join\.apiServerEndpoint/);
  t.regex(run.stdout, /\/etc\/labimg\/node\.json has no join\.caCertHashes/);
  t.regex(run.stdout, /\/etc\/labimg\/secrets\.json has no bootstrapToken/);
  t.regex(run.stdout, /"join": \{"apiServerEndpoint": "10\.0\.0\.10:6443", "caCertHashes": \["sha256:<64 hex digits>"\]\}/);
  t.regex(run.stdout, /kubeadm token create --print-join-command/);
  t.false(machine.commands().some((c) => c.argv[0] === 'kubeadm' && c.argv[1] === 'join'));
  const state = JSON.parse(machine.read('/var/lib/labimg/state.json') ?? '{}');
  t.is(state.steps['kubeadm-join'].status, 'failed');
});

test('a malformed token is refused before kubeadm runs, without echoing it', async (t) => {
  const badToken = 'NOT-A-TOKEN-but-secret-1234';
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu'), node: worker, secrets: { bootstrapToken: badToken } });
  t.teardown(() => machine.dispose());
  const run = await machine.runAgent(['run']);
  t.is(run.code, 1);
  t.regex(run.stdout, /the bootstrapToken in \/etc\/labimg\/secrets\.json is not of the form/);
  t.false(run.stdout.includes(badToken));
  t.false((machine.read('/var/lib/labimg/state.json') ?? '').includes(badToken));
});

test("kubeadm init's freshly generated token is redacted from verbose logs", async (t) => {
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu'), node: fixture('node-control-plane') });
  t.teardown(() => machine.dispose());
  const run = await machine.runAgent(['run', '--verbose']);
  t.is(run.code, 0, run.stdout);
  t.regex(run.stdout, /^<7>kubeadm join 10\.0\.0\.10:6443 --token <redacted> \\$/m);
  t.notRegex(run.stdout, /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/);
});
