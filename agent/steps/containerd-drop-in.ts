/**
 * Where the distro's containerd reads a config of its own (Flatcar: /usr/share/containerd/config.toml, on the
 * read-only /usr), a drop-in makes it read /etc/containerd/config.toml, the file containerd-config writes.
 * Flatcar's unit starts containerd with --config ${CONTAINERD_CONFIG}, so the drop-in sets that variable.
 */
import { containerd } from '../runtime/containerd';
import { managedHeader } from '../text/managed-header';
import type { Step } from './step';

export const CONTAINERD_DROP_IN = '/etc/systemd/system/containerd.service.d/10-labimg-config.conf';

export const CONTAINERD_DROP_IN_CONTENT = `${managedHeader()}[Service]\nEnvironment=CONTAINERD_CONFIG=${containerd.configPath}\n`;

export const containerdDropIn: Step = {
  id: 'containerd-drop-in',
  phase: 'bake',
  title: `Point containerd.service at ${containerd.configPath}`,
  applies: (ctx) => ctx.config.runtime.containerd.configDropIn === true,

  async check(ctx) {
    return (await ctx.host.readFile(CONTAINERD_DROP_IN)) === CONTAINERD_DROP_IN_CONTENT;
  },

  async apply(ctx) {
    await ctx.host.writeFile(CONTAINERD_DROP_IN, CONTAINERD_DROP_IN_CONTENT, 0o644);
    await ctx.host.services.daemonReload();
    await ctx.host.services.restartIfActive(containerd.unit);
  },
};
