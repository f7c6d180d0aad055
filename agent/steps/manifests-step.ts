/** The shape shared by control-plane steps that create manifests (CNI, GPU device plugin). */
import { createManifest, manifestPresent } from '../kube/kubectl';
import type { Step, StepContext } from './step';

export interface ManifestSpec {
  id: string;
  title: string;
  applies(ctx: StepContext): boolean;
  /** URLs or node paths, created in order. */
  manifests(ctx: StepContext): string[];
  /** Manifests the agent writes itself before creating them (path → content). */
  generated?(ctx: StepContext): Array<{ path: string; content: string }>;
}

export function manifestsStep(spec: ManifestSpec): Step {
  const generated = (ctx: StepContext) => spec.generated?.(ctx) ?? [];
  const sources = (ctx: StepContext) => [...spec.manifests(ctx), ...generated(ctx).map((g) => ctx.host.hostPath(g.path))];
  return {
    id: spec.id,
    phase: 'boot',
    title: spec.title,
    applies: spec.applies,
    async check(ctx) {
      for (const file of generated(ctx)) if ((await ctx.host.readFile(file.path)) !== file.content) return false;
      for (const source of sources(ctx)) if (!(await manifestPresent(ctx.host, source))) return false;
      return true;
    },
    async apply(ctx) {
      for (const file of generated(ctx)) {
        if ((await ctx.host.readFile(file.path)) !== file.content) await ctx.host.writeFile(file.path, file.content, 0o644);
      }
      for (const source of sources(ctx)) if (!(await manifestPresent(ctx.host, source))) await createManifest(ctx.host, source);
    },
  };
}
