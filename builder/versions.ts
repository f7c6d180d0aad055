/**
 * Version rules: what a given Kubernetes version means for the files and commands a node needs.
 *
 * Every rule is a table of version ranges, so a new Kubernetes release is a new row and every
 * boundary has a test. Ranges are by minor version (all of these changes landed on minor releases).
 * Sources: kubeadm's validateSupportedVersion and constants_unix.go, KEP-2221 (dockershim removal),
 * the kubeadm v1beta4 release notes, and the pkgs.k8s.io announcement.
 */
import type { CriName, KubernetesSpec, PinnedManifest } from '../contract/agent-config';

export interface KubernetesVersion {
  major: number;
  minor: number;
  patch: number;
}

/** An inclusive range of 1.x minor versions; an absent bound is open. */
interface MinorRange {
  since?: number;
  until?: number;
}

function inRange(version: KubernetesVersion, range: MinorRange): boolean {
  return (range.since === undefined || version.minor >= range.since) && (range.until === undefined || version.minor <= range.until);
}

const KUBERNETES_VERSION = /^(\d+)\.(\d+)\.(\d+)$/;

/** "1.28.15" → {1, 28, 15}; undefined for anything else ("v1.28.15", "1.28", "1.28.15-rc.0"). */
export function parseKubernetesVersion(text: string): KubernetesVersion | undefined {
  const match = KUBERNETES_VERSION.exec(text);
  if (!match) return undefined;
  const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return major === 1 ? { major, minor, patch } : undefined;
}

export function formatVersion(version: KubernetesVersion): string {
  return `${version.major}.${version.minor}.${version.patch}`;
}

export function formatMinor(version: KubernetesVersion): string {
  return `${version.major}.${version.minor}`;
}

// ── kubeadm configuration API ────────────────────────────────────────────────────────────────

export type KubeadmApiVersion = KubernetesSpec['kubeadmApiVersion'];

/**
 * v1beta3 arrived in 1.22 and is the only version 1.27–1.30 accept; v1beta4 is the default from 1.31
 * (where v1beta3 is deprecated). labimg writes no v1beta2, so older releases are refused.
 */
export const KUBEADM_API_VERSIONS: ReadonlyArray<MinorRange & { apiVersion: KubeadmApiVersion }> = [
  { since: 22, until: 30, apiVersion: 'kubeadm.k8s.io/v1beta3' },
  { since: 31, apiVersion: 'kubeadm.k8s.io/v1beta4' },
];

export const OLDEST_SUPPORTED_MINOR = 22;

/** Undefined when labimg cannot configure this version (older than 1.22). */
export function kubeadmApiVersionFor(version: KubernetesVersion): KubeadmApiVersion | undefined {
  return KUBEADM_API_VERSIONS.find((row) => inRange(version, row))?.apiVersion;
}

// ── CRI sockets ──────────────────────────────────────────────────────────────────────────────

/** The kubelet dropped dockershim in 1.24 (KEP-2221); Docker Engine then needs cri-dockerd in front of it. */
export const DOCKERSHIM_REMOVED_IN_MINOR = 24;

export const CRI_SOCKETS: ReadonlyArray<MinorRange & { cri: CriName; socket: string; shim?: 'dockershim' | 'cri-dockerd' }> = [
  { cri: 'containerd', socket: 'unix:///var/run/containerd/containerd.sock' },
  { cri: 'docker', until: DOCKERSHIM_REMOVED_IN_MINOR - 1, socket: 'unix:///var/run/dockershim.sock', shim: 'dockershim' },
  { cri: 'docker', since: DOCKERSHIM_REMOVED_IN_MINOR, socket: 'unix:///var/run/cri-dockerd.sock', shim: 'cri-dockerd' },
];

export function criSocketFor(cri: CriName, version: KubernetesVersion): string {
  const row = CRI_SOCKETS.find((candidate) => candidate.cri === cri && inRange(version, candidate));
  if (!row) throw new Error(`no CRI socket known for ${cri} on Kubernetes ${formatVersion(version)}`);
  return row.socket;
}

