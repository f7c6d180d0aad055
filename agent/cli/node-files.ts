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

export interface Inputs {
  config: AgentConfig;
  node: NodeConfig | undefined;
  secrets: NodeSecrets;
}

/** The three input files: each at its PATHS entry under `host`'s root, or at the path its flag names. */
export async function readInputs(host: Host, files: InputFiles, log: Logger): Promise<Inputs> {
  const at = (flag: string | undefined, defaultPath: string): [Host, string] => (flag === undefined ? [host, defaultPath] : [new RealHost('/', log), resolve(flag)]);
  return {
    config: await loadAgentConfig(...at(files.config, PATHS.agentConfig)),
    node: await loadNodeConfig(...at(files.node, PATHS.nodeConfig)),
    secrets: await loadSecrets(...at(files.secrets, PATHS.nodeSecrets), log),
  };
}
