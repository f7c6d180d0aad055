/**
 * The dry run: planAgent() runs the real steps against a simulated fresh host and lists every command and
 * file, without touching this machine. The builder's CLI imports it (`labimg plan`).
 */
import test from 'ava';
import { CENTOS_GPU_CONTROL_PLANE_STEPS, documentOfKind } from './helpers/agent-scenario';
import { load, loadAll } from 'js-yaml';
import type { NodeConfig } from '../contract/agent-config';
import { formatPlan, planAgent, PlannedAction, PlannedStep } from '../agent/plan';
import { fixture, profileConfig } from './helpers/agent-machine';

const controlPlane = fixture<NodeConfig>('node-control-plane');

function runs(step: PlannedStep | undefined): string[][] {
  return (step?.actions ?? []).filter((a): a is Extract<PlannedAction, { kind: 'run' }> => a.kind === 'run').map((a) => a.argv);
}

/** The step's `kubectl create -f FILE` commands, from `create` on. */
function creates(step: PlannedStep | undefined): string[][] {
  return runs(step).filter((argv) => argv[0] === 'kubectl' && argv[3] === 'create' && argv[4] === '-f').map((argv) => argv.slice(3));
}

function writes(step: PlannedStep | undefined): Array<Extract<PlannedAction, { kind: 'write' }>> {
  return (step?.actions ?? []).filter((a): a is Extract<PlannedAction, { kind: 'write' }> => a.kind === 'write');
}

