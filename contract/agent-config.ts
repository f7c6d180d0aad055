/**
 * The contract between the builder and the agent.
 *
 * The builder compiles a resolved profile into an AgentConfig; the agent reads nothing else. Everything
 * distro- or version-specific (repo URLs, pinned package strings, the kubeadm API version, the CRI socket)
 * is decided by the builder, so the agent's steps stay simple and the plan a user reviews is exact.
 *
 * Three files land on a node:
 *   /etc/labimg/agent.json    AgentConfig  — baked into images, identical on every node of a profile, no secrets
 *   /etc/labimg/node.json     NodeConfig   — per instance (user-data, kickstart, Ignition): role, pool, join target
 *   /etc/labimg/secrets.json  NodeSecrets  — per instance, mode 0600: bootstrap / enrollment tokens
 */

export const AGENT_CONFIG_VERSION = 1;

/**
 * PATH of the units that run the agent: systemd's default, then /opt/bin, where kubeadm, kubelet and kubectl
 * live on an OS whose /usr is read-only (Flatcar). Last, so a distro's own binaries always win.
 */
export const AGENT_UNIT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/bin';

/** flatcar: image-based, read-only /usr, no package manager, containerd built in. */
export type OsFamily = 'rhel' | 'debian' | 'flatcar';
export type Role = 'control-plane' | 'worker';
export const ROLES: readonly Role[] = ['control-plane', 'worker'];
export type Phase = 'bake' | 'boot';

export interface AgentConfig {
  apiVersion: 'labimg.dev/v1';
  kind: 'AgentConfig';
  /** Bumped on any incompatible change; the agent refuses versions it does not know. */
  version: typeof AGENT_CONFIG_VERSION;
  /** The profile this was compiled from, for logs and reports. */
  profile: string;
  os: OsSpec;
  host: HostSpec;
  /** Package repositories to configure, in order, before any package is installed. */
  repositories: Repository[];
  runtime: RuntimeSpec;
  kubernetes: KubernetesSpec;
  cni: CniSpec;
  /** Present when the profile prepares GPU nodes; absent on CPU-only profiles. */
  gpu?: GpuSpec;
  /**
   * Registries whose images, where the CNI and device plugin manifests name them, are pulled from another
   * registry: registry host (docker.io, quay.io) → the registry and path to pull from instead
   * (quay.m.daocloud.io, registry.example.cn/quay). The control plane rewrites those references before it
   * creates the manifests. Set by a mirror only where the runtime cannot pull a registry through a mirror
   * itself: Docker mirrors Docker Hub alone, and a copy under another path is no pull-through mirror.
   */
  manifestImageRegistries?: Record<string, string>;
}

export interface OsSpec {
  family: OsFamily;
  /** os-release ID the profile targets, e.g. "centos", "ubuntu". The agent warns on a mismatch. */
  id: string;
  /** os-release VERSION_ID, e.g. "7", "20.04". */
  versionId: string;
  /** none: an image-based OS (Flatcar); Kubernetes then comes as binaries (KubernetesSpec.binaries). */
  packageManager: 'yum' | 'dnf' | 'apt' | 'none';
}

export interface HostSpec {
  /** Stop and disable the distro firewall (firewalld on RHEL, ufw on Debian/Ubuntu). */
  disableFirewall: boolean;
  /** SELinux mode to enforce now (setenforce) and at boot (/etc/selinux/config). Ignored on Debian family. */
  selinux: 'permissive' | 'disabled' | 'unchanged';
  /** Turn swap off now and comment out swap entries in /etc/fstab. */
  disableSwap: boolean;
  /** Loaded now (modprobe) and persisted (/etc/modules-load.d/labimg.conf). */
  kernelModules: string[];
  /** Written to /etc/sysctl.d/99-labimg-kubernetes.conf and applied now (sysctl --system). */
  sysctls: Record<string, string>;
}

export interface Repository {
  /** Short id, also the file name: /etc/yum.repos.d/<id>.repo or /etc/apt/sources.list.d/<id>.list. */
  id: string;
  name: string;
  kind: 'rpm' | 'deb';
  baseUrl: string;
  /** Signing keys (URLs). rpm: listed in gpgkey=. deb: fetched and dearmored to /etc/apt/keyrings/<id>.gpg. */
  gpgKeys: string[];
  gpgCheck: boolean;
  /** deb only: suite and components, e.g. "kubernetes-xenial" ["main"]; a flat repo uses suite "/" and none. */
  suite?: string;
  components?: string[];
  /** rpm only: packages excluded from normal updates (installed with --disableexcludes=<id>). */
  exclude?: string[];
  /**
   * rpm only: check the signature of the repository's metadata (repo_gpgcheck). NVIDIA's own repository file
   * sets it, with gpgcheck off, because EL7's rpm cannot verify the subkey its packages are signed with.
   */
  repoGpgCheck?: boolean;
  /**
   * rpm only: the .repo file under /etc/yum.repos.d it is written to, without ".repo"; the id when absent.
   * Repositories naming the same file are written together and replace it whole: how a profile replaces the
   * distro's own repositories (CentOS-Base.repo) once the mirrors they name are gone.
   */
  file?: string;
}

