/**
 * Real machines: Debian 12 VMs under qemu (TCG here: this host's /dev/kvm does not run guests), started with
 * `labimg boot` and the user-data `labimg build` writes. The agent runs every step for real inside the guest:
 * kernel modules, sysctls, swap, apt from Debian's mirror and from a repository of Kubernetes stand-ins this
 * test serves, containerd running with the agent's config, kubeadm (a stand-in that checks its config and the
 * machine as kubeadm would), join material published to a real `labimg serve`. A checker in the guest reports
 * what it finds on the console and powers off; the endpoint's store has the agent's reports.
 *
 *   unbaked: the stock image, network on; the agent installs everything.
 *   baked:   the image baked as Packer bakes it (packer/scripts), booted with no network but the endpoint.
 *   reboot:  the baked image, rebooted by kubeadm in the middle of the boot phase; the agent resumes.
 *   broken:  containerd configured without SystemdCgroup: the checks must see it.
 */
import test, { type ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadAll } from 'js-yaml';
import { kubeadmApiVersionFor, parseKubernetesVersion } from '../builder/versions';
import { RUN_COMPLETE_STEP } from '../contract/agent-config';
import { Registry } from '../endpoint/registry';
import { FileStore } from '../endpoint/store/file-store';
import { repoRoot } from '../test/helpers/cli';
import { bakedImage, type BakedImage } from './helpers/bake';
import { bootVm, type BootRun } from './helpers/boot-vm';
import { checkerScript, type GuestFacts } from './helpers/checker';
import { bootImage, type BootImage } from './helpers/image';
import { bootReports, statusesByStep } from './helpers/reports';
import { startWorld, type World } from './helpers/world';

const CACHE = path.join(repoRoot, '.cache', 'e2e');
let image: BootImage;
let world: World;
let baked: Promise<BakedImage> | undefined;

/** `labimg boot` as a user runs it, on `disk`, with the checker as a user script; its progress in the test's log. */
function boot(t: ExecutionContext, name: string, disk: string, flags: string[], options: { checker?: string; profile?: string } = {}): Promise<BootRun> {
  return bootVm({ profileFile: options.profile ?? world.profileFile, image, name, disk, flags, checker: options.checker, onLine: (line) => t.log(`${name}: ${line}`) });
}

