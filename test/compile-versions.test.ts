import test from 'ava';
import {
  containerdConfigVersionFor,
  containerdShortfall,
  containerdVersionOfPackage,
  controlPlaneTaintsFor,
  criSocketFor,
  dockerNeedsCriDockerd,
  kubeadmApiVersionFor,
  kubeadmPauseTagFor,
  parseKubernetesVersion,
  PIN_FORMATS,
  pkgsK8sIoMinorOf,
  repoLayoutOf,
  type KubeadmApiVersion,
  type KubernetesVersion,
  type RepoLayout,
} from '../builder/versions';

function v(text: string): KubernetesVersion {
  const version = parseKubernetesVersion(text);
  if (!version) throw new Error(`test table holds an invalid version ${text}`);
  return version;
}

test('parseKubernetesVersion accepts only MAJOR.MINOR.PATCH of Kubernetes 1.x', (t) => {
  t.deepEqual(parseKubernetesVersion('1.28.15'), { major: 1, minor: 28, patch: 15 });
  for (const bad of ['v1.28.15', '1.28', '1.28.15-rc.0', '2.0.0', ' 1.28.15', '1.28.x', '']) {
    t.is(parseKubernetesVersion(bad), undefined, bad);
  }
});

const kubeadmApi: Array<[string, KubeadmApiVersion | undefined]> = [
  ['1.21.14', undefined],
  ['1.22.0', 'kubeadm.k8s.io/v1beta3'],
  ['1.23.3', 'kubeadm.k8s.io/v1beta3'],
  ['1.30.14', 'kubeadm.k8s.io/v1beta3'],
  ['1.31.0', 'kubeadm.k8s.io/v1beta4'],
  ['1.36.1', 'kubeadm.k8s.io/v1beta4'],
];
for (const [version, expected] of kubeadmApi) {
  test(`kubeadm API for ${version} is ${expected ?? 'refused'}`, (t) => {
    t.is(kubeadmApiVersionFor(v(version)), expected);
  });
}

const criSockets: Array<['containerd' | 'docker', string, string]> = [
  ['docker', '1.22.17', 'unix:///var/run/dockershim.sock'],
  ['docker', '1.23.3', 'unix:///var/run/dockershim.sock'],
  ['docker', '1.24.0', 'unix:///var/run/cri-dockerd.sock'],
  ['docker', '1.31.2', 'unix:///var/run/cri-dockerd.sock'],
  ['containerd', '1.23.3', 'unix:///var/run/containerd/containerd.sock'],
  ['containerd', '1.24.0', 'unix:///var/run/containerd/containerd.sock'],
  ['containerd', '1.31.2', 'unix:///var/run/containerd/containerd.sock'],
];
for (const [cri, version, socket] of criSockets) {
  test(`CRI socket for ${cri} on ${version}`, (t) => {
    t.is(criSocketFor(cri, v(version)), socket);
  });
}

test('Docker needs cri-dockerd from 1.24, when dockershim left the kubelet', (t) => {
  t.false(dockerNeedsCriDockerd(v('1.23.17')));
  t.true(dockerNeedsCriDockerd(v('1.24.0')));
});

const taints: Array<[string, string[]]> = [
  ['1.22.0', ['node-role.kubernetes.io/master']],
  ['1.23.3', ['node-role.kubernetes.io/master']],
  ['1.24.0', ['node-role.kubernetes.io/master', 'node-role.kubernetes.io/control-plane']],
  ['1.24.17', ['node-role.kubernetes.io/master', 'node-role.kubernetes.io/control-plane']],
  ['1.25.0', ['node-role.kubernetes.io/control-plane']],
  ['1.28.15', ['node-role.kubernetes.io/control-plane']],
];
for (const [version, keys] of taints) {
  test(`control-plane taints on ${version}`, (t) => {
    t.deepEqual(controlPlaneTaintsFor(v(version)), keys);
  });
}

const layouts: Array<[string, 'rpm' | 'deb', RepoLayout | undefined]> = [
  ['https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64/', 'rpm', 'legacy-rpm'],
  ['https://packages.cloud.google.com/yum/repos/kubernetes-el7-$basearch', 'rpm', 'legacy-rpm'],
  ['https://apt.kubernetes.io/', 'deb', 'legacy-deb'],
  ['https://mirrors.aliyun.com/kubernetes/apt/', 'deb', 'legacy-deb'],
  ['https://pkgs.k8s.io/core:/stable:/v1.28/deb/', 'deb', 'pkgs-deb'],
  ['https://pkgs.k8s.io/core:/stable:/v1.30/rpm/', 'rpm', 'pkgs-rpm'],
  ['https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.30/rpm/', 'rpm', 'pkgs-rpm'],
  ['https://download.docker.com/linux/ubuntu', 'deb', undefined],
];
for (const [url, kind, layout] of layouts) {
  test(`repository layout of ${url}`, (t) => {
    t.is(repoLayoutOf(url, kind), layout);
  });
}

test('pkgsK8sIoMinorOf reads the minor version from pkgs.k8s.io URLs and their mirrors', (t) => {
  t.is(pkgsK8sIoMinorOf('https://pkgs.k8s.io/core:/stable:/v1.28/deb/'), 28);
  t.is(pkgsK8sIoMinorOf('https://pkgs.k8s.io/core:/stable:/v1.28/deb/Release.key'), 28);
  t.is(pkgsK8sIoMinorOf('https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.30/rpm/'), 30);
  t.is(pkgsK8sIoMinorOf('https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64/'), undefined);
});

