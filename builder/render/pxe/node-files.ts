import { PATHS, type NodeSecrets } from '../../../contract/agent-config';
import { toJsonFile, type UserDataInputs } from '../cloud-init';
import { renderNodeInstaller } from '../node-installer';
import { renderSystemdUnit } from '../systemd-unit';

/** A file an installer writes into the system it installs. */
export interface TargetFile {
  /** Absolute path on the installed node. */
  path: string;
  mode: number;
  content: Buffer;
  /** Carried gzip+base64 (the agent bundle: a third of its size as text) rather than as readable text. */
  gzip?: boolean;
}

export function hasSecrets(secrets: NodeSecrets | undefined): secrets is NodeSecrets {
  return secrets !== undefined && Object.values(secrets).some((value) => value !== undefined && value !== '');
}

/**
 * The files every delivery path puts on a node, in the order and with the modes the cloud-init user-data
 * writes them: the agent, its config, the node's config, its secrets (0600, only when there are any), the
 * Node.js installer and the agent's unit.
 */
export function agentFiles(inputs: UserDataInputs): TargetFile[] {
  const text = (path: string, mode: number, content: string): TargetFile => ({ path, mode, content: Buffer.from(content, 'utf8') });
  const files: TargetFile[] = [
    { path: PATHS.agentBundle, mode: 0o644, content: inputs.agentBundle, gzip: true },
    text(PATHS.agentConfig, 0o644, toJsonFile(inputs.agentConfig)),
    text(PATHS.nodeConfig, 0o644, toJsonFile(inputs.node)),
  ];
  if (hasSecrets(inputs.secrets)) files.push(text(PATHS.nodeSecrets, 0o600, toJsonFile(inputs.secrets)));
  files.push(text(PATHS.nodeInstaller, 0o755, renderNodeInstaller(inputs.nodeRuntime)), text(PATHS.systemdUnit, 0o644, renderSystemdUnit()));
  return files;
}

/** The unit's name, as systemctl takes it. */
export const AGENT_UNIT = PATHS.systemdUnit.slice(PATHS.systemdUnit.lastIndexOf('/') + 1);