/** Docker Engine on this version needs the cri-dockerd adapter (a separate package and service). */
export function dockerNeedsCriDockerd(version: KubernetesVersion): boolean {
  return version.minor >= DOCKERSHIM_REMOVED_IN_MINOR;
}

// ── control-plane taints ─────────────────────────────────────────────────────────────────────

export const MASTER_TAINT = 'node-role.kubernetes.io/master';
export const CONTROL_PLANE_TAINT = 'node-role.kubernetes.io/control-plane';

/** kubeadm added the control-plane taint in 1.24 (alongside the old one) and dropped "master" in 1.25. */
export const CONTROL_PLANE_TAINTS: ReadonlyArray<MinorRange & { keys: readonly string[] }> = [
  { until: 23, keys: [MASTER_TAINT] },
  { since: 24, until: 24, keys: [MASTER_TAINT, CONTROL_PLANE_TAINT] },
  { since: 25, keys: [CONTROL_PLANE_TAINT] },
];

export function controlPlaneTaintsFor(version: KubernetesVersion): string[] {
  const row = CONTROL_PLANE_TAINTS.find((candidate) => inRange(version, candidate));
  // The table has no gap, so this cannot be undefined; keep the type honest anyway.
  return row ? [...row.keys] : [CONTROL_PLANE_TAINT];
}

// ── the pause (sandbox) image ────────────────────────────────────────────────────────────────

/**
 * The pause image tag kubeadm lists for each minor (constants.PauseVersion). containerd's sandbox image must
 * be the same image: otherwise the node pulls both, and kubeadm 1.28+ warns at init that the runtime's
 * sandbox image is inconsistent with its own. Sources: kubeadm's constants.go per release and kubespray's
 * pod_infra_supported_versions; 1.31 moved to 3.10 (kubernetes PR #125112), 1.34 to 3.10.1 (PR #130713).
 */
export const KUBEADM_PAUSE_VERSIONS: ReadonlyArray<MinorRange & { tag: string }> = [
  { since: 22, until: 22, tag: '3.5' },
  { since: 23, until: 23, tag: '3.6' },
  { since: 24, until: 24, tag: '3.7' },
  { since: 25, until: 25, tag: '3.8' },
  { since: 26, until: 30, tag: '3.9' },
  { since: 31, until: 33, tag: '3.10' },
  { since: 34, until: 35, tag: '3.10.1' },
  { since: 36, tag: '3.10.2' },
];

/** Undefined before 1.22, which labimg does not configure. */
export function kubeadmPauseTagFor(version: KubernetesVersion): string | undefined {
  return KUBEADM_PAUSE_VERSIONS.find((row) => inRange(version, row))?.tag;
}

// ── containerd ───────────────────────────────────────────────────────────────────────────────

export interface ContainerdVersion {
  major: number;
  minor: number;
  patch: number;
}

/**
 * The upstream version inside a package version: "1.7.28-1~ubuntu.24.04~noble" (Docker's containerd.io),
 * "2.2.1-0ubuntu1~24.04.2" (Ubuntu), "1.6.20~ds1-1+deb12u1" (Debian), "1.7.28-1.el9" (rpm), with or
 * without an epoch. Undefined when it names no x.y.z.
 */
export function containerdVersionOfPackage(packageVersion: string): ContainerdVersion | undefined {
  const match = /^(?:\d+:)?(\d+)\.(\d+)\.(\d+)(?![\d.])/.exec(packageVersion);
  return match ? { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) } : undefined;
}

/** config.toml `version = 3` is containerd 2.x's layout; 1.x reads up to 2 (containerd's RELEASES.md). */
export function containerdConfigVersionFor(version: ContainerdVersion): 2 | 3 {
  return version.major >= 2 ? 3 : 2;
}

