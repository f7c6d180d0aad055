/** Which OCI runtime a container runtime starts containers with by default. */
import type { AgentConfig } from '../../contract/agent-config';

export type DefaultRuntime = { name: 'runc' } | { name: 'nvidia'; binary: string };

export const RUNC: DefaultRuntime = { name: 'runc' };

/** The nvidia runtime of a GPU profile; undefined for a profile without GPUs. */
export function nvidiaRuntime(config: AgentConfig): DefaultRuntime | undefined {
  return config.gpu ? { name: 'nvidia', binary: config.gpu.runtimeBinary } : undefined;
}
