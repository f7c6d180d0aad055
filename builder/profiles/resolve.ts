/**
 * The merged, schema-checked document → a typed Profile with every default filled in.
 *
 * Runs only after both schema passes found nothing, so shapes and required fields are known to be
 * right; this module's job is the defaults (written once, here, matching `default` in schema.json)
 * and the derived fields.
 */
import type { PinnedManifest } from '../../contract/agent-config';
import { familyOfPackageManager } from '../../contract/os-families';
import type { FileRule, MirrorSpec, RegistryRule } from '../mirrors/types';
import type { PlainValue } from './tree';
import type { GpuStack, ImageSources, NodeNaming, PackageManager, PackageSet, Profile, ProfileRepository } from './types';

type Fields = { [key: string]: PlainValue };

// The schema guarantees these shapes; the casts only tell TypeScript what ajv already checked.
const fields = (value: PlainValue | undefined): Fields => (value ?? {}) as Fields;
const strings = (value: PlainValue | undefined): string[] => [...((value ?? []) as string[])];

function packageSet(value: PlainValue | undefined): PackageSet {
  return { ...(fields(value) as PackageSet) };
}

function stringMap(value: PlainValue | undefined): Record<string, string> {
  // sysctl values may be written as numbers (net.ipv4.ip_forward: 1); the node gets text either way.
  return Object.fromEntries(Object.entries(fields(value)).map(([key, item]) => [key, String(item)]));
}

function repository(id: string, value: PlainValue | undefined): ProfileRepository {
  const spec = fields(value);
  const repo: ProfileRepository = {
    name: (spec.name as string | undefined) ?? id,
    baseUrl: spec.baseUrl as string,
    gpgKeys: strings(spec.gpgKeys),
    gpgCheck: (spec.gpgCheck as boolean | undefined) ?? true,
  };
  if (spec.suite !== undefined) repo.suite = spec.suite as string;
  if (spec.components !== undefined) repo.components = strings(spec.components);
  if (spec.exclude !== undefined) repo.exclude = strings(spec.exclude);
  if (spec.repoGpgCheck !== undefined) repo.repoGpgCheck = spec.repoGpgCheck as boolean;
  if (spec.file !== undefined) repo.file = spec.file as string;
  return repo;
}

function runtime(value: PlainValue | undefined): Profile['runtime'] {
  const spec = fields(value);
  const containerd = fields(spec.containerd);
  const resolved: Profile['runtime'] = {
    cri: spec.cri as Profile['runtime']['cri'],
    packages: packageSet(spec.packages),
    removePackages: strings(spec.removePackages),
    containerd: {
      configVersion: containerd.configVersion as 2 | 3,
      sandboxImage: containerd.sandboxImage as string,
      systemdCgroup: containerd.systemdCgroup as boolean,
      registryMirrors: Object.fromEntries(Object.entries(fields(containerd.registryMirrors)).map(([host, urls]) => [host, strings(urls)])),
    },
  };
  if (spec.docker !== undefined) {
    const docker = fields(spec.docker);
    resolved.docker = {
      cgroupDriver: docker.cgroupDriver as 'systemd' | 'cgroupfs',
      registryMirrors: strings(docker.registryMirrors),
    };
  }
  return resolved;
}

/** A list of manifests, each a URL with its sha256 (the schema requires both). */
function pinnedManifests(value: PlainValue | undefined): PinnedManifest[] {
  return ((value ?? []) as PlainValue[]).map((entry) => {
    const pinned = fields(entry);
    return { url: pinned.url as string, sha256: pinned.sha256 as string };
  });
}

function cni(value: PlainValue | undefined): Profile['cni'] {
  const spec = fields(value);
  const resolved: Profile['cni'] = { plugin: spec.plugin as Profile['cni']['plugin'], manifests: pinnedManifests(spec.manifests) };
  if (spec.calico !== undefined) {
    const calico = fields(spec.calico);
    const pools = (calico.ipPools as Fields[]).map((pool) => {
      const resolvedPool: NonNullable<Profile['cni']['calico']>['ipPools'][number] = {
        encapsulation: pool.encapsulation as NonNullable<Profile['cni']['calico']>['ipPools'][number]['encapsulation'],
        blockSize: (pool.blockSize as number | undefined) ?? 26,
      };
      if (pool.cidr !== undefined) resolvedPool.cidr = pool.cidr as string;
      return resolvedPool;
    });
    resolved.calico = { ipPools: pools };
    if (calico.registry !== undefined) resolved.calico.registry = calico.registry as string;
  }
  return resolved;
}