/**
 * containerd releases recommended for each Kubernetes minor: containerd minor "x.y" → oldest patch.
 * From the "Kubernetes Support" table of containerd's RELEASES.md (rows as they stood in each release
 * period: 1.26–1.28 from the deprecated-versions table, 1.29 from early 2024, 1.34–1.36 from 2026). A
 * containerd minor newer than every one in a row is accepted (CRI v1 throughout); one older than every
 * one, or missing between them (2.0 after its end of life), is not recommended.
 */
export const CONTAINERD_FOR_KUBERNETES: ReadonlyArray<MinorRange & { containerd: Readonly<Record<string, number>> }> = [
  { since: 26, until: 28, containerd: { '1.6': 15, '1.7': 0 } },
  { since: 29, until: 29, containerd: { '1.6': 27, '1.7': 11 } },
  { since: 30, until: 30, containerd: { '1.6': 28, '1.7': 13, '2.0': 0, '2.1': 0 } },
  { since: 31, until: 31, containerd: { '1.6': 34, '1.7': 20, '2.0': 0, '2.1': 0 } },
  { since: 32, until: 32, containerd: { '1.6': 36, '1.7': 24, '2.0': 1, '2.1': 0 } },
  { since: 33, until: 33, containerd: { '1.6': 36, '1.7': 24, '2.0': 4, '2.1': 0 } },
  { since: 34, until: 34, containerd: { '1.6': 39, '1.7': 28, '2.0': 6, '2.1': 3 } },
  { since: 35, until: 35, containerd: { '1.7': 28, '2.1': 5, '2.2': 0 } },
  { since: 36, containerd: { '2.2': 0, '2.3': 0 } },
];

const minorKey = (major: number, minor: number) => `${major}.${minor}`;
const minorRank = (key: string) => key.split('.').map(Number).reduce((major, minor) => major * 1000 + minor);

/**
 * Undefined when containerd `runtime` is recommended for Kubernetes `kubernetes` (or there is no row to
 * judge by, before 1.26); otherwise the releases that are, in words: "1.7.28+, 2.1.5+ or 2.2.0+".
 */
export function containerdShortfall(runtime: ContainerdVersion, kubernetes: KubernetesVersion): string | undefined {
  const row = CONTAINERD_FOR_KUBERNETES.find((candidate) => inRange(kubernetes, candidate));
  if (!row) return undefined;
  const listed = Object.keys(row.containerd).sort((a, b) => minorRank(a) - minorRank(b));
  const key = minorKey(runtime.major, runtime.minor);
  const oldestPatch = row.containerd[key];
  const newerThanAll = minorRank(key) > minorRank(listed[listed.length - 1] as string);
  if (newerThanAll || (oldestPatch !== undefined && runtime.patch >= oldestPatch)) return undefined;
  const choices = listed.map((minor) => `${minor}.${row.containerd[minor]}+`);
  return `${choices.slice(0, -1).join(', ')}${choices.length > 1 ? ' or ' : ''}${choices[choices.length - 1]}`;
}

// ── package repositories and pinned versions ─────────────────────────────────────────────────

/**
 * Where kubelet/kubeadm/kubectl packages come from decides how their versions are spelled.
 * - legacy: the Google-hosted repos (and mirrors of them), frozen in 2023 and shut down on 2024-03-04.
 * - pkgs.k8s.io: the community repos (and mirrors), one repo per minor version, 1.24 and later only.
 */
export type RepoLayout = 'legacy-rpm' | 'legacy-deb' | 'pkgs-rpm' | 'pkgs-deb';

