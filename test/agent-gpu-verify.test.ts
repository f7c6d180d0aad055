/**
 * The gpu-driver step on machines whose kernel and tools behave as real ones do (test/fake-bin: modprobe, nvidia-smi,
 * mokutil, dracut, update-initramfs, systemctl reboot; nouveau and Secure Boot in the fake kernel): a GPU node is one
 * whose driver lists every GPU, and every other outcome is named, then fails the node or joins it as a CPU node as
 * gpu.onFailure says. Each test bakes an image and boots it, as a node made from a baked image does.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { AgentConfig, NodeConfig } from '../contract/agent-config';
import { FAKE_BIN, FakeMachine, fixture, profileConfig, type GpuOptions } from './helpers/agent-machine';
import { documentOfKind, kubeadmDocuments } from './helpers/agent-scenario';

const controlPlane = fixture<NodeConfig>('node-control-plane');

function withGpu(name: string, gpu: Partial<NonNullable<AgentConfig['gpu']>>): AgentConfig {
  const config = profileConfig(name);
  return { ...config, gpu: { ...config.gpu!, ...gpu } };
}

/** A control plane of `config` with `gpu`, its image baked. */
async function bakedMachine(t: ExecutionContext, config: AgentConfig, gpu: true | GpuOptions): Promise<FakeMachine> {
  const machine = await FakeMachine.create({ config, node: controlPlane, gpu });
  t.teardown(() => machine.dispose());
  const bake = await machine.runAgent(['run', '--phase', 'bake']);
  t.is(bake.code, 0, bake.stdout);
  return machine;
}

/** containerd's default runtime, from config version 2's CRI plugin or version 3's (containerd 2.x). */
function defaultRuntime(machine: FakeMachine): string {
  const plugins = (parseToml(machine.read('/etc/containerd/config.toml') ?? '') as any).plugins;
  return (plugins['io.containerd.grpc.v1.cri'] ?? plugins['io.containerd.cri.v1.runtime']).containerd.default_runtime_name;
}

function ran(machine: FakeMachine, from: number): string[][] {
  return machine.commands().slice(from).map((c) => c.argv);
}

/** The kubelet's --node-labels in the InitConfiguration: a map in kubeadm v1beta3, a list of {name, value} in v1beta4. */
function nodeLabels(machine: FakeMachine): string | undefined {
  const args = documentOfKind(kubeadmDocuments(machine, 'init'), 'InitConfiguration').nodeRegistration.kubeletExtraArgs;
  return Array.isArray(args) ? args.find((arg: { name: string }) => arg.name === 'node-labels')?.value : args?.['node-labels'];
}

test('one GPU: the module is loaded and nvidia-smi lists the GPU before nvidia becomes the default runtime', async (t) => {
  const machine = await bakedMachine(t, profileConfig('ubuntu-gpu'), true);
  const mark = machine.logLength();
  const boot = await machine.runAgent(['run', '--phase', 'boot']);
  t.is(boot.code, 0, boot.stdout);
  t.regex(boot.stdout, /^<6>driver 535\.\S+ drives NVIDIA H100 80GB HBM3 at 0000:00:1e\.0$/m);
  const commands = ran(machine, mark).map((argv) => argv.join(' '));
  const at = (prefix: string) => commands.findIndex((c) => c.startsWith(prefix));
  t.true(at('modprobe nvidia') >= 0 && at('modprobe nvidia') < at('nvidia-smi --query-gpu=pci.bus_id,name,driver_version --format=csv,noheader'));
  t.true(at('nvidia-smi') < at('systemctl restart containerd'));
  t.is(commands.filter((c) => c.startsWith('nvidia-smi')).length, 1, 'the driver is asked once a boot: the switch and kubeadm take its verdict');
  t.is(defaultRuntime(machine), 'nvidia');
  t.is(nodeLabels(machine), 'nvidia.com/gpu.present=true');
});

