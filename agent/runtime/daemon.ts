/**
 * A daemon the agent sets up: containerd, Docker, the kubelet. One object each (runtime/containerd.ts,
 * runtime/docker.ts, runtime/kubelet.ts) owns its unit and the files it reads, so no step spells them again.
 */
import type { AgentConfig } from '../../contract/agent-config';

export interface Daemon {
  /** The systemd unit. */
  readonly unit: string;
  /** Started as soon as it is enabled, or only enabled for something else to start. */
  readonly startWhenEnabled: boolean;
  /** Whether this profile has the daemon at all. Pure: reads only config. */
  present(config: AgentConfig): boolean;
}
