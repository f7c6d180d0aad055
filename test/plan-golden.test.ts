/**
 * Golden plans at each version boundary the version rules know: what a control plane runs and writes when
 * Kubernetes or containerd crosses one. The same profile is moved across the boundary by hand, with the
 * repository, pins and pause tag written out below from their sources (not from the rules under test), so each
 * pair of files differs only where the boundary means it should: dockershim → cri-dockerd at 1.24, kubeadm
 * v1beta3 → v1beta4 and pause 3.9 → 3.10 at 1.31, containerd config version 2 → 3 between containerd 1.7 and 2.0.
 *
 * The files in test/golden/plans are reviewed like code. After a deliberate change, rewrite them with
 *   LABIMG_UPDATE_GOLDEN=1 npx ava test/plan-golden.test.ts
 * and read the diff (see helpers/golden.ts).
 */
import test from 'ava';
import path from 'node:path';
import type { NodeConfig } from '../contract/agent-config';
import { formatPlan, planAgent } from '../agent/plan';
import { compileAgentConfig } from '../builder/compile';
import { loadProfile } from '../builder/profiles/load';
import type { Profile } from '../builder/profiles/types';
import { checkSemantics, SEMANTIC_RULES } from '../builder/profiles/semantic';
import { fixture } from './helpers/agent-machine';
import { matchesGolden } from './helpers/golden';
import { REPO_ROOT } from './helpers/agent-build';

const GOLDEN = path.join(REPO_ROOT, 'test', 'golden', 'plans');
const PROFILES = path.join(REPO_ROOT, 'profiles');
const controlPlane = fixture<NodeConfig>('node-control-plane');

function shipped(name: string): Profile {
  return structuredClone(loadProfile(name, { dir: PROFILES }));
}

function fixtureProfile(file: string): Profile {
  return structuredClone(loadProfile(path.join(REPO_ROOT, 'test', 'fixtures', 'profiles', file), { dir: PROFILES }));
}

/**
 * A pkgs.k8s.io (deb) profile moved to another Kubernetes release, every value written out: the minor's own
 * repository and key (one repository per minor; kubernetes.io blog 2023-08-15 "pkgs.k8s.io: Introducing
 * Kubernetes Community-Owned Package Repositories"), the deb revision -1.1 those repositories publish, and the
 * pause tag kubeadm of that minor expects (cmd/kubeadm/app/constants PauseVersion: 3.9 up to 1.30, 3.10 from
 * 1.31, kubernetes/kubernetes PR #125112).
 */
interface MovedRelease {
  version: string;
  repository: string;
  pin: string;
  pause: string;
}

function atKubernetes(profile: Profile, moved: MovedRelease): Profile {
  const repo = profile.repositories[profile.kubernetes.repository!]!;
  repo.baseUrl = moved.repository;
  repo.gpgKeys = [`${moved.repository}Release.key`];
  profile.kubernetes.version = moved.version;
  for (const name of Object.keys(profile.kubernetes.packages)) profile.kubernetes.packages[name] = moved.pin;
  profile.runtime.containerd.sandboxImage = `registry.k8s.io/pause:${moved.pause}`;
  return profile;
}

const K8S_1_30_14: MovedRelease = { version: '1.30.14', repository: 'https://pkgs.k8s.io/core:/stable:/v1.30/deb/', pin: '1.30.14-1.1', pause: '3.9' };
const K8S_1_31_14: MovedRelease = { version: '1.31.14', repository: 'https://pkgs.k8s.io/core:/stable:/v1.31/deb/', pin: '1.31.14-1.1', pause: '3.10' };

/** rocky9-gpu with NVIDIA's GPU operator bringing driver, toolkit and device plugin from a pinned helm template output. */
function withGpuOperator(profile: Profile): Profile {
  profile.gpu!.stack = 'gpu-operator';
  profile.gpu!.devicePlugin = {
    kind: 'gpu-operator',
    manifests: [{ url: 'https://files.example/gpu-operator/v26.7.0/gpu-operator-template.yaml', sha256: 'a09499c3cfce511290e5bbfd4373d06eb1c1f02486bb66ccc10f30923ae27d3d' }],
  };
  return profile;
}

const GPU_STACK_CASES = [
  { file: 'rocky9-gpu.txt', what: 'labimg brings the driver, toolkit and device plugin (gpu.stack labimg)', profile: () => shipped('rocky9-gpu'), gpu: true },
  { file: 'rocky9-gpu-operator.txt', what: 'the GPU operator brings all three (gpu.stack gpu-operator)', profile: () => withGpuOperator(shipped('rocky9-gpu')), gpu: true },
  { file: 'rocky9-gpu-operator-host-driver.txt', what: 'the driver baked and checked, the operator brings the rest', profile: () => fixtureProfile('gpu-operator-host-driver.yaml'), gpu: true },
  { file: 'rocky9-gpu-time-slicing.txt', what: "NVIDIA's device plugin with time-slicing and MIG single", profile: () => fixtureProfile('gpu-time-slicing.yaml'), gpu: true },
];

