import { gzipSync } from 'node:zlib';
import { dump } from 'js-yaml';
import { PATHS, type AgentConfig, type NodeConfig, type NodeSecrets } from '../../contract/agent-config';
import { renderNodeInstaller } from './node-installer';
import { renderSystemdUnit } from './systemd-unit';
import type { NodeRuntime } from './types';

export interface UserDataInputs {
  agentConfig: AgentConfig;
  node: NodeConfig;
  /** Instance secrets; written 0600 and only when there is something to write. */
  secrets?: NodeSecrets;
  agentBundle: Buffer;
  nodeRuntime: NodeRuntime;
}

/** One entry of cloud-init's write_files module (cc_write_files). */
interface WriteFile {
  path: string;
  permissions: string;
  owner: string;
  encoding?: 'gzip+base64';
  content: string;
}

interface CloudConfig {
  write_files: WriteFile[];
  runcmd: string[][];
}

/** Config files are pretty-printed so a person reading user-data (or the node) sees what the agent sees. */
export function toJsonFile(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function hasSecrets(secrets: NodeSecrets | undefined): secrets is NodeSecrets {
  return secrets !== undefined && Object.values(secrets).some((value) => value !== undefined && value !== '');
}

/**
 * #cloud-config user-data that installs the agent, its config and unit, and starts it.
 *
 * The agent travels gzip+base64 (a third of its size as text). gzipSync leaves the header mtime at 0,
 * so the same inputs always give byte-identical user-data.
 */
export function renderCloudInitUserData(inputs: UserDataInputs): string {
  const files: WriteFile[] = [
    {
      path: PATHS.agentBundle,
      permissions: '0644',
      owner: 'root:root',
      encoding: 'gzip+base64',
      content: gzipSync(inputs.agentBundle, { level: 9 }).toString('base64'),
    },
    { path: PATHS.agentConfig, permissions: '0644', owner: 'root:root', content: toJsonFile(inputs.agentConfig) },
    { path: PATHS.nodeConfig, permissions: '0644', owner: 'root:root', content: toJsonFile(inputs.node) },
  ];
  if (hasSecrets(inputs.secrets)) {
    files.push({ path: PATHS.nodeSecrets, permissions: '0600', owner: 'root:root', content: toJsonFile(inputs.secrets) });
  }
  files.push(
    { path: PATHS.nodeInstaller, permissions: '0755', owner: 'root:root', content: renderNodeInstaller(inputs.nodeRuntime) },
    { path: PATHS.systemdUnit, permissions: '0644', owner: 'root:root', content: renderSystemdUnit() },
  );

  const config: CloudConfig = {
    write_files: files,
    runcmd: [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', 'labimg-agent.service'],
      // --no-block: the unit is ordered after cloud-final, which is running this very command.
      ['systemctl', 'start', '--no-block', 'labimg-agent.service'],
    ],
  };
  return `#cloud-config\n${dump(config, { lineWidth: -1, noRefs: true })}`;
}