/** A package at an exact version string in the distro's own format (rpm "1.23.3-0", deb "1.23.3-00"). */
export interface PinnedPackage {
  name: string;
  version?: string;
}

export type CriName = 'containerd' | 'docker';

export interface RuntimeSpec {
  /** The runtime the kubelet talks to. Docker means dockershim (<= 1.23) or cri-dockerd (>= 1.24). */
  cri: CriName;
  /** Packages that provide the runtime(s), e.g. docker-ce, docker-ce-cli, containerd.io. */
  packages: PinnedPackage[];
  /** Packages removed first (the seed lab removes stale Docker packages). */
  removePackages: string[];
  /** containerd is configured whenever it is installed: Docker >= 20.10 runs on it too. */
  containerd: ContainerdSpec;
  /** Present when Docker Engine is installed; its daemon.json settings. */
  docker?: DockerSpec;
}

export interface ContainerdSpec {
  /** config.toml schema: 2 for containerd 1.x, 3 for 2.x. */
  configVersion: 2 | 3;
  sandboxImage: string;
  systemdCgroup: boolean;
  /** Registry host → mirror endpoints, written as /etc/containerd/certs.d/<host>/hosts.toml. */
  registryMirrors: Record<string, string[]>;
  /**
   * The distro's containerd.service reads a config of its own (Flatcar: /usr/share/containerd/config.toml,
   * read-only): a drop-in points it at /etc/containerd/config.toml, the file the agent writes.
   */
  configDropIn?: boolean;
}

export interface DockerSpec {
  cgroupDriver: 'systemd' | 'cgroupfs';
  /** Registry mirrors for Docker Hub (daemon.json "registry-mirrors"). */
  registryMirrors: string[];
}

export interface KubernetesSpec {
  /** Full version without "v", e.g. "1.23.3". */
  version: string;
  /** kubelet, kubeadm, kubectl (and anything else) pinned in the distro's version format. */
  packages: PinnedPackage[];
  /** "kubeadm.k8s.io/v1beta3" (1.22–1.30) or "kubeadm.k8s.io/v1beta4" (>= 1.31). */
  kubeadmApiVersion: 'kubeadm.k8s.io/v1beta3' | 'kubeadm.k8s.io/v1beta4';
  /** e.g. "unix:///var/run/dockershim.sock" or "unix:///var/run/containerd/containerd.sock". */
  criSocket: string;
  imageRepository: string;
  /** CoreDNS's repository (kubeadm's dns.imageRepository), where kubeadm's own choice would be wrong for the registry. */
  dnsImageRepository?: string;
  podSubnet: string;
  serviceSubnet: string;
  /** Pull control-plane images during the bake phase, so the boot phase needs no download. */
  prePullImages: boolean;
  /** One-node labs: keep no NoSchedule taint on the control plane so workloads can run there. */
  schedulableControlPlane: boolean;
  /** Taint keys kubeadm puts on a control-plane node at this version (master until 1.24, control-plane after). */
  controlPlaneTaints: string[];
  /** Where there are no packages (Flatcar): kubelet, kubeadm and kubectl as files, each checked by sha256. */
  binaries?: KubernetesBinary[];
  /**
   * Where /usr is read-only (Flatcar), the kubelet's volume plugin folder and the controller manager's
   * flex-volume folder move here from /usr/libexec/kubernetes/kubelet-plugins/volume/exec/.
   */
  volumePluginDir?: string;
  /**
   * The kubelet's graceful node shutdown (KubeletConfiguration shutdownGracePeriod and
   * shutdownGracePeriodCriticalPods), in whole seconds: how long a powering-off node delays shutdown for its pods,
   * and how much of that is kept for critical ones. Cluster-wide, like every KubeletConfiguration kubeadm init
   * stores: nodes that join get it from the cluster.
   */
  gracefulShutdown?: { seconds: number; criticalPodsSeconds: number };
}

export interface KubernetesBinary {
  name: 'kubeadm' | 'kubelet' | 'kubectl';
  url: string;
  /** Lowercase hex of the file's sha256, as dl.k8s.io publishes it beside each binary. */
  sha256: string;
  /** Where it lives on the node, on the PATH the agent's unit sets. */
  path: string;
}

