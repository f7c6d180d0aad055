/**
 * The one list of what a node receives. cloud-init, Ignition, the PXE installers and Packer each take this list
 * and write it in their own syntax; none of them adds a file of its own or decides a path or a mode.
 */
import { DELIVERY_PATHS, PATHS } from '../../contract/node-paths';
import { type AgentConfig, type NodeConfig, type NodeSecrets } from '../../contract/agent-config';
import { renderNodeInstaller } from './node-installer';
import { renderSystemdUnit } from './systemd-unit';
import type { NodeRuntime } from './types';

/** What every node file is made from: the profile's compiled config and runtime, and this instance's config. */
export interface NodeInputs {
  agentConfig: AgentConfig;
  /** This instance's config; absent for an image, which is baked before any instance exists. */
  node?: NodeConfig;
  /** Instance secrets; written 0600 and only when there is something to write. */
  secrets?: NodeSecrets;
  agentBundle: Buffer;
  nodeRuntime: NodeRuntime;
}

/** Bytes a delivery path fetches rather than carries, checked against their sha256 before they are used. */
export interface RemoteContent {
  url: string;
  /** Lowercase hex. */
  sha256: string;
  /**
   * TLS cannot be verified: the join endpoint's certificate comes from its own CA, which a node does not hold
   * before it enrolls. The sha256 is then all that makes the file trustworthy, and only a fetcher that checks
   * it (not Ignition, which trusts the system's CAs) may take such a source.
   */
  unverifiedTransport: boolean;
}

export interface NodeFile {
  /** Absolute path on the node. */
  path: string;
  mode: number;
  content: Buffer | RemoteContent;
  /**
   * image: the same on every node of the profile; a bake installs it. instance: this node's own (its config,
   * its secrets); it arrives with the instance and is never baked.
   */
  scope: 'image' | 'instance';
  /** Holds a secret: whatever carries the file is as secret as the file (0600, never logged). */
  secret: boolean;
  /** Large and carried compressed where the format allows it (the agent: a third of its size as gzip). */
  compress: boolean;
  /**
   * The node fetches it itself when it is missing (install-node.sh the Node tarball, the kubernetes-binaries
   * step the binaries): a path that can fetch and check it before first boot (Ignition) places it; others
   * leave it to the node.
   */
  optional: boolean;
  /** A systemd unit to enable, so the agent starts at boot. */
  enable: boolean;
}

export function isRemote(content: NodeFile['content']): content is RemoteContent {
  return !Buffer.isBuffer(content);
}

/** Config files labimg writes for people (an Ignition config) are pretty-printed. */
export function toJsonFile(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * A node's config files are compact: they travel inside user-data, which clouds cap (16 KB on EC2, 64 KB on
 * Azure), and indentation was a twentieth of a full user-data. `jq . FILE` lays one out for a reader.
 */
export function toNodeJsonFile(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

/** True when there is a token to write: secrets.json exists only then. */
export function hasSecrets(secrets: NodeSecrets | undefined): secrets is NodeSecrets {
  return secrets !== undefined && Object.values(secrets).some((value) => value !== undefined && value !== '');
}

const file = (path: string, mode: number, content: string | Buffer | RemoteContent, options: Partial<Omit<NodeFile, 'path' | 'mode' | 'content'>> = {}): NodeFile => ({
  path,
  mode,
  content: typeof content === 'string' ? Buffer.from(content, 'utf8') : content,
  scope: 'image',
  secret: false,
  compress: false,
  optional: false,
  enable: false,
  ...options,
});

/**
 * Every file a node of this profile and role gets, in the order they are written: the agent, its config,
 * the node's config, its secrets (only when there are any), the Node.js installer, what the node can fetch
 * itself, and the agent's unit.
 *
 * `agent` leaves the bundle out of the config for a source it is fetched from (stub user-data for EC2's
 * 16 KB, and Ignition stubs); the node checks it against its sha256 before it runs it.
 */
export function nodeFiles(inputs: NodeInputs, agent?: RemoteContent): NodeFile[] {
  const files: NodeFile[] = [
    file(PATHS.agentBundle, 0o644, agent ?? inputs.agentBundle, { compress: true }),
    file(PATHS.agentConfig, 0o644, toNodeJsonFile(inputs.agentConfig)),
  ];
  if (inputs.node) files.push(file(PATHS.nodeConfig, 0o644, toNodeJsonFile(inputs.node), { scope: 'instance' }));
  if (hasSecrets(inputs.secrets)) files.push(file(PATHS.nodeSecrets, 0o600, toNodeJsonFile(inputs.secrets), { scope: 'instance', secret: true }));
  files.push(file(DELIVERY_PATHS.nodeInstaller, 0o755, renderNodeInstaller(inputs.nodeRuntime)));
  if (inputs.nodeRuntime.source === 'tarball') {
    const { url, sha256 } = inputs.nodeRuntime;
    files.push(file(DELIVERY_PATHS.nodeTarball, 0o644, { url, sha256, unverifiedTransport: false }, { optional: true }));
  }
  for (const binary of inputs.agentConfig.kubernetes.binaries ?? []) {
    files.push(file(binary.path, 0o755, { url: binary.url, sha256: binary.sha256, unverifiedTransport: false }, { optional: true }));
  }
  files.push(file(DELIVERY_PATHS.systemdUnit, 0o644, renderSystemdUnit(), { enable: true }));
  return files;
}

/** A unit's name as systemctl takes it: the last part of its path. */
export function unitName(unit: NodeFile): string {
  return unit.path.slice(unit.path.lastIndexOf('/') + 1);
}

/** A node file whose bytes are at hand. */
export type CarriedFile = NodeFile & { content: Buffer };

/** The files a bake puts into an image: every file but the instance's own and those the node fetches itself. */
export function imageFiles(inputs: Omit<NodeInputs, 'node' | 'secrets'>): CarriedFile[] {
  return nodeFiles(inputs).filter((f): f is CarriedFile => f.scope === 'image' && !f.optional && !isRemote(f.content));
}

/** The mode of whatever carries a node's files (user-data, an Ignition config, an installer config): 0600 when one is secret. */
export function carrierMode(inputs: NodeInputs): number {
  return nodeFiles(inputs).some((f) => f.secret) ? 0o600 : 0o644;
}