const pins: Array<[RepoLayout, string, string, boolean]> = [
  ['legacy-rpm', '1.23.3', '1.23.3-0', true],
  ['legacy-rpm', '1.23.3', '1.23.3-00', false],
  ['legacy-deb', '1.23.3', '1.23.3-00', true],
  ['legacy-deb', '1.23.3', '1.23.3-0', false],
  ['pkgs-deb', '1.28.15', '1.28.15-1.1', true],
  ['pkgs-deb', '1.28.15', '1.28.15-00', false],
  ['pkgs-deb', '1.28.15', '1.28.1-1.1', false],
  ['pkgs-rpm', '1.29.2', '1.29.2-150500.1.1', true],
  ['pkgs-rpm', '1.29.2', '1.29.2-1.1', false],
  // A dot in the version is literal, not "any character".
  ['pkgs-deb', '1.28.15', '1x28.15-1.1', false],
];
for (const [layout, version, pin, ok] of pins) {
  test(`${layout}: "${pin}" ${ok ? 'pins' : 'does not pin'} ${version}`, (t) => {
    t.is(PIN_FORMATS[layout].matches(pin, version), ok);
  });
}

test('each pin format example is a pin it accepts', (t) => {
  for (const [layout, format] of Object.entries(PIN_FORMATS)) {
    t.true(format.matches(format.example('1.28.15'), '1.28.15'), layout);
  }
  t.is(PIN_FORMATS['legacy-rpm'].example('1.23.3'), '1.23.3-0');
  t.is(PIN_FORMATS['legacy-deb'].example('1.23.3'), '1.23.3-00');
  t.is(PIN_FORMATS['pkgs-deb'].example('1.28.15'), '1.28.15-1.1');
  t.is(PIN_FORMATS['pkgs-rpm'].example('1.29.2'), '1.29.2-150500.1.1');
});

const pauseTags: Array<[string, string | undefined]> = [
  ['1.21.14', undefined],
  ['1.23.3', '3.6'],
  ['1.24.0', '3.7'],
  ['1.28.15', '3.9'],
  ['1.30.14', '3.9'],
  ['1.31.0', '3.10'],
  ['1.33.13', '3.10'],
  ['1.34.0', '3.10.1'],
  ['1.35.8', '3.10.1'],
  ['1.36.0', '3.10.2'],
];
for (const [version, tag] of pauseTags) {
  test(`kubeadm ${version} uses pause ${tag ?? '(not configured)'}`, (t) => {
    t.is(kubeadmPauseTagFor(v(version)), tag);
  });
}

test('the containerd version inside Debian, Ubuntu, Docker and rpm package versions', (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['1.7.28-1~ubuntu.24.04~noble', '1.7.28'],
    ['2.2.1-0ubuntu1~24.04.2', '2.2.1'],
    ['1.6.20~ds1-1+deb12u1', '1.6.20'],
    ['1.7.28-1.el9', '1.7.28'],
    ['1:2.1.5-1.el9', '2.1.5'],
    ['1.7', undefined],
    ['latest', undefined],
  ];
  for (const [pin, expected] of cases) {
    const version = containerdVersionOfPackage(pin);
    t.is(version && `${version.major}.${version.minor}.${version.patch}`, expected, pin);
  }
});

test('containerd 1.x reads config version 2 at most; 2.0 is the first to read 3', (t) => {
  t.is(containerdConfigVersionFor(containerdVersionOfPackage('1.7.30')!), 2);
  t.is(containerdConfigVersionFor(containerdVersionOfPackage('2.0.0')!), 3);
});

// [containerd, kubernetes, what containerd recommends instead (undefined: this one is recommended)]
const containerdSupport: Array<[string, string, string | undefined]> = [
  ['1.6.14', '1.26.0', '1.6.15+ or 1.7.0+'],
  ['1.6.15', '1.28.15', undefined],
  ['1.6.20', '1.28.15', undefined],
  ['1.6.20', '1.29.0', '1.6.27+ or 1.7.11+'],
  ['1.7.13', '1.30.14', undefined],
  ['1.7.13', '1.31.0', '1.6.34+, 1.7.20+, 2.0.0+ or 2.1.0+'],
  ['2.2.1', '1.30.14', undefined],
  ['1.7.27', '1.34.0', '1.6.39+, 1.7.28+, 2.0.6+ or 2.1.3+'],
  ['1.7.28', '1.35.8', undefined],
  ['2.0.6', '1.35.8', '1.7.28+, 2.1.5+ or 2.2.0+'],
  ['1.7.30', '1.36.0', '2.2.0+ or 2.3.0+'],
  ['2.3.4', '1.37.0', undefined],
  ['1.5.0', '1.25.0', undefined],
];
for (const [containerd, kubernetes, instead] of containerdSupport) {
  test(`containerd ${containerd} on Kubernetes ${kubernetes}: ${instead ? `use ${instead}` : 'recommended'}`, (t) => {
    t.is(containerdShortfall(containerdVersionOfPackage(containerd)!, v(kubernetes)), instead);
  });
}
