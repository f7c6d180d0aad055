/**
 * Derived facts: every profile value that follows from another, filled in here, once, where no profile in the
 * `extends` chain states it.
 *
 * A profile states its Kubernetes version; the package repository and its key (per package format and minor), the
 * kubelet/kubeadm/kubectl pins (per repository layout: pkgs.k8s.io's, or the legacy Google one a mirror keeps), or
 * where nothing installs packages the release binaries' folder and their sha256 (for the releases versions.ts
 * records), the pause image and the Calico release follow from it. So a
 * profile that extends a shipped one and changes `kubernetes.version` gets all of them for the new minor; the Calico
 * manifests come with the sha256 pins versions.ts holds for that release, and a release without them is not
 * derived. A profile may still state any of them; then the semantic rules check what it states, and a mismatch is
 * reported at the line that states it and at the version line it disagrees with (`versionFindings`).
 *
 * From the OS release: where the agent's Node.js comes from (the distro's package where it is new enough).
 *
 * The derivation works on the merged source tree, before the schema's completeness check: a derived value is a node
 * like any other, located at the line it follows from (kubernetes.version, or os.versionId), so every later
 * check and every message treats it as written there. Facts the profile never holds (the kubeadm configuration API,
 * the CRI socket, the package format) are computed by the same tables in versions.ts; `computedFacts` lists them
 * for `labimg show --resolved`.
 */
import type { OsFamily } from '../contract/agent-config';
import { familyOfPackageManager, OS_FAMILIES, osRelease, type PackageManagerName } from '../contract/os-families';
import { findingAt, type Finding, type Location } from './profiles/findings';
import type { ListNode, MapNode, Scalar, ScalarNode, SourceNode } from './profiles/source';
import { nodeAt, toPlain, type PlainValue } from './profiles/tree';
import { kubernetesVersionProblem } from './profiles/semantic';
import type { Profile } from './profiles/types';
import {
  AGENT_NODE_MIN_TEXT,
  calicoDefaultReleaseFor,
  calicoManifestsFor,
  CALICO_DEFAULT_RELEASES,
  CALICO_MANIFEST_PINS,
  compareDotted,
  criSocketFor,
  formatMinor,
  formatVersion,
  kubeadmApiVersionFor,
  kubeadmPauseTagFor,
  KUBERNETES_RELEASE_BINARIES,
  OLDEST_SUPPORTED_MINOR,
  parseKubernetesVersion,
  PIN_FORMATS,
  PKGS_K8S_IO_OLDEST_MINOR,
  pkgsK8sIoMinorOf,
  pkgsK8sIoUrlFor,
  RELEASE_BINARY_SHA256,
  releaseBinariesUrlFor,
  releaseBinarySha256For,
  repoLayoutOf,
  type KubernetesVersion,
} from './versions';

/** Why a derived value is what it is: the rule, and the line of the fact it follows from. */
export interface DerivedOrigin {
  rule: string;
  from: Location;
}

export interface Derivation {
  /** The merged tree with every derivable value it lacked. */
  tree: MapNode;
  /** The nodes this module made, and why. */
  derived: Map<SourceNode, DerivedOrigin>;
  /** A version labimg cannot configure, or values it cannot derive for one: errors at the version line. */
  gaps: Finding[];
}

/**
 * The repository's signing key beside its metadata, and (rpm) the packages kept out of a general update, as the
 * pkgs.k8s.io announcement writes them (FACTS.md: pkgs.k8s.io keys, pkgs.k8s.io rpm excludes, deb repo form).
 */
const PKGS_KEY_PATH = { deb: 'Release.key', rpm: 'repodata/repomd.xml.key' } as const;
const PKGS_RPM_EXCLUDE = ['kubelet', 'kubeadm', 'kubectl', 'cri-tools', 'kubernetes-cni'];
const PKGS_DEB_SUITE = '/';

/** The repository id a derived kubernetes.repository names. */
export const DERIVED_REPOSITORY_ID = 'kubernetes';

type Fields = { [key: string]: PlainValue };
const fieldsOf = (value: PlainValue | undefined): Fields => (value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {});

/** Builds derived nodes and remembers why each exists. */
class Deriver {
  readonly derived = new Map<SourceNode, DerivedOrigin>();
  readonly gaps: Finding[] = [];

  /** The tree as plain data, made again only after a fill has changed the tree. */
  private plainTree: Fields | undefined;

  constructor(public tree: MapNode) {}

