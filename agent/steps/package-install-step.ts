/** The shape shared by the steps that install a list of (possibly pinned) packages. */
import type { PinnedPackage } from '../../contract/agent-config';
import { packageManagerFor } from '../packages';
import { InstallOptions, unsatisfied } from '../packages/package-manager';
import type { Step, StepContext } from './step';

export interface PackageInstallSpec {
  id: string;
  title: string;
  packages(ctx: StepContext): PinnedPackage[];
  options?(ctx: StepContext): InstallOptions;
  /** Run before an install that has something to do (enabling a dnf module stream); must be safe to repeat. */
  beforeInstall?(ctx: StepContext): Promise<void>;
}

export function packageInstallStep(spec: PackageInstallSpec): Step {
  return {
    id: spec.id,
    phase: 'bake',
    title: spec.title,
    applies: (ctx) => spec.packages(ctx).length > 0,
    async check(ctx) {
      return (await unsatisfied(packageManagerFor(ctx.host, ctx.config), spec.packages(ctx))).length === 0;
    },
    async apply(ctx) {
      const manager = packageManagerFor(ctx.host, ctx.config);
      const missing = await unsatisfied(manager, spec.packages(ctx));
      if (missing.length === 0) return;
      await spec.beforeInstall?.(ctx);
      await manager.install(missing, spec.options?.(ctx));
    },
  };
}
