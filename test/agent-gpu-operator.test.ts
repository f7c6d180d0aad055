/**
 * gpu.stack on machines whose package managers, kernel, kubectl and sha256sum behave as real ones do
 * (test/fake-bin): with NVIDIA's GPU operator the node prepares the host and leaves the toolkit and the device
 * plugin to the operator, which the control plane creates from the profile's pinned `helm template` output; and no
 * later boot undoes what the operator wrote on the node. The profiles are test/fixtures/profiles/gpu-operator*.yaml.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { load as loadYaml } from 'js-yaml';
import { parse as parseToml } from 'smol-toml';
import type { AgentConfig, NodeConfig } from '../contract/agent-config';
import { compileAgentConfig } from '../builder/compile';
import { loadProfile } from '../builder/profiles/load';
import { FakeMachine, fixture, pinnedToFixtures, profileDownloads } from './helpers/agent-machine';
import { REPO_ROOT } from './helpers/agent-build';
import { documentOfKind, kubeadmDocuments } from './helpers/agent-scenario';

const controlPlane = fixture<NodeConfig>('node-control-plane');
const OPERATOR_URL = 'https://files.example/gpu-operator/v26.7.0/gpu-operator-template.yaml';
const OPERATOR_TEMPLATE = fs.readFileSync(path.join(REPO_ROOT, 'test/fixtures/manifests/gpu-operator-template.yaml'), 'utf8');
const DROP_IN = '/etc/containerd/conf.d/99-nvidia.toml';
const OPERATOR_RUNTIME = '/usr/local/nvidia/toolkit/nvidia-container-runtime';

/**
 * The drop-in the operator's toolkit writes (controllers/object_controls.go DefaultContainerdDropInConfigFile and
 * DefaultToolkitInstallDir, NVIDIA/gpu-operator v26.7.0; read 2026-12-06), with nvidia as the default runtime, as
 * the toolkit configures it when CDI is off: the content is the configuration shown in NVIDIA/gpu-operator issue
 * #1323 (read 2026-12-06).
 */
const OPERATOR_DROP_IN = `version = 2

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "nvidia"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]
          privileged_without_host_devices = false
          runtime_engine = ""
          runtime_root = ""
          runtime_type = "io.containerd.runc.v2"
          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia.options]
            BinaryName = "${OPERATOR_RUNTIME}"
`;

function fixtureConfig(file: string): AgentConfig {
  return pinnedToFixtures(compileAgentConfig(loadProfile(path.join(REPO_ROOT, 'test/fixtures/profiles', file), { dir: path.join(REPO_ROOT, 'profiles') })));
}

async function machineOf(t: ExecutionContext, config: AgentConfig, operatorTemplate = OPERATOR_TEMPLATE): Promise<FakeMachine> {
  const machine = await FakeMachine.create({ config, node: controlPlane, gpu: true, downloads: { ...profileDownloads(config), [OPERATOR_URL]: operatorTemplate } });
  t.teardown(() => machine.dispose());
  return machine;
}

function commandLines(machine: FakeMachine, from = 0): string[] {
  return machine.commands().slice(from).map((c) => c.argv.join(' '));
}

function clusterObjects(machine: FakeMachine): Array<{ kind: string; name: string }> {
  return (machine.fakeState<Array<{ kind: string; name: string }>>('kube-objects') ?? []).map((o) => ({ kind: o.kind, name: o.name }));
}

/** containerd's default runtime in labimg's own config.toml (version 2's CRI plugin or version 3's). */
function labimgDefaultRuntime(machine: FakeMachine): string {
  const plugins = (parseToml(machine.read('/etc/containerd/config.toml') ?? '') as any).plugins;
  return (plugins['io.containerd.grpc.v1.cri'] ?? plugins['io.containerd.cri.v1.runtime']).containerd.default_runtime_name;
}

function nodeLabels(machine: FakeMachine): string | undefined {
  const args = documentOfKind(kubeadmDocuments(machine, 'init'), 'InitConfiguration').nodeRegistration.kubeletExtraArgs;
  return Array.isArray(args) ? args.find((arg: { name: string }) => arg.name === 'node-labels')?.value : args?.['node-labels'];
}

test('the fixture profiles pin the operator template by its real sha256', (t) => {
  const sha256 = createHash('sha256').update(OPERATOR_TEMPLATE).digest('hex');
  for (const file of ['gpu-operator.yaml', 'gpu-operator-host-driver.yaml']) {
    t.deepEqual(fixtureConfig(file).gpu!.devicePlugin!.manifests, [{ url: OPERATOR_URL, sha256 }], file);
  }
});

