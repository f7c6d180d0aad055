/**
 * Profile → AgentConfig: everything version- and distro-specific is decided here, once, so the agent
 * on the node only carries it out.
 *
 * Pure and deterministic: the same profile always gives the same object with the same key order
 * (maps that have no meaningful order are sorted), so golden files and image hashes stay stable.
 * A profile holds no secrets, and neither does its AgentConfig.
 */
import {
  AGENT_CONFIG_VERSION,
  type AgentConfig,
  type CniSpec,
  type GpuSpec,
  type KubernetesBinary,
  type KubernetesSpec,
  type PinnedPackage,
  type Repository,
  type RuntimeSpec,
} from '../contract/agent-config';
import { OS_FAMILIES } from '../contract/os-families';
import { SHARED_PLUGIN_MANIFEST, sharedDevicePluginManifest, sharesGpus, STATIC_MANIFEST } from './nvidia-device-plugin';
import { nvidiaDriverInstall, supportedGpusFiles } from './nvidia-driver';
import type { NodeRuntime, PackageSet, Profile } from './profiles';
import { controlPlaneTaintsFor, criSocketFor, formatVersion, kubeadmApiVersionFor, parseKubernetesVersion, type KubernetesVersion } from './versions';

function sortedRecord<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Packages in the order the profile lists them; an empty version means "the newest available". */
function pinnedPackages(packages: PackageSet): PinnedPackage[] {
  return Object.entries(packages).map(([name, version]) => (version ? { name, version } : { name }));
}

function repositories(profile: Profile): Repository[] {
  const kind = OS_FAMILIES[profile.os.family].packageFormat;
  // The profile rules refuse repositories where nothing installs packages.
  if (kind === 'none') return [];
  return Object.entries(profile.repositories).map(([id, repo]) => {
    const repository: Repository = { id, name: repo.name, kind, baseUrl: repo.baseUrl, gpgKeys: [...repo.gpgKeys], gpgCheck: repo.gpgCheck };
    if (kind === 'deb') {
      repository.suite = repo.suite;
      repository.components = [...(repo.components ?? [])];
    } else {
      if (repo.exclude) repository.exclude = [...repo.exclude];
      if (repo.repoGpgCheck !== undefined) repository.repoGpgCheck = repo.repoGpgCheck;
      if (repo.file !== undefined) repository.file = repo.file;
    }
    return repository;
  });
}

/**
 * What an OS whose /usr is read-only (Flatcar) changes: /usr, /usr/local and /usr/libexec cannot be written,
 * so binaries live in /opt/bin and volume plugins under /opt/libexec, as Flatcar's own Kubernetes guide places
 * them; and its containerd.service reads /usr/share/containerd/config.toml unless a drop-in points it elsewhere.
 */
const READ_ONLY_USR = {
  binDir: '/opt/bin',
  volumePluginDir: '/opt/libexec/kubernetes/kubelet-plugins/volume/exec/',
} as const;

function runtime(profile: Profile): RuntimeSpec {
  const { cri, packages, removePackages, containerd, docker } = profile.runtime;
  const spec: RuntimeSpec = {
    cri,
    packages: pinnedPackages(packages),
    removePackages: [...removePackages],
    containerd: {
      configVersion: containerd.configVersion,
      sandboxImage: containerd.sandboxImage,
      systemdCgroup: containerd.systemdCgroup,
      registryMirrors: sortedRecord(Object.fromEntries(Object.entries(containerd.registryMirrors).map(([host, urls]) => [host, [...urls]]))),
      ...(OS_FAMILIES[profile.os.family].readOnlyUsr ? { configDropIn: true } : {}),
    },
  };
  if (docker) spec.docker = { cgroupDriver: docker.cgroupDriver, registryMirrors: [...docker.registryMirrors] };
  return spec;
}

function kubernetes(profile: Profile, version: KubernetesVersion): KubernetesSpec {
  const spec = profile.kubernetes;
  const kubeadmApiVersion = kubeadmApiVersionFor(version);
  if (!kubeadmApiVersion) throw new Error(`profile ${profile.name}: no kubeadm configuration API for Kubernetes ${spec.version}`);
  return {
    version: formatVersion(version),
    packages: pinnedPackages(spec.packages),
    kubeadmApiVersion,
    criSocket: criSocketFor(profile.runtime.cri, version),
    imageRepository: spec.imageRepository,
    ...(spec.dnsImageRepository !== undefined ? { dnsImageRepository: spec.dnsImageRepository } : {}),
    podSubnet: spec.podSubnet,
    serviceSubnet: spec.serviceSubnet,
    prePullImages: spec.prePullImages,
    schedulableControlPlane: spec.schedulableControlPlane,
    ...(spec.gracefulShutdown ? { gracefulShutdown: { ...spec.gracefulShutdown } } : {}),
    controlPlaneTaints: controlPlaneTaintsFor(version),
    ...(spec.binaries ? { binaries: kubernetesBinaries(spec.binaries) } : {}),
    ...(OS_FAMILIES[profile.os.family].readOnlyUsr ? { volumePluginDir: READ_ONLY_USR.volumePluginDir } : {}),
  };
}

function kubernetesBinaries(binaries: NonNullable<Profile['kubernetes']['binaries']>): KubernetesBinary[] {
  const base = binaries.url.replace(/\/+$/, '');
  return (['kubeadm', 'kubelet', 'kubectl'] as const).map((name) => ({ name, url: `${base}/${name}`, sha256: binaries.sha256[name], path: `${READ_ONLY_USR.binDir}/${name}` }));
}

