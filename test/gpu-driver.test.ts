/**
 * NVIDIA's driver as NVIDIA's installation guide installs it: on EL9 the driver is the dnf module nvidia-driver,
 * whose default stream (open-dkms since driver 560) filters out the proprietary packages; DKMS builds only for
 * kernels whose headers are there, so the headers must be the running kernel's. The dnf stand-in filters
 * modular packages as dnf does and "builds" nvidia.ko only where headers are; these tests hold the agent to it.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import path from 'node:path';
import type { NodeConfig } from '../contract/agent-config';
import { compileAgentConfig } from '../builder/compile';
import { loadProfile, type Profile } from '../builder/profiles';
import { checkSemantics } from '../builder/profiles/semantic';
import { FAKE_BIN, FakeMachine, fixture, profileConfig } from './helpers/agent-machine';
import { REPO_ROOT } from './helpers/agent-build';
import { labimg } from './helpers/cli';

const controlPlane = fixture<NodeConfig>('node-control-plane');

function standIn(machine: FakeMachine, command: string, args: string[]) {
  const result = spawnSync(process.execPath, [path.join(FAKE_BIN, command), ...args], { env: { LABIMG_FAKE_ROOT: machine.root }, encoding: 'utf8' });
  return { code: result.status, stderr: result.stderr };
}

function shipped(name: string, change: (profile: Profile) => void = () => {}): Profile {
  const profile = structuredClone(loadProfile(name, { dir: path.join(REPO_ROOT, 'profiles') }));
  change(profile);
  return profile;
}

const CUDA_REPO = '[cuda]\nname=NVIDIA CUDA (rhel9)\nbaseurl=https://developer.download.nvidia.com/compute/cuda/repos/rhel9/x86_64/\ngpgcheck=0\n';

test('the dnf stand-in filters out packages of module streams that are not enabled, as dnf does', async (t) => {
  const machine = await FakeMachine.create({ config: profileConfig('rocky9-gpu') });
  t.teardown(() => machine.dispose());
  machine.write('/etc/yum.repos.d/cuda.repo', CUDA_REPO);
  // What rocky9-gpu installed before: the proprietary kernel module under the default stream, open-dkms.
  const refused = standIn(machine, 'dnf', ['install', '-y', 'nvidia-driver', 'kmod-nvidia-latest-dkms']);
  t.is(refused.code, 1);
  t.is(refused.stderr, 'All matches were filtered out by modular filtering for argument: kmod-nvidia-latest-dkms\nError: Unable to find a match: kmod-nvidia-latest-dkms\n');
  t.is(standIn(machine, 'dnf', ['module', 'enable', '-y', 'nvidia-driver:latest-dkms']).code, 0);
  t.is(standIn(machine, 'dnf', ['install', '-y', 'kmod-nvidia-latest-dkms']).code, 0);
  t.is(standIn(machine, 'dnf', ['module', 'enable', '-y', 'nvidia-driver:open-dkms']).stderr.trim(),
    'Error: It is not possible to switch enabled streams of a module unless explicitly enabled via configuration option module_stream_switch.');
  t.is(standIn(machine, 'dnf', ['module', 'enable', '-y', 'nvidia-driver:open']).stderr.trim(), 'Error: Problems in request:\nmissing groups or modules: nvidia-driver:open');
});

test('labimg plan rocky9-gpu enables the open-dkms stream before it installs nvidia-open', (t) => {
  const plan = labimg(['plan', 'rocky9-gpu', '--gpu', 'present']);
  t.is(plan.code, 0, plan.stderr);
  t.true(
    plan.stdout.includes(
      [
        '[bake] install-gpu-packages: Install NVIDIA driver and container toolkit packages',
        '    run    dnf module enable -y nvidia-driver:open-dkms',
        '    run    dnf install -y nvidia-open nvidia-container-toolkit',
      ].join('\n'),
    ),
    plan.stdout,
  );
  t.true(plan.stdout.includes('[bake] kernel-headers: Install the running kernel\'s headers for the NVIDIA driver\'s DKMS module\n    run    dnf install -y kernel-devel-matched kernel-headers\n'));
});

test('labimg plan centos-gpu installs the running kernel\'s headers, as NVIDIA\'s EL7 guide types them', (t) => {
  const plan = labimg(['plan', 'centos-gpu', '--gpu', 'present']);
  t.is(plan.code, 0, plan.stderr);
  t.true(plan.stdout.includes("    run    yum install -y 'kernel-devel-$(uname -r)' 'kernel-headers-$(uname -r)'\n"), plan.stdout);
  t.true(plan.stdout.includes('    run    yum install -y nvidia-driver-latest-dkms nvidia-container-toolkit\n'));
});

test('each flavour and branch compiles to the stream and package NVIDIA documents', (t) => {
  const cases: Array<[modules: 'open' | 'proprietary', branch: string, stream: string, pkg: string]> = [
    ['open', 'latest', 'nvidia-driver:open-dkms', 'nvidia-open'],
    ['open', '580', 'nvidia-driver:580-open', 'nvidia-open'],
    ['proprietary', 'latest', 'nvidia-driver:latest-dkms', 'cuda-drivers'],
    ['proprietary', '580', 'nvidia-driver:580-dkms', 'cuda-drivers'],
  ];
  for (const [modules, branch, stream, pkg] of cases) {
    const gpu = compileAgentConfig(shipped('rocky9-gpu', (p) => (p.gpu!.nvidiaDriver = { modules, branch }))).gpu!;
    t.is(gpu.driverModuleStream, stream);
    t.deepEqual(gpu.driverPackages, [{ name: pkg }]);
  }
});

test('the profile rules refuse what NVIDIA\'s RHEL 7 repository does not have', (t) => {
  const nowhere = () => ({ file: 'test', line: 1, column: 1 });
  const open = shipped('centos-gpu', (p) => (p.gpu!.nvidiaDriver = { modules: 'open', branch: 'latest' }));
  t.deepEqual(checkSemantics(open, nowhere).map((f) => f.message), ["NVIDIA's RHEL 7 repository has no open kernel modules: use modules: proprietary"]);
  const branch = shipped('centos-gpu', (p) => (p.gpu!.nvidiaDriver = { modules: 'proprietary', branch: '580' }));
  t.deepEqual(checkSemantics(branch, nowhere).map((f) => f.message), ["NVIDIA's RHEL 7 repository has no branch streams (dnf modules): use branch: latest"]);
  const apt = shipped('ubuntu2404-gpu', (p) => (p.gpu!.nvidiaDriver = { modules: 'open', branch: 'latest' }));
  t.deepEqual(checkSemantics(apt, nowhere).map((f) => f.message), [
    "is for NVIDIA's CUDA repository on the RHEL family (dnf or yum); with apt, list the driver packages under gpu.driverPackages",
  ]);
});

test('on Rocky 9 with a GPU the agent enables the stream, and DKMS builds nvidia.ko for the running kernel', async (t) => {
  const machine = await FakeMachine.create({ config: profileConfig('rocky9-gpu'), node: controlPlane, gpu: true });
  t.teardown(() => machine.dispose());
  const run = await machine.runAgent();
  t.is(run.code, 0, run.stdout + run.stderr);
  t.deepEqual(machine.fakeState('dnf-modules'), { 'nvidia-driver': 'open-dkms' });
  t.true(machine.exists('/lib/modules/5.14.0-503.14.1.el9_5.x86_64/extra/nvidia.ko.xz'));
});

test('when the headers are another kernel\'s, the agent stops at kernel-headers and says what to do', async (t) => {
  const machine = await FakeMachine.create({ config: profileConfig('rocky9-gpu'), node: controlPlane, gpu: true });
  t.teardown(() => machine.dispose());
  // An image older than the repository: kernel-devel-matched brings the newest kernel's headers, not these.
  const older = '5.14.0-427.13.1.el9_4.x86_64';
  machine.write('/proc/sys/kernel/osrelease', `${older}\n`);
  fs.mkdirSync(machine.path(`/lib/modules/${older}`), { recursive: true });
  fs.symlinkSync(`../../../usr/src/kernels/${older}`, machine.path(`/lib/modules/${older}/build`));
  const run = await machine.runAgent();
  t.not(run.code, 0);
  t.true(
    run.stdout.includes(
      `kernel-devel-matched kernel-headers brought no headers for the running kernel ${older} (/lib/modules/${older}/build is missing), so DKMS would build the NVIDIA module for a kernel that is not running.`,
    ),
    run.stdout + run.stderr,
  );
  t.false(machine.exists(`/lib/modules/${older}/extra/nvidia.ko.xz`));
  t.is(machine.fakeState('dnf-modules'), null, 'the driver is not installed after a failed kernel-headers step');
});