  scalar(value: Scalar, origin: DerivedOrigin): ScalarNode {
    return this.remember({ kind: 'scalar', at: origin.from, value, source: String(value) }, origin);
  }

  list(values: readonly Scalar[], origin: DerivedOrigin): ListNode {
    return this.listOf(values.map((value) => this.scalar(value, origin)), origin);
  }

  listOf(items: SourceNode[], origin: DerivedOrigin): ListNode {
    return this.remember({ kind: 'list', at: origin.from, items }, origin);
  }

  map(entries: ReadonlyArray<[string, SourceNode]>, origin: DerivedOrigin): MapNode {
    const node: MapNode = { kind: 'map', at: origin.from, entries: new Map(entries.map(([key, child]) => [key, { keyAt: origin.from, node: child }])) };
    return this.remember(node, origin);
  }

  private remember<T extends SourceNode>(node: T, origin: DerivedOrigin): T {
    this.derived.set(node, origin);
    return node;
  }

  /**
   * Sets `path` to `make()` unless the tree has a value there; maps on the way are copied, never changed, because
   * the merged tree shares nodes with each file's own. `first` puts a map it adds on the way before its siblings
   * (the Kubernetes repository is configured before the others, as the shipped profiles wrote it).
   */
  fill(path: readonly string[], make: () => SourceNode, options: { first?: boolean } = {}): void {
    const tree = this.filled(this.tree, path, make, options);
    if (tree === this.tree) return;
    this.tree = tree;
    this.plainTree = undefined;
  }

  private filled(map: MapNode, path: readonly string[], make: () => SourceNode, options: { first?: boolean }): MapNode {
    const [key, ...rest] = path;
    if (key === undefined) return map;
    const existing = map.entries.get(key);
    if (rest.length === 0) {
      if (existing) return map;
      const node = make();
      return { ...map, entries: new Map([...map.entries, [key, { keyAt: node.at, node }]]) };
    }
    // A value of another shape is the schema's to report; nothing is derived beneath it.
    if (existing && existing.node.kind !== 'map') return map;
    const child: MapNode = existing ? (existing.node as MapNode) : { kind: 'map', at: map.at, entries: new Map() };
    const updated = this.filled(child, rest, make, options);
    if (updated === child) return map;
    const entry = { keyAt: existing?.keyAt ?? updated.at, node: updated };
    if (!existing && options.first) return { ...map, entries: new Map([[key, entry], ...map.entries]) };
    const entries = new Map(map.entries);
    entries.set(key, entry);
    return { ...map, entries };
  }

  plain(): Fields {
    this.plainTree ??= fieldsOf(toPlain(this.tree));
    return this.plainTree;
  }
}

function packageFormatOf(packageManager: unknown): 'rpm' | 'deb' | 'none' | undefined {
  try {
    return OS_FAMILIES[familyOfPackageManager(packageManager as PackageManagerName)].packageFormat;
  } catch {
    return undefined; // not a package manager labimg knows: the schema says so
  }
}

/** The pkgs.k8s.io repository for the version, or a gap where it has none. */
function deriveRepository(d: Deriver, version: KubernetesVersion, kind: 'rpm' | 'deb', from: Location): void {
  const document = d.plain();
  const kubernetes = fieldsOf(document.kubernetes);
  const named = typeof kubernetes.repository === 'string' ? kubernetes.repository : undefined;
  const id = named ?? DERIVED_REPOSITORY_ID;
  const repositories = fieldsOf(document.repositories);
  // A repository named but written nowhere is a typo for the semantic rules to report ("did you mean kubernetes?"),
  // not one to make up; the derived one is still there to be meant.
  if (id !== DERIVED_REPOSITORY_ID && !(id in repositories)) {
    if (version.minor >= PKGS_K8S_IO_OLDEST_MINOR) deriveRepositoryFields(d, DERIVED_REPOSITORY_ID, undefined, version, kind, from);
    return;
  }
  const existing = fieldsOf(repositories[id]);
  const statedUrl = typeof existing.baseUrl === 'string' ? existing.baseUrl : undefined;
  if (statedUrl === undefined && version.minor < PKGS_K8S_IO_OLDEST_MINOR) {
    d.gaps.push(
      findingAt(from, ['kubernetes', 'version'], `pkgs.k8s.io starts at 1.${PKGS_K8S_IO_OLDEST_MINOR} and the Google-hosted repositories are gone, so labimg derives no package repository for ${formatMinor(version)}: set repositories.${id} to a mirror of the retired ones`),
    );
    return;
  }
  // A repository the profile points elsewhere (a mirror of another layout) is the profile's own: nothing is added to it.
  if (statedUrl !== undefined && pkgsK8sIoMinorOf(statedUrl) === undefined) {
    if (named === undefined) d.fill(['kubernetes', 'repository'], () => d.scalar(id, { rule: 'the Kubernetes repository is the one named kubernetes', from }));
    return;
  }
  deriveRepositoryFields(d, id, statedUrl, version, kind, from);
  if (named === undefined) d.fill(['kubernetes', 'repository'], () => d.scalar(id, { rule: 'the derived Kubernetes repository', from }));
}

