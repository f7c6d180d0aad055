/**
 * A profile under a mirror: every URL and image reference it names, rewritten onto the mirror; the
 * containerd registry mirrors that carry the images named inside the addons' manifests; and, for the
 * registries the runtime cannot pull through a mirror, the moves the node makes inside those manifests.
 *
 * Pure. What the mirror has no rule for is returned as a gap at its field, never left pointing upstream:
 * a mirror is chosen where the upstream cannot be reached, so a download that silently escapes it is a
 * boot that hangs on a timeout.
 */
import type { PathSegment } from '../profiles/findings';
import { splitRegistry } from '../../contract/image-reference';
import type { Profile } from '../profiles/types';
import type { PinnedManifest } from '../../contract/agent-config';
import { hostOf } from '../versions';
import { addonRegistries, calicoComponentRegistries } from './addon-registries';
import { MIRROR_PRESETS } from './presets';
import type { Mirror, MirrorSpec, RegistryRule } from './types';

export interface MirrorGap {
  path: PathSegment[];
  message: string;
}

export interface MirroredProfile {
  profile: Profile;
  gaps: MirrorGap[];
}

/** The preset under the spec, with the profile's own rules taking precedence. */
export function effectiveMirror(spec: MirrorSpec): Mirror {
  const preset = spec.preset === 'custom' ? { files: [], registries: {} } : MIRROR_PRESETS[spec.preset];
  return {
    name: spec.preset,
    files: [...spec.files, ...preset.files],
    registries: { ...preset.registries, ...spec.registries },
  };
}

/** Hosts the mirror itself serves from: a URL already there is left as it is. */
function mirrorFileHosts(mirror: Mirror): Set<string> {
  return new Set(mirror.files.map((rule) => hostOf(rule.to)).filter((host): host is string => host !== undefined));
}

function mirrorRegistryHosts(mirror: Mirror): Set<string> {
  return new Set(Object.values(mirror.registries).map((rule) => splitRegistry(rule.to).registry));
}

const originOf = (url: string): string => {
  try {
    return `${new URL(url).origin}/`;
  } catch {
    return url;
  }
};

class Rewriter {
  readonly gaps: MirrorGap[] = [];
  private readonly files: Mirror['files'];
  private readonly fileHosts: Set<string>;
  private readonly registryHosts: Set<string>;
  /** The upstream preset under a profile's own rules moves only what they match and leaves the rest upstream. */
  readonly strict: boolean;

  constructor(readonly mirror: Mirror) {
    this.strict = mirror.name !== 'upstream';
    // The most specific rule wins, whatever order the tables list them in.
    this.files = [...mirror.files].sort((a, b) => b.from.length - a.from.length);
    this.fileHosts = mirrorFileHosts(mirror);
    this.registryHosts = mirrorRegistryHosts(mirror);
  }

  url(url: string, path: PathSegment[]): string {
    // A file already on the node (a distro's own signing key) is no download.
    if (url.startsWith('file:///')) return url;
    const host = hostOf(url);
    if (host !== undefined && this.fileHosts.has(host)) return url;
    const rule = this.files.find((candidate) => url.startsWith(candidate.from));
    if (rule) return rule.to + url.slice(rule.from.length);
    if (!this.strict) return url;
    this.gaps.push({
      path,
      message: `${url} is outside mirror "${this.mirror.name}", which has no rule for ${originOf(url)}: add one under mirror.files (from: ${originOf(url)}, to: where your mirror serves it) or choose another mirror`,
    });
    return url;
  }

  urls(urls: readonly string[], path: PathSegment[]): string[] {
    return urls.map((url, index) => this.url(url, [...path, index]));
  }

  /** Packer's checksum: "file:<URL of a checksum list>" is a download too; "sha256:<hex>" is not. */
  checksum(checksum: string, path: PathSegment[]): string {
    return checksum.startsWith('file:') ? `file:${this.url(checksum.slice('file:'.length), path)}` : checksum;
  }

  /** An image reference or repository (no tag), onto the mirror of its registry. */
  image(reference: string, path: PathSegment[]): string {
    const { registry, rest } = splitRegistry(reference);
    if (this.registryHosts.has(registry)) return reference;
    const rule = this.mirror.registries[registry];
    if (rule) return rest === '' ? rule.to : `${rule.to}/${rest}`;
    if (!this.strict) return reference;
    this.gaps.push({
      path,
      message: `${reference} is pulled from ${registry}, which mirror "${this.mirror.name}" has no rule for: add mirror.registries.${registry} (to: your mirror of it) or choose another mirror`,
    });
    return reference;
  }

