import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { formatFindings, loadProfile, ProfileError, type Finding } from '../builder/profiles';

const profilesDir = path.resolve(__dirname, '..', 'profiles');
const fixturesDir = path.resolve(__dirname, 'fixtures', 'profiles');
const shown = (file: string): string => path.relative(process.cwd(), file);
const fixture = (name: string): string => shown(path.join(fixturesDir, name));
const shipped = (name: string): string => shown(path.join(profilesDir, name));

/** 1-based line of the first line matching `pattern` in a shipped profile, so edits elsewhere in it keep the test valid. */
function shippedLine(name: string, pattern: RegExp): number {
  const index = readFileSync(path.join(profilesDir, name), 'utf8').split('\n').findIndex((line) => pattern.test(line));
  if (index < 0) throw new Error(`${name} has no line matching ${pattern}`);
  return index + 1;
}

function findingsOf(file: string): Finding[] {
  try {
    loadProfile(path.join(fixturesDir, file), { dir: profilesDir });
  } catch (error) {
    if (error instanceof ProfileError) return error.findings;
    throw error;
  }
  throw new Error(`${file} loaded without findings`);
}

interface Case {
  fixture: string;
  /** Where the offending value was written: the fixture itself, or a profile it extends. */
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

const cases: Case[] = [
  {
    fixture: 'podsubnet-out-of-range.yaml', file: fixture('podsubnet-out-of-range.yaml'), line: 4, column: 14,
    path: 'kubernetes.podSubnet', message: 'expected an IPv4 CIDR such as 10.244.0.0/16, got "10.244.0.0/33"',
  },
  {
    fixture: 'podsubnet-host-bits.yaml', file: fixture('podsubnet-host-bits.yaml'), line: 4, column: 14,
    path: 'kubernetes.podSubnet', message: 'has host bits set; expected the network address 10.244.0.0/16',
  },
  {
    fixture: 'subnets-overlap.yaml', file: fixture('subnets-overlap.yaml'), line: 4, column: 18,
    path: 'kubernetes.serviceSubnet', message: '10.244.128.0/20 overlaps kubernetes.podSubnet 10.244.0.0/16',
  },
  {
    // `cri: docker` is inherited; the finding points at the version line the child wrote, which crosses 1.24.
    fixture: 'docker-on-1-24.yaml', file: fixture('docker-on-1-24.yaml'), line: 4, column: 12,
    path: 'kubernetes.version', message: 'Kubernetes 1.24.17 cannot run on runtime.cri docker: the kubelet dropped dockershim in 1.24 (KEP-2221)',
  },
  {
    fixture: 'retired-google-repo.yaml', file: fixture('retired-google-repo.yaml'), line: 5, column: 14,
    path: 'repositories.kubernetes.baseUrl', message: 'shut down on 2024-03-04; use https://pkgs.k8s.io/core:/stable:/v1.28/deb/',
  },
  {
    fixture: 'retired-google-repo.yaml', file: fixture('retired-google-repo.yaml'), line: 6, column: 15,
    path: 'repositories.kubernetes.gpgKeys[0]', message: 'packages.cloud.google.com and the other Google-hosted',
  },
  {
    fixture: 'pkgs-wrong-minor.yaml', file: fixture('pkgs-wrong-minor.yaml'), line: 5, column: 14,
    path: 'repositories.kubernetes.baseUrl', message: 'serves Kubernetes 1.27 only, but kubernetes.version is 1.28.15',
  },
  {
    fixture: 'pkgs-before-1-24.yaml', file: fixture('pkgs-before-1-24.yaml'), line: 5, column: 14,
    path: 'repositories.kubernetes.baseUrl', message: 'pkgs.k8s.io never published Kubernetes 1.23',
  },
  {
    fixture: 'pin-other-version.yaml', file: fixture('pin-other-version.yaml'), line: 5, column: 14,
    path: 'kubernetes.packages.kubeadm', message: 'is pinned to "1.23.4-0", which is not kubernetes.version 1.23.3; expected "1.23.3-0"',
  },
  {
    fixture: 'pin-wrong-format.yaml', file: fixture('pin-wrong-format.yaml'), line: 5, column: 14,
    path: 'kubernetes.packages.kubeadm', message: '"1.28.15-00" is not how the pkgs.k8s.io deb repository layout spells 1.28.15; expected "1.28.15-1.1"',
  },
  {
    fixture: 'device-plugin-without-toolkit.yaml', file: fixture('device-plugin-without-toolkit.yaml'), line: 7, column: 5,
    path: 'gpu.devicePlugin', message: 'add nvidia-container-toolkit to gpu.toolkitPackages',
  },
  {
    fixture: 'version-with-v.yaml', file: fixture('version-with-v.yaml'), line: 4, column: 12,
    path: 'kubernetes.version', message: 'expected a Kubernetes version such as 1.28.15 (without the leading "v"), got "v1.28.15"',
  },
  {
    fixture: 'version-too-old.yaml', file: fixture('version-too-old.yaml'), line: 4, column: 12,
    path: 'kubernetes.version', message: 'needs Kubernetes 1.22 or later, got "1.21.14"',
  },
  {
    fixture: 'sandbox-without-tag.yaml', file: fixture('sandbox-without-tag.yaml'), line: 5, column: 19,
    path: 'runtime.containerd.sandboxImage', message: 'expected an image reference with a tag, such as registry.k8s.io/pause:3.9, got "registry.k8s.io/pause"',
  },
  {
    fixture: 'image-repository-with-tag.yaml', file: fixture('image-repository-with-tag.yaml'), line: 4, column: 20,
    path: 'kubernetes.imageRepository', message: 'got "registry.k8s.io/kube-apiserver:v1.28.15"',
  },
  {
    fixture: 'unknown-field.yaml', file: fixture('unknown-field.yaml'), line: 4, column: 3,
    path: 'kubernetes.podsubnet', message: 'unknown field "podsubnet"; did you mean "podSubnet"?',
  },
  {
    fixture: 'version-id-number.yaml', file: fixture('version-id-number.yaml'), line: 4, column: 14,
    path: 'os.versionId', message: 'expected a string, got number 20.04; quote it: "20.04"',
  },
  {
    fixture: 'cri-typo.yaml', file: fixture('cri-typo.yaml'), line: 4, column: 8,
    path: 'runtime.cri', message: 'expected one of "containerd", "docker", got "containerD"; did you mean "containerd"?',
  },
  {
    fixture: 'gpu-on-failure-typo.yaml', file: fixture('gpu-on-failure-typo.yaml'), line: 4, column: 14,
    path: 'gpu.onFailure', message: 'expected one of "fail", "cpu", got "CPU"; did you mean "cpu"?',
  },
  {
    fixture: 'gpu-supported-device-upper-case.yaml', file: fixture('gpu-supported-device-upper-case.yaml'), line: 5, column: 30,
    path: 'gpu.supportedDevices.deviceIds[1]', message: 'expected an NVIDIA PCI id such as "10de:2330" (lower-case hex), got "0x2335"',
  },
  {
    fixture: 'yaml-syntax-error.yaml', file: fixture('yaml-syntax-error.yaml'), line: 5, column: 2,
    path: '', message: 'YAML syntax error: bad indentation of a mapping entry',
  },
  {
    fixture: 'duplicate-key.yaml', file: fixture('duplicate-key.yaml'), line: 5, column: 3,
    path: '', message: 'YAML syntax error: duplicated mapping key',
  },
  {
    fixture: 'unknown-parent.yaml', file: fixture('unknown-parent.yaml'), line: 2, column: 10,
    path: 'extends', message: 'no profile "centoss" in test/fixtures/profiles or profiles; did you mean "centos"?',
  },
  {
    fixture: 'cycle-a.yaml', file: fixture('cycle-b.yaml'), line: 2, column: 10,
    path: 'extends', message: 'forms a cycle: cycle-a → cycle-b → cycle-a',
  },
  {
    fixture: 'sha256-placeholder.yaml', file: fixture('sha256-placeholder.yaml'), line: 5, column: 13,
    path: 'agent.nodeRuntime.sha256', message: 'expected a SHA-256 digest: 64 lowercase hex digits, got "SHA256_PENDING"',
  },
  {
    fixture: 'node-runtime-ftp.yaml', file: fixture('node-runtime-ftp.yaml'), line: 5, column: 10,
    path: 'agent.nodeRuntime.url', message: 'expected an http(s) URL of a .tar.xz, .tar.gz or .tgz tarball, got "ftp://mirror.example.com/node-v16.20.2-linux-x64.tar.xz"',
  },
  {
    fixture: 'node18-on-centos7.yaml', file: fixture('node18-on-centos7.yaml'), line: 5, column: 14,
    path: 'agent.nodeRuntime.version', message: 'official Node.js 18 and later need glibc 2.28, but centos 7 has glibc 2.17',
  },
  {
    fixture: 'calico-pool-outside-pods.yaml', file: fixture('calico-pool-outside-pods.yaml'), line: 6, column: 15,
    path: 'cni.calico.ipPools[0].cidr', message: '192.168.0.0/16 is not inside kubernetes.podSubnet 10.244.0.0/16',
  },
  {
    // Loaded through its child: the bad value is still reported in the parent that wrote it.
    fixture: 'child-of-bad-parent.yaml', file: fixture('bad-parent.yaml'), line: 4, column: 14,
    path: 'kubernetes.podSubnet', message: 'got "10.244.0.0/99"',
  },
  {
    fixture: 'deb-repository-without-suite.yaml', file: fixture('deb-repository-without-suite.yaml'), line: 5, column: 5,
    path: 'repositories.extra.suite', message: 'is required for deb repositories',
  },
  {
    fixture: 'kubernetes-repository-typo.yaml', file: fixture('kubernetes-repository-typo.yaml'), line: 4, column: 15,
    path: 'kubernetes.repository', message: 'no repository "kubernets" under repositories; did you mean "kubernetes"?',
  },
  {
    fixture: 'label-value-boolean.yaml', file: fixture('label-value-boolean.yaml'), line: 5, column: 29,
    path: 'gpu.nodeLabels["nvidia.com/gpu.present"]', message: 'expected a string, got boolean true; quote it: "true"',
  },
  {
    fixture: 'empty.yaml', file: fixture('empty.yaml'), line: 1, column: 1,
    path: '', message: 'the file is empty',
  },
  {
    fixture: 'abstract-base.yaml', file: fixture('abstract-base.yaml'), line: 2, column: 1,
    path: 'abstract', message: '"abstract-base" is a base for other profiles, not a machine',
  },
  {
    fixture: 'bad-names-and-lists.yaml', file: fixture('bad-names-and-lists.yaml'), line: 4, column: 3,
    path: 'repositories.Bad_Repo', message: 'invalid name "Bad_Repo": expected a repository id',
  },
  {
    fixture: 'bad-names-and-lists.yaml', file: fixture('bad-names-and-lists.yaml'), line: 11, column: 5,
    path: 'host.sysctls["BAD KEY"]', message: 'invalid name "BAD KEY": expected a sysctl name such as net.ipv4.ip_forward',
  },
  {
    fixture: 'bad-names-and-lists.yaml', file: fixture('bad-names-and-lists.yaml'), line: 12, column: 28,
    path: 'host.kernelModules', message: '"overlay" is listed twice (items 0 and 1)',
  },
  {
    fixture: 'bad-names-and-lists.yaml', file: fixture('bad-names-and-lists.yaml'), line: 17, column: 20,
    path: 'cni.calico.ipPools[0].blockSize', message: 'expected a number from 20 to 32, got number 40',
  },
  {
    // A missing field is reported in the profile being built, where it would be added.
    fixture: 'incomplete.yaml', file: fixture('incomplete.yaml'), line: 1, column: 1,
    path: 'kubernetes.version', message: 'is required but not set in this profile or any profile it extends',
  },
  {
    fixture: 'image-md5-checksum.yaml', file: fixture('image-md5-checksum.yaml'), line: 5, column: 15,
    path: 'image.cloud.checksum', message: 'expected sha256:<64 hex digits> or file:<URL of a checksum list>, got "md5:0123456789abcdef0123456789abcdef"',
  },
  {
    fixture: 'image-ami-owner-name.yaml', file: fixture('image-ami-owner-name.yaml'), line: 5, column: 14,
    path: 'image.amazon.owners[0]', message: 'expected a 12-digit AWS account id, amazon, aws-marketplace or self, got "Canonical"',
  },
  // The GPU operator stacks and GPU sharing (gpu.stack, gpu.devicePlugin).
  {
    fixture: 'gpu-stack-problems.yaml', file: fixture('gpu-stack-problems.yaml'), line: 6, column: 11,
    path: 'gpu.devicePlugin.kind', message: 'gpu.stack gpu-operator installs NVIDIA\'s GPU operator, which brings the device plugin: set gpu.devicePlugin.kind to gpu-operator',
  },
  {
    fixture: 'gpu-stack-problems.yaml', file: shipped('centos.yaml'), line: shippedLine('centos.yaml', /^  cri: docker/), column: 8,
    path: 'runtime.cri', message: 'must be containerd with gpu.stack gpu-operator',
  },
  {
    fixture: 'manifest-unpinned.yaml', file: fixture('manifest-unpinned.yaml'), line: 5, column: 7,
    path: 'cni.manifests[0]', message: 'expected a pinned manifest, url: and sha256: (`labimg pin URL` prints the sha256 of what the URL serves now), got "https://raw.githubusercontent.com/projectcalico/calico/v3.31.7/manifests/tigera-operator.yaml"',
  },
  {
    fixture: 'gpu-stack-problems.yaml', file: fixture('gpu-stack-problems.yaml'), line: 11, column: 7,
    path: 'gpu.devicePlugin.timeSlicing', message: 'is for kind nvidia; with hami, set sharing in the values of the chart you template',
  },
  {
    fixture: 'gpu-operator-containerd1.yaml', file: shipped('base.yaml'), line: shippedLine('base.yaml', /^    configVersion: 2/), column: 20,
    path: 'runtime.containerd.configVersion', message: "must be 3 (containerd 2.x) with gpu.stack gpu-operator: containerd 1.x replaces labimg's whole CRI section",
  },
  {
    fixture: 'gpu-sharing-release.yaml', file: shipped('ubuntu-gpu.yaml'), line: shippedLine('ubuntu-gpu.yaml', /k8s-device-plugin\/v0\.17\.1/), column: 9,
    path: 'gpu.devicePlugin.manifests[0]', message: 'time-slicing and migStrategy are rendered into the static DaemonSet of v0.17.4, the release labimg\'s rendering reproduces; got v0.17.1',
  },
  {
    fixture: 'gpu-sharing-release.yaml', file: fixture('gpu-sharing-release.yaml'), line: 7, column: 25,
    path: 'gpu.devicePlugin.timeSlicing.resources["nvidia.com/gpu"]', message: 'expected at least 2 replicas (1 leaves the GPU unshared), got 1',
  },
  {
    fixture: 'gpu-sharing-typos.yaml', file: fixture('gpu-sharing-typos.yaml'), line: 7, column: 9,
    path: 'gpu.devicePlugin.timeSlicing.resources["nvidia.com/gpus"]', message: 'expected nvidia.com/gpu, or a resource of the mixed MIG strategy such as nvidia.com/mig-1g.5gb',
  },
  {
    fixture: 'gpu-sharing-typos.yaml', file: fixture('gpu-sharing-typos.yaml'), line: 8, column: 18,
    path: 'gpu.devicePlugin.migStrategy', message: 'expected one of "none", "single", "mixed", got "Mixed"; did you mean "mixed"?',
  },
];

for (const expected of cases) {
  test(`${expected.fixture}: ${expected.path || '(file)'} at ${expected.file}:${expected.line}`, (t) => {
    const findings = findingsOf(expected.fixture);
    const match = findings.find((finding) => finding.path === expected.path && finding.message.includes(expected.message));
    if (!match) {
      t.fail(`no finding for ${expected.path} containing ${JSON.stringify(expected.message)}; got:\n${formatFindings(findings)}`);
      return;
    }
    t.deepEqual({ file: match.file, line: match.line, column: match.column }, { file: expected.file, line: expected.line, column: expected.column });
  });
}

test('every problem of a stage is reported in one run', (t) => {
  const findings = findingsOf('many-problems.yaml');
  t.deepEqual(
    findings.map((finding) => [finding.line, finding.path]),
    [
      [4, 'host.selinux'],
      [6, 'kubernetes.prePullImages'],
      [7, 'kubernetes.serviceSubnett'],
    ],
  );
  t.regex(findings[2]?.message ?? '', /did you mean "serviceSubnet"\?/);
});

test('a profile that only states its distro is told every field it still needs', (t) => {
  const missing = findingsOf('incomplete.yaml').map((finding) => finding.path);
  t.deepEqual(missing, [
    'cni.manifests',
    'kubernetes.packages',
    'kubernetes.repository',
    'kubernetes.version',
    'repositories',
    'runtime.containerd.sandboxImage',
    'runtime.cri',
    'runtime.packages',
  ]);
});

test('a retired repository is reported without advice on its version format', (t) => {
  const paths = findingsOf('retired-google-repo.yaml').map((finding) => finding.path);
  t.deepEqual(paths, ['repositories.kubernetes.baseUrl', 'repositories.kubernetes.gpgKeys[0]']);
});

test('an extends cycle is reported whichever end is loaded', (t) => {
  const [fromA] = findingsOf('cycle-a.yaml');
  const [fromB] = findingsOf('cycle-b.yaml');
  t.is(fromA?.message, 'forms a cycle: cycle-a → cycle-b → cycle-a');
  t.is(fromB?.message, 'forms a cycle: cycle-b → cycle-a → cycle-b');
  t.is(fromB?.file, fixture('cycle-a.yaml'));
});

test('an unknown profile name suggests the closest one', (t) => {
  const error = t.throws(() => loadProfile('ubunt', { dir: profilesDir }), { instanceOf: ProfileError });
  t.is(error?.findings.length, 1);
  t.regex(error?.message ?? '', /no profile "ubunt" .*did you mean "ubuntu"\?/);
});

test('ProfileError reads as file:line:column: path: message, one finding per line', (t) => {
  const error = t.throws(() => loadProfile(path.join(fixturesDir, 'many-problems.yaml'), { dir: profilesDir }), { instanceOf: ProfileError });
  const file = fixture('many-problems.yaml');
  t.is(error?.message, formatFindings(error?.findings ?? []));
  t.is(
    error?.message.split('\n')[0],
    `${file}:4:12: host.selinux: expected one of "permissive", "disabled", "unchanged", got "enforcing"`,
  );
});

test('formatFindings leaves out the path of a whole-file finding', (t) => {
  t.is(
    formatFindings([
      { file: 'profiles/x.yaml', line: 12, column: 3, path: 'kubernetes.podSubnet', message: 'expected an IPv4 CIDR such as 10.244.0.0/16, got "10.244.0.0/33"' },
      { file: 'profiles/y.yaml', line: 1, column: 1, path: '', message: 'the file is empty; a profile needs at least a description' },
    ]),
    'profiles/x.yaml:12:3: kubernetes.podSubnet: expected an IPv4 CIDR such as 10.244.0.0/16, got "10.244.0.0/33"\n' +
      'profiles/y.yaml:1:1: the file is empty; a profile needs at least a description',
  );
});