test('gpu-operator: no driver or toolkit installed or checked, runc stays, and the control plane creates the operator from its checked template', async (t) => {
  const machine = await machineOf(t, fixtureConfig('gpu-operator.yaml'));
  const run = await machine.runAgent(['run']);
  t.is(run.code, 0, run.stdout);
  const lines = commandLines(machine);
  t.false(lines.some((line) => /nvidia/.test(line) && /^apt-get install/.test(line)), 'no NVIDIA package installed');
  t.false(lines.some((line) => line.startsWith('modprobe nvidia') || line.startsWith('nvidia-smi')), 'the driver is the operator\'s to load and check');
  t.is(labimgDefaultRuntime(machine), 'runc');
  t.is(nodeLabels(machine), undefined, 'no GPU labels and no gpu-unusable label: the operator labels GPU nodes');
  t.false(machine.exists('/etc/labimg/runtimeclass-nvidia.yaml'), 'the operator creates its own RuntimeClass');

  const check = lines.findIndex((line) => /^sha256sum --check --strict --status \S*\/var\/lib\/labimg\/manifests\/gpu-device-plugin-0-gpu-operator-template\.yaml\.sha256$/.test(line));
  const create = lines.findIndex((line) => /kubectl .*create -f \S*gpu-device-plugin-0-gpu-operator-template\.checked\.json$/.test(line));
  t.true(check >= 0 && create > check, 'the download is checked before anything is created from it');
  const objects = clusterObjects(machine);
  for (const object of [{ kind: 'Namespace', name: 'gpu-operator' }, { kind: 'Deployment', name: 'gpu-operator' }, { kind: 'ClusterPolicy', name: 'cluster-policy' }]) {
    t.true(objects.some((o) => o.kind === object.kind && o.name === object.name), `${object.kind} ${object.name} created`);
  }
  t.false(objects.some((o) => o.kind === 'RuntimeClass'), 'labimg creates no RuntimeClass');
});

test('a template whose bytes are not the pinned ones is removed, and nothing of it is created', async (t) => {
  const machine = await machineOf(t, fixtureConfig('gpu-operator.yaml'), OPERATOR_TEMPLATE.replace('v26.7.0', 'v26.7.1'));
  const run = await machine.runAgent(['run']);
  t.is(run.code, 1);
  t.regex(run.stdout, /https:\/\/files\.example\/gpu-operator\/v26\.7\.0\/gpu-operator-template\.yaml is not the manifest the profile pins \(sha256 a09499c3\S+\); nothing was created/);
  t.false(machine.exists('/var/lib/labimg/manifests/gpu-device-plugin-0-gpu-operator-template.yaml'));
  t.false(machine.exists('/var/lib/labimg/manifests/gpu-device-plugin-0-gpu-operator-template.checked.json'));
  t.false(clusterObjects(machine).some((o) => o.name === 'gpu-operator' || o.kind === 'ClusterPolicy'));
});

test('gpu-operator-with-host-driver: the driver is installed and checked, the toolkit is the operator\'s, runc stays labimg\'s default', async (t) => {
  const machine = await machineOf(t, fixtureConfig('gpu-operator-host-driver.yaml'));
  const run = await machine.runAgent(['run']);
  t.is(run.code, 0, run.stdout);
  const lines = commandLines(machine);
  t.true(lines.includes('dnf install -y nvidia-open'), 'the driver, and no toolkit package');
  t.false(lines.some((line) => line.includes('nvidia-container-toolkit') && line.startsWith('dnf install')));
  t.true(lines.includes('modprobe nvidia'));
  t.true(lines.includes('nvidia-smi --query-gpu=pci.bus_id,name,driver_version --format=csv,noheader'));
  t.regex(run.stdout, /^<6>driver 580\.95\.05 drives NVIDIA H100 80GB HBM3 at 0000:00:1e\.0$/m);
  t.is(labimgDefaultRuntime(machine), 'runc');
  t.regex(run.stdout, /^<6>NVIDIA GPU at 0000:00:1e\.0; runc in labimg's config, the GPU operator's toolkit adds nvidia$/m);
  t.is(nodeLabels(machine), 'nvidia.com/gpu.present=true', 'labimg\'s own check of the driver passed');
  t.false(machine.exists('/etc/labimg/runtimeclass-nvidia.yaml'));
  t.true(clusterObjects(machine).some((o) => o.kind === 'ClusterPolicy'));
});

