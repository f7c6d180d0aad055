/** containerd registry mirrors as /etc/containerd/certs.d/<registry>/hosts.toml (the hosts.toml layout). */
import { stringifyToml } from '../text/toml';
import { managedHeader } from '../text/managed-header';
import { CONTAINERD_CERTS_DIR } from './containerd-config';

export type HostsToml = {
  server: string;
  host: Record<string, { capabilities: string[] }>;
};

/** Docker Hub's registry name and its API host differ; every other registry serves itself. */
function upstreamServer(registry: string): string {
  return registry === 'docker.io' ? 'https://registry-1.docker.io' : `https://${registry}`;
}

export function hostsTomlPath(registry: string): string {
  return `${CONTAINERD_CERTS_DIR}/${registry}/hosts.toml`;
}

export function hostsToml(registry: string, mirrors: string[]): HostsToml {
  const host: HostsToml['host'] = {};
  // Mirrors may pull and resolve tags but never receive pushes; the upstream stays the fallback.
  for (const mirror of mirrors) host[mirror] = { capabilities: ['pull', 'resolve'] };
  return { server: upstreamServer(registry), host };
}

export function renderHostsToml(registry: string, mirrors: string[]): string {
  return managedHeader() + stringifyToml(hostsToml(registry, mirrors));
}
