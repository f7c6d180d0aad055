/**
 * The config.toml the agent writes, loaded by a real containerd (Debian's 1.6): `containerd --config F
 * config dump` fails on a file it cannot load and prints the merged config otherwise. containerd keeps wrong
 * types and unknown keys silently, so the dump is parsed and every value the agent set is checked to survive.
 *
 * Needs `containerd` on PATH (apt-get install containerd). Set LABIMG_SKIP_REAL_CONTAINERD=1 to skip it
 * knowingly on a machine without it; otherwise its absence fails the test rather than hiding it.
 */
import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseToml } from 'smol-toml';
import type { NodeConfig } from '../contract/agent-config';
import { FakeMachine, fixture, profileConfig } from './helpers/agent-machine';

const skip = process.env.LABIMG_SKIP_REAL_CONTAINERD === '1';
const controlPlane = fixture<NodeConfig>('node-control-plane');

/** containerd may still be being installed when the tests start: give it a minute to appear. */
async function findContainerd(): Promise<string | undefined> {
  for (let waited = 0; waited <= 60_000; waited += 5_000) {
    try {
      return execFileSync('sh', ['-c', 'command -v containerd'], { encoding: 'utf8' }).trim();
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 5_000));
    }
  }
  return undefined;
}

/** The agent's config.toml for a profile whose CRI is containerd, with or without a GPU on the bus. */
async function agentWrittenConfig(gpu: boolean): Promise<string> {
  const machine = await FakeMachine.create({ config: profileConfig(gpu ? 'ubuntu-gpu' : 'ubuntu'), node: controlPlane, gpu });
  try {
    const run = await machine.runAgent(['run']);
    if (run.code !== 0) throw new Error(run.stdout + run.stderr);
    return machine.read('/etc/containerd/config.toml') ?? '';
  } finally {
    machine.dispose();
  }
}

async function dump(containerd: string, config: string): Promise<any> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labimg-containerd-'));
  try {
    const file = path.join(dir, 'config.toml');
    fs.writeFileSync(file, config);
    const { stdout } = await promisify(execFile)(containerd, ['--config', file, 'config', 'dump']);
    return parseToml(stdout);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

for (const gpu of [false, true]) {
  (skip ? test.skip : test)(`real containerd loads the agent's ${gpu ? 'GPU' : 'CPU'} config and keeps every value it set`, async (t) => {
    const containerd = await findContainerd();
    if (!containerd) return t.fail('containerd is not installed: apt-get install containerd, or set LABIMG_SKIP_REAL_CONTAINERD=1');

    const dumped = await dump(containerd, await agentWrittenConfig(gpu));
    t.deepEqual(dumped.disabled_plugins, [], 'the CRI plugin is enabled');
    const cri = dumped.plugins['io.containerd.grpc.v1.cri'];
    t.is(cri.sandbox_image, 'registry.k8s.io/pause:3.9');
    t.is(cri.registry.config_path, '/etc/containerd/certs.d');
    t.is(cri.containerd.runtimes.runc.runtime_type, 'io.containerd.runc.v2');
    t.is(cri.containerd.runtimes.runc.options.SystemdCgroup, true);
    t.is(cri.containerd.default_runtime_name, gpu ? 'nvidia' : 'runc');
    if (gpu) {
      t.is(cri.containerd.runtimes.nvidia.runtime_type, 'io.containerd.runc.v2');
      t.is(cri.containerd.runtimes.nvidia.options.BinaryName, '/usr/bin/nvidia-container-runtime');
      t.is(cri.containerd.runtimes.nvidia.options.SystemdCgroup, true);
    } else {
      t.is(cri.containerd.runtimes.nvidia, undefined);
    }
  });
}

(skip ? test.skip : test)('real containerd rejects a broken file, so the check above can fail', async (t) => {
  const containerd = await findContainerd();
  if (!containerd) return t.fail('containerd is not installed');
  await t.throwsAsync(dump(containerd, 'version = 2\n[plugins."io.containerd.grpc.v1.cri"\n'));
});

(skip ? test.skip : test)('a drop-in another tool writes (NVIDIA toolkit 1.18, the GPU operator) is imported over the agent\'s config', async (t) => {
  const containerd = await findContainerd();
  if (!containerd) return t.fail('containerd is not installed: apt-get install containerd, or set LABIMG_SKIP_REAL_CONTAINERD=1');
  const written = await agentWrittenConfig(false);
  t.true(written.includes('imports = [ "/etc/containerd/conf.d/*.toml" ]'), written);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labimg-containerd-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // containerd 1.x replaces a whole plugin section with an imported one (mergeConfig, "Replace entire sections
  // instead of merging map's values"; 2.x merges key by key), so a drop-in for 1.x carries the CRI section whole.
  fs.mkdirSync(path.join(dir, 'conf.d'));
  fs.writeFileSync(
    path.join(dir, 'conf.d', '99-nvidia.toml'),
    [
      'version = 2',
      '[plugins."io.containerd.grpc.v1.cri"]',
      '  sandbox_image = "registry.k8s.io/pause:3.9"',
      '[plugins."io.containerd.grpc.v1.cri".containerd]',
      '  default_runtime_name = "nvidia"',
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
      '  runtime_type = "io.containerd.runc.v2"',
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
      '  SystemdCgroup = true',
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]',
      '  runtime_type = "io.containerd.runc.v2"',
      '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia.options]',
      '  BinaryName = "/usr/bin/nvidia-container-runtime"',
      '',
    ].join('\n'),
  );
  // The same file with the drop-in folder moved under the test's own, so the host's /etc stays out of it.
  const dumped = await dump(containerd, written.replace('/etc/containerd/conf.d/', `${dir}/conf.d/`));
  const cri = dumped.plugins['io.containerd.grpc.v1.cri'];
  t.is(cri.containerd.default_runtime_name, 'nvidia');
  t.is(cri.containerd.runtimes.nvidia.options.BinaryName, '/usr/bin/nvidia-container-runtime');
  t.is(cri.containerd.runtimes.runc.options.SystemdCgroup, true);
  // And the agent's own settings outside that section still hold.
  t.deepEqual(dumped.disabled_plugins, []);
});

