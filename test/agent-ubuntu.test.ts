/**
 * The Ubuntu lab (section 2.7.2) brought up to date: pkgs.k8s.io v1.28 with a signed-by keyring, pinned and
 * held packages, containerd as the CRI. Plus the same profile on Kubernetes 1.31 (kubeadm v1beta4).
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { AgentConfig, NodeConfig } from '../contract/agent-config';
import { fixture, profileConfig, includesCommand } from './helpers/agent-machine';
import { agentState, documentOfKind, indexOfCommand, kubeadmDocuments, runScenario, Scenario } from './helpers/agent-scenario';

const controlPlane = fixture<NodeConfig>('node-control-plane');
let ubuntu: Scenario;
let v131: Scenario;

/** The ubuntu profile moved to Kubernetes 1.31, where kubeadm wants v1beta4 (kubeletExtraArgs as a list). */
function ubuntuGpuOn131(): AgentConfig {
  const config = profileConfig('ubuntu-gpu');
  const k8s = config.kubernetes;
  k8s.version = '1.31.4';
  k8s.kubeadmApiVersion = 'kubeadm.k8s.io/v1beta4';
  k8s.packages = k8s.packages.map((p) => ({ ...p, version: '1.31.4-1.1' }));
  for (const repo of config.repositories) repo.baseUrl = repo.baseUrl.replace('v1.28', 'v1.31');
  // kubeadm 1.31 uses pause:3.10 (constants.PauseVersion); containerd must run pods with the same image.
  config.runtime.containerd.sandboxImage = 'registry.k8s.io/pause:3.10';
  // Not in the shipped profile: a Docker Hub mirror, so the hosts.toml step is exercised too.
  config.runtime.containerd.registryMirrors = { 'docker.io': ['https://mirror.gcr.io'] };
  return config;
}

test.before(async () => {
  [ubuntu, v131] = await Promise.all([
    runScenario({ config: profileConfig('ubuntu'), node: controlPlane }),
    runScenario({ config: ubuntuGpuOn131(), node: controlPlane, gpu: true }),
  ]);
});

test.after.always(() => {
  ubuntu?.machine.dispose();
  v131?.machine.dispose();
});

test('both runs succeed', (t) => {
  for (const s of [ubuntu, v131]) {
    t.is(s.first.code, 0, s.first.stdout + s.first.stderr);
    t.is(s.second.code, 0, s.second.stdout);
  }
});

test('ufw is disabled; there is no SELinux step on Ubuntu', (t) => {
  const { machine, changes } = ubuntu;
  t.deepEqual(machine.fakeState('ufw'), { active: false });
  t.true(includesCommand(changes, ['ufw', 'disable']));
  t.false('selinux' in agentState(machine).steps);
  t.false(changes.some((c) => c[0] === 'setenforce'));
});

