import path from 'node:path';
import { PATHS } from '../../contract/agent-config';
import type { AgentSource } from './agent-fetcher';
import { hasSecrets, toJsonFile, type UserDataInputs } from './cloud-init';
import { renderNodeInstaller } from './node-installer';
import { renderSystemdUnit } from './systemd-unit';
import { gzipStable } from './gzip';

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

/** Bytes carried in the config itself. */
function inline(file: string, mode: number, content: string | Buffer): IgnitionFile {
  return { path: file, mode, overwrite: true, contents: { source: `data:;base64,${Buffer.from(content).toString('base64')}` } };
}

/** Bytes carried in the config gzipped: gzipSync leaves the header mtime at 0, so the output stays byte-stable. */
function inlineGzip(file: string, mode: number, content: Buffer): IgnitionFile {
  const data = gzipStable(content).toString('base64');
  return { path: file, mode, overwrite: true, contents: { compression: 'gzip', source: `data:;base64,${data}` } };
}

/** Bytes Ignition fetches before first boot, refusing them unless their sha256 is `sha256`. */
function remote(file: string, mode: number, url: string, sha256: string): IgnitionFile {
  return { path: file, mode, overwrite: true, contents: { source: url, verification: { hash: `sha256-${sha256}` } } };
}

/**
 * An Ignition config (spec 3.3.0) that lands the agent, its config, the Node.js installer and the agent's
 * unit, enabled, the same set the cloud-init user-data writes.
 *
 * The Node.js tarball is fetched by Ignition itself, checked against the profile's sha256, to
 * PATHS.nodeTarball, where install-node.sh finds it and downloads nothing. Secrets go into this config only
 * (0600 on the node), so the config is as secret as they are. Keys are written in one fixed order and the
 * gzip is deterministic, so the same inputs always give the same bytes.
 */
export function renderIgnitionConfig(inputs: UserDataInputs, agent?: AgentSource): string {
  const files: IgnitionFile[] = [
    // A stub (for EC2's 16 KB) leaves the agent out: Ignition fetches it, checked by its sha256.
    agent ? remote(PATHS.agentBundle, 0o644, agent.url, agent.sha256) : inlineGzip(PATHS.agentBundle, 0o644, inputs.agentBundle),
    inline(PATHS.agentConfig, 0o644, toJsonFile(inputs.agentConfig)),
    inline(PATHS.nodeConfig, 0o644, toJsonFile(inputs.node)),
  ];
  if (hasSecrets(inputs.secrets)) files.push(inline(PATHS.nodeSecrets, 0o600, toJsonFile(inputs.secrets)));
  files.push(
    inline(PATHS.nodeInstaller, 0o755, renderNodeInstaller(inputs.nodeRuntime)),
    ...(inputs.nodeRuntime.source === 'tarball' ? [remote(PATHS.nodeTarball, 0o644, inputs.nodeRuntime.url, inputs.nodeRuntime.sha256)] : []),
    // Where there are no packages (Flatcar): Ignition fetches the Kubernetes binaries, against the same sha256
    // the agent's kubernetes-binaries step checks them by.
    ...(inputs.agentConfig.kubernetes.binaries ?? []).map((binary) => remote(binary.path, 0o755, binary.url, binary.sha256)),
  );

  const config: IgnitionConfig = {
    ignition: { version: IGNITION_SPEC_VERSION },
    storage: { files },
    // Ignition writes units to /etc/systemd/system, where PATHS.systemdUnit is, and enables them by a preset.
    systemd: { units: [{ name: path.posix.basename(PATHS.systemdUnit), enabled: true, contents: renderSystemdUnit() }] },
  };
  return toJsonFile(config);
}
