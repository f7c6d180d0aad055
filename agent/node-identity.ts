import type { AgentConfig, InstanceIdentitySource, NodeConfig } from '../contract/agent-config';
import { instanceIdentity, type InstanceIdentity } from './endpoint/instance-metadata';
import type { NodeIdentity } from './endpoint/session';
import { nvidiaGpus } from './gpu/detect';
import { readHostname } from './host/facts';
import type { Host } from './host/host';
import type { Logger } from './log';

/** Who this node is, as its reports and its enrollment say: the Kubernetes node name, role, profile, GPU, pool. */
export async function nodeIdentity(host: Host, config: AgentConfig, node: NodeConfig): Promise<NodeIdentity> {
  return {
    name: node.nodeName ?? (await readHostname(host)),
    role: node.role,
    profile: config.profile,
    gpu: config.gpu !== undefined && (await nvidiaGpus(host)).length > 0,
    ...(node.pool !== undefined ? { pool: node.pool } : {}),
  };
}

/**
 * node.json with the node's name settled, for the whole run. A node that enrolls by its cloud's identity document
 * and is given no nodeName is named after its instance id (lowercase, as both clouds write their ids), read from
 * the metadata service: the name the endpoint binds to that instance, so its reports, its enrollment and
 * kubeadm's nodeRegistration.name all say the same. Read once per run and kept in memory only: the id of the
 * instance that runs now, never one a copied disk remembers.
 */
export async function withInstanceName(node: NodeConfig, log: Logger, lookup: (source: InstanceIdentitySource) => Promise<InstanceIdentity> = instanceIdentity): Promise<NodeConfig> {
  const source = node.endpoint?.identity;
  if (source === undefined || node.nodeName !== undefined) return node;
  const { instanceId } = await lookup(source);
  log.info(`this node is named ${instanceId}, its instance id in its ${source.provider} identity document`);
  return { ...node, nodeName: instanceId };
}
