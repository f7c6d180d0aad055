import path from 'node:path';
import test from 'ava';
import { formatPath, type Location, type PathSegment } from '../builder/profiles/findings';
import { loadProfile, type Profile } from '../builder/profiles';
import { checkSemantics, SEMANTIC_RULES } from '../builder/profiles/semantic';

const profilesDir = path.resolve(__dirname, '..', 'profiles');
const nowhere = (_path: readonly PathSegment[]): Location => ({ file: 'test', line: 1, column: 1 });

/** A shipped profile, changed the way a person might get it wrong. */
function changed(name: string, change: (profile: Profile) => void): Profile {
  const profile = structuredClone(loadProfile(name, { dir: profilesDir }));
  change(profile);
  return profile;
}

test('the shipped profiles pass every rule', (t) => {
  for (const name of ['centos', 'centos-gpu', 'debian12', 'debian12-gpu', 'debian13', 'debian13-gpu', 'flatcar', 'rocky9', 'rocky9-gpu', 'ubuntu', 'ubuntu-gpu', 'ubuntu1804', 'ubuntu2204', 'ubuntu2204-gpu', 'ubuntu2404', 'ubuntu2404-gpu']) {
    t.deepEqual(checkSemantics(loadProfile(name, { dir: profilesDir }), nowhere), [], name);
  }
});

test('every rule has a name', (t) => {
  t.true(SEMANTIC_RULES.length >= 10);
  t.true(SEMANTIC_RULES.every((rule) => rule.name.length > 0));
});

interface Case {
  title: string;
  profile: Profile;
  path: PathSegment[];
  message: string;
}

