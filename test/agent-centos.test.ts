/**
 * The CentOS 7 lab (section 2.7.1), end to end: dist/agent.js runs for real against a fake CentOS root with
 * stand-in commands, as a one-node control plane with Docker (dockershim, Kubernetes 1.23.3) from the
 * Aliyun mirrors — with an NVIDIA GPU, without one, and for the CPU-only profile.
 */
import { RUN_COMPLETE_STEP } from '../contract/agent-config';
import test from 'ava';
import { parse as parseToml } from 'smol-toml';
import type { NodeConfig } from '../contract/agent-config';
import { fixture, profileConfig, includesCommand } from './helpers/agent-machine';
import { agentState, documentOfKind, indexOfCommand, kubeadmDocuments, outboxReports, runScenario, Scenario } from './helpers/agent-scenario';

const controlPlane = fixture<NodeConfig>('node-control-plane');
let gpu: Scenario;
let noGpu: Scenario;
let cpuProfile: Scenario;

test.before(async () => {
  [gpu, noGpu, cpuProfile] = await Promise.all([
    runScenario({ config: profileConfig('centos-gpu'), node: controlPlane, gpu: true }),
    runScenario({ config: profileConfig('centos-gpu'), node: controlPlane, gpu: false }),
    runScenario({ config: profileConfig('centos'), node: controlPlane, gpu: false }),
  ]);
});

test.after.always(() => {
  for (const s of [gpu, noGpu, cpuProfile]) s?.machine.dispose();
});

test('every run succeeds and logs with sd-daemon priorities only', (t) => {
  for (const s of [gpu, noGpu, cpuProfile]) {
    t.is(s.first.code, 0, s.first.stdout + s.first.stderr);
    t.is(s.second.code, 0, s.second.stdout + s.second.stderr);
    for (const line of s.first.stdout.trimEnd().split('\n')) t.regex(line, /^<[3467]>/);
    t.notRegex(s.first.stdout, /^<3>/m);
  }
});

test('step 1: firewalld is stopped and disabled', (t) => {
  const { machine, changes } = gpu;
  t.deepEqual(machine.fakeState<any>('units').firewalld, { enabled: false, active: false });
  t.true(includesCommand(changes, ['systemctl', 'disable', '--now', 'firewalld']));
});

test('step 2: SELinux is permissive now (setenforce 0) and at boot (/etc/selinux/config)', (t) => {
  const { machine, changes } = gpu;
  t.is(
    machine.read('/etc/selinux/config'),
    '# This file controls the state of SELinux on the system.\nSELINUX=permissive\nSELINUXTYPE=targeted\n',
  );
  t.is(machine.read('/sys/fs/selinux/enforce'), '0');
  t.true(includesCommand(changes, ['setenforce', '0']));
});