/** The fields of pkgs.k8s.io repository `id` that it lacks; its name only when its URL is derived too. */
function deriveRepositoryFields(d: Deriver, id: string, statedUrl: string | undefined, version: KubernetesVersion, kind: 'rpm' | 'deb', from: Location): void {
  const rule = (what: string): DerivedOrigin => ({ rule: `${what}, Kubernetes ${formatMinor(version)} ${kind}`, from });
  const baseUrl = statedUrl ?? pkgsK8sIoUrlFor(version, kind);
  const fields: Array<[string, () => SourceNode]> = [
    ['name', () => d.scalar(`Kubernetes ${formatMinor(version)} (pkgs.k8s.io)`, rule('pkgs.k8s.io repository name'))],
    ['baseUrl', () => d.scalar(baseUrl, rule('pkgs.k8s.io has one repository per minor'))],
    ['gpgKeys', () => d.list([`${baseUrl}${PKGS_KEY_PATH[kind]}`], rule('pkgs.k8s.io key beside the repository metadata'))],
    kind === 'rpm'
      ? ['exclude', () => d.list(PKGS_RPM_EXCLUDE, rule('pkgs.k8s.io rpm excludes, kept out of dnf update'))]
      : ['suite', () => d.scalar(PKGS_DEB_SUITE, rule('pkgs.k8s.io deb is a flat repository'))],
  ];
  // The name is the repository's own once its URL is: only a repository derived whole is named here.
  for (const [field, make] of fields) if (field !== 'name' || statedUrl === undefined) d.fill(['repositories', id, field], make, { first: true });
}

/** kubelet, kubeadm and kubectl pinned as the repository's layout spells the version. */
function derivePackagePins(d: Deriver, version: KubernetesVersion, kind: 'rpm' | 'deb', from: Location): void {
  const document = d.plain();
  const id = fieldsOf(document.kubernetes).repository;
  const repositories = fieldsOf(document.repositories);
  // Pins for a repository that does not exist (a typo, reported as such) are spelt as the derived one spells them.
  const baseUrl = typeof id === 'string' && id in repositories ? fieldsOf(repositories[id]).baseUrl : pkgsK8sIoUrlFor(version, kind);
  const layout = typeof baseUrl === 'string' ? repoLayoutOf(baseUrl, kind) : undefined;
  if (!layout) return; // a layout labimg does not know: the profile pins its packages itself
  const pin = PIN_FORMATS[layout].example(formatVersion(version));
  for (const name of KUBERNETES_RELEASE_BINARIES) {
    d.fill(['kubernetes', 'packages', name], () => d.scalar(pin, { rule: `${layout} package version for Kubernetes ${formatVersion(version)}`, from }));
  }
}

/**
 * Where nothing installs packages (Flatcar): the release binaries' folder on dl.k8s.io, and their sha256 where
 * versions.ts records them for this version. A sha256 is data, not a rule: for a version without a row, the version
 * line says which versions labimg knows and how to state them.
 */
function deriveReleaseBinaries(d: Deriver, version: KubernetesVersion, from: Location): void {
  const release = formatVersion(version);
  d.fill(['kubernetes', 'binaries', 'url'], () => d.scalar(releaseBinariesUrlFor(version), { rule: `the Kubernetes ${release} release binaries on dl.k8s.io`, from }));
  const stated = fieldsOf(fieldsOf(fieldsOf(d.plain().kubernetes).binaries).sha256);
  const missing = KUBERNETES_RELEASE_BINARIES.filter((name) => stated[name] === undefined);
  if (missing.length === 0) return;
  const sha256 = releaseBinarySha256For(version);
  if (sha256 === undefined) {
    const known = Object.keys(RELEASE_BINARY_SHA256).join(', ');
    d.gaps.push(
      findingAt(from, ['kubernetes', 'version'], `labimg records the sha256 of the release binaries of Kubernetes ${known}, not ${release}: pick one of those, or state kubernetes.binaries.sha256 (${missing.join(', ')}) yourself from the <name>.sha256 files dl.k8s.io publishes beside each binary (${releaseBinariesUrlFor(version)}/kubeadm.sha256, ...)`),
    );
    return;
  }
  for (const name of missing) {
    d.fill(['kubernetes', 'binaries', 'sha256', name], () => d.scalar(sha256[name], { rule: `sha256 of the Kubernetes ${release} ${name} release binary, as Kubespray records it`, from }));
  }
}