test('four GPUs, one fallen off the bus: the node says which and does not join; with onFailure cpu it joins without them', async (t) => {
  for (const onFailure of ['fail', 'cpu'] as const) {
    const machine = await bakedMachine(t, withGpu('ubuntu-gpu', { onFailure }), { count: 4 });
    // XID 79: sysfs still shows the card, the driver no longer reaches it (test/fake-bin/nvidia-smi).
    machine.writeFakeState('gpus-lost', [machine.gpuAddresses[3]]);
    const mark = machine.logLength();
    const boot = await machine.runAgent(['run', '--phase', 'boot']);
    t.is(ran(machine, mark).filter((argv) => argv[0] === 'nvidia-smi').length, 1, 'asked once, though the step checks again after its apply');
    const why = new RegExp(`nvidia-smi lists 3 of 4 GPUs; missing ${machine.gpuAddresses[3]!.replace(/\./g, '\\.')}`);
    t.regex(boot.stdout, why, onFailure);
    if (onFailure === 'fail') {
      t.is(boot.code, 1);
      t.regex(boot.stdout, /^<3>step gpu-switch failed: the NVIDIA GPUs cannot be used: .*\(gpu\.onFailure: fail\)$/m);
      t.false(ran(machine, 0).some((argv) => argv[0] === 'kubeadm' && argv[1] === 'init'), 'no kubeadm init');
      t.is(defaultRuntime(machine), 'runc', 'runc all the same: nothing may run on a runtime the GPUs cannot serve');
    } else {
      t.is(boot.code, 0, boot.stdout);
      t.is(defaultRuntime(machine), 'runc');
      t.is(nodeLabels(machine), 'labimg.dev/gpu-unusable=gpu-missing-from-driver');
    }
  }
});

test('a module that will not load is reported with what modprobe said', async (t) => {
  const machine = await bakedMachine(t, profileConfig('ubuntu-gpu'), true);
  const boot = await machine.runAgent(['run', '--phase', 'boot'], { LABIMG_FAKE_FAIL: 'modprobe nvidia' });
  t.is(boot.code, 1);
  t.regex(boot.stdout, /^<3>step gpu-switch failed: the NVIDIA GPUs cannot be used: modprobe nvidia fails: .+ \(gpu\.onFailure: fail\)$/m);
});

test('Secure Boot refusing the DKMS-built module is named, with the fix; once the key is enrolled the node boots', async (t) => {
  const machine = await bakedMachine(t, profileConfig('rocky9-gpu'), { secureBoot: 'enabled' });
  const refused = await machine.runAgent(['run', '--phase', 'boot']);
  t.is(refused.code, 1);
  t.regex(refused.stdout, /Secure Boot is on and the kernel refused NVIDIA's unsigned module \(modprobe: ERROR: could not insert 'nvidia': Key was rejected by service\): enroll DKMS's key \(mokutil --import \/var\/lib\/dkms\/mok\.pub\) or turn Secure Boot off/);
  t.true(machine.commands().some((c) => c.argv.join(' ') === 'mokutil --sb-state'));

  // What mokutil --import and the MOK manager at the next boot do: the kernel trusts DKMS's key from then on.
  machine.write('/var/lib/dkms/mok.pub', 'DKMS signing key\n');
  machine.write('/.fake/mok-enrolled', '/var/lib/dkms/mok.pub\n');
  const enrolled = await machine.runAgent(['run', '--phase', 'boot']);
  t.is(enrolled.code, 0, enrolled.stdout);
  t.is(defaultRuntime(machine), 'nvidia');
});