/** What must hold on a control plane the agent brought up; each problem in words. */
function controlPlaneProblems(facts: GuestFacts | undefined): string[] {
  if (!facts) return ['the checker printed no facts: the VM never got that far (see its console log)'];
  const { sandboxImage } = world.profile.runtime.containerd;
  const kubernetes = `v${world.profile.kubernetes.version}`;
  const kubeadmApi = kubeadmApiVersionFor(parseKubernetesVersion(world.profile.kubernetes.version)!);
  const problems: string[] = [];
  const expect = (ok: boolean, problem: string) => void (ok || problems.push(problem));
  expect(facts.agent.activeState === 'active', `the agent's unit is ${facts.agent.activeState} (${facts.agent.result}, exit ${facts.agent.status})`);
  for (const [module, loaded] of Object.entries(facts.modules)) expect(loaded, `kernel module ${module} is not loaded`);
  for (const [key, value] of Object.entries(facts.sysctls)) expect(value === '1', `${key} is "${value}", not 1`);
  expect(facts.swaps.length === 0, `swap is on: ${facts.swaps.join('; ')}`);
  expect(facts.containerd.active === 'active', `containerd is ${facts.containerd.active}`);
  expect(facts.containerd.systemdCgroup, 'containerd runs runc without SystemdCgroup = true');
  expect(facts.containerd.sandboxImage === sandboxImage, `containerd's sandbox image is ${facts.containerd.sandboxImage}, not the profile's ${sandboxImage}`);
  expect(facts.containerd.criPlugin === 'ok', `containerd's CRI plugin is ${facts.containerd.criPlugin}`);
  expect(facts.containerd.images.includes(`registry.k8s.io/kube-apiserver:${kubernetes}`), 'the control-plane images are not in containerd');
  expect(facts.containerd.images.includes(sandboxImage), `the sandbox image ${sandboxImage} is not in containerd`);
  expect(facts.kubelet.enabled === 'enabled', `the kubelet is ${facts.kubelet.enabled}`);
  expect(facts.refreshTimer === 'active', `the join-material refresh timer is ${facts.refreshTimer}`);
  const inits = facts.calls.filter((call) => call.startsWith('kubeadm init --config'));
  expect(inits.length === 1, `kubeadm init ran ${inits.length} times`);
  const docs = facts.initConfig ? (loadAll(facts.initConfig) as Array<Record<string, any>>) : [];
  const kind = (name: string) => docs.find((doc) => doc.kind === name);
  expect(kind('InitConfiguration')?.apiVersion === kubeadmApi, `kubeadm init got no ${kubeadmApi} InitConfiguration`);
  expect(kind('InitConfiguration')?.nodeRegistration?.criSocket === 'unix:///var/run/containerd/containerd.sock', 'kubeadm init was not pointed at containerd');
  expect(kind('ClusterConfiguration')?.kubernetesVersion === kubernetes, `kubeadm init was not asked for ${kubernetes}`);
  expect(kind('KubeletConfiguration')?.cgroupDriver === 'systemd', 'the kubelet was not given the systemd cgroup driver');
  expect(facts.created.some((object) => object.kind === 'Deployment' && object.name === 'tigera-operator'), 'the CNI manifests were not created');
  expect(facts.created.some((object) => object.kind === 'Installation' && object.name === 'default'), "the agent's Calico Installation was not created");
  for (const [id, step] of Object.entries(facts.agentState?.steps ?? {})) {
    expect(step.status === 'done' || step.status === 'skipped', `step ${id} is ${step.status}: ${step.error ?? ''}`);
    expect(step.applied <= 1, `step ${id} was applied ${step.applied} times`);
  }
  return problems;
}

/** The node's reports of its boot, step by step. */
async function reportedSteps(node: string): Promise<Map<string, string[]>> {
  return statusesByStep(await bootReports(world.data, node));
}

test.before(async (t) => {
  image = bootImage();
  if (image.builtInSeconds !== undefined) t.log(`image: built in ${image.builtInSeconds.toFixed(0)} s`);
  world = await startWorld();
});

/** The baked image, baked (or taken from the cache) when the first test needs it: `-m unbaked*` never bakes. */
function bakedDisk(): Promise<BakedImage> {
  baked ??= bakedImage(image, world.build(), CACHE, [world.filesForward]);
  return baked;
}

test.after.always(async () => {
  await world?.close();
});

test.serial('unbaked: the stock image, the agent installs and configures everything, and the control plane comes up', async (t) => {
  const run = await boot(t, 'cp-unbaked', image.disk, world.onlineFlags('e2e-unbaked'));
  t.log(`boot to final phase: ${run.agentDoneAt} s (labimg boot in all: ${run.seconds.toFixed(0)} s)`);
  t.is(run.code, 0, `${run.stdout}\nconsole: ${run.serialLog}`);
  t.deepEqual(controlPlaneProblems(run.facts), [], `console: ${run.serialLog}`);
  t.true(Number(run.facts?.aptInstalls) > 0, 'the packages were installed in this boot');
  const reported = await reportedSteps('cp-unbaked');
  for (const step of ['kernel-modules', 'install-runtime', 'containerd-config', 'install-kubernetes', 'kubeadm-init', 'publish-join-material', 'cni']) {
    t.deepEqual(reported.get(step), ['started', 'done'], `the endpoint has ${step}'s reports`);
  }
  t.deepEqual(reported.get(RUN_COMPLETE_STEP), ['done']);
  const material = await new Registry(new FileStore(world.data)).joinMaterial('e2e-unbaked');
  t.regex(material?.token ?? '', /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  t.regex(material?.caCertHashes[0] ?? '', /^sha256:[a-f0-9]{64}$/);
  t.regex(material?.apiServerEndpoint ?? '', /^10\.0\.2\.15:6443$/);
  t.regex(run.stdout, /\] kubeadm-init: Initialize the control plane/, 'labimg boot shows the agent\'s progress');
});

