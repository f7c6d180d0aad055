/**
 * A profile of one's own that extends a shipped one and changes only kubernetes.version: what follows from the
 * version (repository, key, pins, pause image, Calico) follows, and a stated value that disagrees is an error at
 * its own line and at the version line.
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
  // centos states its legacy-mirror repository and pins 1.23.3-0 itself: nothing there is derived.
  const dir = userProfiles({ 'centos-moved.yaml': 'extends: centos\nkubernetes:\n  version: 1.23.17\n' });
  const findings = findingsOf(path.join(dir, 'centos-moved.yaml'));
  const centos = path.join(PROFILES, 'centos.yaml');
  const pins = findings.filter((finding) => finding.path.startsWith('kubernetes.packages.'));
  t.deepEqual(pins.map((finding) => [finding.path, finding.line]), [
    ['kubernetes.packages.kubelet', lineOf(centos, /^    kubelet: 1\.23\.3-0/)],
    ['kubernetes.packages.kubeadm', lineOf(centos, /^    kubeadm: 1\.23\.3-0/)],
    ['kubernetes.packages.kubectl', lineOf(centos, /^    kubectl: 1\.23\.3-0/)],
  ]);
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