function image(value: PlainValue | undefined): ImageSources | undefined {
  if (value === undefined) return undefined;
  const spec = fields(value);
  const sources: ImageSources = { sshUsername: spec.sshUsername as string };
  if (spec.cloud !== undefined) {
    const cloud = fields(spec.cloud);
    sources.cloud = { url: cloud.url as string, checksum: cloud.checksum as string };
  }
  if (spec.amazon !== undefined) {
    const amazon = fields(spec.amazon);
    sources.amazon = { amiName: amazon.amiName as string, owners: strings(amazon.owners) };
  }
  if (spec.netInstall !== undefined) {
    const net = fields(spec.netInstall);
    sources.netInstall = {};
    if (net.kernel !== undefined) sources.netInstall.kernel = net.kernel as string;
    if (net.initrd !== undefined) sources.netInstall.initrd = net.initrd as string;
    if (net.repo !== undefined) sources.netInstall.repo = net.repo as string;
    if (net.iso !== undefined) sources.netInstall.iso = net.iso as string;
    if (net.console !== undefined) sources.netInstall.console = net.console as string;
  }
  return sources;
}

function gpu(value: PlainValue | undefined): Profile['gpu'] {
  if (value === undefined) return undefined;
  const spec = fields(value);
  const resolved: NonNullable<Profile['gpu']> = {
    vendor: spec.vendor as 'nvidia',
    driverPackages: packageSet(spec.driverPackages),
    toolkitPackages: packageSet(spec.toolkitPackages),
    runtimeBinary: spec.runtimeBinary as string,
    nodeLabels: stringMap(spec.nodeLabels),
    // The schema's default: a GPU node whose GPUs cannot be used is not a node to join.
    onFailure: (spec.onFailure as 'fail' | 'cpu' | undefined) ?? 'fail',
    stack: (spec.stack as GpuStack | undefined) ?? 'labimg',
  };
  if (spec.supportedDevices !== undefined) resolved.supportedDevices = { deviceIds: strings(fields(spec.supportedDevices).deviceIds) };
  if (spec.nvidiaDriver !== undefined) {
    const driver = fields(spec.nvidiaDriver);
    resolved.nvidiaDriver = { modules: driver.modules as 'open' | 'proprietary', branch: String(driver.branch ?? 'latest') };
  }
  if (spec.kernelHeaders !== undefined) {
    const headers = fields(spec.kernelHeaders);
    resolved.kernelHeaders = { packages: strings(headers.packages), runningKernel: (headers.runningKernel as boolean | undefined) ?? false };
  }
  if (spec.devicePlugin !== undefined) {
    const plugin = fields(spec.devicePlugin);
    const devicePlugin: NonNullable<NonNullable<Profile['gpu']>['devicePlugin']> = { kind: plugin.kind as 'nvidia' | 'hami' | 'gpu-operator', manifests: pinnedManifests(plugin.manifests) };
    if (plugin.timeSlicing !== undefined) {
      const slicing = fields(plugin.timeSlicing);
      devicePlugin.timeSlicing = {
        renameByDefault: (slicing.renameByDefault as boolean | undefined) ?? false,
        resources: Object.fromEntries(Object.entries(fields(slicing.resources)).map(([name, replicas]) => [name, replicas as number])),
      };
    }
    if (plugin.migStrategy !== undefined) devicePlugin.migStrategy = plugin.migStrategy as 'none' | 'single' | 'mixed';
    resolved.devicePlugin = devicePlugin;
  }
  return resolved;
}