  registryRule(registry: string): RegistryRule | undefined {
    return this.mirror.registries[registry];
  }
}

const KUBEADM_DEFAULT_REPOSITORY = 'registry.k8s.io';

/** The profile's own mirrors are tried first, the mirror's pull-through host after them. */
const withPullThrough = (urls: readonly string[], rule: RegistryRule): string[] => {
  const url = `https://${rule.to}`;
  return urls.includes(url) ? [...urls] : [...urls, url];
};

function withPullThroughMirrors(profile: Profile, mirror: Mirror): Profile['runtime'] {
  const { containerd, docker } = profile.runtime;
  const registryMirrors: Record<string, string[]> = Object.fromEntries(Object.entries(containerd.registryMirrors).map(([registry, urls]) => [registry, [...urls]]));
  // hosts.toml is read by containerd's CRI plugin, which dockerd does not use.
  const containerdPulls = profile.runtime.cri === 'containerd';
  for (const [registry, rule] of Object.entries(mirror.registries)) {
    if (rule.samePaths && containerdPulls) registryMirrors[registry] = withPullThrough(registryMirrors[registry] ?? [], rule);
  }
  const runtime: Profile['runtime'] = { ...profile.runtime, containerd: { ...containerd, registryMirrors } };
  const dockerHub = mirror.registries['docker.io'];
  if (docker && dockerHub?.samePaths) runtime.docker = { ...docker, registryMirrors: withPullThrough(docker.registryMirrors, dockerHub) };
  return runtime;
}

/** Whether the runtime pulls `registry` through `rule` itself: containerd via hosts.toml, Docker for Docker Hub alone. */
function runtimePullsThrough(profile: Profile, registry: string, rule: RegistryRule): boolean {
  return rule.samePaths && (profile.runtime.cri !== 'docker' || registry === 'docker.io');
}

/**
 * Where images inside the addons' manifests move: each registry the mirror has a rule for that the runtime
 * cannot pull through a mirror itself (the node rewrites those references before creating the manifests).
 * Every such registry, not only the ones the addons are known to use, so that nothing a manifest names on
 * a mirrored registry goes upstream. A registry the addons use that the mirror has no rule for is a gap.
 */
function addonImageMoves(profile: Profile, rewriter: Rewriter): Record<string, string> {
  const addons = addonRegistries(profile);
  if (rewriter.strict) {
    for (const { path, addon, registries } of addons) {
      for (const registry of registries.filter((candidate) => rewriter.registryRule(candidate) === undefined)) {
        const name = rewriter.mirror.name;
        rewriter.gaps.push({ path, message: `${addon} pulls images from ${registry} inside its manifests, and mirror "${name}" cannot carry them: it has no rule for ${registry}. Add mirror.registries.${registry} (to: your mirror of it)` });
      }
    }
  }
  if (addons.length === 0) return {};
  const moves: Record<string, string> = {};
  for (const [registry, rule] of Object.entries(rewriter.mirror.registries)) {
    if (!runtimePullsThrough(profile, registry, rule)) moves[registry] = rule.to;
  }
  return moves;
}

