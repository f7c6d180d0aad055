/**
 * A profile once loaded: its `extends` chain merged, defaults filled in, every field typed.
 *
 * These types follow the YAML format (profiles/schema.json), not the AgentConfig contract: the profile
 * says what a person wants, and builder/compile.ts derives what the agent needs (the kubeadm API version,
 * the CRI socket, taints) from it.
 */

import type { CriName, KubernetesBinary, OsFamily, OsSpec, PinnedManifest, Repository } from '../../contract/agent-config';
import type { NvidiaDriverChoice } from '../nvidia-driver';
import type { MirrorSpec } from '../mirrors/types';

export type { CriName, OsFamily };
export type KubernetesBinaryName = KubernetesBinary['name'];
export type PackageManager = OsSpec['packageManager'];
export type CalicoEncapsulation = 'VXLANCrossSubnet' | 'VXLAN' | 'IPIP' | 'IPIPCrossSubnet' | 'None';

/** Package name → exact version in the distro's format, or null for the newest available. */
export type PackageSet = Record<string, string | null>;

/** The official tarball the agent runs on, as the profile names it (base.yaml for every profile). */
export interface NodeTarball {
  version: string;
  url: string;
  sha256: string;
}

/**
 * How the agent's Node.js reaches the node: the official tarball, checked by sha256, or the distro's own
 * package where the distro ships a Node.js the agent runs on (16 or later).
 */
export type NodeRuntime = ({ source: 'tarball' } & NodeTarball) | { source: 'package'; name: string; packageManager: 'apt' | 'dnf' | 'yum' };

/**
 * Where a node's operating system comes from, for the delivery paths that start from one: Packer bakes from a
 * cloud image or an AMI, PXE installs over the network. Each part is optional; a path whose part is missing
 * is not offered for the profile.
 */
export interface ImageSources {
  /** The user cloud images and AMIs of this distro boot with (centos, ubuntu, rocky, admin). */
  sshUsername: string;
  /** A cloud image (qcow2) and its checksum as Packer's qemu source takes it: "sha256:<hex>" or "file:<URL of a checksum list>". */
  cloud?: { url: string; checksum: string };
  /** The AMI to bake from on EC2: the newest one whose name matches `amiName` (wildcards allowed), owned by one of `owners`. */
  amazon?: { amiName: string; owners: string[] };
  /**
   * A network install: where the installer's kernel and initrd are downloaded from, and either the package
   * tree the RHEL installer installs from (`repo`, kickstart's `url --url`), the archive debian-installer
   * installs from (`repo`, its preseed's mirror), or the live ISO Ubuntu's installer loads (`iso`). Flatcar's
   * PXE image needs only its kernel and initrd. iPXE fetches copies of the kernel and initrd from the PXE base's assets/ over plain HTTP
   * (render/pxe/layout.ts). Ubuntu publishes its live installer's kernel and initrd only inside the ISO, so
   * they may be left out: then the PXE server serves copies extracted from the ISO.
   */
  /** console: the installer's serial console (console= on its kernel line), e.g. ttyS0,115200n8. */
  netInstall?: { kernel?: string; initrd?: string; repo?: string; iso?: string; console?: string };
}

/** A repository as a profile writes it: the map key is its id, and rpm or deb follows the package manager. */
export type ProfileRepository = Omit<Repository, 'id' | 'kind'>;

export type NodeNaming = 'hostname' | 'instance-id' | 'machine-id';