test.serial('baked: the image Packer scripts baked boots with no network but the endpoint, and downloads nothing', async (t) => {
  const { disk, bake } = await bakedDisk();
  if (bake) t.log(`bake: ${bake.seconds.toFixed(0)} s`);
  const run = await boot(t, 'cp-baked', disk, world.offlineFlags('e2e-baked'));
  t.log(`boot to final phase: ${run.agentDoneAt} s (labimg boot in all: ${run.seconds.toFixed(0)} s)`);
  t.is(run.code, 0, `${run.stdout}\nconsole: ${run.serialLog}`);
  t.deepEqual(controlPlaneProblems(run.facts), [], `console: ${run.serialLog}`);
  const steps = run.facts?.agentState?.steps ?? {};
  for (const [id, step] of Object.entries(steps).filter(([, s]) => s.phase === 'bake')) t.is(step.status, 'skipped', `${id}: the bake did it`);
  // The bake's dpkg.log was emptied by packer/scripts/cleanup.sh: anything in it now was installed at boot.
  t.is(run.facts?.aptInstalls, '0', 'no package was installed at boot');
  const reported = await reportedSteps('cp-baked');
  t.deepEqual(reported.get('install-runtime'), ['skipped']);
  t.deepEqual(reported.get('kubeadm-init'), ['started', 'done']);
  t.deepEqual(reported.get(RUN_COMPLETE_STEP), ['done']);
});

test.serial('reboot: kubeadm reboots the machine in the middle of the boot phase; the agent resumes and does no step twice', async (t) => {
  const run = await boot(
    t,
    'cp-reboot',
    (await bakedDisk()).disk,
    world.offlineFlags('e2e-reboot'),
    { checker: checkerScript(['mkdir -p /etc/labimg-e2e', 'touch /etc/labimg-e2e/reboot-during-init']) },
  );
  t.is(run.code, 0, `${run.stdout}\nconsole: ${run.serialLog}`);
  t.true(run.facts?.rebooted, 'kubeadm rebooted the machine');
  t.is(run.facts?.boots, 2, 'the machine booted twice');
  t.deepEqual(controlPlaneProblems(run.facts), [], `console: ${run.serialLog}`);
  const reported = await reportedSteps('cp-reboot');
  // Started before the reboot; found done after it, not run again.
  t.deepEqual(reported.get('kubeadm-init'), ['started', 'skipped']);
  t.deepEqual(reported.get(RUN_COMPLETE_STEP), ['done']);
});

test.serial('broken: containerd without SystemdCgroup = true, and the checks see it', async (t) => {
  const broken = path.join(path.dirname(world.profileFile), 'debian12-e2e-broken.yaml');
  writeFileSync(broken, `description: the end-to-end profile, broken on purpose\nextends: ${path.basename(world.profileFile, '.yaml')}\nruntime:\n  containerd:\n    systemdCgroup: false\n`);
  const run = await boot(t, 'cp-broken', (await bakedDisk()).disk, world.offlineFlags('e2e-broken'), { profile: broken });
  t.deepEqual(controlPlaneProblems(run.facts), [
    'containerd runs runc without SystemdCgroup = true',
    'the kubelet was not given the systemd cgroup driver',
    // The image was baked with the shipped profile: its config.toml is not this profile's, so the agent
    // rewrote it at boot. That is the agent converging, as it should; the reboot test holds it to once.
    'step containerd-config was applied 2 times',
  ]);
});