const cases: Case[] = [
  {
    title: 'a deb repository that names a .repo file',
    profile: changed('ubuntu', (p) => {
      p.repositories.kubernetes!.file = 'sources';
    }),
    path: ['repositories', 'kubernetes', 'file'],
    message: 'is for rpm repositories; each deb repository gets its own list file',
  },
  {
    title: 'a deb repository with repoGpgCheck',
    profile: changed('ubuntu', (p) => {
      p.repositories.kubernetes!.repoGpgCheck = true;
    }),
    path: ['repositories', 'kubernetes', 'repoGpgCheck'],
    message: "is for rpm repositories; apt always checks the signature of a repository's Release file",
  },
  {
    title: 'repoGpgCheck without a key',
    profile: changed('centos-gpu', (p) => {
      p.repositories['nvidia-container-toolkit']!.gpgKeys = [];
    }),
    path: ['repositories', 'nvidia-container-toolkit', 'gpgKeys'],
    message: 'is empty but repoGpgCheck is on: list the key that signs the repository metadata',
  },
  {
    title: 'a yum.kubernetes.io repository',
    profile: changed('centos', (p) => {
      p.repositories.kubernetes!.baseUrl = 'https://yum.kubernetes.io/repos/kubernetes-el7-x86_64';
    }),
    path: ['repositories', 'kubernetes', 'baseUrl'],
    message: 'yum.kubernetes.io and the other Google-hosted Kubernetes package repositories shut down on 2024-03-04; use https://pkgs.k8s.io/core:/stable:/v1.23/rpm/',
  },
  {
    title: 'Docker as the CRI without daemon settings',
    profile: changed('centos', (p) => {
      delete p.runtime.docker;
    }),
    path: ['runtime', 'docker'],
    message: 'is required when runtime.cri is docker',
  },
  {
    title: 'a repository that checks signatures without keys',
    profile: changed('ubuntu', (p) => {
      p.repositories.docker!.gpgKeys = [];
    }),
    path: ['repositories', 'docker', 'gpgKeys'],
    message: 'is empty but gpgCheck is on',
  },
  {
    title: 'an rpm repository with a suite',
    profile: changed('centos', (p) => {
      p.repositories['docker-ce']!.suite = 'stable';
    }),
    path: ['repositories', 'docker-ce', 'suite'],
    message: 'is for deb repositories; yum repositories have none',
  },
  {
    title: 'a deb repository with an rpm exclude list',
    profile: changed('ubuntu', (p) => {
      p.repositories.kubernetes!.exclude = ['kubeadm'];
    }),
    path: ['repositories', 'kubernetes', 'exclude'],
    message: 'is for rpm repositories',
  },
  {
    title: 'a flat deb repository with components',
    profile: changed('ubuntu', (p) => {
      p.repositories.kubernetes!.components = ['main'];
    }),
    path: ['repositories', 'kubernetes', 'components'],
    message: 'must be empty: suite "/" is a flat repository',
  },
  {
    title: 'a deb suite without components',
    profile: changed('ubuntu', (p) => {
      p.repositories.docker!.components = [];
    }),
    path: ['repositories', 'docker', 'components'],
    message: 'must list at least one component',
  },
  {
    title: 'no kubeadm among the Kubernetes packages',
    profile: changed('ubuntu', (p) => {
      delete p.kubernetes.packages.kubeadm;
    }),
    path: ['kubernetes', 'packages'],
    message: 'must include kubeadm, kubelet, kubectl; missing: kubeadm',
  },
  {
    title: 'an unpinned kubelet',
    profile: changed('ubuntu', (p) => {
      p.kubernetes.packages.kubelet = null;
    }),
    path: ['kubernetes', 'packages', 'kubelet'],
    message: 'is not pinned; pin it to "1.28.15-1.1"',
  },
  {
    title: 'Calico settings with another plugin',
    profile: changed('ubuntu', (p) => {
      p.cni.plugin = 'flannel';
    }),
    path: ['cni', 'calico'],
    message: 'only applies to plugin: calico, but plugin is flannel',
  },
  {
    title: 'a CNI plugin without manifests',
    profile: changed('ubuntu', (p) => {
      p.cni.manifests = [];
    }),
    path: ['cni', 'manifests'],
    message: 'must list the manifests that install calico',
  },
  {
    title: 'Calico blocks larger than their pool',
    profile: changed('ubuntu', (p) => {
      p.cni.calico!.ipPools[0]!.blockSize = 20;
      p.kubernetes.podSubnet = '10.244.0.0/24';
    }),
    path: ['cni', 'calico', 'ipPools', 0, 'blockSize'],
    message: '/20 blocks do not fit in the pool 10.244.0.0/24',
  },
  {
    title: 'a Calico registry without the trailing slash the operator needs',
    profile: changed('ubuntu', (p) => {
      p.cni.calico!.registry = 'quay.io';
    }),
    path: ['cni', 'calico', 'registry'],
    message: 'expected a registry ending in "/", such as quay.io/, got "quay.io"',
  },
  {
    title: 'a Node.js URL of another version',
    profile: changed('ubuntu', (p) => {
      p.agent.nodeRuntime.version = '16.20.1';
    }),
    path: ['agent', 'nodeRuntime', 'url'],
    message: 'is not a tarball of Node.js 16.20.1',
  },
  {
    title: 'official Node.js 20 on Ubuntu 18.04',
    profile: changed('ubuntu1804', (p) => {
      p.agent.nodeRuntime = { ...p.agent.nodeRuntime, version: '20.18.0', url: 'https://nodejs.org/dist/v20.18.0/node-v20.18.0-linux-x64.tar.xz', sha256: 'a'.repeat(64) };
    }),
    path: ['agent', 'nodeRuntime', 'version'],
    message: 'but ubuntu 18.04 has glibc 2.27',
  },
  {
    title: 'a Node.js 16 older than 16.9, which the agent bundle is built for',
    profile: changed('ubuntu', (p) => {
      p.agent.nodeRuntime = { ...p.agent.nodeRuntime, version: '16.8.0', url: 'https://nodejs.org/dist/v16.8.0/node-v16.8.0-linux-x64.tar.xz', sha256: 'a'.repeat(64) };
    }),
    path: ['agent', 'nodeRuntime', 'version'],
    message: 'Node.js 16.8.0 is older than the 16.9 the agent runs on',
  },
  {
    title: "Node.js from Ubuntu 22.04's own package, which is 12",
    profile: changed('ubuntu2204', (p) => {
      p.agent.nodeRuntime.source = 'package';
    }),
    path: ['agent', 'nodeRuntime', 'source'],
    message: "ubuntu 22.04's nodejs package is Node.js 12.22.9, older than the 16.9 the agent runs on: use source: tarball",
  },
  {
    title: 'Node.js from a package on Flatcar, which has no package manager',
    profile: changed('flatcar', (p) => {
      p.agent.nodeRuntime.source = 'package';
    }),
    path: ['agent', 'nodeRuntime', 'source'],
    message: 'installs no packages (os.packageManager none): use source: tarball',
  },
  {
    title: 'binaries on an OS with a package manager',
    profile: changed('ubuntu', (p) => {
      p.kubernetes.binaries = { url: 'https://dl.k8s.io/release/v1.28.15/bin/linux/amd64', sha256: { kubeadm: 'a'.repeat(64), kubelet: 'b'.repeat(64), kubectl: 'c'.repeat(64) } };
    }),
    path: ['kubernetes', 'binaries'],
    message: 'is for an OS without a package manager; on apt, kubelet, kubeadm and kubectl come from kubernetes.packages',
  },
  {
    title: 'a repository on an OS without a package manager',
    profile: changed('flatcar', (p) => {
      p.repositories.kubernetes = { name: 'k', baseUrl: 'https://pkgs.k8s.io/core:/stable:/v1.32/deb/', gpgKeys: [], gpgCheck: false, suite: '/' };
    }),
    path: ['repositories', 'kubernetes'],
    message: 'os.packageManager is none, so nothing installs packages: remove this repository',
  },
  {
    title: 'runtime packages on an OS without a package manager',
    profile: changed('flatcar', (p) => {
      p.runtime.packages = { 'containerd.io': null };
    }),
    path: ['runtime', 'packages'],
    message: 'the OS brings its container runtime',
  },
  {
    title: 'Docker as the CRI on Flatcar',
    profile: changed('flatcar', (p) => {
      p.runtime.cri = 'docker';
      p.runtime.docker = { cgroupDriver: 'systemd', registryMirrors: [] };
    }),
    path: ['runtime', 'cri'],
    message: 'must be containerd where os.packageManager is none',
  },
  {
    title: 'a firewall to turn off on Flatcar',
    profile: changed('flatcar', (p) => {
      p.host.disableFirewall = true;
    }),
    path: ['host', 'disableFirewall'],
    message: 'runs no firewalld or ufw to turn off',
  },
  {
    title: 'binaries of another Kubernetes version',
    profile: changed('flatcar', (p) => {
      p.kubernetes.binaries!.url = 'https://dl.k8s.io/release/v1.31.4/bin/linux/amd64';
    }),
    path: ['kubernetes', 'binaries', 'url'],
    message: 'does not name kubernetes.version 1.32.11: expected a folder such as https://dl.k8s.io/release/v1.32.11/bin/linux/amd64',
  },
  {
    title: "a sandbox image other than kubeadm's pause",
    profile: changed('debian12', (p) => {
      p.runtime.containerd.sandboxImage = 'registry.k8s.io/pause:3.8';
    }),
    path: ['runtime', 'containerd', 'sandboxImage'],
    message: 'kubeadm 1.35 uses pause:3.10.1, so the sandbox image should be pause:3.10.1 too',
  },
  {
    title: 'config version 3 on a pinned containerd 1.7',
    profile: changed('ubuntu', (p) => {
      p.runtime.packages['containerd.io'] = '1.7.28-1~ubuntu.20.04~focal';
      p.runtime.containerd.configVersion = 3;
    }),
    path: ['runtime', 'containerd', 'configVersion'],
    message: "config version 3 is containerd 2.x's layout, but runtime.packages pins containerd.io 1.7.28-1~ubuntu.20.04~focal (containerd 1.7.28), which reads version 2 at most",
  },
  {
    title: "Debian's containerd 1.6.20 on Kubernetes 1.29",
    profile: changed('debian12', (p) => {
      p.kubernetes.version = '1.29.15';
      p.runtime.packages.containerd = '1.6.20~ds1-1+deb12u1';
    }),
    path: ['runtime', 'packages', 'containerd'],
    message: 'containerd 1.6.20 is not one containerd recommends for Kubernetes 1.29: use 1.6.27+ or 1.7.11+',
  },
  // Why debian12 and debian13 take Docker's containerd.io: each distro's own is too old for Kubernetes 1.35.
  ...(
    [
      ['debian12', '1.6.20~ds1-1+deb12u3', '1.6.20'],
      ['debian13', '1.7.24~ds1-6+deb13u1', '1.7.24'],
    ] as const
  ).map(([name, pin, upstream]) => ({
    title: `${name}'s own containerd ${upstream} on its Kubernetes 1.35`,
    profile: changed(name, (p) => {
      delete p.runtime.packages['containerd.io'];
      p.runtime.packages.containerd = pin;
      p.runtime.containerd.configVersion = 2;
    }),
    path: ['runtime', 'packages', 'containerd'],
    message: `containerd ${upstream} is not one containerd recommends for Kubernetes 1.35: use 1.7.28+, 2.1.5+ or 2.2.0+`,
  })),
  {
    title: 'HAMi as the device plugin without the gpu=on label',
    profile: changed('ubuntu2404-gpu', (p) => {
      p.gpu!.devicePlugin!.kind = 'hami';
    }),
    path: ['gpu', 'nodeLabels'],
    message: 'HAMi runs its device plugin only on nodes labelled gpu=on, which GPU nodes register with: add gpu: "on"',
  },
];

