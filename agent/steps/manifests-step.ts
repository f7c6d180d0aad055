/** The shape shared by control-plane steps that create manifests (CNI, GPU device plugin). */
import { PATHS } from '../../contract/node-paths';
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

const isUrl = (source: string) => /^https?:\/\//.test(source);

/**
 * A manifest as kubectl gets it: the profile's URL or path, the node's copy of it where the config moves
 * image registries (kubectl fetches a URL itself only when nothing moves), or a file the agent wrote.
 */
interface ManifestSource {
  kubectl: string;
  /** Set when images move: the profile's source, and the node path of the copy with them moved. */
  move?: { source: string; copy: string };
}

const registryMoves = (ctx: StepContext) => ctx.config.manifestImageRegistries ?? {};
const generatedFiles = (spec: ManifestSpec, ctx: StepContext) => spec.generated?.(ctx) ?? [];

function manifestSources(spec: ManifestSpec, ctx: StepContext): ManifestSource[] {
  const moving = Object.keys(registryMoves(ctx)).length > 0;
  const listed = spec.manifests(ctx).map((source, index): ManifestSource => {
    if (!moving) return { kubectl: source };
    const name = (isUrl(source) ? new URL(source).pathname : source).split('/').pop() || 'manifest.yaml';
    const copy = `${PATHS.movedManifests}/${spec.id}-${index}-${name}`;
    return { kubectl: ctx.host.hostPath(copy), move: { source, copy } };
  });
  const written = generatedFiles(spec, ctx).map((file): ManifestSource => ({ kubectl: ctx.host.hostPath(file.path) }));
  return [...listed, ...written];
}

/**
 * The node's copy of the manifest, downloaded (or copied) once, with its images moved. A copy is done when
 * nothing in it is left to move, so a crash between the download and the move is finished next run.
 */
async function copyInPlace(ctx: StepContext, copy: string): Promise<boolean> {
  const text = await ctx.host.readFile(copy);
  return text !== undefined && moveManifestImages(text, registryMoves(ctx)).moved.length === 0;
}

async function writeMovedCopy(ctx: StepContext, { source, copy }: { source: string; copy: string }): Promise<void> {
  const { host } = ctx;
  if (!(await host.exists(copy))) {
    const argv = isUrl(source) ? ['curl', '-fsSL', '--retry', '3', '--create-dirs', '-o', host.hostPath(copy), source] : ['install', '-D', '-m', '0644', host.hostPath(source), host.hostPath(copy)];
    await host.run(argv, { timeoutMs: 120_000, retries: 2 });
  }
  const text = await host.readFile(copy);
  if (text === undefined) throw new Error(`${copy}: the copy of ${source} is missing after the download`);
  const { text: movedText, moved } = moveManifestImages(text, registryMoves(ctx));
  for (const line of moved) ctx.log.info(`${source}: image ${line}`);
  if (moved.length > 0) await host.writeFile(copy, movedText, 0o644);
}

export function manifestsStep(spec: ManifestSpec): Step {
  const generated = (ctx: StepContext) => generatedFiles(spec, ctx);
  return {
    id: spec.id,
    phase: 'boot',
    title: spec.title,
    applies: spec.applies,
    async check(ctx) {
      for (const file of generated(ctx)) if ((await ctx.host.readFile(file.path)) !== file.content) return false;
      for (const { kubectl, move } of manifestSources(spec, ctx)) {
        if (move && !(await copyInPlace(ctx, move.copy))) return false;
        if (!(await manifestPresent(ctx.host, kubectl))) return false;
      }
      return true;
    },
    async apply(ctx) {
      for (const file of generated(ctx)) {
        if ((await ctx.host.readFile(file.path)) !== file.content) await ctx.host.writeFile(file.path, file.content, 0o644);
      }
      for (const { kubectl, move } of manifestSources(spec, ctx)) {
        if (move && !(await copyInPlace(ctx, move.copy))) await writeMovedCopy(ctx, move);
        if (!(await manifestPresent(ctx.host, kubectl))) await createManifest(ctx.host, kubectl);
      }
    },
  };
}