export interface CniSpec {
  plugin: 'calico' | 'flannel' | 'none';
  /** Manifests applied by the control plane with `kubectl create`, in order, each pinned by sha256. */
  manifests: PinnedManifest[];
  /** Calico operator installs: the Installation resource labimg writes, with the pod CIDR. */
  calicoInstallation?: {
    registry?: string;
    ipPools: Array<{ cidr: string; encapsulation: 'VXLANCrossSubnet' | 'VXLAN' | 'IPIP' | 'IPIPCrossSubnet' | 'None'; blockSize: number }>;
  };
}

export interface GpuSpec {
  vendor: 'nvidia';
  /**
   * The dnf module stream enabled before the driver packages are installed ("nvidia-driver:open-dkms"): in
   * NVIDIA's CUDA repository the driver is a module, and packages of streams not enabled are filtered out.
   */
  driverModuleStream?: string;
  /**
   * The kernel headers DKMS builds the driver's module against, installed before the driver. runningKernel:
   * each package is installed for the running kernel's release (kernel-devel-$(uname -r)), as NVIDIA's guide
   * does on EL7/8; otherwise as named (kernel-devel-matched on EL9). Either way the agent then requires
   * /lib/modules/<running release>/build, without which DKMS builds the module for no kernel that runs.
   */
  kernelHeaders?: { packages: string[]; runningKernel: boolean };
  /** Driver packages; empty when the image is expected to bring its own driver. */
  driverPackages: PinnedPackage[];
  /** nvidia-container-toolkit or nvidia-docker2 and friends. */
  toolkitPackages: PinnedPackage[];
  /** Path of the runtime binary the container runtime is pointed at when a GPU is present. */
  runtimeBinary: string;
  /** Labels the node carries when a GPU is present (e.g. nvidia.com/gpu.present=true). */
  nodeLabels: Record<string, string>;
  /**
   * What a node whose GPUs cannot be used does (the driver not loaded, nvidia-smi missing a GPU, a device the
   * driver's branch does not support): fail (report the error, do not join) or cpu (join without the nvidia
   * runtime and GPU labels, labelled labimg.dev/gpu-unusable=<why>).
   */
  onFailure: 'fail' | 'cpu';
  /**
   * The devices the driver supports: NVIDIA's supported-gpus.json, read from the first of `jsonFiles` that exists
   * (where the driver's packages put it), or the profile's own list of PCI ids (`10de:2330`) for its branch.
   * Absent: not checked.
   */
  supportedDevices?: { jsonFiles: string[] } | { deviceIds: string[] };
  /**
   * Who brings the toolkit and the device plugin; labimg itself when absent. gpu-operator: NVIDIA's GPU operator
   * brings the driver too, so the node installs and verifies no driver, and labimg switches no runtime and
   * creates no RuntimeClass: the operator's toolkit writes its runtime to /etc/containerd/conf.d/99-nvidia.toml,
   * which the config.toml labimg writes imports. gpu-operator-with-host-driver: the driver is baked and verified
   * as without the operator (the operator then runs with driver.enabled=false).
   */
  stack?: 'gpu-operator' | 'gpu-operator-with-host-driver';
  /** Applied by the control plane: the device plugin's manifests, or with a `stack`, the GPU operator's. */
  devicePlugin?: {
    kind: 'nvidia' | 'hami' | 'gpu-operator';
    /** URLs pinned by sha256 (a static manifest, a `helm template` output), each downloaded and checked first. */
    manifests: PinnedManifest[];
    /** Manifests rendered by the builder (the plugin's config), written to their node path before they are created. */
    files?: Array<{ path: string; content: string }>;
  };
}

/**
 * A manifest the node downloads and uses only if its sha256 is this (lowercase hex): applied with cluster-admin,
 * it is pinned like every other download (`labimg pin URL` prints the sha256 of what a URL serves now).
 */
export interface PinnedManifest {
  url: string;
  sha256: string;
}

/**
 * The lifetime of the bootstrap tokens a control plane publishes. A new token is published once the current one
 * is past half its life; the shortest leaves that half well above the minute the endpoint keeps as a margin
 * before it stops handing a token out (endpoint/server.ts), the longest is kubeadm's own default of 24 hours
 * (`kubeadm token create --ttl`, "Default: 24h0m0s": https://kubernetes.io/docs/reference/setup-tools/kubeadm/generated/kubeadm_token_create,
 * read 2026-12-06).
 */