/**
 * The moved ubuntu2404-gpu plans keep the Calico 3.31.7 manifests of the 1.35 profile they were recorded from, which
 * Calico tests with 1.32 to 1.35 only: their goldens predate the Calico range rule, which alone is left out for them.
 */
const CALICO_RANGE_RULE = 'a Calico release is tested with the Kubernetes version';

const cases: Array<{ file: string; what: string; profile: () => Profile; gpu?: boolean; calicoUntested?: boolean }> = [
  { file: 'centos-1.23.3-dockershim.txt', what: 'Docker through dockershim, the last minor that has it', profile: () => shipped('centos') },
  { file: 'centos-1.24.17-cri-dockerd.txt', what: 'Docker through cri-dockerd, the first minor without dockershim', profile: () => fixtureProfile('docker-with-cri-dockerd.yaml') },
  // On a GPU host, so the kubelet gets extra args (its node labels): a map in v1beta3, a name/value list in v1beta4.
  { file: 'ubuntu2404-gpu-1.30.14.txt', what: 'kubeadm v1beta3 and pause 3.9, the last minor of both', profile: () => atKubernetes(shipped('ubuntu2404-gpu'), K8S_1_30_14), gpu: true, calicoUntested: true },
  { file: 'ubuntu2404-gpu-1.31.14.txt', what: 'kubeadm v1beta4 and pause 3.10, the first minor of both', profile: () => atKubernetes(shipped('ubuntu2404-gpu'), K8S_1_31_14), gpu: true, calicoUntested: true },
  {
    file: 'ubuntu2404-containerd-1.7.txt',
    what: "Docker's containerd.io 1.7 pinned, config version 2",
    profile: () => {
      const profile = shipped('ubuntu2404');
      profile.repositories.docker = {
        name: 'Docker CE', baseUrl: 'https://download.docker.com/linux/ubuntu', gpgKeys: ['https://download.docker.com/linux/ubuntu/gpg'],
        gpgCheck: true, suite: 'noble', components: ['stable'],
      };
      profile.runtime.removePackages = profile.runtime.removePackages.filter((name) => name !== 'containerd.io').concat('containerd');
      profile.runtime.packages = { 'containerd.io': '1.7.28-1~ubuntu.24.04~noble' };
      profile.runtime.containerd.configVersion = 2;
      return profile;
    },
  },
  { file: 'ubuntu2404-containerd-2.txt', what: "Ubuntu's containerd 2.x, config version 3", profile: () => shipped('ubuntu2404') },
  // gpu.stack and GPU sharing, on a GPU host: each differs from rocky9-gpu's own plan only in its GPU steps.
  ...GPU_STACK_CASES,
];

for (const { file, what, profile: make, gpu = false, calicoUntested = false } of cases) {
  test(`golden plan ${file}: ${what}`, async (t) => {
    const profile = make();
    // Each moved profile is one the checks accept: a golden plan of an invalid profile would prove nothing.
    const rules = SEMANTIC_RULES.filter((rule) => !(calicoUntested && rule.name === CALICO_RANGE_RULE));
    t.is(rules.length, SEMANTIC_RULES.length - (calicoUntested ? 1 : 0));
    t.deepEqual(checkSemantics(profile, () => ({ file: profile.file, line: 1, column: 1 }), rules), []);
    const text = `${formatPlan(await planAgent(compileAgentConfig(profile), controlPlane, { gpu }))}\n`;
    matchesGolden(t, path.join(GOLDEN, file), text);
  });
}

/** The plan's text per step id ("[boot] gpu-switch: ..." up to the next step). */
function planSteps(text: string): Map<string, string> {
  const steps = new Map<string, string>();
  // The totals line after the last step belongs to no step.
  for (const block of text.replace(/\n\d+ steps, \d+ actions\.\n$/, '\n').split(/\n(?=\[(?:bake|boot)\] )/)) {
    const id = /^\[(?:bake|boot)\] ([a-z0-9-]+):/.exec(block)?.[1];
    if (id) steps.set(id, block);
  }
  return steps;
}

test('the GPU stack and sharing plans differ from rocky9-gpu only in its GPU steps', async (t) => {
  const plan = async (profile: Profile) => formatPlan(await planAgent(compileAgentConfig(profile), controlPlane, { gpu: true }));
  const base = planSteps(await plan(shipped('rocky9-gpu')));
  // fetch-manifests downloads the device plugin's or the operator's manifests with the CNI's.
  const gpuSteps = ['kernel-headers', 'install-gpu-packages', 'fetch-manifests', 'gpu-driver', 'gpu-switch', 'kubeadm-init', 'gpu-device-plugin'];
  for (const { file, profile } of GPU_STACK_CASES.slice(1)) {
    const steps = planSteps(await plan(profile()));
    for (const id of new Set([...base.keys(), ...steps.keys()])) {
      if (!gpuSteps.includes(id)) t.is(steps.get(id), base.get(id), `${file}: ${id}`);
    }
  }
});