test('step 3: swap is off now (swapoff -a) and its fstab line is commented out, other lines kept', (t) => {
  const { machine, changes } = gpu;
  t.is(machine.read('/proc/swaps'), 'Filename\tType\tSize\tUsed\tPriority\n');
  const fstab = machine.read('/etc/fstab') ?? '';
  t.regex(fstab, /^#labimg-swap-off# \/dev\/mapper\/centos-swap swap/m);
  t.regex(fstab, /^\/dev\/mapper\/centos-root \/ /m);
  t.regex(fstab, /^UUID=1b2c \/boot xfs/m);
  t.true(includesCommand(changes, ['swapoff', '-a']));
});

test('step 4: overlay and br_netfilter are loaded and persisted; sysctls are written and applied after them', (t) => {
  const { machine, changes } = gpu;
  t.is(machine.read('/etc/modules-load.d/labimg.conf'), '# Managed by labimg-agent: changes here are replaced on the next run.\noverlay\nbr_netfilter\n');
  t.true(machine.exists('/sys/module/br_netfilter'));
  t.true(machine.exists('/sys/module/overlay'));
  t.is(
    machine.read('/etc/sysctl.d/99-labimg-kubernetes.conf'),
    '# Managed by labimg-agent: changes here are replaced on the next run.\n' +
      'net.bridge.bridge-nf-call-ip6tables = 1\nnet.bridge.bridge-nf-call-iptables = 1\nnet.ipv4.ip_forward = 1\n',
  );
  for (const key of ['net/bridge/bridge-nf-call-iptables', 'net/bridge/bridge-nf-call-ip6tables', 'net/ipv4/ip_forward']) {
    t.is(machine.read(`/proc/sys/${key}`), '1\n', key);
  }
  // sysctl --system would fail on net.bridge.* before the module exists.
  t.true(indexOfCommand(changes, ['modprobe', 'br_netfilter']) < indexOfCommand(changes, ['sysctl', '--system']));
});

test('step 5: yum repositories for Docker CE, Kubernetes (Aliyun, kube packages excluded) and the NVIDIA toolkit', (t) => {
  const { machine } = gpu;
  t.is(
    machine.read('/etc/yum.repos.d/kubernetes.repo'),
    [
      '# Managed by labimg-agent: changes here are replaced on the next run.',
      '[kubernetes]',
      'name=Kubernetes',
      'baseurl=https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64/',
      'enabled=1',
      'gpgcheck=1',
      'gpgkey=https://mirrors.aliyun.com/kubernetes/yum/doc/yum-key.gpg https://mirrors.aliyun.com/kubernetes/yum/doc/rpm-package-key.gpg',
      'exclude=kubelet kubeadm kubectl',
      '',
    ].join('\n'),
  );
  // $basearch stays for yum to expand, as in Docker's own repo file.
  t.regex(machine.read('/etc/yum.repos.d/docker-ce.repo') ?? '', /^baseurl=https:\/\/mirrors\.aliyun\.com\/docker-ce\/linux\/centos\/7\/\$basearch\/stable$/m);
  // NVIDIA's own repository file: EL7's rpm cannot check its packages' subkey signatures, yum checks the metadata's.
  t.regex(machine.read('/etc/yum.repos.d/nvidia-container-toolkit.repo') ?? '', /^gpgcheck=0\nrepo_gpgcheck=1$/m);
  t.is(cpuProfile.machine.read('/etc/yum.repos.d/nvidia-container-toolkit.repo'), undefined);
});

test('step 6: the stale distro docker package is removed; the runtime packages being installed are not', (t) => {
  const { machine, changes } = gpu;
  t.deepEqual(changes.filter((c) => c[0] === 'yum' && c[1] === 'remove'), [['yum', 'remove', '-y', 'docker']]);
  t.is(machine.fakeState<any>('packages').docker, undefined);
});

test('steps 7-8: runtime, toolkit and pinned kube packages are installed, kube ones with --disableexcludes', (t) => {
  const { machine, changes } = gpu;
  t.true(includesCommand(changes, ['yum', 'install', '-y', 'docker-ce', 'docker-ce-cli', 'containerd.io', 'docker-compose-plugin']));
  // The running kernel's headers first, as NVIDIA's EL7 guide installs them, then the driver: DKMS built its
  // module for the kernel that runs, not for the newest one the vault's updates carry.
  t.true(includesCommand(changes, ['yum', 'install', '-y', 'kernel-devel-3.10.0-1160.80.1.el7.x86_64', 'kernel-headers-3.10.0-1160.80.1.el7.x86_64']));
  t.true(includesCommand(changes, ['yum', 'install', '-y', 'nvidia-driver-latest-dkms', 'nvidia-container-toolkit']));
  t.true(machine.exists('/lib/modules/3.10.0-1160.80.1.el7.x86_64/extra/nvidia.ko.xz'));
  t.false(machine.exists('/usr/src/kernels/3.10.0-1160.119.1.el7.x86_64'));
  t.true(includesCommand(changes, ['yum', 'install', '-y', '--disableexcludes=kubernetes', 'kubelet-1.23.3-0', 'kubeadm-1.23.3-0', 'kubectl-1.23.3-0']));
  const db = machine.fakeState<Record<string, { version: string }>>('packages');
  for (const name of ['kubelet', 'kubeadm', 'kubectl']) t.is(db[name]?.version, '1.23.3-0');
  t.truthy(db['containerd.io']);
  t.is(cpuProfile.machine.fakeState<any>('packages')['nvidia-container-toolkit'], undefined);
});

test('step 7: containerd config.toml replaces the distro file (CRI enabled), mirrored pause image, SystemdCgroup', (t) => {
  for (const s of [gpu, noGpu]) {
    const config = parseToml(s.machine.read('/etc/containerd/config.toml') ?? '') as any;
    t.is(config.version, 2);
    t.deepEqual(config.disabled_plugins, []);
    const cri = config.plugins['io.containerd.grpc.v1.cri'];
    t.is(cri.sandbox_image, 'registry.aliyuncs.com/google_containers/pause:3.6');
    t.is(cri.containerd.runtimes.runc.runtime_type, 'io.containerd.runc.v2');
    t.is(cri.containerd.runtimes.runc.options.SystemdCgroup, true);
    // Docker is the CRI here, so the GPU switch leaves containerd's default alone.
    t.is(cri.containerd.default_runtime_name, 'runc');
    t.is(cri.registry.config_path, '/etc/containerd/certs.d');
  }
});

test('step 7: Docker uses the systemd cgroup driver; containerd and docker run, kubelet is enabled', (t) => {
  const { machine, changes } = noGpu;
  t.deepEqual(JSON.parse(machine.read('/etc/docker/daemon.json') ?? ''), { 'exec-opts': ['native.cgroupdriver=systemd'] });
  const units = machine.fakeState<any>('units');
  t.deepEqual(units.containerd, { enabled: true, active: true });
  t.deepEqual(units.docker, { enabled: true, active: true });
  t.true(units.kubelet.enabled);
  t.true(includesCommand(changes, ['systemctl', 'enable', '--now', 'containerd']));
  t.true(includesCommand(changes, ['systemctl', 'enable', '--now', 'docker']));
  t.true(includesCommand(changes, ['systemctl', 'enable', 'kubelet']));
});

test('step 8: control-plane images are pre-pulled from the mirror into Docker', (t) => {
  const { machine, changes } = gpu;
  t.true(includesCommand(changes, ['kubeadm', 'config', 'images', 'pull', '--config', '<root>/etc/labimg/kubeadm-images.yaml']));
  const images = machine.fakeState<any>('images').docker as string[];
  t.true(images.includes('registry.aliyuncs.com/google_containers/kube-apiserver:v1.23.3'));
  t.true(images.includes('registry.aliyuncs.com/google_containers/pause:3.6'));
  t.true(images.includes('registry.aliyuncs.com/google_containers/coredns:v1.8.6'));
});

test('GPU switch with a GPU: Docker defaults to the nvidia runtime (exec-opts kept) and is restarted', (t) => {
  const { machine, changes, first } = gpu;
  t.deepEqual(JSON.parse(machine.read('/etc/docker/daemon.json') ?? ''), {
    'exec-opts': ['native.cgroupdriver=systemd'],
    'default-runtime': 'nvidia',
    runtimes: { nvidia: { path: '/usr/bin/nvidia-container-runtime', runtimeArgs: [] } },
  });
  t.true(indexOfCommand(changes, ['systemctl', 'restart', 'docker']) > indexOfCommand(changes, ['systemctl', 'enable', '--now', 'docker']));
  t.regex(first.stdout, /^<6>NVIDIA GPU at 0000:00:1e\.0; nvidia is the default runtime$/m);
});

test('GPU switch without a GPU: runc stays the default and no GPU label is set', (t) => {
  const { machine, first } = noGpu;
  t.regex(first.stdout, /^<6>no NVIDIA GPU; runc is the default runtime$/m);
  const init = documentOfKind(kubeadmDocuments(machine, 'init'), 'InitConfiguration');
  t.is(init.nodeRegistration.kubeletExtraArgs, undefined);
  const node = machine.fakeState<any[]>('kube-objects').find((o) => o.kind === 'Node');
  t.deepEqual(node.labels, {});
});

test('step 9: kubeadm init gets one config file with everything the lab passed as flags', (t) => {
  const { machine, changes } = gpu;
  t.true(includesCommand(changes, ['kubeadm', 'init', '--config', '<root>/etc/labimg/kubeadm-init.yaml']));
  t.is(machine.mode('/etc/labimg/kubeadm-init.yaml'), 0o600);
  const docs = kubeadmDocuments(machine, 'init');
  const init = documentOfKind(docs, 'InitConfiguration');
  const cluster = documentOfKind(docs, 'ClusterConfiguration');
  const kubelet = documentOfKind(docs, 'KubeletConfiguration');
  t.is(init.apiVersion, 'kubeadm.k8s.io/v1beta3');
  t.deepEqual(init.nodeRegistration, {
    criSocket: 'unix:///var/run/dockershim.sock',
    name: 'cp-1',
    kubeletExtraArgs: { 'node-labels': 'nvidia.com/gpu.present=true' },
    // One-node lab: no control-plane taint, only the GPU readiness gate, which keeps pods off until the GPU is allocatable.
    taints: [{ key: 'nvidia.com/gpu', value: 'labimg-gpu-not-ready', effect: 'NoSchedule' }],
  });
  t.deepEqual(init.localAPIEndpoint, { advertiseAddress: '10.0.0.10' });
  t.is(cluster.kubernetesVersion, 'v1.23.3');
  t.is(cluster.imageRepository, 'registry.aliyuncs.com/google_containers');
  t.deepEqual(cluster.networking, { podSubnet: '10.244.0.0/16', serviceSubnet: '10.96.0.0/12' });
  t.is(kubelet.cgroupDriver, 'systemd');
  // Registered with the gate; the control plane lifted it once the device plugin made the GPU allocatable.
  const node = machine.fakeState<any[]>('kube-objects').find((o) => o.kind === 'Node');
  t.deepEqual(node, { apiVersion: 'v1', kind: 'Node', name: 'cp-1', labels: { 'nvidia.com/gpu.present': 'true' }, taints: [], source: 'kubeadm InitConfiguration' });
  t.true(
    machine.commands().some((c) => c.argv[0] === 'kubectl' && c.argv[3] === 'patch' && c.argv.includes('cp-1') && c.argv.includes('--type=json')),
    'the gate was lifted by a JSON patch',
  );
});

test("step 10: root's kubeconfig is admin.conf, mode 0600", (t) => {
  const { machine, changes } = gpu;
  t.is(machine.read('/root/.kube/config'), machine.read('/etc/kubernetes/admin.conf'));
  t.is(machine.mode('/root/.kube/config'), 0o600);
  t.true(includesCommand(changes, ['install', '-D', '-m', '0600', '<root>/etc/kubernetes/admin.conf', '<root>/root/.kube/config']));
});

test('step 11: Calico operator, then the Installation with the pod CIDR; GPU device plugin', (t) => {
  const { machine, changes } = gpu;
  const objects = machine.fakeState<any[]>('kube-objects');
  // The node's checked copy of the manifest the profile pins at raw.githubusercontent.com/projectcalico/calico/v3.25.2.
  const operatorCopy = '/var/lib/labimg/manifests/cni-0-tigera-operator.checked.json';
  const operator = `<root>${operatorCopy}`;
  // What the manifest served at that URL holds (test/fixtures/manifests/tigera-operator.yaml), object by object.
  t.deepEqual(
    objects.filter((o) => o.source === `${machine.root}${operatorCopy}`).map((o) => `${o.kind}/${o.name}`),
    ['Namespace/tigera-operator', 'CustomResourceDefinition/installations.operator.tigera.io', 'ConfigMap/operator-flags', 'Deployment/tigera-operator'],
  );
  const installation = objects.find((o) => o.kind === 'Installation');
  t.is(installation.name, 'default');
  t.deepEqual(installation.spec.calicoNetwork.ipPools, [
    { cidr: '10.244.0.0/16', encapsulation: 'VXLANCrossSubnet', blockSize: 26, natOutgoing: 'Enabled', nodeSelector: 'all()' },
  ]);
  t.true(indexOfCommand(changes, ['kubectl', '--kubeconfig', '<root>/etc/kubernetes/admin.conf', 'create', '-f', operator]) <
    indexOfCommand(changes, ['kubectl', '--kubeconfig', '<root>/etc/kubernetes/admin.conf', 'create', '-f', '<root>/etc/labimg/calico-installation.yaml']));
  const devicePlugin = '/var/lib/labimg/manifests/gpu-device-plugin-0-nvidia-device-plugin.checked.json';
  t.is(objects.find((o) => o.source === `${machine.root}${devicePlugin}`)?.name, 'nvidia-device-plugin-daemonset');
  // Cluster-wide: created from the control plane whether or not it has a GPU itself.
  t.is(noGpu.machine.fakeState<any[]>('kube-objects').find((o) => o.source === `${noGpu.machine.root}${devicePlugin}`)?.name, 'nvidia-device-plugin-daemonset');
});

test('the CPU-only profile has no GPU steps at all', (t) => {
  const ids = Object.keys(agentState(cpuProfile.machine).steps);
  for (const id of ['kernel-headers', 'install-gpu-packages', 'gpu-switch', 'gpu-device-plugin']) t.false(ids.includes(id), id);
  t.false(includesCommand(cpuProfile.changes, ['yum', 'install', '-y', 'nvidia-container-toolkit']));
});

test('state.json records every step done once; the outbox has a report per step change', (t) => {
  const { machine } = gpu;
  const state = agentState(machine);
  const ids = Object.keys(state.steps);
  t.deepEqual(ids, [
    'firewall-off', 'selinux', 'swap-off', 'kernel-modules', 'sysctls', 'yum-repos', 'remove-stale-runtime', 'install-runtime',
    'kernel-headers', 'install-gpu-packages', 'containerd-config', 'docker-daemon', 'install-kubernetes', 'enable-services', 'pull-images',
    'gpu-driver', 'gpu-switch', 'kubeadm-init', 'kubeconfig', 'cni', 'gpu-device-plugin', 'gpu-gate', 'node-registered', 'gpu-allocatable',
  ]);
  // kubeadm init itself waits for the control plane's Node (its mark-control-plane phase patches it), so the
  // registration is there before node-registered asks: found done, never applied.
  const foundDone = ['node-registered'];
  for (const id of ids) t.is(state.steps[id]?.applied, foundDone.includes(id) ? 0 : 1, id);
  t.is(machine.mode('/var/lib/labimg/state.json'), 0o600);
  const reports = outboxReports(machine);
  // Each run ends with the "complete" report the fleet view reads readiness from.
  const firstRunReports = ids.flatMap((id) => (foundDone.includes(id) ? [`${id}:skipped`] : [`${id}:started`, `${id}:done`]));
  const firstRun = reports.slice(0, firstRunReports.length + 1);
  t.deepEqual(firstRun.map((r) => `${r.step}:${r.status}`), [...firstRunReports, `${RUN_COMPLETE_STEP}:done`]);
  for (const report of reports) {
    // How far into its boot the node was, from /proc/uptime (83.25 s on every fake machine), in milliseconds.
    t.like(report, { node: 'cp-1', profile: 'centos-gpu', role: 'control-plane', gpu: true, sinceBootMs: 83_250 });
    t.is(report.phase, report.step === RUN_COMPLETE_STEP || ids.indexOf(report.step) >= ids.indexOf('gpu-driver') ? 'boot' : 'bake');
    t.regex(report.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a random UUID the endpoint dedups on');
  }
  t.is(new Set(reports.map((r) => r.id)).size, reports.length);
  t.deepEqual(reports.slice(firstRunReports.length + 1).map((r) => `${r.step}:${r.status}`), [...ids.map((id) => `${id}:skipped`), `${RUN_COMPLETE_STEP}:done`]);
});

test('a second run changes nothing: no mutating command, files unchanged, every step skipped', (t) => {
  for (const s of [gpu, noGpu, cpuProfile]) {
    t.deepEqual(s.changesOnSecondRun, []);
    t.deepEqual(s.snapshotAfterSecond, s.snapshotAfterFirst);
    t.regex(s.second.stdout, /done: 0 applied, \d+ already in place/);
    for (const record of Object.values(agentState(s.machine).steps)) t.is(record.status, 'skipped');
  }
});
