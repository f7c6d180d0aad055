/**
 * containerd: its unit, /etc/containerd/config.toml (the file's contents: containerd-config.ts), and the drop-in
 * that points a distro's containerd.service at that file where it reads one of its own (Flatcar:
 * /usr/share/containerd/config.toml, on the read-only /usr). Flatcar's unit starts containerd with
 * --config ${CONTAINERD_CONFIG}, so the drop-in sets that variable.
 */
import { managedHeader } from '../text/managed-header';
import { containerRuntime } from './container-runtime';
import { CONTAINERD_CONFIG, renderContainerdConfig } from './containerd-config';

export const containerd = {
  ...containerRuntime({
    name: 'containerd',
    unit: 'containerd',
    configPath: CONTAINERD_CONFIG,
    // Every profile has it: Docker >= 20.10 runs its containers on containerd too.
    settings: (config) => config.runtime.containerd,
    render: renderContainerdConfig,
  }),
  configDropIn: {
    path: '/etc/systemd/system/containerd.service.d/10-labimg-config.conf',
    content: `${managedHeader()}[Service]\nEnvironment=CONTAINERD_CONFIG=${CONTAINERD_CONFIG}\n`,
  },
} as const;
