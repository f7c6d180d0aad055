/**
 * The config file of each runtime and the variants of it the agent may leave behind. The bake steps write the
 * runc variant; the GPU switch swaps it for the nvidia variant on GPU nodes. The bake steps accept either, so
 * re-running them on a GPU node does not undo the switch.
 */
import type { AgentConfig, CriName } from '../../contract/agent-config';
import { CONTAINERD_CONFIG, renderContainerdConfig } from './containerd-config';
import { DOCKER_DAEMON_CONFIG, renderDockerDaemonConfig } from './docker-daemon';
import { DefaultRuntime, RUNC } from './runtime-choice';

export interface RuntimeConfigFile {
  runtime: CriName;
  /** systemd unit that reads the file. */
  unit: string;
  path: string;
  render(runtime: DefaultRuntime): string;
}

export function runtimeConfigFile(config: AgentConfig, runtime: CriName): RuntimeConfigFile | undefined {
  if (runtime === 'containerd') {
    return { runtime, unit: 'containerd', path: CONTAINERD_CONFIG, render: (choice) => renderContainerdConfig(config.runtime.containerd, choice) };
  }
  const docker = config.runtime.docker;
  if (!docker) return undefined;
  return { runtime, unit: 'docker', path: DOCKER_DAEMON_CONFIG, render: (choice) => renderDockerDaemonConfig(docker, choice) };
}

export function nvidiaRuntime(config: AgentConfig): DefaultRuntime | undefined {
  return config.gpu ? { name: 'nvidia', binary: config.gpu.runtimeBinary } : undefined;
}

/** Every content the file may legitimately have: runc always; nvidia too when this runtime is the CRI of a GPU profile. */
export function acceptedContents(config: AgentConfig, file: RuntimeConfigFile): string[] {
  const accepted = [file.render(RUNC)];
  const nvidia = nvidiaRuntime(config);
  if (nvidia && config.runtime.cri === file.runtime) accepted.push(file.render(nvidia));
  return accepted;
}