function cni(profile: Profile): CniSpec {
  const { plugin, manifests, calico } = profile.cni;
  const spec: CniSpec = { plugin, manifests: manifests.map((entry) => ({ ...entry })) };
  if (calico) {
    spec.calicoInstallation = {
      ...(calico.registry !== undefined ? { registry: calico.registry } : {}),
      // A pool without a cidr follows the pod subnet, so changing podSubnet in a child profile moves Calico too.
      ipPools: calico.ipPools.map((pool) => ({ cidr: pool.cidr ?? profile.kubernetes.podSubnet, encapsulation: pool.encapsulation, blockSize: pool.blockSize })),
    };
  }
  return spec;
}

/**
 * With NVIDIA's GPU operator (gpu.stack) the operator's toolkit and device plugin take over, installed by the
 * control plane from the operator's pinned manifest (devicePlugin, kind gpu-operator): the node installs no toolkit,
 * and with `gpu-operator` no driver either (the operator's driver container brings it). Its toolkit arrives only
 * after the node joined, so the driver check looks for no runtime (agent/gpu/verify.ts), and labimg points
 * containerd at none.
 */
function devicePlugin(profile: Profile, plugin: NonNullable<NonNullable<Profile['gpu']>['devicePlugin']>): NonNullable<GpuSpec['devicePlugin']> {
  const manifests = plugin.manifests.map((entry) => ({ ...entry }));
  if (!sharesGpus(plugin)) return { kind: plugin.kind, manifests };
  // The static manifest is replaced by the same DaemonSet with the sharing config mounted (./nvidia-device-plugin.ts).
  return {
    kind: plugin.kind,
    manifests: manifests.filter((entry) => !STATIC_MANIFEST.test(entry.url)),
    files: [{ path: SHARED_PLUGIN_MANIFEST, content: sharedDevicePluginManifest(plugin, profile.manifestImageRegistries) }],
  };
}

function gpu(profile: Profile): GpuSpec | undefined {
  const spec = profile.gpu;
  if (!spec) return undefined;
  const operator = spec.stack !== 'labimg';
  const hostDriver = spec.stack !== 'gpu-operator';
  const driver = spec.nvidiaDriver && hostDriver ? nvidiaDriverInstall(profile.os.packageManager, spec.nvidiaDriver) : undefined;
  const compiled: GpuSpec = {
    vendor: spec.vendor,
    ...(driver?.moduleStream ? { driverModuleStream: driver.moduleStream } : {}),
    ...(spec.kernelHeaders && hostDriver ? { kernelHeaders: { packages: [...spec.kernelHeaders.packages], runningKernel: spec.kernelHeaders.runningKernel } } : {}),
    driverPackages: hostDriver ? [...(driver?.packages ?? []), ...pinnedPackages(spec.driverPackages)] : [],
    toolkitPackages: operator ? [] : pinnedPackages(spec.toolkitPackages),
    runtimeBinary: spec.runtimeBinary,
    // The operator labels GPU nodes itself (Node Feature Discovery, nvidia.com/gpu.present); with the host's driver
    // labimg's labels still follow its own check of the driver.
    nodeLabels: hostDriver ? sortedRecord(spec.nodeLabels) : {},
    onFailure: spec.onFailure,
  };
  if (operator) compiled.stack = spec.stack as NonNullable<GpuSpec['stack']>;
  const driverPackages = compiled.driverPackages;
  const jsonFiles = supportedGpusFiles(profile.os.packageManager, driverPackages, spec.nvidiaDriver !== undefined && hostDriver);
  if (hostDriver) {
    if (spec.supportedDevices) compiled.supportedDevices = { deviceIds: [...spec.supportedDevices.deviceIds] };
    else if (jsonFiles.length > 0) compiled.supportedDevices = { jsonFiles };
  }
  if (spec.devicePlugin) compiled.devicePlugin = devicePlugin(profile, spec.devicePlugin);
  return compiled;
}

/** The AgentConfig a node built from `profile` runs with. `profile` comes from loadProfile, which has checked it. */
export function compileAgentConfig(profile: Profile): AgentConfig {
  const version = parseKubernetesVersion(profile.kubernetes.version);
  if (!version) throw new Error(`profile ${profile.name}: invalid Kubernetes version "${profile.kubernetes.version}"`);
  const { os, host } = profile;
  const config: AgentConfig = {
    apiVersion: 'labimg.dev/v1',
    kind: 'AgentConfig',
    version: AGENT_CONFIG_VERSION,
    profile: profile.name,
    os: { family: os.family, id: os.id, versionId: os.versionId, packageManager: os.packageManager },
    host: {
      disableFirewall: host.disableFirewall,
      selinux: host.selinux,
      disableSwap: host.disableSwap,
      kernelModules: [...host.kernelModules],
      sysctls: sortedRecord(host.sysctls),
    },
    repositories: repositories(profile),
    runtime: runtime(profile),
    kubernetes: kubernetes(profile, version),
    cni: cni(profile),
  };
  const gpuSpec = gpu(profile);
  if (gpuSpec) config.gpu = gpuSpec;
  if (profile.manifestImageRegistries) config.manifestImageRegistries = sortedRecord(profile.manifestImageRegistries);
  return config;
}

/** How the node gets the Node.js the agent runs on; not part of AgentConfig, because it is needed before the agent can start. */
export function nodeRuntimeOf(profile: Profile): NodeRuntime {
  const { version, url, sha256, source, package: name } = profile.agent.nodeRuntime;
  const { packageManager } = profile.os;
  // The semantic rules refuse a package where there is no package manager.
  if (source === 'package' && packageManager !== 'none') return { source, name, packageManager };
  return { source: 'tarball', version, url, sha256 };
}