/** `profile` with every download moved onto `mirror`; the upstream mirror changes nothing. */
export function applyMirror(profile: Profile, mirror: Mirror): MirroredProfile {
  if (mirror.files.length === 0 && Object.keys(mirror.registries).length === 0) return { profile, gaps: [] };
  const rewrite = new Rewriter(mirror);
  for (const [registry, rule] of Object.entries(profile.mirror.registries)) {
    // hosts.toml names a host; a mirror under a path would need containerd's override_path and its API prefix.
    if (rule.samePaths && rule.to.includes('/')) {
      rewrite.gaps.push({ path: ['mirror', 'registries', registry, 'to'], message: `a mirror with samePaths is a registry host containerd pulls ${registry} through, without a path; got "${rule.to}" (set samePaths: false for a copy under a path)` });
    }
  }

  const repositories = Object.fromEntries(
    Object.entries(profile.repositories).map(([id, repo]) => [
      id,
      { ...repo, baseUrl: rewrite.url(repo.baseUrl, ['repositories', id, 'baseUrl']), gpgKeys: rewrite.urls(repo.gpgKeys, ['repositories', id, 'gpgKeys']) },
    ]),
  );

  const k8s = profile.kubernetes;
  const imageRepository = rewrite.image(k8s.imageRepository, ['kubernetes', 'imageRepository']);
  const kubernetes: Profile['kubernetes'] = { ...k8s, imageRepository };
  // kubeadm keeps CoreDNS one level down (coredns/coredns) only on its default registry; a mirror that
  // serves registry.k8s.io's own paths needs that level named, a flat copy of kubeadm's images does not.
  const k8sRule = rewrite.registryRule(KUBEADM_DEFAULT_REPOSITORY);
  if (k8s.imageRepository === KUBEADM_DEFAULT_REPOSITORY && k8sRule?.samePaths && k8s.dnsImageRepository === undefined) {
    kubernetes.dnsImageRepository = `${imageRepository}/coredns`;
  }
  if (k8s.binaries) kubernetes.binaries = { ...k8s.binaries, url: rewrite.url(k8s.binaries.url, ['kubernetes', 'binaries', 'url']) };

  const runtime = withPullThroughMirrors(profile, mirror);
  runtime.containerd.sandboxImage = rewrite.image(profile.runtime.containerd.sandboxImage, ['runtime', 'containerd', 'sandboxImage']);

  const cni: Profile['cni'] = { ...profile.cni, manifests: pinnedManifests(profile.cni.manifests, ['cni', 'manifests'], rewrite) };
  if (profile.cni.calico) {
    const { registry } = profile.cni.calico;
    cni.calico = { ...profile.cni.calico };
    // The tigera operator appends image paths to this prefix, which therefore ends in "/".
    if (registry !== undefined) cni.calico.registry = `${rewrite.image(registry.replace(/\/+$/, ''), ['cni', 'calico', 'registry'])}/`;
  }

  const mirrored: Profile = {
    ...profile,
    // A distro package comes from the distro's own archive; the tarball is then never fetched.
    agent: profile.agent.nodeRuntime.source === 'package' ? profile.agent : { nodeRuntime: { ...profile.agent.nodeRuntime, url: rewrite.url(profile.agent.nodeRuntime.url, ['agent', 'nodeRuntime', 'url']) } },
    repositories,
    runtime,
    kubernetes,
    cni,
  };
  if (profile.gpu) {
    mirrored.gpu = { ...profile.gpu };
    if (profile.gpu.devicePlugin) {
      const manifests = pinnedManifests(profile.gpu.devicePlugin.manifests, ['gpu', 'devicePlugin', 'manifests'], rewrite);
      mirrored.gpu.devicePlugin = { ...profile.gpu.devicePlugin, manifests };
    }
  }
  if (profile.image) mirrored.image = mirroredImageSources(profile.image, rewrite);
  const moves = addonImageMoves(profile, rewrite);
  if (Object.keys(moves).length > 0) {
    mirrored.manifestImageRegistries = moves;
    // The components the tigera operator starts are named by the operator, not its manifest: the
    // Installation's registry moves them, unless the profile chose one.
    const components = calicoComponentRegistries(profile.cni.manifests.map(({ url }) => url)).find((registry) => moves[registry] !== undefined);
    if (cni.calico && cni.calico.registry === undefined && components !== undefined) cni.calico.registry = `${moves[components]}/`;
  }
  return { profile: mirrored, gaps: rewrite.gaps };
}

/** Manifests from the mirror: each URL rewritten, each sha256 kept, for the mirror serves the same bytes. */
function pinnedManifests(manifests: PinnedManifest[], at: PathSegment[], rewrite: Rewriter): PinnedManifest[] {
  return manifests.map((entry, index) => ({ ...entry, url: rewrite.url(entry.url, [...at, index, 'url']) }));
}

function mirroredImageSources(image: NonNullable<Profile['image']>, rewrite: Rewriter): NonNullable<Profile['image']> {
  const sources: NonNullable<Profile['image']> = { ...image };
  if (image.cloud) {
    sources.cloud = { url: rewrite.url(image.cloud.url, ['image', 'cloud', 'url']), checksum: rewrite.checksum(image.cloud.checksum, ['image', 'cloud', 'checksum']) };
  }
  if (image.netInstall) {
    const net: NonNullable<typeof image.netInstall> = {};
    for (const key of ['kernel', 'initrd', 'repo', 'iso'] as const) {
      const url = image.netInstall[key];
      if (url !== undefined) net[key] = rewrite.url(url, ['image', 'netInstall', key]);
    }
    sources.netInstall = net;
  }
  return sources;
}
