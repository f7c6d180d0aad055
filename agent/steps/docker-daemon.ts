/** Lab step 7c: /etc/docker/daemon.json with the systemd cgroup driver, matching the kubelet's. */
import { docker } from '../runtime/docker';
import { runtimeConfigStep } from './runtime-config-step';

export const dockerDaemon = runtimeConfigStep('docker-daemon', docker);
