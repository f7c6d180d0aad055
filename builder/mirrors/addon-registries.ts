/**
 * The registries the addons' own manifests pull from. labimg does not write those manifests: under a
 * mirror these registries are pulled through a mirror by the runtime (containerd's hosts.toml, Docker's
 * registry-mirrors for Docker Hub), or else their references move inside the manifests on the node.
 */
import type { PathSegment } from '../profiles/findings';
import type { Profile } from '../profiles/types';
import { compareDotted } from '../versions';

export interface AddonRegistries {
  /** The field that brings the addon in, for the error when a registry has no mirror. */
  path: PathSegment[];
  addon: string;
  registries: string[];
}

// The tigera operator's image is on quay.io; the Calico images it starts moved from docker.io to quay.io
// in operator v1.38.7 (Calico v3.30.4). Manifest installs (calico.yaml) name docker.io/calico/*.
const CALICO_IMAGES_ON_QUAY_FROM = '3.30.4';

/** The Calico release a manifest URL names (.../calico/v3.31.7/manifests/...). */
function calicoVersionOf(url: string): string | undefined {
  return /\/v(\d+\.\d+\.\d+)\//.exec(url)?.[1];
}

/**
 * Where the tigera operator pulls the Calico components it starts from, which Installation.spec.registry
 * replaces: quay.io from 3.30.4, docker.io before, either for a release the URLs do not name. Empty for a
 * manifest install (calico.yaml), whose images are all named in the manifest.
 */
export function calicoComponentRegistries(manifests: readonly string[]): string[] {
  if (!manifests.some((url) => url.endsWith('/tigera-operator.yaml'))) return [];
  const version = manifests.map(calicoVersionOf).find((found) => found !== undefined);
  if (version === undefined) return ['quay.io', 'docker.io'];
  return [compareDotted(version, CALICO_IMAGES_ON_QUAY_FROM) >= 0 ? 'quay.io' : 'docker.io'];
}

/** The operator itself is on quay.io; a manifest install names docker.io/calico/*. */
function calicoRegistries(manifests: readonly string[]): string[] {
  const components = calicoComponentRegistries(manifests);
  return components.length === 0 ? ['docker.io'] : [...new Set(['quay.io', ...components])];
}

/** Which registries each addon of the profile pulls from. */
export function addonRegistries(profile: Profile): AddonRegistries[] {
  const found: AddonRegistries[] = [];
  const { cni, gpu } = profile;
  if (cni.plugin === 'calico' && cni.manifests.length > 0) {
    found.push({ path: ['cni', 'manifests'], addon: 'Calico', registries: cni.calico?.registry !== undefined ? ['quay.io'] : calicoRegistries(cni.manifests.map(({ url }) => url)) });
  }
  // flannel's images moved from docker.io/flannel to ghcr.io/flannel-io in v0.26; either may be named.
  if (cni.plugin === 'flannel' && cni.manifests.length > 0) found.push({ path: ['cni', 'manifests'], addon: 'flannel', registries: ['ghcr.io', 'docker.io'] });
  if (gpu?.devicePlugin) {
    // NVIDIA's device plugin is on nvcr.io; HAMi's images are Docker Hub's projecthami/*. The GPU operator's are on
    // nvcr.io, and the Node Feature Discovery its chart includes on registry.k8s.io (deployments/gpu-operator/
    // charts/node-feature-discovery/values.yaml image.repository, NVIDIA/gpu-operator v26.7.0; read 2026-12-06).
    const kind = gpu.devicePlugin.kind;
    const registries = kind === 'nvidia' ? ['nvcr.io'] : kind === 'gpu-operator' ? ['nvcr.io', 'registry.k8s.io'] : ['docker.io'];
    found.push({ path: ['gpu', 'devicePlugin', 'manifests'], addon: kind === 'gpu-operator' ? 'the GPU operator' : `the ${kind} device plugin`, registries });
  }
  return found;
}
