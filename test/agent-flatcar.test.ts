/**
 * The flatcar profile on a stand-in Flatcar: no package manager, /usr read-only (nothing is written under it),
 * containerd built in and running, Kubernetes as binaries in /opt/bin. As Ignition leaves the machine (the
 * binaries fetched and checked before first boot), and as something else might (binaries missing: the agent
 * fetches them and has sha256sum check them, refusing any other file).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { NodeConfig } from '../contract/agent-config';
import { containerd } from '../agent/runtime/containerd';
import { KUBEADM_DROP_IN, KUBELET_UNIT } from '../agent/kube/kubelet-unit';
import { FakeMachine, fixture, flatcarConfig, isQuery, kubernetesBinaryStandIn, type AgentRun } from './helpers/agent-machine';
import { agentState, documentOfKind, kubeadmDocuments } from './helpers/agent-scenario';
import { tempDir } from './helpers/cli';
import { systemdVerify } from './helpers/validators';

const controlPlane = fixture<NodeConfig>('node-control-plane');
const BINARIES = ['/opt/bin/kubeadm', '/opt/bin/kubelet', '/opt/bin/kubectl'];

interface FlatcarRun {
  machine: FakeMachine;
  first: AgentRun;
  second: AgentRun;
  changes: string[][];
  changesOnSecondRun: string[][];
}

async function runFlatcar(prepare: (machine: FakeMachine) => void): Promise<FlatcarRun> {
  const machine = await FakeMachine.create({ config: flatcarConfig(), node: controlPlane });
  prepare(machine);
  const first = await machine.runAgent(['run']);
  const mark = machine.logLength();
  const second = await machine.runAgent(['run']);
  const commands = machine.commands().map((c) => c.argv.map((a) => a.split(machine.root).join('<root>')));
  return { machine, first, second, changes: commands.slice(0, mark).filter((a) => !isQuery(a)), changesOnSecondRun: commands.slice(mark).filter((a) => !isQuery(a)) };
}

let ignited: FlatcarRun;

test.before(async () => {
  ignited = await runFlatcar((machine) => machine.placeKubernetesBinaries());
});

test.after.always(() => ignited?.machine.dispose());

test('as Ignition leaves it, the agent brings up the control plane; a second run changes nothing', (t) => {
  const { first, second, changesOnSecondRun, machine } = ignited;
  t.is(first.code, 0, first.stdout + first.stderr);
  t.is(second.code, 0, second.stdout + second.stderr);
  t.deepEqual(changesOnSecondRun, []);
  const steps = agentState(machine).steps;
  for (const id of ['kubernetes-binaries', 'containerd-drop-in', 'containerd-config', 'enable-services', 'pull-images', 'kubeadm-init', 'cni']) {
    t.is(steps[id]?.applied, 1, id);
    t.is(steps[id]?.status, 'skipped', `${id}: the second run finds it in place`);
  }
  for (const id of ['yum-repos', 'apt-repos', 'install-runtime', 'install-kubernetes', 'remove-stale-runtime', 'firewall-off', 'selinux']) t.false(id in steps, id);
});

test('no package manager, no download and nothing under /usr: the binaries Ignition placed are checked, not fetched', (t) => {
  const { changes, machine } = ignited;
  // The control plane's addon manifests are downloaded and checked (each pinned); nothing else is.
  const manifestWork = (argv: string[]) => argv.some((arg) => arg.startsWith('<root>/var/lib/labimg/manifests/'));
  for (const command of ['yum', 'dnf', 'apt-get', 'rpm', 'dpkg-query', 'curl', 'sha256sum']) t.false(changes.some((argv) => argv[0] === command && !manifestWork(argv)), command);
  t.false(changes.some((argv) => argv[0] === 'install' && argv.some((arg) => arg.startsWith('<root>/opt/bin/'))), 'no binary is installed over the ones Ignition placed');
  t.deepEqual(machine.allFiles().filter((file) => file.startsWith(path.join(machine.root, 'usr')) && !file.endsWith('/usr/share/containerd/config.toml')), []);
  const { version } = flatcarConfig().kubernetes;
  for (const binary of BINARIES) {
    t.is(machine.read(binary), kubernetesBinaryStandIn(path.basename(binary), version), binary);
    t.is(machine.mode(binary), 0o755);
  }
});

test("containerd reads the agent's config through a drop-in, with SystemdCgroup and the profile's pause image", (t) => {
  const { machine, changes } = ignited;
  t.is(machine.read(containerd.configDropIn.path), '# Managed by labimg-agent: changes here are replaced on the next run.\n[Service]\nEnvironment=CONTAINERD_CONFIG=/etc/containerd/config.toml\n');
  const config = parseToml(machine.read('/etc/containerd/config.toml') ?? '') as Record<string, any>;
  const cri = config.plugins['io.containerd.grpc.v1.cri'];
  t.is(config.version, 2);
  t.is(cri.sandbox_image, 'registry.k8s.io/pause:3.10');
  t.true(cri.containerd.runtimes.runc.options.SystemdCgroup);
  // The drop-in comes after the config and its restart: containerd restarts once more, reading the new file.
  const dropIn = changes.findIndex((argv) => argv.join(' ') === 'systemctl daemon-reload');
  const restarts = changes.map((argv, i) => (argv.join(' ') === 'systemctl restart containerd' ? i : -1)).filter((i) => i >= 0);
  t.true(restarts.some((i) => i > dropIn), changes.map((argv) => argv.join(' ')).join('\n'));
  t.is(machine.read('/usr/share/containerd/config.toml')?.includes('SystemdCgroup = true'), true, "Flatcar's own config is left as it is");
});

test('the kubelet unit and kubeadm drop-in run /opt/bin/kubelet, pass systemd-analyze verify, and the kubelet is enabled', (t) => {
  const { machine } = ignited;
  const unit = machine.read(KUBELET_UNIT) ?? '';
  const dropIn = machine.read(KUBEADM_DROP_IN) ?? '';
  t.regex(unit, /^ExecStart=\/opt\/bin\/kubelet$/m);
  t.regex(dropIn, /^ExecStart=$/m);
  t.regex(dropIn, /^ExecStart=\/opt\/bin\/kubelet \$KUBELET_KUBECONFIG_ARGS \$KUBELET_CONFIG_ARGS \$KUBELET_KUBEADM_ARGS \$KUBELET_EXTRA_ARGS$/m);
  t.regex(dropIn, /^EnvironmentFile=-\/var\/lib\/kubelet\/kubeadm-flags\.env$/m);
  // verify resolves ExecStart= binaries, so point them at one that exists here.
  const dir = tempDir();
  writeFileSync(path.join(dir, 'kubelet.service'), unit.replace(/\/opt\/bin\/kubelet/g, '/bin/true'));
  const dropInDir = path.join(dir, 'kubelet.service.d');
  mkdirSync(dropInDir);
  writeFileSync(path.join(dropInDir, '10-kubeadm.conf'), dropIn.replace(/\/opt\/bin\/kubelet/g, '/bin/true'));
  const result = systemdVerify(path.join(dir, 'kubelet.service'));
  t.is(result.code, 0, result.output);
  t.like(machine.fakeState<Record<string, { enabled?: boolean }>>('units').kubelet, { enabled: true });
});

test('kubeadm init moves the volume plugin folders off the read-only /usr: kubelet config and controller manager (v1beta4)', (t) => {
  const docs = kubeadmDocuments(ignited.machine, 'init');
  const cluster = documentOfKind(docs, 'ClusterConfiguration');
  t.is(cluster.apiVersion, 'kubeadm.k8s.io/v1beta4');
  t.deepEqual(cluster.controllerManager, { extraArgs: [{ name: 'flex-volume-plugin-dir', value: '/opt/libexec/kubernetes/kubelet-plugins/volume/exec/' }] });
  t.is(documentOfKind(docs, 'KubeletConfiguration').volumePluginDir, '/opt/libexec/kubernetes/kubelet-plugins/volume/exec/');
  t.is(cluster.kubernetesVersion, 'v1.32.11');
});

test('without the binaries, the agent fetches each one, has sha256sum check it, and installs it 0755', async (t) => {
  const { version } = flatcarConfig().kubernetes;
  const run = await runFlatcar((machine) => {
    for (const binary of machine.options.config.kubernetes.binaries ?? []) machine.publishDownload(binary.url, kubernetesBinaryStandIn(binary.name, version));
  });
  t.teardown(() => run.machine.dispose());
  t.is(run.first.code, 0, run.first.stdout + run.first.stderr);
  for (const binary of BINARIES) {
    const name = path.basename(binary);
    t.is(run.machine.read(binary), kubernetesBinaryStandIn(name, version));
    t.is(run.machine.mode(binary), 0o755);
    t.true(run.changes.some((argv) => argv[0] === 'curl' && argv.at(-1) === `https://dl.k8s.io/release/v${version}/bin/linux/amd64/${name}`));
    t.true(run.changes.some((argv) => argv.join(' ') === `sha256sum --check --strict --status <root>${binary}.labimg-download.sha256`));
    t.false(run.machine.exists(`${binary}.labimg-download`));
    t.false(run.machine.exists(`${binary}.labimg-download.sha256`));
  }
  t.deepEqual(run.changesOnSecondRun, []);
});

test('a download that is not the pinned file is refused: nothing is installed, nothing is left, kubeadm never runs', async (t) => {
  const run = await runFlatcar((machine) => {
    for (const binary of machine.options.config.kubernetes.binaries ?? []) machine.publishDownload(binary.url, '#!/bin/sh\n# tampered with\n');
  });
  t.teardown(() => run.machine.dispose());
  t.not(run.first.code, 0);
  t.regex(run.first.stdout + run.first.stderr, /https:\/\/dl\.k8s\.io\/release\/v1\.32\.11\/bin\/linux\/amd64\/kubeadm is not the file the profile pins \(sha256 [a-f0-9]{64}\); nothing was installed/);
  t.is(agentState(run.machine).steps['kubernetes-binaries']?.status, 'failed');
  for (const binary of BINARIES) {
    t.false(run.machine.exists(binary), binary);
    t.false(run.machine.exists(`${binary}.labimg-download`));
  }
  t.false(run.changes.some((argv) => argv[0] === 'kubeadm'));
});

test('the real flatcar profile pins the release binaries by the sha256 dl.k8s.io publishes, in the agent config and in Ignition', (t) => {
  const dir = tempDir();
  const result = spawnSync(process.execPath, [path.join(__dirname, '..', 'dist', 'labimg.js'), 'build', 'flatcar', '--out', dir], { encoding: 'utf8' });
  t.is(result.status, 0, result.stderr);
  const agent = JSON.parse(readFileSync(path.join(dir, 'flatcar', 'agent.json'), 'utf8')) as { kubernetes: { binaries: Array<{ name: string; url: string; sha256: string }> } };
  const ignition = JSON.parse(readFileSync(path.join(dir, 'flatcar', 'ignition-worker.json'), 'utf8')) as {
    storage: { files: Array<{ path: string; mode: number; contents: { source: string; verification?: { hash: string } } }> };
  };
  const pinned = { kubeadm: '5e191b7329897a16ea87aed75b66f561e7243691620d6b792f34d488285484ce', kubelet: '02b25e87a3fe14e9ea74c10d3b1e204d12af30b8ce7ed11af2a985b49ddb0b83', kubectl: '48581d0e808bd8b7d3c3fc014e86b170e25a987df04c8a879b982b28a5180815' };
  for (const [name, sha256] of Object.entries(pinned)) {
    t.like(agent.kubernetes.binaries.find((b) => b.name === name), { url: `https://dl.k8s.io/release/v1.32.11/bin/linux/amd64/${name}`, sha256 });
    const file = ignition.storage.files.find((f) => f.path === `/opt/bin/${name}`);
    t.deepEqual(file && { mode: file.mode, contents: file.contents }, { mode: 0o755, contents: { source: `https://dl.k8s.io/release/v1.32.11/bin/linux/amd64/${name}`, verification: { hash: `sha256-${sha256}` } } });
  }
  t.false(readFileSync(path.join(dir, 'flatcar', 'manifest.json'), 'utf8').includes('user-data'), 'Flatcar boots with Ignition: no cloud-init user-data');
});
