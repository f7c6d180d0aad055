/** containerd: its unit and /etc/containerd/config.toml (the file's contents: containerd-config.ts). */
import { containerRuntime } from './container-runtime';
import { CONTAINERD_CONFIG, renderContainerdConfig } from './containerd-config';

export const containerd = containerRuntime({
  name: 'containerd',
  unit: 'containerd',
  configPath: CONTAINERD_CONFIG,
  // Every profile has it: Docker >= 20.10 runs its containers on containerd too.
  settings: (config) => config.runtime.containerd,
  render: renderContainerdConfig,
});