export interface PinFormat {
  /** A well-formed pin for this version, for messages and docs. */
  example(version: string): string;
  matches(pin: string, version: string): boolean;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function pinFormat(exampleRevision: string, revision: RegExp): PinFormat {
  return {
    example: (version) => `${version}-${exampleRevision}`,
    matches: (pin, version) => new RegExp(`^${escapeRegExp(version)}-(?:${revision.source})$`).test(pin),
  };
}

/**
 * The legacy Google repositories released every Kubernetes version once: rpm release "0" (kubeadm-1.23.3-0), deb
 * revision "00" (kubeadm=1.23.3-00), as the kubeadm upgrade docs of that time spell them (kubernetes/website
 * content/ko/docs/tasks/administer-cluster/kubeadm/upgrading-linux-nodes.md at 6d160611e6f2: `yum install -y
 * kubeadm-1.N.x-0`, `apt-get install -y kubeadm=1.N.x-00`; read 2026-12-06).
 */
export const PIN_FORMATS: Readonly<Record<RepoLayout, PinFormat>> = {
  'legacy-rpm': pinFormat('0', /0/),
  'legacy-deb': pinFormat('00', /00/),
  // Revisions seen on pkgs.k8s.io: deb "1.1", rpm "150500.1.1".
  'pkgs-deb': pinFormat('1.1', /\d+\.\d+/),
  'pkgs-rpm': pinFormat('150500.1.1', /\d+\.\d+\.\d+/),
};

/** Hosts of the Google-run repos; they answer nothing since 2024-03-04. */
export const RETIRED_GOOGLE_REPO_HOSTS: readonly string[] = ['apt.kubernetes.io', 'yum.kubernetes.io', 'packages.cloud.google.com'];
export const RETIRED_GOOGLE_REPOS_SHUTDOWN = '2024-03-04';

/** pkgs.k8s.io carries nothing older than 1.24. */
export const PKGS_K8S_IO_OLDEST_MINOR = 24;

/**
 * The minor version a pkgs.k8s.io-style URL serves: https://pkgs.k8s.io/core:/stable:/v1.28/deb/ and
 * its mirrors that flatten the path, such as https://mirrors.aliyun.com/kubernetes-new/core/stable/v1.28/rpm/.
 */
export function pkgsK8sIoMinorOf(url: string): number | undefined {
  const match = /\/core:?\/stable:?\/v1\.(\d+)\//.exec(url);
  return match ? Number(match[1]) : undefined;
}

export function isPkgsK8sIoHost(url: string): boolean {
  return hostOf(url) === 'pkgs.k8s.io';
}

/** The legacy Google repo layout, also served by mirrors such as mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64/. */
function isLegacyGoogleLayout(url: string): boolean {
  const host = hostOf(url);
  if (host !== undefined && RETIRED_GOOGLE_REPO_HOSTS.includes(host)) return true;
  return /\/kubernetes\/yum\/repos\/kubernetes-el\d+-/.test(url) || /\/kubernetes\/apt\/?$/.test(url);
}

/** The layout of a Kubernetes package repository, or undefined for a layout labimg does not know. */
export function repoLayoutOf(baseUrl: string, kind: 'rpm' | 'deb'): RepoLayout | undefined {
  if (pkgsK8sIoMinorOf(baseUrl) !== undefined) return kind === 'rpm' ? 'pkgs-rpm' : 'pkgs-deb';
  if (isLegacyGoogleLayout(baseUrl)) return kind === 'rpm' ? 'legacy-rpm' : 'legacy-deb';
  return undefined;
}

/** The community repo that replaces the retired ones for a given minor version. */
export function pkgsK8sIoUrlFor(version: KubernetesVersion, kind: 'rpm' | 'deb'): string {
  return `https://pkgs.k8s.io/core:/stable:/v${formatMinor(version)}/${kind}/`;
}

/** Numeric dotted versions (2.28, 3.30.4) compared part by part; a missing part counts as 0. */
export function compareDotted(a: string, b: string): number {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const diff = (x[i] ?? 0) - (y[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

export function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

// ── official release binaries ────────────────────────────────────────────────────────────────

/**
 * Where there is no package manager (Flatcar), kubeadm, kubelet and kubectl are the release binaries from dl.k8s.io:
 * https://dl.k8s.io/release/vX.Y.Z/bin/linux/amd64/NAME, with NAME.sha256 beside each (kubernetes.io "Install and Set
 * Up kubectl on Linux"; Kubespray downloads them from the same folder, roles/kubespray_defaults/defaults/main/
 * download.yml `kubelet_download_url`, read 2026-12-06).
 */
export function releaseBinariesUrlFor(version: KubernetesVersion): string {
  return `https://dl.k8s.io/release/v${formatVersion(version)}/bin/linux/amd64`;
}

/** kubelet, kubeadm and kubectl: released together, versioned in lockstep with Kubernetes, in the order a profile pins them. */
export const KUBERNETES_RELEASE_BINARIES = ['kubelet', 'kubeadm', 'kubectl'] as const;
export type ReleaseBinaryName = (typeof KUBERNETES_RELEASE_BINARIES)[number];

/**
 * The sha256 of the linux/amd64 release binaries of one patch release per minor labimg derives a binaries profile
 * for (the newest patch Kubespray records for each): no rule gives a file's sha256, so they are data. Source: the
 * amd64 `kubeadm_checksums`, `kubelet_checksums` and `kubectl_checksums` of Kubespray's checksums list, in a copy of
 * github.com/kubernetes-sigs/kubespray read 2026-12-06, at the commit each row names: its path was
 * roles/download/defaults/main/checksums.yml (cd6928318487, 24b82917d188), roles/kubespray-defaults/defaults/main/
 * checksums.yml (4cb1f529d19b, 08293f2ef772, f3d4377a1626, 54a01f277435) and roles/kubespray_defaults/vars/main/
 * checksums.yml (the later ones). Kubespray copies them from the .sha256 files dl.k8s.io publishes (FACTS.md,
 * "Release binaries' sha256"). A version not here is stated with its own kubernetes.binaries.sha256.
 */
export const RELEASE_BINARY_SHA256: Readonly<Record<string, Readonly<Record<ReleaseBinaryName, string>>>> = {
  // Kubespray cd6928318487
  '1.24.15': {
    kubeadm: '0f4838139affb7b1a131d5d0a0b93d4ada0d1d22da5d04d5d3599018adc130b7',
    kubelet: '577bb7424eb83b4ddedc920f4e719283cf28a8468e412c2003372c138090358f',
    kubectl: 'a45d390e17d1cd4bf93eaa733ebc87ed1a38fd867316919bdc59bee9f96e4d8e',
  },
  // Kubespray 24b82917d188
  '1.25.13': {
    kubeadm: '4694df9c5d700280c186980907ec8e695364f461b20e868336a71edabac2253e',
    kubelet: '0399cfd7031cf5f3d7f8485b243a5ef37230e63d105d5f29966f0f81a58a8f6d',
    kubectl: '22c5d5cb95b671ea7d7accd77e60e4a787b6d40a6b8ba4d6c364cb3ca818c29a',
  },
  // Kubespray 4cb1f529d19b
  '1.26.13': {
    kubeadm: '62c0e49f749d230f0c27fa53cbe4851894d9002757fd3653fc5da36aa7c68032',
    kubelet: '05860ef65deb594dc72034c0614f93d7ba9d1f229ff73b43c484298e22465f1b',
    kubectl: 'e4bad4273431f9f5f05f27f5c2054cbbad6d9ee00b85e0810cb4ef0489b02571',
  },
  // Kubespray 08293f2ef772
  '1.27.14': {
    kubeadm: '1ce264643e521494e111b1c9ee59694a54d1f2464bbac3a7a531324ffeae0182',
    kubelet: 'f28defa43f80f82ce909940c1b57b71cba1fcf0de6fc4723e798ef5c72376c28',
    kubectl: '1d2431c68bb6dfa9de3cd40fd66d97a9ac73593c489f9467249eea43e9c16a1e',
  },
  // Kubespray f3d4377a1626
  '1.28.12': {
    kubeadm: '3ffcf5100c6bca3dd0a6c317c744dd97fe497c7c4aefe468321171f940d34971',
    kubelet: '4648ae155b1ab05ab8dbef417bde4d5acfcd5ad32e8d1e3209006b40c440a56c',
    kubectl: 'e8aee7c9206c00062ced394418a17994b58f279a93a1be1143b08afe1758a3a2',
  },
  // Kubespray 54a01f277435
  '1.29.12': {
    kubeadm: 'bce712631bc425726b45930e58b00790c2ab3deec4282f86af353ea907817c46',
    kubelet: '45475d908f6c44bfbf994fec91a4d5ceebf41d93c9f3867e687b2fa67b57b5b0',
    kubectl: '35fc028853e6f5299a53f22ab58273ea2d882c0f261ead0a2eed5b844b12dbfb',
  },
  // Kubespray 12665270143b
  '1.30.13': {
    kubeadm: 'dbea796b7b716f7b30ea99e021c3730ef3debace4c8a62c88abfc266b3ab7a96',
    kubelet: 'b8d8c3cc0c13b2e42c1d83ab6c03024825bc01887c923fd6f8568ebe066ec28e',
    kubectl: 'b92bd89b27386b671841d5970b926b645c2ae44e5ca0663cff0f1c836a1530ee',
  },
  // Kubespray aa255f883180
  '1.31.13': {
    kubeadm: 'e0c91c606e1402e943666f6fda8452140851a1b2bb4f69918dd7176e8d86845c',
    kubelet: 'b7733cb0e36031ab8f69cf3f73cc364730141b107d24ecb75bee5b3122dc6b6e',
    kubectl: 'ce427a4df97b044bf6beaf38be6b3aaafb1b5c782c406958b3c71ebb25a48fe3',
  },
  // Kubespray 57364f4085c7
  '1.32.11': {
    kubeadm: '5e191b7329897a16ea87aed75b66f561e7243691620d6b792f34d488285484ce',
    kubelet: '02b25e87a3fe14e9ea74c10d3b1e204d12af30b8ce7ed11af2a985b49ddb0b83',
    kubectl: '48581d0e808bd8b7d3c3fc014e86b170e25a987df04c8a879b982b28a5180815',
  },
  // Kubespray dee8a18cccd2
  '1.33.11': {
    kubeadm: '50b66a385ae5bf1ef69c596d07f387b553f0b62f0c48932e0aa14fdd44b1f006',
    kubelet: '4a3d265ee760ee4490b55989e5c3d87deffefa86a6f100f2a7453d353a1ae255',
    kubectl: '5d0ff87b99e4bbc38b9876b3172c414f8691008d291e36f89547318925ce7716',
  },
  // Kubespray 46dbdd3994b3
  '1.34.11': {
    kubeadm: 'bd3cbe40aff6c7b3b939243ebd80dbd7da207c0e594cfdd434295bf553ea7351',
    kubelet: '4777a226b2ba3c1d656254bcf3f7ad471bf210042f361094216e51ab4fa9b4b6',
    kubectl: '8efbb9435132a190920eb65a47a8c1ecf755ad85ab57a600c9bedbab460bb7a8',
  },
  // Kubespray 46dbdd3994b3
  '1.35.8': {
    kubeadm: '1bbc64a2be5b300880ae9330c6bba592ec2a2b8ecb79c527b0c7cc0f44070e5e',
    kubelet: '6971b9f95e54dbed67a2271abe6e78f8cc2894494649f3cf39e4b25a82dca923',
    kubectl: '874d5e72dbb819f43cff16bcd1e4f8bac5b7f2361fe1e55049b0a6c676fb0cbf',
  },
};

/** The sha256 of the version's release binaries, or undefined where RELEASE_BINARY_SHA256 has no row for it. */
export function releaseBinarySha256For(version: KubernetesVersion): Readonly<Record<ReleaseBinaryName, string>> | undefined {
  return RELEASE_BINARY_SHA256[formatVersion(version)];
}

// ---- Node.js from the distro ------------------------------------------------------------------------------

/**
 * The oldest Node.js the agent bundle runs on: esbuild's target for it (`node16.9` in scripts/build.mjs). From
 * 16.9 esbuild leaves optional chaining (`?.`) as written; for older 16.x it rewrites every use into longer code,
 * 2 % of the bundle's gzip bytes (esbuild 0.28.2, measured 2026-12-05). Every Node 16 labimg installs is 16.20.2.
 */
export const AGENT_NODE_MIN = { major: 16, minor: 9 } as const;
export const AGENT_NODE_MIN_TEXT = `${AGENT_NODE_MIN.major}.${AGENT_NODE_MIN.minor}`;

// ── Calico ───────────────────────────────────────────────────────────────────────────────────

/**
 * The Kubernetes minors each Calico minor is tested against ("Supported versions" of its "System requirements"
 * page; read 2026-12-06): 3.25 v1.23–v1.28 and 3.27 v1.24–v1.28 (tigera/docs calico_versioned_docs/version-3.25 and
 * version-3.27 getting-started/kubernetes/requirements.mdx at 04b54fcb8291), 3.28 v1.27–v1.30 (version-3.28, same
 * file), 3.29 v1.29–v1.32 (the page as projectcalico discussion #11717 quotes it; tigera/docs at 01059829892525 still
 * listed v1.29–v1.31), 3.31 v1.32–v1.35 (discussion #11717: "v1.35 has been added"), 3.32 v1.34–v1.36 and 3.33
 * v1.35–v1.37 (Rusty-Gopher/kupre v0.5.0 release notes, from the versioned docs). Calico says newer Kubernetes "may
 * also work", but it does not test them; a release outside its row is refused, one not in the table is not judged.
 */
export const CALICO_TESTED_KUBERNETES: ReadonlyArray<{ calico: string; since: number; until: number; source: string }> = [
  { calico: '3.25', since: 23, until: 28, source: 'docs.tigera.io Calico 3.25 system requirements' },
  { calico: '3.27', since: 24, until: 28, source: 'docs.tigera.io Calico 3.27 system requirements' },
  { calico: '3.28', since: 27, until: 30, source: 'docs.tigera.io Calico 3.28 system requirements' },
  { calico: '3.29', since: 29, until: 32, source: 'docs.tigera.io Calico 3.29 system requirements' },
  { calico: '3.31', since: 32, until: 35, source: 'docs.tigera.io Calico 3.31 system requirements' },
  { calico: '3.32', since: 34, until: 36, source: 'docs.tigera.io Calico 3.32 system requirements' },
  { calico: '3.33', since: 35, until: 37, source: 'docs.tigera.io Calico 3.33 system requirements' },
];

/** The Calico minor of a release such as "3.31.7"; undefined for anything else. */
export function calicoMinorOf(release: string): string | undefined {
  return /^(\d+\.\d+)\.\d+$/.exec(release)?.[1];
}

/** The tested row of a Calico release, or undefined when labimg has none to judge it by. */
export function calicoTestedRange(release: string): (typeof CALICO_TESTED_KUBERNETES)[number] | undefined {
  const minor = calicoMinorOf(release);
  return CALICO_TESTED_KUBERNETES.find((row) => row.calico === minor);
}

/**
 * The Calico release labimg installs when a profile names none: per Kubernetes minor, a release tested with it
 * (CALICO_TESTED_KUBERNETES) whose manifests the shipped profiles have used. From 3.30 on the CRDs come first, in
 * operator-crds.yaml (FACTS.md, Calico operator install). 1.32 is in the tested range of both 3.29 and 3.31; it gets
 * 3.29.0, which the flatcar profile has named for its 1.32.11 since it was written. No row for 1.22 (no release tested with
 * it has been tried with labimg) or 1.36 (no release of 3.32 or 3.33 has): there a profile names its own manifests.
 */
export const CALICO_DEFAULT_RELEASES: ReadonlyArray<MinorRange & { release: string }> = [
  { since: 23, until: 23, release: '3.25.2' },
  { since: 24, until: 28, release: '3.27.4' },
  { since: 29, until: 32, release: '3.29.0' },
  { since: 33, until: 35, release: '3.31.7' },
];

export function calicoDefaultReleaseFor(version: KubernetesVersion): string | undefined {
  return CALICO_DEFAULT_RELEASES.find((row) => inRange(version, row))?.release;
}

const CALICO_MANIFEST = /^https:\/\/raw\.githubusercontent\.com\/projectcalico\/calico\/v(\d+\.\d+\.\d+)\/manifests\//;

/** The release a Calico manifest URL names: …/projectcalico/calico/v3.31.7/manifests/tigera-operator.yaml → "3.31.7". */
export function calicoReleaseOfManifest(url: string): string | undefined {
  return CALICO_MANIFEST.exec(url)?.[1];
}

/**
 * The sha256 of each operator manifest of the releases labimg derives (CALICO_DEFAULT_RELEASES), file by file: a
 * manifest the control plane creates with cluster-admin is downloaded and checked against its pin first, so a
 * release is derived only with its pins. Source: `git show TAG:manifests/FILE | sha256sum` in a copy of
 * github.com/projectcalico/calico, tags at commits 978a0e4bcde8 (v3.25.2), 2183fee023b0 (v3.27.4), 26c4c71c76ca
 * (v3.29.0), 94bd1d5b0e04 (v3.31.7), 2026-12-06; raw.githubusercontent.com serves the blob's bytes (FACTS.md,
 * "Calico manifest pins"; the same values the shipped profiles pinned).
 */
export const CALICO_MANIFEST_PINS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  '3.25.2': { 'tigera-operator.yaml': '714107a861ae6d48d74c88681e5fa2a8946b6f6b309e26e81f0bdbecc1abc753' },
  '3.27.4': { 'tigera-operator.yaml': '89f0fab9a0d80376b7089f2d6e436a5fcfb4801f1537b78a466e22f37b47c8d8' },
  '3.29.0': { 'tigera-operator.yaml': '3c94375828be38a3120c3377a122c9a257b882a2a0a6ad92c734d9cb750bd47e' },
  '3.31.7': {
    'operator-crds.yaml': '380414d5756e9a1af29ddb1ad70cada07aa344ae7a2680ba7355248621f8adbf',
    'tigera-operator.yaml': '092c10b3d0cb73617aca51367ca59755348f4647e6d2e63fa4e5b81266203214',
  },
};

/**
 * The operator manifests of a Calico release, in the order they are created, each pinned by its sha256; undefined
 * when `pins` lacks one of them (no manifest is ever derived without its pin).
 */
export function calicoManifestsFor(release: string, pins: typeof CALICO_MANIFEST_PINS = CALICO_MANIFEST_PINS): PinnedManifest[] | undefined {
  const base = `https://raw.githubusercontent.com/projectcalico/calico/v${release}/manifests`;
  const crdsFirst = compareDotted(release, '3.30') >= 0;
  const files = [...(crdsFirst ? ['operator-crds.yaml'] : []), 'tigera-operator.yaml'];
  const manifests = files.map((file) => ({ url: `${base}/${file}`, sha256: pins[release]?.[file] }));
  return manifests.every((entry): entry is PinnedManifest => entry.sha256 !== undefined) ? manifests : undefined;
}

// ── NVIDIA device plugin ─────────────────────────────────────────────────────────────────────

// The Kubernetes the NVIDIA device plugin needs: "Kubernetes version >= 1.10" (Prerequisites of its README at
// 00f2a02c68f1, read 2026-12-06), with no upper bound and no per-release table. Every minor labimg configures
// (OLDEST_SUPPORTED_MINOR and later) is inside it, so no rule checks it.