export interface Profile {
  /** The name users type: the file name without .yaml. */
  name: string;
  /** Absolute path of the profile's own file. */
  file: string;
  description: string;
  /** The profiles this one extends, nearest first. */
  extendsChain: string[];
  os: {
    id: string;
    versionId: string;
    packageManager: PackageManager;
    /** Derived from the package manager. */
    family: OsFamily;
  };
  /** With source `package` the distro's package is installed and the tarball is not used. */
  agent: { nodeRuntime: NodeTarball & { source: 'tarball' | 'package'; package: string } };
  /** Absent on profiles that name no base image (then no Packer template or PXE files are written for them). */
  image?: ImageSources;
  host: {
    disableFirewall: boolean;
    selinux: 'permissive' | 'disabled' | 'unchanged';
    disableSwap: boolean;
    kernelModules: string[];
    sysctls: Record<string, string>;
  };
  /** Keyed by id, in the order they are configured. */
  repositories: Record<string, ProfileRepository>;
  runtime: {
    cri: CriName;
    packages: PackageSet;
    removePackages: string[];
    containerd: {
      configVersion: 2 | 3;
      sandboxImage: string;
      systemdCgroup: boolean;
      registryMirrors: Record<string, string[]>;
    };
    docker?: {
      cgroupDriver: 'systemd' | 'cgroupfs';
      registryMirrors: string[];
    };
  };
  kubernetes: {
    version: string;
    /** Id of the entry in `repositories` that carries kubelet, kubeadm and kubectl; absent where there are none. */
    repository?: string;
    /** Empty where Kubernetes comes as binaries. */
    packages: PackageSet;
    /** Where there is no package manager (os.packageManager none): the binaries' folder URL and their sha256. */
    binaries?: { url: string; sha256: Record<KubernetesBinaryName, string> };
    imageRepository: string;
    /** CoreDNS's repository where kubeadm's default rule would get it wrong (set by a mirror that keeps registry.k8s.io's paths). */
    dnsImageRepository?: string;
    podSubnet: string;
    serviceSubnet: string;
    prePullImages: boolean;
    schedulableControlPlane: boolean;
    /** The kubelet's graceful node shutdown, cluster-wide; absent: off, as the kubelet's own default. */
    gracefulShutdown?: { seconds: number; criticalPodsSeconds: number };
    /** What a node without a given name is called (builder/node-naming.ts); hostname when absent. */
    nodeName?: NodeNaming;
  };
  cni: {
    plugin: 'calico' | 'flannel' | 'none';
    /** URLs pinned by sha256. */
    manifests: PinnedManifest[];
    calico?: {
      registry?: string;
      /** cidr is absent when it follows kubernetes.podSubnet. */
      ipPools: Array<{ cidr?: string; encapsulation: CalicoEncapsulation; blockSize: number }>;
    };
  };
  /** Where downloads come from: the preset and the profile's own rules (`upstream` and none when not given). */
  mirror: MirrorSpec;
  /**
   * Set by a mirror, never written in a profile: registries whose images move inside the addons' manifests,
   * registry → where they are pulled from instead (AgentConfig.manifestImageRegistries).
   */
  manifestImageRegistries?: Record<string, string>;
  gpu?: {
    vendor: 'nvidia';
    /** NVIDIA's driver from its CUDA repository (RHEL family), by kernel-module flavour and branch. */
    nvidiaDriver?: NvidiaDriverChoice;
    kernelHeaders?: { packages: string[]; runningKernel: boolean };
    driverPackages: PackageSet;
    toolkitPackages: PackageSet;
    runtimeBinary: string;
    nodeLabels: Record<string, string>;
    onFailure: 'fail' | 'cpu';
    supportedDevices?: { deviceIds: string[] };
    /** Who brings the toolkit and device plugin: labimg (the default), or NVIDIA's GPU operator, with its own driver or the host's. */
    stack: GpuStack;
    devicePlugin?: {
      kind: 'nvidia' | 'hami' | 'gpu-operator';
      /** URLs pinned by sha256 (a static manifest, a `helm template` output: HAMi's, the GPU operator's). */
      manifests: PinnedManifest[];
      /** NVIDIA's plugin: CUDA time-slicing, replicas per resource name. */
      timeSlicing?: { renameByDefault: boolean; resources: Record<string, number> };
      /** NVIDIA's plugin: how MIG devices are exposed. */
      migStrategy?: 'none' | 'single' | 'mixed';
    };
  };
}

export type GpuStack = 'labimg' | 'gpu-operator' | 'gpu-operator-with-host-driver';

/** What `listProfiles` tells about each file without loading its chain. */
export interface ProfileSummary {
  name: string;
  description: string;
  abstract: boolean;
  file: string;
}