function deriveSandboxImage(d: Deriver, version: KubernetesVersion, from: Location): void {
  const imageRepository = fieldsOf(d.plain().kubernetes).imageRepository;
  const tag = kubeadmPauseTagFor(version);
  if (typeof imageRepository !== 'string' || tag === undefined) return;
  d.fill(['runtime', 'containerd', 'sandboxImage'], () =>
    d.scalar(`${imageRepository}/pause:${tag}`, { rule: `kubeadm ${formatMinor(version)}'s pause image, from kubernetes.imageRepository`, from }),
  );
}

function deriveCalico(d: Deriver, version: KubernetesVersion, from: Location, pins: typeof CALICO_MANIFEST_PINS): void {
  const cni = fieldsOf(d.plain().cni);
  if (cni.plugin !== 'calico' || cni.manifests !== undefined) return;
  const release = calicoDefaultReleaseFor(version);
  if (release === undefined) {
    const [first, last] = [CALICO_DEFAULT_RELEASES[0], CALICO_DEFAULT_RELEASES[CALICO_DEFAULT_RELEASES.length - 1]];
    d.gaps.push(
      findingAt(from, ['kubernetes', 'version'], `labimg chooses a Calico release for Kubernetes 1.${first?.since} to 1.${last?.until}, not ${formatMinor(version)}: list the manifests of a Calico release tested with it under cni.manifests, each as url: and sha256:`),
    );
    return;
  }
  // Every manifest the control plane creates is checked against its sha256: a release without its pins is not derived.
  const manifests = calicoManifestsFor(release, pins);
  if (manifests === undefined) {
    d.gaps.push(
      findingAt(from, ['kubernetes', 'version'], `labimg has no sha256 pins for the manifests of Calico ${release}, the release it would choose for Kubernetes ${formatMinor(version)}: list them under cni.manifests, each as url: and sha256: (\`labimg pin URL\` prints the sha256)`),
    );
    return;
  }
  const origin = { rule: `Calico ${release}, tested with Kubernetes ${formatMinor(version)}`, from };
  d.fill(['cni', 'manifests'], () => d.listOf(manifests.map(({ url, sha256 }) => d.map([['url', d.scalar(url, origin)], ['sha256', d.scalar(sha256, origin)]], origin)), origin));
}

/**
 * Where the agent's Node.js comes from: the distro's own package where it is one the agent runs on (os-families.ts
 * knows its version), otherwise the pinned tarball. Follows from the OS release, so it is located at os.versionId.
 */
function deriveNodeRuntimeSource(d: Deriver): void {
  const os = fieldsOf(d.plain().os);
  const at = nodeAt(d.tree, ['os', 'versionId'])?.at;
  if (typeof os.id !== 'string' || typeof os.versionId !== 'string' || at === undefined) return;
  let family: OsFamily;
  try {
    family = familyOfPackageManager(os.packageManager as PackageManagerName);
  } catch {
    return; // the schema reports the package manager
  }
  const shipped = OS_FAMILIES[family].nodejsPackage ? osRelease({ family, id: os.id, versionId: os.versionId })?.nodejs : undefined;
  const release = `${os.id} ${os.versionId}`;
  const [source, rule] =
    shipped !== undefined && compareDotted(shipped, AGENT_NODE_MIN_TEXT) >= 0
      ? ['package', `${release}'s nodejs package is Node.js ${shipped}, which the agent runs on (${AGENT_NODE_MIN_TEXT}+)`]
      : ['tarball', shipped === undefined ? `${release} has no nodejs package labimg knows: the pinned tarball` : `${release}'s nodejs package is Node.js ${shipped}, older than the agent's ${AGENT_NODE_MIN_TEXT}: the pinned tarball`];
  d.fill(['agent', 'nodeRuntime', 'source'], () => d.scalar(source, { rule, from: at }));
}

/**
 * Fills in what follows from the profile's version and OS; the tree is returned as is where those are missing or
 * invalid. `calicoPins` is versions.ts's table except where a test asks what happens to a release without pins.
 */
