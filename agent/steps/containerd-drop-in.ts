/** Where the distro's containerd reads a config of its own (Flatcar), point it at the one containerd-config writes. */
import { containerd } from '../runtime/containerd';
import type { Step } from './step';

export const containerdDropIn: Step = {
  id: 'containerd-drop-in',
  phase: 'bake',
  title: `Point containerd.service at ${containerd.configPath}`,
  applies: (ctx) => ctx.config.runtime.containerd.configDropIn === true,

  async check(ctx) {
    return (await ctx.host.readFile(containerd.configDropIn.path)) === containerd.configDropIn.content;
  },

  async apply(ctx) {
    await ctx.host.writeFile(containerd.configDropIn.path, containerd.configDropIn.content, 0o644);
    await ctx.host.services.daemonReload();
    await ctx.host.services.restartIfActive(containerd.unit);
  },
};
