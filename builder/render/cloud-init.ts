import { dump } from 'js-yaml';
import { PATHS, type AgentConfig, type NodeConfig, type NodeSecrets } from '../../contract/agent-config';
import { renderAgentFetcher, type AgentSource } from './agent-fetcher';
import { renderNodeInstaller } from './node-installer';
import { renderSystemdUnit } from './systemd-unit';
import type { NodeRuntime } from './types';
import { gzipStable } from './gzip';

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

/** True when there is a token to write: secrets.json is written only then. */
export function hasSecrets(secrets: NodeSecrets | undefined): secrets is NodeSecrets {
  return secrets !== undefined && Object.values(secrets).some((value) => value !== undefined && value !== '');
}

/** The files every node gets besides the agent itself: its config, this instance's identity, the runtime installer, the unit. */
function configFiles(inputs: UserDataInputs): WriteFile[] {
  const files: WriteFile[] = [
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
  return files;
}

function cloudConfig(files: WriteFile[]): string {
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

/**
 * #cloud-config user-data that installs the agent, its config and unit, and starts it.
 *
 * The agent travels gzip+base64 (a third of its size as text). gzipSync leaves the header mtime at 0,
 * so the same inputs always give byte-identical user-data.
 */
export function renderCloudInitUserData(inputs: UserDataInputs): string {
  const agent: WriteFile = {
    path: PATHS.agentBundle,
    permissions: '0644',
    owner: 'root:root',
    encoding: 'gzip+base64',
    content: gzipStable(inputs.agentBundle).toString('base64'),
  };
  return cloudConfig([agent, ...configFiles(inputs)]);
}

/**
 * The same user-data without the agent in it, for clouds whose limit it would pass (EC2 takes 16,384 B):
 * a script fetches agent.js from `source` and checks its sha256 before the agent's unit runs it.
 */
export function renderCloudInitStub(inputs: Omit<UserDataInputs, 'agentBundle'>, source: AgentSource): string {
  const fetcher: WriteFile = { path: PATHS.agentFetcher, permissions: '0755', owner: 'root:root', content: renderAgentFetcher(source) };
  // A drop-in, so the unit itself stays the one every other path installs; ExecStartPre also runs on every
  // later boot, where the script finds the bundle in place and does nothing.
  const dropIn: WriteFile = { path: PATHS.agentFetcherDropIn, permissions: '0644', owner: 'root:root', content: `[Service]\nExecStartPre=${PATHS.agentFetcher}\n` };
  return cloudConfig([fetcher, dropIn, ...configFiles({ ...inputs, agentBundle: Buffer.alloc(0) })]);
}
