/**
 * A profile of one's own that extends a shipped one and changes only kubernetes.version: what follows from the
 * version (repository, key, pins, pause image, Calico; flatcar's release binaries and their sha256) follows, and a
 * stated value that disagrees is an error at its own line and at the version line. Every shipped profile is moved
 * here: the pkgs.k8s.io ones to 1.24–1.35, centos and centos-gpu within 1.23, flatcar to the releases whose
 * binaries' sha256 labimg records.
 *
 * The expectations are written out here from their sources, not computed by labimg's tables: pkgs.k8s.io has one
 * repository per minor, https://pkgs.k8s.io/core:/stable:/v1.NN/{deb,rpm}/, with its key beside the metadata, deb
 * revision -1.1 and rpm release -150500.1.1 (FACTS.md rows "pkgs.k8s.io layout", "keys", "deb revision", "rpm
 * release"); kubeadm's pause tag per minor (FACTS.md "kubeadm pause tag per minor", "Pause tag for 1.31–1.33",
 * "Pause tag for 1.34–1.35"); Calico's tested Kubernetes minors (FACTS.md "Calico … tested range").
 */
import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatPlan, planAgent } from '../agent/plan';
import type { NodeConfig } from '../contract/agent-config';
import { renderBuild } from '../builder/build';
import { compileAgentConfig, nodeRuntimeOf } from '../builder/compile';
import { deriveFacts } from '../builder/derived-facts';
import { loadProfile, ProfileError, type Finding } from '../builder/profiles';
import { parseSource } from '../builder/profiles/source';
import { nodeAt, toPlain } from '../builder/profiles/tree';
import { fixture } from './helpers/agent-machine';
import { AGENT_BUNDLE, REPO_ROOT } from './helpers/agent-build';
import { labimg, tempDir } from './helpers/cli';

const PROFILES = path.join(REPO_ROOT, 'profiles');
const controlPlane = fixture<NodeConfig>('node-control-plane');

/** The shipped profiles whose Kubernetes comes from the derived pkgs.k8s.io repository, with their package format. */
const MOVABLE: ReadonlyArray<[string, 'deb' | 'rpm']> = [
  ['debian12', 'deb'], ['debian12-gpu', 'deb'], ['debian13', 'deb'], ['debian13-gpu', 'deb'],
  ['rocky9', 'rpm'], ['rocky9-gpu', 'rpm'],
  ['ubuntu', 'deb'], ['ubuntu-gpu', 'deb'], ['ubuntu1804', 'deb'],
  ['ubuntu2204', 'deb'], ['ubuntu2204-gpu', 'deb'], ['ubuntu2404', 'deb'], ['ubuntu2404-gpu', 'deb'],
];

/** kubeadm's pause tag for each minor labimg derives a whole profile for (1.24, pkgs.k8s.io's first, to 1.35). */
const PAUSE: Readonly<Record<number, string>> = {
  24: '3.7', 25: '3.8', 26: '3.9', 27: '3.9', 28: '3.9', 29: '3.9', 30: '3.9', 31: '3.10', 32: '3.10', 33: '3.10', 34: '3.10.1', 35: '3.10.1',
};
const SUPPORTED_MINORS = Object.keys(PAUSE).map(Number);

/**
 * The Calico release whose tested range (Calico's system requirements) holds each minor, as labimg chooses it; 1.32,
 * in the range of both 3.29 and 3.31, gets the 3.29.0 the flatcar profile has named for its 1.32.11.
 */
function calicoFor(minor: number): string {
  if (minor <= 28) return 'v3.27.4'; // 3.27: 1.24–1.28
  if (minor <= 32) return 'v3.29.0'; // 3.29: 1.29–1.32
  return 'v3.31.7'; // 3.31: 1.32–1.35
}

const KEY_PATH = { deb: 'Release.key', rpm: 'repodata/repomd.xml.key' } as const;
const PIN_REVISION = { deb: '1.1', rpm: '150500.1.1' } as const;

