import type { AgentConfig, NodeConfig } from '../contract/agent-config';
import type { NodeIdentity } from './endpoint/session';
import { decideGpu } from './gpu/detect';
import { readHostname } from './host/facts';
import type { Host } from './host/host';

/** Who this node is, as its reports and its enrollment say: the Kubernetes node name, role, profile, GPU. */
export async function nodeIdentity(host: Host, config: AgentConfig, node: NodeConfig): Promise<NodeIdentity> {
  return {
    name: node.nodeName ?? (await readHostname(host)),
    role: node.role,
    profile: config.profile,
    gpu: (await decideGpu(host, config.gpu)).gpus.length > 0,
  };
}