export const BOOTSTRAP_TOKEN_TTL_SECONDS = 2 * 3600;
/** The range `--bootstrap-token-ttl` takes; apart from the default, so the agent's bundle carries only that. */
export const BOOTSTRAP_TOKEN_TTL_RANGE = { minSeconds: 5 * 60, maxSeconds: 24 * 3600 } as const;

/** /etc/labimg/node.json: what this instance is. Written from user-data; never baked. */
export interface NodeConfig {
  apiVersion: 'labimg.dev/v1';
  kind: 'NodeConfig';
  role: Role;
  pool?: string;
  /** Node name for Kubernetes; nameFrom's, else the hostname, when absent. */
  nodeName?: string;
  /**
   * Where a node given no nodeName takes its name from instead of its hostname, which on EC2 is derived from the
   * private IP and comes back after the instance is gone. A node that enrolls by its identity document is named
   * after its instance id whatever this says.
   */
  nameFrom?: NodeNameSource;
  /** Address the API server advertises (control plane); the default route's address when absent. */
  advertiseAddress?: string;
  /**
   * Control plane without an advertiseAddress: advertise this node's own IPv4 address in this network (CIDR),
   * not the default route's. For nodes with two NICs, where the cluster's network is not the default route's.
   */
  advertiseNetwork?: string;
  /** Control plane with an endpoint: seconds each published bootstrap token lives; BOOTSTRAP_TOKEN_TTL_SECONDS when absent. */
  bootstrapTokenTtlSeconds?: number;
  /** Stable API endpoint (host[:port]) for multi-control-plane clusters; kubeadm's controlPlaneEndpoint. */
  controlPlaneEndpoint?: string;
  /** Join endpoint (labimg serve); reports go to its outbox until it exists. */
  endpoint?: NodeEndpoint;
  /** Worker join material pasted from `kubeadm init`'s output; the token itself is in secrets.json. */
  join?: { apiServerEndpoint: string; caCertHashes: string[] };
}

export interface NodeEndpoint {
  url: string;
  caFingerprint: string;
  /**
   * Enroll with the cloud's signed instance identity document instead of an enrollment token (workers of a pool
   * set up with `labimg pool identity`): the user-data then holds no secret, and the node is named after its
   * instance id.
   */
  identity?: InstanceIdentitySource;
}

/**
 * instance-id: the instance id in the cloud's identity document (lowercase), or the machine id's name when the
 * metadata service refuses or does not answer. machine-id: "node-" and the first 16 hex digits of labimg's
 * application-specific id of /etc/machine-id (agent/machine-name.ts), which `systemd-id128 machine-id
 * --app-specific=MACHINE_NAME_APP_ID` prints whole.
 */
export type NodeNameSource = ({ from: 'instance-id' } & InstanceIdentitySource) | { from: 'machine-id' };

/** The application id labimg's machine-id names are derived with: a random id of its own, fixed forever. */
export const MACHINE_NAME_APP_ID = 'c4f7f37fe65948e9b0b760ee944949cf';

/** The clouds whose signed instance identity documents a pool can take. */
export type IdentityProvider = 'aws' | 'aliyun';

export interface InstanceIdentitySource {
  provider: IdentityProvider;
  /** The instance metadata service's base URL; the cloud's own address when absent (tests point it elsewhere). */
  metadataUrl?: string;
}

/** /etc/labimg/secrets.json, mode 0600. Never logged, never baked into an image. */
export interface NodeSecrets {
  bootstrapToken?: string;
  enrollmentToken?: string;
}

/** The step id of the report an agent sends when a whole boot run has finished: the node is ready. */
export const RUN_COMPLETE_STEP = 'complete';

/**
 * The step id of the report an agent sends, status "done", when its machine powers off on purpose (a scaling
 * group's scale-in, an operator's shutdown), not when it reboots: the node left, it did not fail. A later report
 * of the same node (it was started again) supersedes it.
 */
export const LEAVING_STEP = 'leaving';

/** Facts the agent reports and the plan shows; one record per phase change. */
export interface PhaseReport {
  /** A random UUID given when the report enters the outbox: the endpoint stores each id once, so resending is safe. */
  id: string;
  node: string;
  profile: string;
  role: Role;
  phase: Phase;
  step: string;
  status: 'started' | 'done' | 'skipped' | 'failed';
  at: string;
  durationMs?: number;
  /**
   * Milliseconds since the kernel booted when the report was made: /proc/uptime, which counts CLOCK_BOOTTIME
   * (proc(5)), a clock no NTP step or wrong hardware clock moves. How far into its boot a node reached each step
   * is measured from this, never from the node's wall clock.
   */
  sinceBootMs?: number;
  error?: string;
  gpu: boolean;
}
