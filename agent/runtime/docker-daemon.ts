/** /etc/docker/daemon.json as a typed object, serialized once as JSON. */
import type { DockerSpec } from '../../contract/agent-config';
import type { DefaultRuntime } from './runtime-choice';

export const DOCKER_DAEMON_CONFIG = '/etc/docker/daemon.json';

export interface DockerDaemonConfig {
  /** The cgroup driver must match the kubelet's, or pods fail to start. */
  'exec-opts': string[];
  'registry-mirrors'?: string[];
  'default-runtime'?: string;
  runtimes?: Record<string, { path: string; runtimeArgs: string[] }>;
}

export function dockerDaemonConfig(spec: DockerSpec, runtime: DefaultRuntime): DockerDaemonConfig {
  const config: DockerDaemonConfig = { 'exec-opts': [`native.cgroupdriver=${spec.cgroupDriver}`] };
  if (spec.registryMirrors.length > 0) config['registry-mirrors'] = [...spec.registryMirrors];
  if (runtime.name === 'nvidia') {
    // dockerd refuses a default-runtime it has no definition for, so both keys go together.
    config['default-runtime'] = 'nvidia';
    config.runtimes = { nvidia: { path: runtime.binary, runtimeArgs: [] } };
  }
  return config;
}

export function renderDockerDaemonConfig(spec: DockerSpec, runtime: DefaultRuntime): string {
  // JSON has no comments, so no managed-by header here.
  return `${JSON.stringify(dockerDaemonConfig(spec, runtime), null, 2)}\n`;
}
