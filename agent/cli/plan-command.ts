/** `agent.js plan`: what `run` would do to a fresh host of this profile, without doing it. */
import type { NodeConfig, Role } from '../../contract/agent-config';
import { decideGpu } from '../gpu/detect';
import { RealHost } from '../host/real-host';
import type { Logger } from '../log';
import { formatPlan, planAgent } from '../plan';
import { InputFiles, readAgentConfig, readNodeConfig } from './node-files';

export interface PlanCommandOptions {
  root: string;
  files: InputFiles;
  /** Unset: as this machine's PCI bus says. */
  gpu?: 'present' | 'absent';
  /** Used when there is no node.json. */
  role?: Role;
  json: boolean;
  log: Logger;
}

export async function planCommand(options: PlanCommandOptions): Promise<string> {
  const host = new RealHost(options.root, options.log);
  const config = await readAgentConfig(host, options.files, options.log);
  const node: NodeConfig = (await readNodeConfig(host, options.files, options.log)) ?? {
    apiVersion: 'labimg.dev/v1',
    kind: 'NodeConfig',
    role: options.role ?? 'control-plane',
  };
  const gpu = options.gpu ? options.gpu === 'present' : (await decideGpu(host, config.gpu)).gpus.length > 0;
  const steps = await planAgent(config, node, { gpu });
  return options.json ? `${JSON.stringify(steps, null, 2)}\n` : formatPlan(steps);
}