test('swap, modules (overlay, br_netfilter) and sysctls as on CentOS', (t) => {
  const { machine, changes } = ubuntu;
  t.regex(machine.read('/etc/fstab') ?? '', /^#labimg-swap-off# \/swap\.img\tnone\tswap/m);
  t.true(machine.exists('/sys/module/overlay'));
  t.true(machine.exists('/sys/module/br_netfilter'));
  t.is(machine.read('/proc/sys/net/bridge/bridge-nf-call-iptables'), '1\n');
  t.true(includesCommand(changes, ['sysctl', '--system']));
});

test('apt repo: key fetched with curl, dearmored with gpg into /etc/apt/keyrings, list pinned with signed-by', (t) => {
  const { machine, changes } = ubuntu;
  t.is(
    machine.read('/etc/apt/sources.list.d/kubernetes.list'),
    '# Managed by labimg-agent: changes here are replaced on the next run.\n' +
      'deb [signed-by=/etc/apt/keyrings/kubernetes.gpg] https://pkgs.k8s.io/core:/stable:/v1.28/deb/ /\n',
  );
  // The key the test serves at that URL, dearmored: byte for byte what gpg --dearmor made of it.
  t.deepEqual(fs.readFileSync(machine.path('/etc/apt/keyrings/kubernetes.gpg')), fs.readFileSync(path.join(__dirname, 'fixtures/keys/apt-repository.gpg')));
  t.false(machine.exists('/etc/apt/keyrings/kubernetes.asc'), 'the armored download is removed');
  t.true(includesCommand(changes, ['curl', '-fsSL', '--retry', '3', '--create-dirs', '-o', '<root>/etc/apt/keyrings/kubernetes.asc', 'https://pkgs.k8s.io/core:/stable:/v1.28/deb/Release.key']));
  t.true(includesCommand(changes, ['gpg', '--batch', '--yes', '--dearmor', '-o', '<root>/etc/apt/keyrings/kubernetes.gpg', '<root>/etc/apt/keyrings/kubernetes.asc']));
  // apt-get update comes after the sources change and before the install that needs it.
  const update = indexOfCommand(changes, ['apt-get', 'update']);
  t.true(update > indexOfCommand(changes, ['gpg']));
  t.true(update < indexOfCommand(changes, ['apt-get', 'install']));
});

test('stale docker.io is removed; containerd installed; kube packages pinned =1.28.15-1.1 and held', (t) => {
  const { machine, changes } = ubuntu;
  t.deepEqual(changes.filter((c) => c[0] === 'apt-get' && c[1] === 'remove'), [['apt-get', 'remove', '-y', 'docker.io']]);
  const install = changes.find((c) => c[0] === 'apt-get' && c.includes('kubelet=1.28.15-1.1'));
  t.truthy(install);
  t.true(install?.includes('kubeadm=1.28.15-1.1') && install.includes('kubectl=1.28.15-1.1'));
  t.true(includesCommand(changes, ['apt-mark', 'hold', 'kubelet', 'kubeadm', 'kubectl']));
  t.deepEqual(machine.fakeState<any>('apt').held, ['kubeadm', 'kubectl', 'kubelet']);
  const db = machine.fakeState<any>('packages');
  t.is(db.kubeadm.version, '1.28.15-1.1');
  t.truthy(db['containerd.io']);
  t.is(db['docker.io'], undefined);
});

test('containerd is the CRI: config.toml with pause 3.9 and SystemdCgroup, registry mirrors, images in k8s.io', (t) => {
  const { machine } = ubuntu;
  const cri = (parseToml(machine.read('/etc/containerd/config.toml') ?? '') as any).plugins['io.containerd.grpc.v1.cri'];
  t.is(cri.sandbox_image, 'registry.k8s.io/pause:3.9');
  t.is(cri.containerd.default_runtime_name, 'runc');
  t.true(cri.containerd.runtimes.runc.options.SystemdCgroup);
  t.is(cri.registry.config_path, '/etc/containerd/certs.d');
  t.false(machine.exists('/etc/containerd/certs.d/docker.io/hosts.toml'), 'the shipped profile names no mirror');
  t.deepEqual(parseToml(v131.machine.read('/etc/containerd/certs.d/docker.io/hosts.toml') ?? ''), {
    server: 'https://registry-1.docker.io',
    host: { 'https://mirror.gcr.io': { capabilities: ['pull', 'resolve'] } },
  });
  const images = machine.fakeState<any>('images').containerd as string[];
  t.true(images.includes('registry.k8s.io/pause:3.9'));
  t.true(images.includes('registry.k8s.io/coredns/coredns:v1.10.1'));
  t.false(machine.exists('/etc/docker/daemon.json'));
});

test('kubeadm init: containerd socket, v1beta3, Calico pool matching the pod subnet', (t) => {
  const { machine } = ubuntu;
  const docs = kubeadmDocuments(machine, 'init');
  t.is(documentOfKind(docs, 'InitConfiguration').nodeRegistration.criSocket, 'unix:///var/run/containerd/containerd.sock');
  t.is(documentOfKind(docs, 'ClusterConfiguration').networking.podSubnet, '10.244.0.0/16');
  const installation = machine.fakeState<any[]>('kube-objects').find((o) => o.kind === 'Installation');
  t.is(installation.spec.calicoNetwork.ipPools[0].cidr, '10.244.0.0/16');
});

test('GPU switch on containerd: runtimes.nvidia with BinaryName, SystemdCgroup kept, nvidia default, restart', (t) => {
  const { machine, changes } = v131;
  const containerd = (parseToml(machine.read('/etc/containerd/config.toml') ?? '') as any).plugins['io.containerd.grpc.v1.cri'].containerd;
  t.is(containerd.default_runtime_name, 'nvidia');
  t.deepEqual(containerd.runtimes.nvidia, {
    runtime_type: 'io.containerd.runc.v2',
    options: { BinaryName: '/usr/bin/nvidia-container-runtime', SystemdCgroup: true },
  });
  t.true(containerd.runtimes.runc.options.SystemdCgroup);
  t.true(indexOfCommand(changes, ['systemctl', 'restart', 'containerd']) > indexOfCommand(changes, ['systemctl', 'enable', '--now', 'containerd']));
});

test('Kubernetes 1.31: v1beta4 documents, kubeletExtraArgs as a list of {name, value}', (t) => {
  const docs = kubeadmDocuments(v131.machine, 'init');
  const init = documentOfKind(docs, 'InitConfiguration');
  t.is(init.apiVersion, 'kubeadm.k8s.io/v1beta4');
  t.is(documentOfKind(docs, 'ClusterConfiguration').apiVersion, 'kubeadm.k8s.io/v1beta4');
  t.deepEqual(init.nodeRegistration.kubeletExtraArgs, [{ name: 'node-labels', value: 'nvidia.com/gpu.present=true' }]);
});

test('a second run changes nothing', (t) => {
  for (const s of [ubuntu, v131]) {
    t.deepEqual(s.changesOnSecondRun, []);
    t.deepEqual(s.snapshotAfterSecond, s.snapshotAfterFirst);
  }
});
