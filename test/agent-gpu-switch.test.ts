/**
 * The GPU switch across boots of one image: bake once, then boot with and without a GPU, and with a GPU but
 * no toolkit (which the gpu-driver step finds: test/agent-gpu-verify.test.ts has its other failures). Only the boot phase runs after the bake, as on a node made from a baked image.
 */
import test from 'ava';
import { parse as parseToml } from 'smol-toml';
import type { NodeConfig } from '../contract/agent-config';
import { FakeMachine, fixture, profileConfig, includesCommand, isQuery } from './helpers/agent-machine';
import { documentOfKind, kubeadmDocuments } from './helpers/agent-scenario';

const controlPlane = fixture<NodeConfig>('node-control-plane');
const GPU_VENDOR = '/sys/bus/pci/devices/0000:00:1e.0/vendor';
const GPU_CLASS = '/sys/bus/pci/devices/0000:00:1e.0/class';

function defaultRuntime(machine: FakeMachine): string {
  return (parseToml(machine.read('/etc/containerd/config.toml') ?? '') as any).plugins['io.containerd.grpc.v1.cri'].containerd.default_runtime_name;
}

test('GPU present but the toolkit runtime missing: the node does not join, or with onFailure cpu joins with runc and says why', async (t) => {
  for (const onFailure of ['fail', 'cpu'] as const) {
    const config = profileConfig('ubuntu-gpu');
    const machine = await FakeMachine.create({ config: { ...config, gpu: { ...config.gpu!, onFailure } }, node: controlPlane, gpu: true });
    t.teardown(() => machine.dispose());
    t.is((await machine.runAgent(['run', '--phase', 'bake'])).code, 0);
    require('node:fs').rmSync(machine.path('/usr/bin/nvidia-container-runtime'));

    const boot = await machine.runAgent(['run', '--phase', 'boot']);
    t.regex(boot.stdout, /the NVIDIA GPUs cannot be used: \/usr\/bin\/nvidia-container-runtime is missing \(is the NVIDIA container toolkit installed\?\)/);
    if (onFailure === 'fail') {
      t.is(boot.code, 1);
      t.is(kubeadmDocuments(machine, 'init').length, 0, 'no kubeadm init');
      continue;
    }
    t.is(boot.code, 0, boot.stdout);
    t.regex(boot.stdout, /^<4>.*joining as a CPU node \(gpu\.onFailure: cpu\), labelled labimg\.dev\/gpu-unusable=toolkit-missing$/m);
    t.is(defaultRuntime(machine), 'runc');
    t.deepEqual(documentOfKind(kubeadmDocuments(machine, 'init'), 'InitConfiguration').nodeRegistration.kubeletExtraArgs, { 'node-labels': 'labimg.dev/gpu-unusable=toolkit-missing' });
  }
});

test('one baked image: nvidia default on a GPU boot, runc restored when the GPU is gone, nvidia again when back', async (t) => {
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu-gpu'), node: controlPlane, gpu: false });
  t.teardown(() => machine.dispose());
  t.is((await machine.runAgent(['run', '--phase', 'bake'])).code, 0);
  t.is(defaultRuntime(machine), 'runc');

  machine.write(GPU_VENDOR, '0x10de\n');
  machine.write(GPU_CLASS, '0x030000\n'); // a VGA-class NVIDIA card counts too
  let mark = machine.logLength();
  t.is((await machine.runAgent(['run', '--phase', 'boot'])).code, 0);
  t.is(defaultRuntime(machine), 'nvidia');
  t.true(includesCommand(machine.commands().slice(mark).map((c) => c.argv), ['systemctl', 'restart', 'containerd']));

  require('node:fs').rmSync(machine.path('/sys/bus/pci/devices/0000:00:1e.0'), { recursive: true });
  mark = machine.logLength();
  const cpuBoot = await machine.runAgent(['run', '--phase', 'boot']);
  t.is(cpuBoot.code, 0);
  t.is(defaultRuntime(machine), 'runc');
  t.deepEqual(machine.commands().slice(mark).map((c) => c.argv).filter((a) => !isQuery(a)), [['systemctl', 'restart', 'containerd']]);

  // Re-running the bake phase on a GPU node must not undo the switch.
  machine.write(GPU_VENDOR, '0x10de\n');
  machine.write(GPU_CLASS, '0x030200\n');
  t.is((await machine.runAgent(['run', '--phase', 'boot'])).code, 0);
  mark = machine.logLength();
  t.is((await machine.runAgent(['run', '--phase', 'bake'])).code, 0);
  t.is(defaultRuntime(machine), 'nvidia');
  t.deepEqual(machine.commands().slice(mark).map((c) => c.argv).filter((a) => !isQuery(a)), []);
});

test('an NVIDIA device that is not a display or 3D controller (e.g. an NVSwitch bridge) is not a GPU', async (t) => {
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu-gpu'), node: controlPlane, gpu: false });
  t.teardown(() => machine.dispose());
  machine.write(GPU_VENDOR, '0x10de\n');
  machine.write(GPU_CLASS, '0x068000\n');
  const run = await machine.runAgent(['run']);
  t.is(run.code, 0, run.stdout);
  t.regex(run.stdout, /^<6>no NVIDIA GPU; runc is the default runtime$/m);
  t.is(defaultRuntime(machine), 'runc');
});
