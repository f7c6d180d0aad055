/**
 * Where the agent's input files are: the PATHS of the contract under --root, unless a flag names a file
 * (then it is a path on this machine, relative to the working directory).
 */
import { PATHS } from '../../contract/node-paths';
import { resolve } from 'path';
import type { AgentConfig, NodeConfig, NodeSecrets } from '../../contract/agent-config';
import { loadAgentConfig, loadNodeConfig, loadSecrets } from '../config/load';
import type { Host } from '../host/host';
import { RealHost } from '../host/real-host';
import type { Logger } from '../log';

export interface InputFiles {
  config?: string;
  node?: string;
  secrets?: string;
}

interface Located {
  host: Host;
  file: string;
}

function locate(rootHost: Host, flag: string | undefined, defaultPath: string, log: Logger): Located {
  if (flag === undefined) return { host: rootHost, file: defaultPath };
  return { host: new RealHost('/', log), file: resolve(flag) };
}

export async function readAgentConfig(host: Host, files: InputFiles, log: Logger): Promise<AgentConfig> {
  const at = locate(host, files.config, PATHS.agentConfig, log);
  return loadAgentConfig(at.host, at.file);
}

export async function readNodeConfig(host: Host, files: InputFiles, log: Logger): Promise<NodeConfig | undefined> {
  const at = locate(host, files.node, PATHS.nodeConfig, log);
  return loadNodeConfig(at.host, at.file);
}

export async function readSecrets(host: Host, files: InputFiles, log: Logger): Promise<NodeSecrets> {
  const at = locate(host, files.secrets, PATHS.nodeSecrets, log);
  return loadSecrets(at.host, at.file, log);
}