/** A folder of the user's own profiles: each file as given. */
function userProfiles(files: Record<string, string>): string {
  const dir = path.join(tempDir(), 'mine');
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

function findingsOf(file: string): Finding[] {
  try {
    loadProfile(file, { dir: PROFILES });
  } catch (error) {
    if (error instanceof ProfileError) return error.findings;
    throw error;
  }
  throw new Error(`${file} loaded without findings`);
}

const lineOf = (file: string, pattern: RegExp): number => readFileSync(file, 'utf8').split('\n').findIndex((line) => pattern.test(line)) + 1;

for (const [parent, format] of MOVABLE) {
  test(`${parent} moved to every minor from 1.24 to 1.35 by its version alone validates, builds, and plans that minor's repository, pins and pause image`, async (t) => {
    const agentBundle = readFileSync(AGENT_BUNDLE);
    const dir = userProfiles(Object.fromEntries(SUPPORTED_MINORS.map((minor) => [`moved-${minor}.yaml`, `extends: ${parent}\nkubernetes:\n  version: 1.${minor}.3\n`])));
    for (const minor of SUPPORTED_MINORS) {
      const version = `1.${minor}.3`;
      const profile = loadProfile(path.join(dir, `moved-${minor}.yaml`), { dir: PROFILES });
      const agentConfig = compileAgentConfig(profile);
      const files = renderBuild({ profileName: `moved-${minor}`, agentConfig, nodeRuntime: nodeRuntimeOf(profile), agentBundle, labimgVersion: '0.0.0-test' });
      t.true(files.some((file) => file.name === 'manifest.json'), `${parent} at ${version}: no build`);

      const plan = formatPlan(await planAgent(agentConfig, controlPlane, { gpu: false }));
      const repository = `https://pkgs.k8s.io/core:/stable:/v1.${minor}/${format}/`;
      const pin = `${version}-${PIN_REVISION[format]}`;
      const expected = [
        repository,
        `${repository}${KEY_PATH[format]}`,
        ...(format === 'deb' ? ['kubelet', 'kubeadm', 'kubectl'].map((name) => `${name}=${pin}`) : ['kubelet', 'kubeadm', 'kubectl'].map((name) => `${name}-${pin}`)),
        // containerd config version 3 names it `sandbox`, version 2 (ubuntu's containerd 1.x) `sandbox_image`.
        format === 'deb' && parent.startsWith('ubuntu') && !parent.startsWith('ubuntu2') ? `sandbox_image = "registry.k8s.io/pause:${PAUSE[minor]}"` : `sandbox = "registry.k8s.io/pause:${PAUSE[minor]}"`,
        `https://raw.githubusercontent.com/projectcalico/calico/${calicoFor(minor)}/manifests/tigera-operator.yaml`,
      ];
      for (const text of expected) t.true(plan.includes(text), `${parent} at ${version}: the plan does not name ${text}`);
      // Nothing of the parent's own minor is left behind (each parent is on 1.28 or 1.35).
      for (const other of [28, 35].filter((m) => m !== minor)) t.false(plan.includes(`/v1.${other}/`), `${parent} at ${version}: the plan still names 1.${other}`);
    }
  });
}

/**
 * centos and centos-gpu: Docker through dockershim, so Kubernetes 1.23 and no later (the kubelet dropped dockershim in
 * 1.24: KEP-2221, CHANGELOG-1.24 "Urgent Upgrade Notes"); 1.23's patch releases run from 1.23.0 to 1.23.17, its last
 * (kubernetes/kubernetes CHANGELOG/CHANGELOG-1.23.md). The packages come from Aliyun's mirror of the retired Google rpm
 * repository, which released each version once as release 0 (kubeadm-1.23.3-0: the kubeadm upgrade docs of that time,
 * kubernetes/website upgrading-linux-nodes.md, `yum install -y kubeadm-1.N.x-0`), the pause image kubeadm 1.23 uses
 * is 3.6 (FACTS.md "kubeadm pause tag per minor"), from the profile's Aliyun image repository, and Calico 3.25 is the
 * release tested with 1.23 (its system requirements: 1.23 to 1.28).
 */
const CENTOS_PATCHES = ['1.23.0', '1.23.3', '1.23.17'];
const LEGACY_MIRROR = 'https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64/';

for (const parent of ['centos', 'centos-gpu']) {
  test(`${parent} moved to 1.23 patch releases by its version alone validates, builds, and plans the legacy mirror's pins and pause 3.6`, async (t) => {
    const agentBundle = readFileSync(AGENT_BUNDLE);
    const dir = userProfiles(Object.fromEntries(CENTOS_PATCHES.map((version) => [`moved-${version}.yaml`, `extends: ${parent}\nkubernetes:\n  version: ${version}\n`])));
    for (const version of CENTOS_PATCHES) {
      const profile = loadProfile(path.join(dir, `moved-${version}.yaml`), { dir: PROFILES });
      const agentConfig = compileAgentConfig(profile);
      const files = renderBuild({ profileName: `moved-${version}`, agentConfig, nodeRuntime: nodeRuntimeOf(profile), agentBundle, labimgVersion: '0.0.0-test' });
      t.true(files.some((file) => file.name === 'manifest.json'), `${parent} at ${version}: no build`);
      const plan = formatPlan(await planAgent(agentConfig, controlPlane, { gpu: false }));
      const expected = [
        `baseurl=${LEGACY_MIRROR}`,
        `kubelet-${version}-0 kubeadm-${version}-0 kubectl-${version}-0`,
        'sandbox_image = "registry.aliyuncs.com/google_containers/pause:3.6"',
        `"kubernetesVersion": "v${version}"`,
        'https://raw.githubusercontent.com/projectcalico/calico/v3.25.2/manifests/tigera-operator.yaml',
      ];
      for (const text of expected) t.true(plan.includes(text), `${parent} at ${version}: the plan does not name ${text}`);
      if (version !== '1.23.3') t.false(plan.includes('1.23.3-0'), `${parent} at ${version}: the plan still pins the parent's 1.23.3`);
    }
  });
}

test('centos moved to 1.24 or later on Docker is one error at its own version line: dockershim is gone, use containerd', (t) => {
  const dir = userProfiles({ 'k124.yaml': 'extends: centos\nkubernetes:\n  version: 1.24.3\n', 'k128.yaml': 'description: mine\nextends: centos-gpu\nkubernetes:\n  version: 1.28.2\n' });
  for (const [file, line, version] of [['k124.yaml', 3, '1.24.3'], ['k128.yaml', 4, '1.28.2']] as const) {
    const findings = findingsOf(path.join(dir, file));
    t.is(findings.length, 1, JSON.stringify(findings));
    t.like(findings[0], { path: 'kubernetes.version', line });
    t.true(findings[0]?.file.endsWith(file));
    t.regex(findings[0]?.message ?? '', new RegExp(`^Kubernetes ${version.replace(/\./g, '\\.')} cannot run on runtime\\.cri docker: the kubelet dropped dockershim in 1\\.24 \\(KEP-2221\\).*set runtime\\.cri: containerd`));
  }
  // The way out the message names: the same child on containerd validates.
  const moved = userProfiles({ 'k124c.yaml': 'extends: centos\nruntime:\n  cri: containerd\nkubernetes:\n  version: 1.24.3\n' });
  t.is(loadProfile(path.join(moved, 'k124c.yaml'), { dir: PROFILES }).kubernetes.packages.kubeadm, '1.24.3-0');
});

/**
 * flatcar: the linux/amd64 release binaries from https://dl.k8s.io/release/vX.Y.Z/bin/linux/amd64/NAME, and their
 * sha256 as Kubespray's checksums list records them (github.com/kubernetes-sigs/kubespray, `kubeadm_checksums`,
 * `kubelet_checksums`, `kubectl_checksums`, amd64; roles/download/defaults/main/checksums.yml at cd6928318487 for
 * 1.24.15 and 24b82917d188 for 1.25.13, roles/kubespray-defaults/defaults/main/checksums.yml at 4cb1f529d19b,
 * 08293f2ef772, f3d4377a1626 and 54a01f277435 for 1.26.13 to 1.29.12, roles/kubespray_defaults/vars/main/checksums.yml
 * at 12665270143b, aa255f883180, 57364f4085c7, dee8a18cccd2 and 46dbdd3994b3 for the later ones; read 2026-12-06).
 * Flatcar's containerd reads a version 2 config, so the pause image is `sandbox_image`.
 */
const FLATCAR_RELEASES: ReadonlyArray<[string, { kubeadm: string; kubelet: string; kubectl: string }]> = [
  ['1.24.15', { kubeadm: '0f4838139affb7b1a131d5d0a0b93d4ada0d1d22da5d04d5d3599018adc130b7', kubelet: '577bb7424eb83b4ddedc920f4e719283cf28a8468e412c2003372c138090358f', kubectl: 'a45d390e17d1cd4bf93eaa733ebc87ed1a38fd867316919bdc59bee9f96e4d8e' }],
  ['1.25.13', { kubeadm: '4694df9c5d700280c186980907ec8e695364f461b20e868336a71edabac2253e', kubelet: '0399cfd7031cf5f3d7f8485b243a5ef37230e63d105d5f29966f0f81a58a8f6d', kubectl: '22c5d5cb95b671ea7d7accd77e60e4a787b6d40a6b8ba4d6c364cb3ca818c29a' }],
  ['1.26.13', { kubeadm: '62c0e49f749d230f0c27fa53cbe4851894d9002757fd3653fc5da36aa7c68032', kubelet: '05860ef65deb594dc72034c0614f93d7ba9d1f229ff73b43c484298e22465f1b', kubectl: 'e4bad4273431f9f5f05f27f5c2054cbbad6d9ee00b85e0810cb4ef0489b02571' }],
  ['1.27.14', { kubeadm: '1ce264643e521494e111b1c9ee59694a54d1f2464bbac3a7a531324ffeae0182', kubelet: 'f28defa43f80f82ce909940c1b57b71cba1fcf0de6fc4723e798ef5c72376c28', kubectl: '1d2431c68bb6dfa9de3cd40fd66d97a9ac73593c489f9467249eea43e9c16a1e' }],
  ['1.28.12', { kubeadm: '3ffcf5100c6bca3dd0a6c317c744dd97fe497c7c4aefe468321171f940d34971', kubelet: '4648ae155b1ab05ab8dbef417bde4d5acfcd5ad32e8d1e3209006b40c440a56c', kubectl: 'e8aee7c9206c00062ced394418a17994b58f279a93a1be1143b08afe1758a3a2' }],
  ['1.29.12', { kubeadm: 'bce712631bc425726b45930e58b00790c2ab3deec4282f86af353ea907817c46', kubelet: '45475d908f6c44bfbf994fec91a4d5ceebf41d93c9f3867e687b2fa67b57b5b0', kubectl: '35fc028853e6f5299a53f22ab58273ea2d882c0f261ead0a2eed5b844b12dbfb' }],
  ['1.30.13', { kubeadm: 'dbea796b7b716f7b30ea99e021c3730ef3debace4c8a62c88abfc266b3ab7a96', kubelet: 'b8d8c3cc0c13b2e42c1d83ab6c03024825bc01887c923fd6f8568ebe066ec28e', kubectl: 'b92bd89b27386b671841d5970b926b645c2ae44e5ca0663cff0f1c836a1530ee' }],
  ['1.31.13', { kubeadm: 'e0c91c606e1402e943666f6fda8452140851a1b2bb4f69918dd7176e8d86845c', kubelet: 'b7733cb0e36031ab8f69cf3f73cc364730141b107d24ecb75bee5b3122dc6b6e', kubectl: 'ce427a4df97b044bf6beaf38be6b3aaafb1b5c782c406958b3c71ebb25a48fe3' }],
  ['1.32.11', { kubeadm: '5e191b7329897a16ea87aed75b66f561e7243691620d6b792f34d488285484ce', kubelet: '02b25e87a3fe14e9ea74c10d3b1e204d12af30b8ce7ed11af2a985b49ddb0b83', kubectl: '48581d0e808bd8b7d3c3fc014e86b170e25a987df04c8a879b982b28a5180815' }],
  ['1.33.11', { kubeadm: '50b66a385ae5bf1ef69c596d07f387b553f0b62f0c48932e0aa14fdd44b1f006', kubelet: '4a3d265ee760ee4490b55989e5c3d87deffefa86a6f100f2a7453d353a1ae255', kubectl: '5d0ff87b99e4bbc38b9876b3172c414f8691008d291e36f89547318925ce7716' }],
  ['1.34.11', { kubeadm: 'bd3cbe40aff6c7b3b939243ebd80dbd7da207c0e594cfdd434295bf553ea7351', kubelet: '4777a226b2ba3c1d656254bcf3f7ad471bf210042f361094216e51ab4fa9b4b6', kubectl: '8efbb9435132a190920eb65a47a8c1ecf755ad85ab57a600c9bedbab460bb7a8' }],
  ['1.35.8', { kubeadm: '1bbc64a2be5b300880ae9330c6bba592ec2a2b8ecb79c527b0c7cc0f44070e5e', kubelet: '6971b9f95e54dbed67a2271abe6e78f8cc2894494649f3cf39e4b25a82dca923', kubectl: '874d5e72dbb819f43cff16bcd1e4f8bac5b7f2361fe1e55049b0a6c676fb0cbf' }],
];

test('flatcar moved to every minor from 1.24 to 1.35 by its version alone validates, builds, and plans that release\'s binaries, sha256 and pause image', async (t) => {
  const agentBundle = readFileSync(AGENT_BUNDLE);
  const dir = userProfiles(Object.fromEntries(FLATCAR_RELEASES.map(([version]) => [`moved-${version}.yaml`, `extends: flatcar\nkubernetes:\n  version: ${version}\n`])));
  t.deepEqual(FLATCAR_RELEASES.map(([version]) => Number(version.split('.')[1])), SUPPORTED_MINORS);
  for (const [version, sha256] of FLATCAR_RELEASES) {
    const minor = Number(version.split('.')[1]);
    const profile = loadProfile(path.join(dir, `moved-${version}.yaml`), { dir: PROFILES });
    const agentConfig = compileAgentConfig(profile);
    const files = renderBuild({ profileName: `moved-${version}`, agentConfig, nodeRuntime: nodeRuntimeOf(profile), agentBundle, labimgVersion: '0.0.0-test' });
    t.true(files.some((file) => file.name === 'manifest.json'), `flatcar at ${version}: no build`);
    const ignition = files.find((file) => file.name === 'ignition-control-plane.json')?.content.toString() ?? '';
    const plan = formatPlan(await planAgent(agentConfig, controlPlane, { gpu: false }));
    const folder = `https://dl.k8s.io/release/v${version}/bin/linux/amd64`;
    for (const name of ['kubeadm', 'kubelet', 'kubectl'] as const) {
      t.true(plan.includes(`${folder}/${name}`), `flatcar at ${version}: the plan does not download ${folder}/${name}`);
      t.true(plan.includes(`${sha256[name]}  /opt/bin/${name}.labimg-download`), `flatcar at ${version}: the plan does not check ${name} against ${sha256[name]}`);
      t.true(ignition.includes(`"source":"${folder}/${name}"`) || ignition.includes(`"source": "${folder}/${name}"`), `flatcar at ${version}: Ignition does not fetch ${name}`);
      t.true(ignition.includes(`sha256-${sha256[name]}`), `flatcar at ${version}: Ignition does not check ${name}`);
    }
    t.true(plan.includes(`sandbox_image = "registry.k8s.io/pause:${PAUSE[minor]}"`), `flatcar at ${version}: pause ${PAUSE[minor]}`);
    t.true(plan.includes(`https://raw.githubusercontent.com/projectcalico/calico/${calicoFor(minor)}/manifests/tigera-operator.yaml`), `flatcar at ${version}: Calico`);
    if (version !== '1.32.11') t.false(plan.includes('v1.32.11'), `flatcar at ${version}: the plan still names the parent's 1.32.11`);
  }
});

test('flatcar moved to a release labimg records no sha256 for is one error at the version line; stating the sha256 is the way out', (t) => {
  const dir = userProfiles({
    'unknown.yaml': 'extends: flatcar\nkubernetes:\n  version: 1.34.2\n',
    'stated.yaml': 'extends: flatcar\nkubernetes:\n  version: 1.34.2\n  binaries:\n    sha256:\n' +
      `      kubeadm: ${'a'.repeat(64)}\n      kubelet: ${'b'.repeat(64)}\n      kubectl: ${'c'.repeat(64)}\n`,
  });
  const findings = findingsOf(path.join(dir, 'unknown.yaml'));
  t.is(findings.length, 1, JSON.stringify(findings));
  t.like(findings[0], { path: 'kubernetes.version', line: 3 });
  const message = findings[0]?.message ?? '';
  t.regex(message, /records the sha256 of the release binaries of Kubernetes 1\.24\.15, .*, 1\.35\.8, not 1\.34\.2/);
  t.regex(message, /state kubernetes\.binaries\.sha256 \(kubelet, kubeadm, kubectl\) yourself from the <name>\.sha256 files dl\.k8s\.io publishes beside each binary \(https:\/\/dl\.k8s\.io\/release\/v1\.34\.2\/bin\/linux\/amd64\/kubeadm\.sha256/);
  const stated = loadProfile(path.join(dir, 'stated.yaml'), { dir: PROFILES });
  t.deepEqual(stated.kubernetes.binaries, { url: 'https://dl.k8s.io/release/v1.34.2/bin/linux/amd64', sha256: { kubeadm: 'a'.repeat(64), kubelet: 'b'.repeat(64), kubectl: 'c'.repeat(64) } });
});

test('show --resolved names the rule of every value centos and flatcar derive from their version', (t) => {
  const line = (text: string, start: string) => text.split('\n').find((row) => row.startsWith(start)) ?? `(no line for ${start})`;
  const centos = labimg(['show', 'centos', '--resolved']);
  t.is(centos.code, 0, centos.stderr);
  const centosVersion = `profiles/centos.yaml:${lineOf(path.join(PROFILES, 'centos.yaml'), /^  version: 1\.23\.3/)}`;
  for (const name of ['kubelet', 'kubeadm', 'kubectl']) {
    t.regex(line(centos.stdout, `kubernetes.packages.${name}:`), new RegExp(`: 1\\.23\\.3-0 +# derived: legacy-rpm package version for Kubernetes 1\\.23\\.3 \\(from ${centosVersion}\\)$`));
  }
  t.regex(line(centos.stdout, 'runtime.containerd.sandboxImage:'), new RegExp(`: registry\\.aliyuncs\\.com/google_containers/pause:3\\.6 +# derived: kubeadm 1\\.23's pause image.*\\(from ${centosVersion}\\)$`));
  t.regex(line(centos.stdout, 'cni.manifests[0].url:'), /v3\.25\.2\/manifests\/tigera-operator\.yaml +# derived: Calico 3\.25\.2, tested with Kubernetes 1\.23/);
  t.regex(line(centos.stdout, 'repositories.kubernetes.baseUrl:'), /: https:\/\/mirrors\.aliyun\.com\/kubernetes\/yum\/repos\/kubernetes-el7-x86_64\/ +# profiles\/centos\.yaml:\d+$/);
  const flatcar = labimg(['show', 'flatcar', '--resolved']);
  t.is(flatcar.code, 0, flatcar.stderr);
  const flatcarVersion = `profiles/flatcar.yaml:${lineOf(path.join(PROFILES, 'flatcar.yaml'), /^  version: 1\.32\.11/)}`;
  t.regex(line(flatcar.stdout, 'kubernetes.binaries.url:'), new RegExp(`: https://dl\\.k8s\\.io/release/v1\\.32\\.11/bin/linux/amd64 +# derived: .*\\(from ${flatcarVersion}\\)$`));
  t.regex(line(flatcar.stdout, 'kubernetes.binaries.sha256.kubeadm:'), new RegExp(`: 5e191b7329897a16ea87aed75b66f561e7243691620d6b792f34d488285484ce +# derived: sha256 of the Kubernetes 1\\.32\\.11 kubeadm release binary.*\\(from ${flatcarVersion}\\)$`));
});

test('the two-line profile of the README validates, plans and builds through the command line', (t) => {
  const dir = userProfiles({ 'my-rocky.yaml': 'extends: rocky9-gpu\nkubernetes: { version: 1.34.2 }\n' });
  const validate = labimg(['--profiles', PROFILES, 'validate', 'my-rocky.yaml'], { cwd: dir });
  t.is(validate.code, 0, validate.stderr);
  const plan = labimg(['--profiles', PROFILES, 'plan', 'my-rocky.yaml', '--role', 'worker'], { cwd: dir });
  t.is(plan.code, 0, plan.stderr);
  t.true(plan.stdout.includes('baseurl=https://pkgs.k8s.io/core:/stable:/v1.34/rpm/'), plan.stdout);
  t.true(plan.stdout.includes('kubelet-1.34.2-150500.1.1 kubeadm-1.34.2-150500.1.1 kubectl-1.34.2-150500.1.1'), plan.stdout);
  t.true(plan.stdout.includes('sandbox = "registry.k8s.io/pause:3.10.1"'), plan.stdout);
  const build = labimg(['--profiles', PROFILES, 'build', 'my-rocky.yaml', '--out', path.join(dir, 'out')], { cwd: dir });
  t.is(build.code, 0, build.stderr);
  t.true(readFileSync(path.join(dir, 'out', 'my-rocky', 'manifest.json'), 'utf8').includes('"my-rocky"'));
});

test('show --resolved names the line of every stated value and the rule and version line of every derived one', (t) => {
  const dir = userProfiles({ 'my-rocky.yaml': 'extends: rocky9-gpu\nkubernetes: { version: 1.34.2 }\n' });
  const shown = labimg(['--profiles', PROFILES, 'show', 'my-rocky.yaml', '--resolved'], { cwd: dir });
  t.is(shown.code, 0, shown.stderr);
  const lines = shown.stdout.split('\n');
  const line = (start: string) => lines.find((text) => text.startsWith(start)) ?? `(no line for ${start})`;
  const rocky9 = path.join(PROFILES, 'rocky9.yaml');
  t.regex(line('kubernetes.version:'), /^kubernetes\.version: 1\.34\.2 +# my-rocky\.yaml:2$/);
  t.regex(line('image.sshUsername:'), new RegExp(`^image\\.sshUsername: rocky +# ${rocky9.replace(/[.]/g, '\\.')}:${lineOf(rocky9, /^  sshUsername: rocky/)}$`));
  t.regex(line('repositories.kubernetes.baseUrl:'), /^repositories\.kubernetes\.baseUrl: https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v1\.34\/rpm\/ +# derived: .*\(from my-rocky\.yaml:2\)$/);
  t.regex(line('kubernetes.packages.kubeadm:'), /: 1\.34\.2-150500\.1\.1 +# derived: .*\(from my-rocky\.yaml:2\)$/);
  t.regex(line('runtime.containerd.sandboxImage:'), /: registry\.k8s\.io\/pause:3\.10\.1 +# derived: .*\(from my-rocky\.yaml:2\)$/);
  t.regex(line('kubernetes.kubeadmApiVersion:'), /: kubeadm\.k8s\.io\/v1beta4 +# derived: /);
  t.regex(line('kubernetes.criSocket:'), /: unix:\/\/\/var\/run\/containerd\/containerd\.sock +# derived: /);
  t.regex(line('os.versionId:'), /: "9" +#/, 'a string that reads as a number is quoted');
});

test('a profile that pins a package to another version gets the error at its own line, and the version line hears of it', (t) => {
  const dir = userProfiles({ 'pinned.yaml': 'extends: rocky9\nkubernetes:\n  packages:\n    kubeadm: 1.34.0-150500.1.1\n' });
  const file = path.join(dir, 'pinned.yaml');
  const findings = findingsOf(file);
  const pin = findings.find((finding) => finding.path === 'kubernetes.packages.kubeadm');
  t.truthy(pin, JSON.stringify(findings));
  t.is(pin?.line, 4);
  t.true(pin?.file.endsWith('pinned.yaml'));
  t.regex(pin?.message ?? '', /is pinned to "1\.34\.0-150500\.1\.1", which is not kubernetes\.version 1\.35\.9; expected "1\.35\.9-150500\.1\.1"/);
  const version = findings.find((finding) => finding.path === 'kubernetes.version');
  t.is(version?.file, path.relative(process.cwd(), path.join(PROFILES, 'rocky9.yaml')));
  t.is(version?.line, lineOf(path.join(PROFILES, 'rocky9.yaml'), /^  version: 1\.35\.9/));
  t.regex(version?.message ?? '', /does not fit kubernetes\.packages\.kubeadm, which .*pinned\.yaml:4 states/);
  t.is(findings.length, 2, JSON.stringify(findings));
});

test("a child that moves the version of a parent that pins its packages hears of it at the parent's pins and its own version line", (t) => {
  // A parent of the user's own that pins the legacy mirror's packages itself: nothing there is derived.
  const dir = userProfiles({
    'pinned-centos.yaml': 'extends: centos\nkubernetes:\n  packages:\n    kubelet: 1.23.3-0\n    kubeadm: 1.23.3-0\n    kubectl: 1.23.3-0\n',
    'centos-moved.yaml': 'extends: pinned-centos\nkubernetes:\n  version: 1.23.17\n',
  });
  const findings = findingsOf(path.join(dir, 'centos-moved.yaml'));
  const pins = findings.filter((finding) => finding.path.startsWith('kubernetes.packages.'));
  t.deepEqual(pins.map((finding) => [finding.path, path.basename(finding.file), finding.line]), [
    ['kubernetes.packages.kubelet', 'pinned-centos.yaml', 4],
    ['kubernetes.packages.kubeadm', 'pinned-centos.yaml', 5],
    ['kubernetes.packages.kubectl', 'pinned-centos.yaml', 6],
  ]);
  t.regex(pins[1]?.message ?? '', /is pinned to "1\.23\.3-0", which is not kubernetes\.version 1\.23\.17; expected "1\.23\.17-0"/);
  const version = findings.filter((finding) => finding.path === 'kubernetes.version');
  t.is(version.length, 3);
  t.true(version.every((finding) => finding.file.endsWith('centos-moved.yaml') && finding.line === 3), JSON.stringify(version));
});

test('a Calico release outside the minors Calico tests it with is an error naming the range and its source', (t) => {
  const dir = userProfiles({
    'old-calico.yaml':
      'extends: rocky9\ncni:\n  manifests:\n    - url: https://raw.githubusercontent.com/projectcalico/calico/v3.27.4/manifests/tigera-operator.yaml\n      sha256: 89f0fab9a0d80376b7089f2d6e436a5fcfb4801f1537b78a466e22f37b47c8d8\n',
  });
  const [finding, ...rest] = findingsOf(path.join(dir, 'old-calico.yaml')).filter((item) => item.path === 'cni.manifests[0]');
  t.is(rest.length, 0);
  t.is(finding?.line, 4);
  t.regex(finding?.message ?? '', /^Calico 3\.27\.4 is tested with Kubernetes 1\.24 to 1\.28 \(docs\.tigera\.io Calico 3\.27 system requirements\), not kubernetes\.version 1\.35\.9: remove cni\.manifests and labimg installs Calico 3\.31\.7/);
});

/**
 * The sha256 of each Calico operator manifest at its tag, as FACTS.md "Calico manifest pins" records them
 * (`git show TAG:manifests/FILE | sha256sum` in a copy of github.com/projectcalico/calico).
 */
const CALICO_PINS: ReadonlyArray<[number, Array<[string, string]>]> = [
  [23, [['v3.25.2/manifests/tigera-operator.yaml', '714107a861ae6d48d74c88681e5fa2a8946b6f6b309e26e81f0bdbecc1abc753']]],
  [28, [['v3.27.4/manifests/tigera-operator.yaml', '89f0fab9a0d80376b7089f2d6e436a5fcfb4801f1537b78a466e22f37b47c8d8']]],
  [30, [['v3.29.0/manifests/tigera-operator.yaml', '3c94375828be38a3120c3377a122c9a257b882a2a0a6ad92c734d9cb750bd47e']]],
  [
    34,
    [
      ['v3.31.7/manifests/operator-crds.yaml', '380414d5756e9a1af29ddb1ad70cada07aa344ae7a2680ba7355248621f8adbf'],
      ['v3.31.7/manifests/tigera-operator.yaml', '092c10b3d0cb73617aca51367ca59755348f4647e6d2e63fa4e5b81266203214'],
    ],
  ],
];

test('derived Calico manifests come with the sha256 of each file at its tag, into the compiled config and show --resolved', (t) => {
  // 1.23 has no pkgs.k8s.io repository to derive, so a whole profile of it states its own; its Calico is derived below.
  const dir = userProfiles(Object.fromEntries(CALICO_PINS.map(([minor]) => [`calico-${minor}.yaml`, `extends: rocky9\nkubernetes:\n  version: 1.${minor}.3\n`])));
  for (const [minor, pins] of CALICO_PINS) {
    const expected = pins.map(([file, sha256]) => ({ url: `https://raw.githubusercontent.com/projectcalico/calico/${file}`, sha256 }));
    if (minor === 23) {
      const file = path.join(dir, `calico-${minor}.yaml`);
      const parsed = parseSource('cni:\n  plugin: calico\nkubernetes:\n  version: 1.23.3\n', file);
      if (!parsed.ok || parsed.root?.kind !== 'map') return t.fail('the profile did not parse');
      t.deepEqual(toPlain(deriveFacts(parsed.root).tree), { cni: { plugin: 'calico', manifests: expected }, kubernetes: { version: '1.23.3' } }, '1.23');
      continue;
    }
    const profile = loadProfile(path.join(dir, `calico-${minor}.yaml`), { dir: PROFILES });
    t.deepEqual(profile.cni.manifests, expected, `1.${minor}`);
    t.deepEqual(compileAgentConfig(profile).cni.manifests, expected, `1.${minor}: the compiled config`);
  }
  const shown = labimg(['--profiles', PROFILES, 'show', 'calico-34.yaml', '--resolved'], { cwd: dir });
  t.is(shown.code, 0, shown.stderr);
  t.regex(shown.stdout, /^cni\.manifests\[0\]\.url: https:\/\/raw\.githubusercontent\.com\/projectcalico\/calico\/v3\.31\.7\/manifests\/operator-crds\.yaml +# derived: Calico 3\.31\.7, tested with Kubernetes 1\.34 \(from calico-34\.yaml:3\)$/m);
  t.regex(shown.stdout, /^cni\.manifests\[1\]\.sha256: 092c10b3d0cb73617aca51367ca59755348f4647e6d2e63fa4e5b81266203214 +# derived: Calico 3\.31\.7, tested with Kubernetes 1\.34 \(from calico-34\.yaml:3\)$/m);
});

test('a Calico release labimg would choose but holds no sha256 pins for is not derived: the version line asks for pinned manifests', (t) => {
  const file = path.join(userProfiles({ 'unpinned.yaml': 'description: a release without pins\ncni:\n  plugin: calico\nkubernetes:\n  version: 1.34.2\n' }), 'unpinned.yaml');
  const parsed = parseSource(readFileSync(file, 'utf8'), file);
  if (!parsed.ok || parsed.root?.kind !== 'map') return t.fail('the profile did not parse');
  const withPins = deriveFacts(parsed.root);
  t.deepEqual(withPins.gaps, []);
  // The same profile with a table that lacks 3.31.7's operator-crds.yaml pin: nothing is derived, the version line says why.
  const without = deriveFacts(parsed.root, { '3.31.7': { 'tigera-operator.yaml': '092c10b3d0cb73617aca51367ca59755348f4647e6d2e63fa4e5b81266203214' } });
  t.is(nodeAt(without.tree, ['cni', 'manifests']), undefined);
  t.is(without.gaps.length, 1);
  t.like(without.gaps[0], { path: 'kubernetes.version', line: 5 });
  t.regex(without.gaps[0]?.message ?? '', /no sha256 pins for the manifests of Calico 3\.31\.7, the release it would choose for Kubernetes 1\.34: list them under cni\.manifests, each as url: and sha256:/);
});

test('a pkgs.k8s.io key of another minor than the repository is refused', (t) => {
  const dir = userProfiles({ 'old-key.yaml': 'extends: debian12\nrepositories:\n  kubernetes:\n    gpgKeys: [https://pkgs.k8s.io/core:/stable:/v1.34/deb/Release.key]\n' });
  const findings = findingsOf(path.join(dir, 'old-key.yaml'));
  t.deepEqual(findings.map((finding) => `${finding.path}@${finding.line}`).sort(), [
    `kubernetes.version@${lineOf(path.join(PROFILES, 'debian12.yaml'), /^  version: 1\.35\.9/)}`,
    'repositories.kubernetes.gpgKeys[0]@4',
  ]);
});

test('a minor labimg derives no repository or Calico for is told so at the version line', (t) => {
  const dir = userProfiles({ 'k136.yaml': 'extends: ubuntu2404\nkubernetes:\n  version: 1.36.1\n', 'k123.yaml': 'extends: debian12\nkubernetes:\n  version: 1.23.17\n' });
  const [calico, ...more] = findingsOf(path.join(dir, 'k136.yaml'));
  t.is(more.length, 0);
  t.is(calico?.line, 3);
  t.regex(calico?.message ?? '', /chooses a Calico release for Kubernetes 1\.23 to 1\.35, not 1\.36: list the manifests of a Calico release tested with it under cni\.manifests, each as url: and sha256:/);
  const old = findingsOf(path.join(dir, 'k123.yaml'));
  t.true(old.some((finding) => finding.line === 3 && /pkgs\.k8s\.io starts at 1\.24 .*set repositories\.kubernetes to a mirror/.test(finding.message)), JSON.stringify(old));
});

test("where the agent's Node.js comes from follows from the distro's own nodejs unless a profile says", (t) => {
  // Rocky 9's AppStream nodejs is 16.20, noble's 18.19, jammy's 12.22 (older than the agent's 16.9), Flatcar has no
  // package manager; debian12 states the tarball for its own reasons, and debian13 states the package back.
  const sources = ['rocky9', 'ubuntu2404', 'ubuntu2204', 'ubuntu', 'flatcar', 'debian12', 'debian13'].map((name) => [name, loadProfile(name, { dir: PROFILES }).agent.nodeRuntime.source]);
  t.deepEqual(Object.fromEntries(sources), { rocky9: 'package', ubuntu2404: 'package', ubuntu2204: 'tarball', ubuntu: 'tarball', flatcar: 'tarball', debian12: 'tarball', debian13: 'package' });
  const shown = labimg(['show', 'ubuntu2204', '--resolved']);
  t.is(shown.code, 0, shown.stderr);
  const ubuntu2204 = path.relative(REPO_ROOT, path.join(PROFILES, 'ubuntu2204.yaml'));
  t.regex(shown.stdout, new RegExp(`^agent\\.nodeRuntime\\.source: tarball +# derived: ubuntu 22\\.04's nodejs package is Node\\.js 12\\.22\\.9, older than the agent's 16\\.9: the pinned tarball \\(from ${ubuntu2204.replace(/\./g, '\\.')}:9\\)$`, 'm'));
});

test('a profile that extends none still needs a description; one that extends another is described after its parent', (t) => {
  const dir = userProfiles({ 'root.yaml': 'os: { id: rocky, versionId: "9", packageManager: dnf }\n', 'child.yaml': 'extends: rocky9\n' });
  const [finding] = findingsOf(path.join(dir, 'root.yaml'));
  t.is(finding?.path, 'description');
  t.is(loadProfile(path.join(dir, 'child.yaml'), { dir: PROFILES }).description, 'rocky9 with child.yaml');
});