test('centos-gpu with a GPU: every lab step, each with its commands and files', async (t) => {
  const plan = await planAgent(profileConfig('centos-gpu'), controlPlane, { gpu: true });
  const step = (id: string) => plan.find((s) => s.id === id);
  t.deepEqual(plan.map((s) => `${s.phase}:${s.id}`), [...CENTOS_GPU_CONTROL_PLANE_STEPS]);
  for (const s of plan) t.true(s.actions.length > 0, `${s.id} has actions on a fresh host`);

  t.deepEqual(runs(step('firewall-off')), [['systemctl', 'disable', '--now', 'firewalld']]);
  t.deepEqual(runs(step('selinux')), [['setenforce', '0']]);
  t.like(writes(step('selinux'))[0], { path: '/etc/selinux/config', mode: 0o644 });
  t.regex(writes(step('selinux'))[0]?.content ?? '', /^SELINUX=permissive$/m);
  t.deepEqual(runs(step('swap-off')), [['swapoff', '-a']]);
  t.regex(writes(step('swap-off'))[0]?.content ?? '', /^#labimg-swap-off# \/dev\/mapper\/centos-swap/m);
  t.deepEqual(runs(step('kernel-modules')), [['modprobe', 'overlay'], ['modprobe', 'br_netfilter']]);
  t.deepEqual(runs(step('sysctls')), [['sysctl', '--system']]);
  t.deepEqual(writes(step('yum-repos')).map((w) => w.path), [
    '/etc/yum.repos.d/CentOS-Base.repo', '/etc/yum.repos.d/kubernetes.repo', '/etc/yum.repos.d/docker-ce.repo', '/etc/yum.repos.d/epel.repo',
    '/etc/yum.repos.d/cuda.repo', '/etc/yum.repos.d/nvidia-container-toolkit.repo',
  ]);
  // The simulated fresh host has every listed stale package; a real run removes only those installed.
  t.deepEqual(runs(step('remove-stale-runtime')), [[
    'yum', 'remove', '-y', 'docker', 'docker-client', 'docker-client-latest', 'docker-common', 'docker-latest',
    'docker-latest-logrotate', 'docker-logrotate', 'docker-engine',
  ]]);
  t.deepEqual(runs(step('install-kubernetes')), [['yum', 'install', '-y', '--disableexcludes=kubernetes', 'kubelet-1.23.3-0', 'kubeadm-1.23.3-0', 'kubectl-1.23.3-0']]);
  t.deepEqual(runs(step('enable-services')), [
    ['systemctl', 'enable', '--now', 'containerd'], ['systemctl', 'enable', '--now', 'docker'], ['systemctl', 'enable', 'kubelet'],
  ]);
  t.deepEqual(runs(step('pull-images')), [['kubeadm', 'config', 'images', 'pull', '--config', '/etc/labimg/kubeadm-images.yaml']]);

  // The GPU is verified before anything is switched to it: the module loaded, then nvidia-smi asked for each GPU.
  t.deepEqual(runs(step('gpu-driver')), [['modprobe', 'nvidia'], ['nvidia-smi', '--query-gpu=pci.bus_id,name,driver_version', '--format=csv,noheader']]);
  const daemon = writes(step('gpu-switch'))[0];
  t.like(daemon, { path: '/etc/docker/daemon.json', mode: 0o644 });
  t.like(JSON.parse(daemon?.content ?? '{}'), { 'default-runtime': 'nvidia' });
  t.deepEqual(runs(step('gpu-switch')), [['systemctl', 'restart', 'docker']]);

  const init = writes(step('kubeadm-init'))[0];
  t.like(init, { path: '/etc/labimg/kubeadm-init.yaml', mode: 0o600 });
  const initConfig = documentOfKind(loadAll(init?.content ?? '') as Array<Record<string, any>>, 'InitConfiguration');
  t.deepEqual(initConfig.nodeRegistration.kubeletExtraArgs, { 'node-labels': 'nvidia.com/gpu.present=true' });
  t.deepEqual(runs(step('kubeadm-init')), [['kubeadm', 'init', '--config', '/etc/labimg/kubeadm-init.yaml']]);
  t.deepEqual(runs(step('kubeconfig')), [['install', '-D', '-m', '0600', '/etc/kubernetes/admin.conf', '/root/.kube/config']]);
  // Each pinned manifest: downloaded, checked against its sha256, read by kubectl, created from the checked copy.
  const operator = '/var/lib/labimg/manifests/cni-0-tigera-operator';
  t.deepEqual(runs(step('cni')).map((argv) => argv.slice(argv[0] === 'kubectl' ? 3 : 0)), [
    ['curl', '-fsSL', '--retry', '3', '--create-dirs', '-o', `${operator}.yaml`, 'https://raw.githubusercontent.com/projectcalico/calico/v3.25.2/manifests/tigera-operator.yaml'],
    ['sha256sum', '--check', '--strict', '--status', `${operator}.yaml.sha256`],
    ['create', '--dry-run=client', '-o', 'json', '-f', `${operator}.yaml`],
    ['create', '-f', `${operator}.checked.json`],
    ['create', '-f', '/etc/labimg/calico-installation.yaml'],
  ]);
  // The device plugin's manifest alone: dockershim refuses any runtime handler but its own, so no RuntimeClass.
  t.deepEqual(creates(step('gpu-device-plugin')), [['create', '-f', '/var/lib/labimg/manifests/gpu-device-plugin-0-nvidia-device-plugin.checked.json']]);
  // Only the check's sums file and the checked copy: no RuntimeClass.
  t.deepEqual(writes(step('gpu-device-plugin')).map((w) => w.path), [
    '/var/lib/labimg/manifests/gpu-device-plugin-0-nvidia-device-plugin.yml.sha256',
    '/var/lib/labimg/manifests/gpu-device-plugin-0-nvidia-device-plugin.checked.json',
  ]);
});

test('on containerd the control plane adds the nvidia RuntimeClass, restricted to nodes with the GPU labels', async (t) => {
  const plan = await planAgent(profileConfig('ubuntu2404-gpu'), controlPlane, { gpu: true });
  const step = plan.find((s) => s.id === 'gpu-device-plugin');
  t.deepEqual(creates(step), [
    ['create', '-f', '/var/lib/labimg/manifests/gpu-device-plugin-0-nvidia-device-plugin.checked.json'],
    ['create', '-f', '/etc/labimg/runtimeclass-nvidia.yaml'],
  ]);
  const runtimeClass = writes(step)[0];
  t.like(runtimeClass, { path: '/etc/labimg/runtimeclass-nvidia.yaml', mode: 0o644 });
  t.deepEqual(load(runtimeClass?.content ?? ''), {
    apiVersion: 'node.k8s.io/v1',
    kind: 'RuntimeClass',
    metadata: { name: 'nvidia' },
    handler: 'nvidia',
    scheduling: { nodeSelector: { 'nvidia.com/gpu.present': 'true' } },
  });
});

test('without a GPU the plan keeps runc and registers no GPU label', async (t) => {
  const plan = await planAgent(profileConfig('centos-gpu'), controlPlane, { gpu: false });
  const daemon = writes(plan.find((s) => s.id === 'gpu-switch'))[0];
  t.deepEqual(JSON.parse(daemon?.content ?? '{}'), { 'exec-opts': ['native.cgroupdriver=systemd'] });
  t.notRegex(writes(plan.find((s) => s.id === 'kubeadm-init'))[0]?.content ?? '', /node-labels/);
});

test('a worker plan writes the join config 0600 with a placeholder token and removes it after the join', async (t) => {
  const worker: NodeConfig = { apiVersion: 'labimg.dev/v1', kind: 'NodeConfig', role: 'worker' };
  const plan = await planAgent(profileConfig('ubuntu'), worker, { gpu: false });
  const join = plan.find((s) => s.id === 'kubeadm-join');
  t.deepEqual(join?.actions.map((a) => a.kind), ['write', 'run', 'remove']);
  t.like(join?.actions[0], { path: '/etc/labimg/kubeadm-join.yaml', mode: 0o600 });
  const joinConfig = documentOfKind(loadAll(writes(join)[0]?.content ?? '') as Array<Record<string, any>>, 'JoinConfiguration');
  t.is(joinConfig.discovery.bootstrapToken.token, 'xxxxxx.xxxxxxxxxxxxxxxx');
  t.false(plan.some((s) => s.id === 'kubeadm-init' || s.id === 'cni'));
  // Two repositories (Kubernetes, Docker): each key fetched and dearmored, then one apt-get update.
  t.deepEqual(runs(plan.find((s) => s.id === 'apt-repos')).map((a) => a[0]), ['curl', 'gpg', 'curl', 'gpg', 'apt-get']);
});

test('formatPlan shows every step, its argv and each file with path, mode and content', async (t) => {
  const text = formatPlan(await planAgent(profileConfig('centos-gpu'), controlPlane, { gpu: true }));
  t.regex(text, /^\[bake\] firewall-off: Stop and disable the distro firewall$/m);
  t.regex(text, /^ {4}run {4}systemctl disable --now firewalld$/m);
  t.regex(text, /^ {4}write {2}\/etc\/labimg\/kubeadm-init\.yaml \(mode 0600\)$/m);
  t.regex(text, /^ {11}\| {3}"kubernetesVersion": "v1\.23\.3",$/m);
  t.regex(text, /^ {4}run {4}kubeadm config images pull --config \/etc\/labimg\/kubeadm-images\.yaml$/m);
  t.regex(text, /^ {4}remove \/etc\/apt|^\[boot\] cni: Install the pod network \(CNI\)$/m);
  t.regex(text, /^24 steps, \d+ actions\.$/m);
});


test('rocky9-gpu with a GPU: the driver verified, the node registered behind the readiness gate, the gate lifted, the GPU awaited, in that order', async (t) => {
  const plan = await planAgent(profileConfig('rocky9-gpu'), controlPlane, { gpu: true });
  const at = (id: string) => plan.findIndex((s) => s.id === id);
  const gate = { key: 'nvidia.com/gpu', value: 'labimg-gpu-not-ready', effect: 'NoSchedule' };
  // Verification: the module loaded and nvidia-smi asked.
  t.deepEqual(runs(plan[at('gpu-driver')]).map((argv) => argv[0]), ['modprobe', 'nvidia-smi']);
  // The gate: kubeadm registers the node with it (rocky9-gpu is a one-node lab: no control-plane taint beside it).
  const init = documentOfKind(loadAll(writes(plan[at('kubeadm-init')])[0]?.content ?? '') as Array<Record<string, any>>, 'InitConfiguration');
  t.deepEqual(init.nodeRegistration.taints, [gate]);
  // Its removal: the control plane's gate service, then the node's own wait for its GPU.
  t.deepEqual(runs(plan[at('gpu-gate')]), [['systemctl', 'daemon-reload'], ['systemctl', 'enable', '--now', 'labimg-gpu-gate.service']]);
  t.regex(writes(plan[at('gpu-gate')])[0]?.content ?? '', /^ExecStart=\/opt\/labimg\/node\/bin\/node \/opt\/labimg\/agent\.js gpu-gate$/m);
  t.deepEqual(runs(plan[at('gpu-allocatable')]), [['kubectl', '--kubeconfig', '/etc/kubernetes/kubelet.conf', 'get', 'node', 'cp-1', '-o', 'json']]);
  t.true(at('gpu-driver') < at('kubeadm-init') && at('kubeadm-init') < at('gpu-gate') && at('gpu-gate') < at('gpu-allocatable'));

  // A GPU worker joins behind the same gate and waits the same way; without a GPU there is neither.
  const worker: NodeConfig = { apiVersion: 'labimg.dev/v1', kind: 'NodeConfig', role: 'worker', nodeName: 'gpu-1' };
  const workerPlan = await planAgent(profileConfig('rocky9-gpu'), worker, { gpu: true });
  const join = documentOfKind(loadAll(writes(workerPlan.find((s) => s.id === 'kubeadm-join'))[0]?.content ?? '') as Array<Record<string, any>>, 'JoinConfiguration');
  t.deepEqual(join.nodeRegistration.taints, [gate]);
  t.deepEqual(workerPlan.slice(-2).map((s) => s.id), ['node-registered', 'gpu-allocatable']);
  t.false(workerPlan.some((s) => s.id === 'gpu-gate'), 'the gate service runs on control planes only');
  const cpuPlan = await planAgent(profileConfig('rocky9-gpu'), worker, { gpu: false });
  t.false(cpuPlan.some((s) => s.id === 'node-registered' || s.id === 'gpu-allocatable'));
  const cpuJoin = documentOfKind(loadAll(writes(cpuPlan.find((s) => s.id === 'kubeadm-join'))[0]?.content ?? '') as Array<Record<string, any>>, 'JoinConfiguration');
  t.is(cpuJoin.nodeRegistration.taints, undefined);
});
