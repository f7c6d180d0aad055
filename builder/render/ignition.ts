import { gzipStable } from './gzip';
import { isRemote, nodeFiles, toJsonFile, unitName, type NodeFile, type NodeInputs, type RemoteContent } from './node-files';

/**
 * The spec version written. 3.3.0 is the newest that Debian 12's ignition-validate (2.14) accepts, and sha256
 * in `verification.hash` needs 3.1.0 or later.
 */
export const IGNITION_SPEC_VERSION = '3.3.0';

/** `storage.files[].contents` (spec 3.3.0): where the bytes come from and how Ignition checks them. */
export interface IgnitionResource {
  /** Without it, `source` holds the bytes as they land. */
  compression?: 'gzip';
  /** A data URL, or a remote URL that Ignition fetches before first boot. */
  source: string;
  /** "sha256-<hex>" of the decompressed contents; every remote source has one. */
  verification?: { hash: string };
}

export interface IgnitionFile {
  path: string;
  /** Decimal, as the spec wants it (0644 → 420). Owner and group stay Ignition's default, root. */
  mode: number;
  /** A baked image may have the file already; Ignition fails on an existing file unless told to replace it. */
  overwrite: true;
  contents: IgnitionResource;
}

export interface IgnitionUnit {
  name: string;
  enabled: boolean;
  contents: string;
}

export interface IgnitionConfig {
  ignition: { version: typeof IGNITION_SPEC_VERSION };
  storage: { files: IgnitionFile[] };
  systemd: { units: IgnitionUnit[] };
}

/** A node file as Ignition writes it: carried in the config (gzipped where it is large), or fetched against its sha256. */
function storageFile(file: NodeFile): IgnitionFile {
  const { path: target, mode, content } = file;
  if (isRemote(content)) {
    // Ignition checks TLS against the system's CAs only; a source whose certificate it cannot verify would fail.
    if (content.unverifiedTransport) throw new Error(`Ignition cannot fetch ${target} from ${content.url}: its TLS certificate is not verifiable by the system's CAs`);
    return { path: target, mode, overwrite: true, contents: { source: content.url, verification: { hash: `sha256-${content.sha256}` } } };
  }
  // gzipStable leaves the header mtime at 0, so the output stays byte-stable. A data URL is base64 and unreadable
  // either way, so any file gzip makes smaller goes gzipped (agent.json: 4.4 KB of JSON in 1.5 KB).
  const gzipped = gzipStable(content);
  if (file.compress || gzipped.length < content.length) return { path: target, mode, overwrite: true, contents: { compression: 'gzip', source: `data:;base64,${gzipped.toString('base64')}` } };
  return { path: target, mode, overwrite: true, contents: { source: `data:;base64,${content.toString('base64')}` } };
}

/** A unit to enable, as Ignition declares it: Ignition writes units to /etc/systemd/system and enables them by a preset. */
function systemdUnit(file: NodeFile): IgnitionUnit {
  if (isRemote(file.content)) throw new Error(`Ignition takes a unit's contents inline, but ${file.path} is only a URL`);
  return { name: unitName(file), enabled: true, contents: file.content.toString('utf8') };
}

/**
 * An Ignition config (spec 3.3.0) with the node files: the agent, its config, the Node.js installer and the
 * agent's unit, enabled, the same set the cloud-init user-data writes.
 *
 * What a node would otherwise fetch itself (the Node.js tarball, to DELIVERY_PATHS.nodeTarball where install-node.sh
 * finds it; on Flatcar the Kubernetes binaries) Ignition fetches before first boot, checked against the
 * profile's sha256. With `agent` (a stub, for EC2's 16 KB) the agent is fetched the same way. Secrets go into
 * this config only (0600 on the node), so the config is as secret as they are. Keys are written in one fixed
 * order and the gzip is deterministic, so the same inputs always give the same bytes.
 */
export function renderIgnitionConfig(inputs: NodeInputs, agent?: RemoteContent): string {
  const files = nodeFiles(inputs, agent);
  const config: IgnitionConfig = {
    ignition: { version: IGNITION_SPEC_VERSION },
    storage: { files: files.filter((file) => !file.enable).map(storageFile) },
    systemd: { units: files.filter((file) => file.enable).map(systemdUnit) },
  };
  return toJsonFile(config);
}