/** containerd's merged config: `containerd --config F config dump` with config.toml's imports moved to `confDir`. */
async function mergedByContainerd(containerd: string, configToml: string, confDir: string): Promise<any> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labimg-operator-'));
  try {
    const file = path.join(dir, 'config.toml');
    fs.writeFileSync(file, configToml.replace('"/etc/containerd/conf.d/*.toml"', JSON.stringify(path.join(confDir, '*.toml'))));
    const { stdout } = await promisify(execFile)(containerd, ['--config', file, 'config', 'dump']);
    return parseToml(stdout);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function containerdOnPath(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v containerd'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

for (const file of ['gpu-operator.yaml', 'gpu-operator-host-driver.yaml']) {
  test(`${file}: a later boot leaves the operator's containerd drop-in, its runtime and its default in place`, async (t) => {
    const machine = await machineOf(t, fixtureConfig(file));
    t.is((await machine.runAgent(['run'])).code, 0);
    // What the operator's toolkit leaves on the node once it ran.
    machine.write(DROP_IN, OPERATOR_DROP_IN);
    machine.write(OPERATOR_RUNTIME, '#!/bin/sh\n');
    const configBefore = machine.read('/etc/containerd/config.toml');

    const mark = machine.logLength();
    const boot = await machine.runAgent(['run', '--phase', 'boot']);
    t.is(boot.code, 0, boot.stdout);
    t.is(machine.read(DROP_IN), OPERATOR_DROP_IN);
    t.is(machine.read(OPERATOR_RUNTIME), '#!/bin/sh\n');
    t.is(machine.read('/etc/containerd/config.toml'), configBefore, 'labimg\'s own config is as it was');
    t.deepEqual(
      machine.commands().slice(mark).map((c) => c.argv).filter((argv) => argv[0] === 'systemctl' && argv[1] === 'restart'),
      [],
      'containerd is not restarted',
    );

    // containerd 1.6 (Debian 12's) reads config version 2 only: the version-2 profile shows the merge for real.
    const containerd = containerdOnPath();
    if ((parseToml(configBefore ?? '') as any).version !== 2) return;
    if (!containerd) {
      if (process.env.LABIMG_SKIP_REAL_CONTAINERD === '1') return;
      t.fail('containerd is not on PATH (apt-get install containerd, or LABIMG_SKIP_REAL_CONTAINERD=1)');
      return;
    }
    const merged = await mergedByContainerd(containerd, machine.read('/etc/containerd/config.toml')!, machine.path('/etc/containerd/conf.d'));
    const cri = merged.plugins['io.containerd.grpc.v1.cri'].containerd;
    t.is(cri.default_runtime_name, 'nvidia');
    t.is(cri.runtimes.nvidia.options.BinaryName, OPERATOR_RUNTIME);
    // Not asserted: labimg's own CRI settings beside it. containerd 1.6 replaces a plugin's whole table with an
    // import's (mergeConfig copies from.Plugins[k] over to.Plugins[k]; observed with 1.6.20 on 2026-12-06: the
    // dump then has the default sandbox_image and no runc runtime), so they survive only where the drop-in repeats them.

  });
}

test('time-slicing: the control plane creates the plugin\'s config and NVIDIA\'s DaemonSet with it mounted, not the static manifest', async (t) => {
  const config = fixtureConfig('gpu-time-slicing.yaml');
  const machine = await machineOf(t, config);
  const run = await machine.runAgent(['run']);
  t.is(run.code, 0, run.stdout);
  t.false(commandLines(machine).some((line) => line.includes('deployments/static/nvidia-device-plugin.yml')), 'the static manifest is not created as well');
  const objects = machine.fakeState<Array<{ kind: string; name: string; manifest?: any }>>('kube-objects');
  const configMap = objects.find((o) => o.kind === 'ConfigMap' && o.name === 'nvidia-device-plugin-config')!.manifest;
  const daemonSet = objects.find((o) => o.kind === 'DaemonSet' && o.name === 'nvidia-device-plugin-daemonset')!.manifest;
  // The config file as NVIDIA's README ("With CUDA Time-Slicing") and api/config/v1 at v0.17.4 lay it out.
  t.deepEqual(loadYaml(configMap.data['config.yaml']), {
    version: 'v1',
    flags: { migStrategy: 'single' },
    sharing: { timeSlicing: { renameByDefault: true, resources: [{ name: 'nvidia.com/gpu', replicas: 4 }] } },
  });
  const container = daemonSet.spec.template.spec.containers[0];
  const configFile = container.env.find((e: { name: string }) => e.name === 'CONFIG_FILE').value;
  const mount = container.volumeMounts.find((m: { mountPath: string }) => configFile.startsWith(`${m.mountPath}/`));
  const volume = daemonSet.spec.template.spec.volumes.find((v: { name: string }) => v.name === mount.name);
  t.is(volume.configMap.name, 'nvidia-device-plugin-config');
  t.is(path.basename(configFile), 'config.yaml', 'the ConfigMap key the file is');
});
