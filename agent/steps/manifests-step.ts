/** The shape shared by control-plane steps that create manifests (CNI, GPU device plugin). */
import type { PinnedManifest } from '../../contract/agent-config';
import { PATHS } from '../../contract/node-paths';
import { matchesSha256 } from '../host/sha256-check';
import { createManifest, manifestObjects, manifestPresent } from '../kube/kubectl';
import { moveObjectImages } from '../kube/manifest-images';
import { manifestStream } from '../text/manifest-stream';
import type { Step, StepContext } from './step';

export interface ManifestSpec {
  id: string;
  title: string;
  applies(ctx: StepContext): boolean;
  /** URLs pinned by sha256, created in order: each is downloaded and checked before kubectl reads it. */
  manifests(ctx: StepContext): PinnedManifest[];
  /** Manifests the agent writes itself before creating them (path → content). */
  generated?(ctx: StepContext): Array<{ path: string; content: string }>;
}

/**
 * A manifest as kubectl gets it: the node's checked copy of a pinned URL (kubectl never fetches a URL itself, so
 * it never reads a byte the pin did not cover), or a file the agent wrote.
 */
interface ManifestSource {
  kubectl: string;
  /**
   * A pinned manifest: its URL, where it is downloaded (and checked), and the copy kubectl read and that has the
   * config's image moves applied, which exists only once the download passed.
   */
  move?: MovedCopy;
}

interface MovedCopy {
  source: string;
  download: string;
  copy: string;
  sha256: string;
}

const registryMoves = (ctx: StepContext) => ctx.config.manifestImageRegistries ?? {};
const generatedFiles = (spec: ManifestSpec, ctx: StepContext) => spec.generated?.(ctx) ?? [];

function manifestSources(spec: ManifestSpec, ctx: StepContext): ManifestSource[] {
  const moving = Object.keys(registryMoves(ctx)).length > 0;
  const listed = spec.manifests(ctx).map(({ url: source, sha256 }, index): ManifestSource => {
    const download = `${PATHS.movedManifests}/${spec.id}-${index}-${new URL(source).pathname.split('/').pop() || 'manifest.yaml'}`;
    const copy = `${download.replace(/\.(ya?ml|json)$/, '')}.${moving ? 'moved' : 'checked'}.json`;
    return { kubectl: ctx.host.hostPath(copy), move: { source, download, copy, sha256 } };
  });
  const written = generatedFiles(spec, ctx).map((file): ManifestSource => ({ kubectl: ctx.host.hostPath(file.path) }));
  return [...listed, ...written];
}

/** kubectl's reading of a manifest is tried this often, this far apart, as createManifest's create is. */
const READ_ATTEMPTS = 6;
const READ_DELAY_MS = 10_000;

/**
 * Writes the node's copy of the manifest with its images moved: downloaded once, checked, read by kubectl,
 * moved, and written whole in one rename, so a copy that exists is finished.
 *
 * kubectl stops at the first document whose kind the API server does not serve yet, typically a custom resource
 * whose CRD comes earlier in the same file, as a plain `kubectl create` would. The objects before it are created
 * then, as create would have created them, and the next reading maps the rest.
 */
async function writeMovedCopy(ctx: StepContext, { source, download, copy, sha256 }: MovedCopy): Promise<void> {
  const { host } = ctx;
  if (!(await host.exists(download))) {
    await host.run(['curl', '-fsSL', '--retry', '3', '--create-dirs', '-o', host.hostPath(download), source], { timeoutMs: 120_000, retries: 2 });
  }
  // A manifest that is not the file the profile pins is removed unread: kubectl never sees it, nothing is created.
  if (!(await matchesSha256(host, download, sha256))) {
    throw new Error(`${source} is not the manifest the profile pins (sha256 ${sha256}); nothing was created`);
  }
  for (let attempt = 1; ; attempt++) {
    const { objects, error } = await manifestObjects(host, host.hostPath(download));
    const moved = moveObjectImages(objects, registryMoves(ctx));
    if (error === undefined) {
      for (const line of moved) ctx.log.info(`${source}: image ${line}`);
      await host.writeFile(copy, manifestStream(objects), 0o644);
      return;
    }
    if (attempt >= READ_ATTEMPTS) throw new Error(`${source}: kubectl could not read the manifest: ${error}`);
    if (objects.length > 0) {
      const part = `${copy}.part`;
      await host.writeFile(part, manifestStream(objects), 0o644);
      await createManifest(host, host.hostPath(part));
    }
    await new Promise((resolve) => setTimeout(resolve, READ_DELAY_MS));
  }
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
        if (move && !(await ctx.host.exists(move.copy))) return false;
        if (!(await manifestPresent(ctx.host, kubectl))) return false;
      }
      return true;
    },
    async apply(ctx) {
      for (const file of generated(ctx)) {
        if ((await ctx.host.readFile(file.path)) !== file.content) await ctx.host.writeFile(file.path, file.content, 0o644);
      }
      for (const { kubectl, move } of manifestSources(spec, ctx)) {
        if (move && !(await ctx.host.exists(move.copy))) await writeMovedCopy(ctx, move);
        if (!(await manifestPresent(ctx.host, kubectl))) await createManifest(ctx.host, kubectl);
      }
    },
  };
}