for (const { title, profile, path: fieldPath, message } of cases) {
  test(`finds ${title}`, (t) => {
    const findings = checkSemantics(profile, nowhere);
    const atPath = findings.filter((finding) => finding.path === formatPath(fieldPath));
    t.true(atPath.length > 0, `no finding at ${formatPath(fieldPath)}; got ${JSON.stringify(findings)}`);
    t.true(atPath.some((finding) => finding.message.includes(message)), atPath.map((finding) => finding.message).join('\n'));
  });
}

test('a site sandbox image of its own name, and a mirror of pause with the right tag, pass', (t) => {
  for (const image of ['registry.example.com/infra/sandbox:1.0', 'registry.aliyuncs.com/google_containers/pause:3.10.1']) {
    const profile = changed('debian12', (p) => {
      p.runtime.containerd.sandboxImage = image;
    });
    t.deepEqual(checkSemantics(profile, nowhere), [], image);
  }
});

test('HAMi with the gpu=on label and its helm template output pinned by sha256 passes', (t) => {
  const profile = changed('ubuntu2404-gpu', (p) => {
    p.gpu!.devicePlugin!.kind = 'hami';
    p.gpu!.devicePlugin!.manifests = [{ url: 'https://files.example/hami/v2.6.1/hami.yaml', sha256: 'a'.repeat(64) }];
    p.gpu!.nodeLabels.gpu = 'on';
  });
  t.deepEqual(checkSemantics(profile, nowhere), []);
});

test('an unofficial glibc-217 build of newer Node.js is allowed on CentOS 7', (t) => {
  const profile = changed('centos', (p) => {
    p.agent.nodeRuntime.version = '18.20.4';
    p.agent.nodeRuntime.url = 'https://unofficial-builds.nodejs.org/download/release/v18.20.4/node-v18.20.4-linux-x64-glibc-217.tar.xz';
  });
  t.deepEqual(checkSemantics(profile, nowhere), []);
});
