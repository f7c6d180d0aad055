/**
 * Lab step 6: remove container-runtime packages left from an earlier install (old distro `docker`, a
 * mismatched containerd.io) before installing the ones the profile wants.
 *
 * A package that is both on the remove list and on the runtime's install list (the lab removes and reinstalls
 * docker-ce) is stale only when it is pinned and installed at another version. Otherwise a second run would
 * remove what the first one installed, and the agent would never settle.
 */
import type { AgentConfig } from '../../contract/agent-config';
import { packageManagerFor } from '../packages';
import { PackageManager, satisfiesPin } from '../packages/package-manager';
import type { Step, StepContext } from './step';

export async function stalePackages(manager: PackageManager, config: AgentConfig): Promise<string[]> {
  const stale: string[] = [];
  for (const name of config.runtime.removePackages) {
    const installed = await manager.installedVersion(name);
    if (installed === undefined) continue;
    const wanted = config.runtime.packages.find((p) => p.name === name);
    if (wanted && satisfiesPin(installed, wanted)) continue;
    stale.push(name);
  }
  return stale;
}

export const removeStaleRuntime: Step = {
  id: 'remove-stale-runtime',
  phase: 'bake',
  title: 'Remove stale container runtime packages',
  applies: (ctx) => ctx.config.runtime.removePackages.length > 0,

  async check(ctx) {
    return (await stalePackages(manager(ctx), ctx.config)).length === 0;
  },

  async apply(ctx) {
    const stale = await stalePackages(manager(ctx), ctx.config);
    if (stale.length > 0) await manager(ctx).remove(stale);
  },
};

function manager(ctx: StepContext): PackageManager {
  return packageManagerFor(ctx.host, ctx.config);
}