test('EL7 kernels refuse it in their own words, which are recognised too', async (t) => {
  const machine = await bakedMachine(t, profileConfig('centos-gpu'), { secureBoot: 'enabled' });
  const refused = await machine.runAgent(['run', '--phase', 'boot']);
  t.is(refused.code, 1);
  t.regex(refused.stdout, /Secure Boot is on and the kernel refused NVIDIA's unsigned module \(modprobe: ERROR: could not insert 'nvidia': Required key not available\)/);
});

test('nouveau holding the GPU: blacklisted, initramfs rebuilt, one reboot, and the next boot goes on with NVIDIA', async (t) => {
  const machine = await bakedMachine(t, profileConfig('ubuntu-gpu'), { nouveau: true });
  const mark = machine.logLength();
  const first = await machine.runAgent(['run', '--phase', 'boot']);
  // systemctl reboot: systemd stops every unit, the agent's with SIGTERM.
  t.is(first.signal, 'SIGTERM', first.stdout);
  t.is(machine.read('/etc/modprobe.d/blacklist-nouveau.conf'), 'blacklist nouveau\noptions nouveau modeset=0\n');
  t.deepEqual(ran(machine, mark).filter((argv) => ['update-initramfs', 'systemctl'].includes(argv[0]!) && argv[1] !== 'is-active' && argv[1] !== 'is-enabled'), [
    ['update-initramfs', '-u'],
    ['systemctl', 'reboot'],
  ]);

  // After a reboot the unit runs every phase, as on any boot: the bake steps load the modules again.
  machine.reboot();
  const second = await machine.runAgent(['run']);
  t.is(second.code, 0, second.stdout);
  t.regex(second.stdout, /^<6>driver 535\.\S+ drives NVIDIA H100 80GB HBM3 at 0000:00:1e\.0$/m);
  t.is(defaultRuntime(machine), 'nvidia');
});

test('nouveau still there after the reboot is reported, not rebooted for again', async (t) => {
  const machine = await bakedMachine(t, withGpu('rocky9-gpu', { onFailure: 'cpu' }), { nouveau: true });
  t.is((await machine.runAgent(['run', '--phase', 'boot'])).signal, 'SIGTERM');
  t.true(machine.commands().some((c) => c.argv.join(' ') === 'dracut --force'));
  // Someone took the blacklist out and rebuilt the initramfs before the reboot: nouveau binds again.
  rmSync(machine.path('/etc/modprobe.d/blacklist-nouveau.conf'));
  execFileSync(path.join(FAKE_BIN, 'dracut'), ['--force'], { env: { ...process.env, LABIMG_FAKE_ROOT: machine.path('/') } });
  machine.reboot();
  const mark = machine.logLength();
  const second = await machine.runAgent(['run']);
  t.is(second.code, 0, second.stdout);
  t.regex(second.stdout, /nouveau holds 0000:00:1e\.0, even blacklisted and after a reboot; joining as a CPU node \(gpu\.onFailure: cpu\), labelled labimg\.dev\/gpu-unusable=nouveau-holds-gpu/);
  t.false(ran(machine, mark).some((argv) => argv.join(' ') === 'systemctl reboot'));
  t.is(nodeLabels(machine), 'labimg.dev/gpu-unusable=nouveau-holds-gpu');
});

test("a GPU the driver's branch does not support is an error at boot, from the driver's own supported-gpus.json", async (t) => {
  // Ubuntu's nvidia-driver-535-server ships NVIDIA's list; the H200 (10de:2335) came after branch 535.
  const machine = await bakedMachine(t, profileConfig('ubuntu-gpu'), { device: '0x2335' });
  const boot = await machine.runAgent(['run', '--phase', 'boot']);
  t.is(boot.code, 1);
  t.regex(boot.stdout, /driver 535\.\S+ does not support 10de:2335 at 0000:00:1e\.0 \(\/usr\/share\/doc\/nvidia-driver-535-server\/supported-gpus\.json\)/);
});

test('a profile that pins the supported devices is checked against its own list', async (t) => {
  const pinned = withGpu('ubuntu-gpu', { supportedDevices: { deviceIds: ['10de:2335'] } });
  const supported = await bakedMachine(t, pinned, { device: '0x2335' });
  t.is((await supported.runAgent(['run', '--phase', 'boot'])).code, 0);
  const other = await bakedMachine(t, pinned, { device: '0x2330' });
  const boot = await other.runAgent(['run', '--phase', 'boot']);
  t.is(boot.code, 1);
  t.regex(boot.stdout, /does not support 10de:2330 at 0000:00:1e\.0 \(the profile's gpu\.supportedDevices\)/);
});

test('nvidia-smi failing with the module loaded is its own reason, with what it printed', async (t) => {
  const machine = await bakedMachine(t, withGpu('ubuntu-gpu', { onFailure: 'cpu' }), true);
  const boot = await machine.runAgent(['run', '--phase', 'boot'], { LABIMG_FAKE_FAIL: 'nvidia-smi' });
  t.is(boot.code, 0, boot.stdout);
  t.regex(boot.stdout, /the NVIDIA GPUs cannot be used: nvidia-smi fails \(exit status 1\): nvidia-smi: injected failure/);
  t.is(nodeLabels(machine), 'labimg.dev/gpu-unusable=driver-not-answering');
});

test('Secure Boot with a module its distro signed: nothing to report, the GPU is used', async (t) => {
  // Ubuntu's nvidia-driver-N-server modules are signed by Canonical, whose key the kernel trusts.
  const machine = await bakedMachine(t, profileConfig('ubuntu-gpu'), { secureBoot: 'enabled' });
  const boot = await machine.runAgent(['run', '--phase', 'boot']);
  t.is(boot.code, 0, boot.stdout);
  t.is(defaultRuntime(machine), 'nvidia');
  t.false(machine.commands().some((c) => c.argv[0] === 'mokutil'), 'asked only when a module is refused');
});

test('a joined GPU node whose driver breaks on a later boot goes back to runc and reports why, with onFailure fail', async (t) => {
  const machine = await bakedMachine(t, profileConfig('ubuntu-gpu'), true);
  t.is((await machine.runAgent(['run', '--phase', 'boot'])).code, 0);
  t.is(defaultRuntime(machine), 'nvidia');
  // A kernel update whose module did not build: after the reboot, the module is not there to load.
  machine.reboot();
  const broken = await machine.runAgent(['run'], { LABIMG_FAKE_FAIL: 'modprobe nvidia' });
  t.is(broken.code, 1);
  t.regex(broken.stdout, /^<3>step gpu-switch failed: the NVIDIA GPUs cannot be used: modprobe nvidia fails: /m);
  t.is(defaultRuntime(machine), 'runc', 'the pods the node still runs are not left on a runtime that cannot start them');
});
