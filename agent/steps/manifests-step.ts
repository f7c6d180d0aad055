/** The shape shared by control-plane steps that create manifests (CNI, GPU device plugin). */
import { createManifest, manifestPresent } from '../kube/kubectl';
import { moveManifestImages } from '../kube/manifest-images';
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

/** Where a manifest whose images move to other registries is kept, as created. */
export const MOVED_MANIFESTS_DIR = '/var/lib/labimg/manifests';

const isUrl = (source: string) => /^https?:\/\//.test(source);

/**
 * A manifest as the cluster gets it: the source itself, or, where the config moves image registries, the
 * node's copy with those images moved. kubectl fetches a URL itself only in the first case.
 */
interface ManifestSource {
  source: string;
  /** The node path kubectl is given instead of `source`, when images move. */
  copy?: string;
}

function manifestSources(spec: ManifestSpec, ctx: StepContext): ManifestSource[] {
  const registries = ctx.config.manifestImageRegistries ?? {};
  const moving = Object.keys(registries).length > 0;
  return spec.manifests(ctx).map((source, index) => {
    if (!moving) return { source };
    const name = (isUrl(source) ? new URL(source).pathname : source).split('/').pop() || 'manifest.yaml';
    return { source, copy: `${MOVED_MANIFESTS_DIR}/${spec.id}-${index}-${name}` };
  });
}

/**
 * The node's copy of the manifest, downloaded (or copied) once, with its images moved. A copy is done when
 * nothing in it is left to move, so a crash between the download and the move is finished next run.
 */
async function copyInPlace(ctx: StepContext, { copy }: Required<ManifestSource>): Promise<boolean> {
  const text = await ctx.host.readFile(copy);
  return text !== undefined && moveManifestImages(text, ctx.config.manifestImageRegistries ?? {}).moved.length === 0;
}

async function writeMovedCopy(ctx: StepContext, { source, copy }: Required<ManifestSource>): Promise<void> {
  const { host } = ctx;
  if (!(await host.exists(copy))) {
    const argv = isUrl(source) ? ['curl', '-fsSL', '--retry', '3', '--create-dirs', '-o', host.hostPath(copy), source] : ['install', '-D', '-m', '0644', host.hostPath(source), host.hostPath(copy)];
    await host.run(argv, { timeoutMs: 120_000, retries: 2 });
  }
  const text = await host.readFile(copy);
  if (text === undefined) throw new Error(`${copy}: the copy of ${source} is missing after the download`);
  const { text: movedText, moved } = moveManifestImages(text, ctx.config.manifestImageRegistries ?? {});
  for (const line of moved) ctx.log.info(`${source}: image ${line}`);
  if (moved.length > 0) await host.writeFile(copy, movedText, 0o644);
}

export function manifestsStep(spec: ManifestSpec): Step {
  const generated = (ctx: StepContext) => spec.generated?.(ctx) ?? [];
  const kubectlSource = ({ source, copy }: ManifestSource, ctx: StepContext) => (copy ? ctx.host.hostPath(copy) : source);
  return {
    id: spec.id,
    phase: 'boot',
    title: spec.title,
    applies: spec.applies,
    async check(ctx) {
      for (const file of generated(ctx)) if ((await ctx.host.readFile(file.path)) !== file.content) return false;
      for (const manifest of manifestSources(spec, ctx)) {
        if (manifest.copy && !(await copyInPlace(ctx, manifest as Required<ManifestSource>))) return false;
        if (!(await manifestPresent(ctx.host, kubectlSource(manifest, ctx)))) return false;
      }
      for (const file of generated(ctx)) if (!(await manifestPresent(ctx.host, ctx.host.hostPath(file.path)))) return false;
      return true;
    },
    async apply(ctx) {
      for (const file of generated(ctx)) {
        if ((await ctx.host.readFile(file.path)) !== file.content) await ctx.host.writeFile(file.path, file.content, 0o644);
      }
      for (const manifest of manifestSources(spec, ctx)) {
        if (manifest.copy && !(await copyInPlace(ctx, manifest as Required<ManifestSource>))) await writeMovedCopy(ctx, manifest as Required<ManifestSource>);
        const source = kubectlSource(manifest, ctx);
        if (!(await manifestPresent(ctx.host, source))) await createManifest(ctx.host, source);
      }
      for (const file of generated(ctx)) {
        const source = ctx.host.hostPath(file.path);
        if (!(await manifestPresent(ctx.host, source))) await createManifest(ctx.host, source);
      }
    },
  };
}