export function deriveFacts(merged: MapNode, calicoPins: typeof CALICO_MANIFEST_PINS = CALICO_MANIFEST_PINS): Derivation {
  const d = new Deriver(merged);
  deriveNodeRuntimeSource(d);
  const versionNode = nodeAt(merged, ['kubernetes', 'version']);
  const version = versionNode?.kind === 'scalar' && typeof versionNode.value === 'string' ? parseKubernetesVersion(versionNode.value) : undefined;
  if (!versionNode) return { tree: merged, derived: d.derived, gaps: d.gaps };
  // Nothing follows from a version labimg cannot configure: that is the one error to report, before any missing field.
  const problem = versionNode.kind === 'scalar' ? kubernetesVersionProblem(String(versionNode.value)) : undefined;
  if (!version || problem !== undefined || version.minor < OLDEST_SUPPORTED_MINOR) {
    if (problem !== undefined) d.gaps.push(findingAt(versionNode.at, ['kubernetes', 'version'], problem));
    return { tree: merged, derived: d.derived, gaps: d.gaps };
  }
  const from = versionNode.at;
  const kind = packageFormatOf(fieldsOf(d.plain().os).packageManager);
  if (kind === 'rpm' || kind === 'deb') {
    deriveRepository(d, version, kind, from);
    derivePackagePins(d, version, kind, from);
  } else if (kind === 'none') {
    deriveReleaseBinaries(d, version, from);
  }
  deriveSandboxImage(d, version, from);
  deriveCalico(d, version, from, calicoPins);
  return { tree: d.tree, derived: d.derived, gaps: d.gaps };
}

/** The fields this module may fill: where it could not (a gap), the schema's "required" for them says nothing more. */
export const DERIVED_FIELDS: readonly string[] = ['repositories', 'kubernetes.repository', 'kubernetes.packages', 'kubernetes.binaries', 'kubernetes.binaries.sha256', 'runtime.containerd.sandboxImage', 'cni.manifests'];

/** Values this module derives from the version: a mismatch on one of them concerns the version line too. */
const VERSION_BOUND = [
  /^repositories\.[^.]+\.(baseUrl|gpgKeys)/,
  /^kubernetes\.packages\.(kubelet|kubeadm|kubectl)$/,
  /^kubernetes\.binaries\.url$/,
  /^runtime\.containerd\.sandboxImage$/,
  /^cni\.manifests/,
];

/**
 * A value that disagrees with kubernetes.version is reported where it is stated; when the version is stated in
 * another file (a child that moved it, or a parent the child inherits it from), the version line hears of it too.
 * The rules that compare a value with the version name kubernetes.version in their message.
 */
export function versionFindings(findings: readonly Finding[], versionAt: Location): Finding[] {
  return findings.flatMap((finding) => {
    const aboutVersion = finding.message.includes('kubernetes.version') && VERSION_BOUND.some((pattern) => pattern.test(finding.path));
    if (finding.file === versionAt.file || !aboutVersion) return [];
    return [
      findingAt(versionAt, ['kubernetes', 'version'], `does not fit ${finding.path}, which ${finding.file}:${finding.line} states: remove that line and labimg derives it from this version, or change one to match the other`),
    ];
  });
}

/** A fact the profile never holds, computed from the ones it does. */
export interface ComputedFact {
  path: string;
  value: string;
  rule: string;
}

/** The facts compile.ts and the agent take from version and OS rather than from a profile field. */
export function computedFacts(profile: Profile): ComputedFact[] {
  const facts: ComputedFact[] = [
    { path: 'os.family', value: profile.os.family, rule: `the family of os.packageManager ${profile.os.packageManager}` },
    { path: 'os.packageFormat', value: OS_FAMILIES[profile.os.family].packageFormat, rule: `the ${profile.os.family} family's package format` },
  ];
  const version = parseKubernetesVersion(profile.kubernetes.version);
  if (!version) return facts;
  const apiVersion = kubeadmApiVersionFor(version);
  if (apiVersion) facts.push({ path: 'kubernetes.kubeadmApiVersion', value: apiVersion, rule: `kubeadm configuration API for Kubernetes ${formatMinor(version)}` });
  facts.push({ path: 'kubernetes.criSocket', value: criSocketFor(profile.runtime.cri, version), rule: `${profile.runtime.cri}'s CRI socket on Kubernetes ${formatMinor(version)}` });
  return facts;
}
