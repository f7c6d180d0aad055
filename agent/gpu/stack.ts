/**
 * The GPU spec of the steps that check the host's driver (gpu-driver, and the node labels kubeadm registers
 * with): none where NVIDIA's GPU operator brings the driver (gpu.stack gpu-operator). Its driver container loads
 * the module after the node joins, so a check at boot could only find it missing and mislabel the node.
 */
import type { AgentConfig } from '../../contract/agent-config';

export const hostDriverGpu = (config: AgentConfig) => (config.gpu?.stack === 'gpu-operator' ? undefined : config.gpu);
