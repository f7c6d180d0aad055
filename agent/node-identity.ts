import type { AgentConfig, InstanceIdentitySource, NodeConfig } from '../contract/agent-config';
import { InstanceMetadataError, instanceIdentity, type InstanceIdentity } from './endpoint/instance-metadata';
import type { NodeIdentity } from './endpoint/session';
import { nvidiaGpus } from './gpu/detect';
import { readHostname } from './host/facts';
import type { Host } from './host/host';
import type { Logger } from './log';
import { machineIdName } from './machine-name';

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
 * node.json with the node's name settled, for the whole run, so its reports, its enrollment and kubeadm's
 * nodeRegistration.name all say the same:
 * - a node that enrolls by its cloud's identity document and is given no nodeName is named after its instance id
 *   (lowercase, as both clouds write their ids): the name the endpoint binds to that instance. No fallback: the
 *   enrollment needs the metadata service anyway;
 * - nameFrom instance-id: the same id, or the machine id's name when the metadata service refuses or does not
 *   answer (not a cloud instance after all), never the hostname, which a pool's cloud derives from the IP;
 * - nameFrom machine-id: the machine id's name (agent/machine-name.ts).
 * Read once per run and kept in memory only: the id of the instance that runs now, never one a copied disk remembers.
 */
export async function withInstanceName(
  node: NodeConfig,
  log: Logger,
  host: Pick<Host, 'readFile'>,
  lookup: (source: InstanceIdentitySource) => Promise<InstanceIdentity> = instanceIdentity,
): Promise<NodeConfig> {
  if (node.nodeName !== undefined) return node;
  const source = node.endpoint?.identity ?? (node.nameFrom?.from === 'instance-id' ? node.nameFrom : undefined);
  if (source !== undefined) {
    try {
      const { instanceId } = await lookup(source);
      log.info(`this node is named ${instanceId}, its instance id in its ${source.provider} identity document`);
      return { ...node, nodeName: instanceId };
    } catch (error) {
      if (node.endpoint?.identity !== undefined || !(error instanceof InstanceMetadataError)) throw error;
      log.warn(`${error.message}: using the machine id`);
    }
  } else if (node.nameFrom?.from !== 'machine-id') return node;
  const name = await machineIdName(host);
  log.info(`this node is named ${name}`);
  return { ...node, nodeName: name };
}
