/**
 * Lab step 8: kubelet, kubeadm and kubectl at exactly the profile's version. yum lifts the repo's exclude=
 * for this one install (--disableexcludes=<repo>); apt installs name=version and then holds the packages so
 * `apt-get upgrade` cannot move them.
 */
import { OS_FAMILIES_ON_NODE } from '../../contract/os-families';
import type { PinnedPackage } from '../../contract/agent-config';
import { packageManagerFor } from '../packages';
import { unsatisfied } from '../packages/package-manager';
import type { Step, StepContext } from './step';

/** Repositories whose exclude= list names one of the packages: those excludes must be lifted. */
export function reposExcluding(ctx: StepContext, packages: PinnedPackage[]): string[] {
  const names = new Set(packages.map((p) => p.name));
  return ctx.config.repositories.filter((r) => r.kind === 'rpm' && (r.exclude ?? []).some((n) => names.has(n))).map((r) => r.id);
}

export const installKubernetes: Step = {
  id: 'install-kubernetes',
  phase: 'bake',
  title: 'Install pinned kubelet, kubeadm and kubectl',
  applies: (ctx) => ctx.config.kubernetes.packages.length > 0,

  async check(ctx) {
    const manager = packageManagerFor(ctx.host, ctx.config);
    const packages = ctx.config.kubernetes.packages;
    if ((await unsatisfied(manager, packages)).length > 0) return false;
    return (await unheld(ctx)).length === 0;
  },

  async apply(ctx) {
    const manager = packageManagerFor(ctx.host, ctx.config);
    const packages = ctx.config.kubernetes.packages;
    const missing = await unsatisfied(manager, packages);
    if (missing.length > 0) await manager.install(missing, { disableExcludes: reposExcluding(ctx, packages) });
    const toHold = await unheld(ctx);
    if (toHold.length > 0) await manager.hold(toHold);
  },
};

/** Pinned packages not yet on hold, where the family pins by holding (apt); yum and dnf pin by repo excludes. */
async function unheld(ctx: StepContext): Promise<string[]> {
  if (OS_FAMILIES_ON_NODE[ctx.config.os.family].pinning !== 'hold') return [];
  const held = new Set(await packageManagerFor(ctx.host, ctx.config).held());
  return ctx.config.kubernetes.packages.filter((p) => p.version && !held.has(p.name)).map((p) => p.name);
}