function mirror(value: PlainValue | undefined): MirrorSpec {
  if (value === undefined) return { preset: 'upstream', files: [], registries: {} };
  if (typeof value === 'string') return { preset: value as MirrorSpec['preset'], files: [], registries: {} };
  const spec = fields(value);
  const files = ((spec.files ?? []) as Fields[]).map((rule): FileRule => ({ from: rule.from as string, to: rule.to as string }));
  const registries = Object.fromEntries(
    Object.entries(fields(spec.registries)).map(([registry, rule]): [string, RegistryRule] => {
      const ruleFields = fields(rule);
      return [registry, { to: ruleFields.to as string, samePaths: (ruleFields.samePaths as boolean | undefined) ?? true }];
    }),
  );
  return { preset: spec.preset as MirrorSpec['preset'], files, registries };
}

function gracefulShutdown(value: PlainValue): NonNullable<Profile['kubernetes']['gracefulShutdown']> {
  const { seconds, criticalPodsSeconds } = fields(value);
  return { seconds: seconds as number, criticalPodsSeconds: criticalPodsSeconds as number };
}

function kubernetesBinaries(value: PlainValue): NonNullable<Profile['kubernetes']['binaries']> {
  const spec = fields(value);
  const sha256 = fields(spec.sha256);
  return { url: spec.url as string, sha256: { kubeadm: sha256.kubeadm as string, kubelet: sha256.kubelet as string, kubectl: sha256.kubectl as string } };
}

export interface ProfileIdentity {
  name: string;
  file: string;
  description: string;
  extendsChain: string[];
}

export function resolveProfile(identity: ProfileIdentity, merged: PlainValue): Profile {
  const document = fields(merged);
  const os = fields(document.os);
  const host = fields(document.host);
  const kubernetes = fields(document.kubernetes);
  const nodeRuntime = fields(fields(document.agent).nodeRuntime);
  const packageManager = os.packageManager as PackageManager;

  const profile: Profile = {
    ...identity,
    os: { id: os.id as string, versionId: os.versionId as string, packageManager, family: familyOfPackageManager(packageManager) },
    agent: {
      nodeRuntime: {
        version: nodeRuntime.version as string,
        url: nodeRuntime.url as string,
        sha256: nodeRuntime.sha256 as string,
        source: (nodeRuntime.source as 'tarball' | 'package' | undefined) ?? 'tarball',
        package: (nodeRuntime.package as string | undefined) ?? 'nodejs',
      },
    },
    host: {
      disableFirewall: host.disableFirewall as boolean,
      selinux: (host.selinux as Profile['host']['selinux'] | undefined) ?? 'unchanged',
      disableSwap: host.disableSwap as boolean,
      kernelModules: strings(host.kernelModules),
      sysctls: stringMap(host.sysctls),
    },
    repositories: Object.fromEntries(Object.entries(fields(document.repositories)).map(([id, spec]) => [id, repository(id, spec)])),
    runtime: runtime(document.runtime),
    kubernetes: {
      version: kubernetes.version as string,
      ...(kubernetes.repository !== undefined ? { repository: kubernetes.repository as string } : {}),
      packages: packageSet(kubernetes.packages),
      ...(kubernetes.binaries !== undefined ? { binaries: kubernetesBinaries(kubernetes.binaries) } : {}),
      imageRepository: kubernetes.imageRepository as string,
      podSubnet: kubernetes.podSubnet as string,
      serviceSubnet: kubernetes.serviceSubnet as string,
      prePullImages: kubernetes.prePullImages as boolean,
      schedulableControlPlane: kubernetes.schedulableControlPlane as boolean,
      ...(kubernetes.gracefulShutdown !== undefined ? { gracefulShutdown: gracefulShutdown(kubernetes.gracefulShutdown) } : {}),
      ...(kubernetes.nodeName !== undefined ? { nodeName: kubernetes.nodeName as NodeNaming } : {}),
    },
    cni: cni(document.cni),
    mirror: mirror(document.mirror),
  };
  const imageSources = image(document.image);
  if (imageSources) profile.image = imageSources;
  const gpuSpec = gpu(document.gpu);
  if (gpuSpec) profile.gpu = gpuSpec;
  return profile;
}
