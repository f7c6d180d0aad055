/** Docker: its unit and /etc/docker/daemon.json (the file's contents: docker-daemon.ts). */
import { containerRuntime } from './container-runtime';
import { DOCKER_DAEMON_CONFIG, renderDockerDaemonConfig } from './docker-daemon';

export const docker = containerRuntime({
  name: 'docker',
  unit: 'docker',
  configPath: DOCKER_DAEMON_CONFIG,
  settings: (config) => config.runtime.docker,
  render: renderDockerDaemonConfig,
});
