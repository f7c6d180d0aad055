/**
 * Container image references, following the grammar of the distribution reference format
 * (registry host, lowercase path components, optional tag and digest).
 */

// A registry host must look like one (a dot, a port, or localhost); otherwise "library/nginx" would
// read as host "library". DNS labels or an IPv4 address, optional port, or [IPv6] with optional port.
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
const PORT = ':\\d+';
const REGISTRY = `(?:${LABEL}(?:\\.${LABEL})+(?:${PORT})?|${LABEL}${PORT}|localhost(?:${PORT})?|\\[[0-9A-Fa-f:.]+\\](?:${PORT})?)`;
// Path components: lowercase alphanumerics joined by ".", "_", "__" or runs of "-".
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}';

// Made by pure calls, so a bundle that never asks about repositories or whole references (the agent, which only
// splits off a registry) leaves them out: esbuild drops an unused pure call, not an unused template of strings.
const REPOSITORY = /* @__PURE__ */ (() => new RegExp(`^${REGISTRY}(?:/${COMPONENT})*$`))();
const REFERENCE = /* @__PURE__ */ (() => new RegExp(`^(?:${REGISTRY}/)?${COMPONENT}(?:/${COMPONENT})*(?::(${TAG}))?(?:@(${DIGEST}))?$`))();

/**
 * A registry prefix that image names are appended to, as kubeadm's imageRepository is:
 * `registry.k8s.io` or `registry.aliyuncs.com/google_containers`. No tag, no digest.
 */
export function isImageRepository(text: string): boolean {
  return REPOSITORY.test(text);
}

/** A pullable image with an explicit tag or digest, e.g. `registry.k8s.io/pause:3.9`. */
export function isPinnedImageReference(text: string): boolean {
  const match = REFERENCE.exec(text);
  return match !== null && (match[1] !== undefined || match[2] !== undefined);
}

/** The last path component and the tag of a reference: `registry.k8s.io/pause:3.10` → pause, 3.10. */
export function imageNameAndTag(text: string): { name: string; tag: string } | undefined {
  const match = REFERENCE.exec(text);
  if (!match || match[1] === undefined) return undefined;
  const withoutDigest = match[2] === undefined ? text : text.slice(0, -(match[2].length + 1));
  const path = withoutDigest.slice(0, -(match[1].length + 1));
  return { name: path.slice(path.lastIndexOf('/') + 1), tag: match[1] };
}

const REGISTRY_PREFIX = new RegExp(`^(${REGISTRY})(?:/|$)`);

/**
 * The registry a reference or repository is pulled from, and the rest: `quay.io/calico/node:v3` → quay.io,
 * calico/node:v3. A first component that is no host name is Docker Hub's, as containerd reads it.
 */
export function splitRegistry(text: string): { registry: string; rest: string } {
  const match = REGISTRY_PREFIX.exec(text);
  if (!match?.[1]) return { registry: 'docker.io', rest: text };
  return { registry: match[1], rest: text.slice(match[1].length + 1) };
}
