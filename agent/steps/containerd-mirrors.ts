/** Registry mirrors for containerd, one hosts.toml per registry; containerd reads them without a restart. */
import { hostsTomlPath, renderHostsToml } from '../runtime/registry-hosts';
import type { Step } from './step';

export const containerdMirrors: Step = {
  id: 'containerd-mirrors',
  phase: 'bake',
  title: 'Write containerd registry mirrors (certs.d/<registry>/hosts.toml)',
  applies: (ctx) => Object.keys(ctx.config.runtime.containerd.registryMirrors).length > 0,

  async check(ctx) {
    for (const [registry, mirrors] of Object.entries(ctx.config.runtime.containerd.registryMirrors)) {
      if ((await ctx.host.readFile(hostsTomlPath(registry))) !== renderHostsToml(registry, mirrors)) return false;
    }
    return true;
  },

  async apply(ctx) {
    for (const [registry, mirrors] of Object.entries(ctx.config.runtime.containerd.registryMirrors)) {
      const wanted = renderHostsToml(registry, mirrors);
      if ((await ctx.host.readFile(hostsTomlPath(registry))) !== wanted) await ctx.host.writeFile(hostsTomlPath(registry), wanted, 0o644);
    }
  },
};
