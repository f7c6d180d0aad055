/**
 * Lab step 8c: pull the control-plane images during the bake phase (`kubeadm config images pull`), so a node
 * booted from the image starts without downloading them. The check asks kubeadm which images this version
 * needs and the runtime which ones it has.
 */
import { PATHS } from '../../contract/node-paths';
import { imagesDocuments, renderKubeadmConfig } from '../kubeadm/documents';
import type { Step, StepContext } from './step';

export const pullImages: Step = {
  id: 'pull-images',
  phase: 'bake',
  title: 'Pre-pull the Kubernetes control-plane images',
  applies: (ctx) => ctx.config.kubernetes.prePullImages,

  async check(ctx) {
    if ((await ctx.host.readFile(PATHS.kubeadmImagesConfig)) !== content(ctx)) return false;
    const wanted = await ctx.host.query(['kubeadm', 'config', 'images', 'list', '--config', ctx.host.hostPath(PATHS.kubeadmImagesConfig)]);
    if (wanted.code !== 0) return false;
    const present = new Set(await imagesInRuntime(ctx));
    const images = wanted.stdout.split('\n').map((l) => l.trim()).filter((l) => l.includes(':'));
    return images.length > 0 && images.every((image) => present.has(image));
  },

  async apply(ctx) {
    await ctx.host.writeFile(PATHS.kubeadmImagesConfig, content(ctx), 0o644);
    await ctx.host.run(['kubeadm', 'config', 'images', 'pull', '--config', ctx.host.hostPath(PATHS.kubeadmImagesConfig)], {
      timeoutMs: 30 * 60_000,
      retries: 2,
      retryDelayMs: 15_000,
    });
  },
};

function content(ctx: StepContext): string {
  return renderKubeadmConfig(imagesDocuments(ctx.config));
}

/** Image references the CRI runtime holds: containerd's k8s.io namespace, or Docker's image store. */
async function imagesInRuntime(ctx: StepContext): Promise<string[]> {
  const argv =
    ctx.config.runtime.cri === 'docker'
      ? ['docker', 'images', '--format', '{{.Repository}}:{{.Tag}}']
      : ['ctr', '--namespace', 'k8s.io', 'images', 'list', '--quiet'];
  const result = await ctx.host.query(argv);
  return result.code === 0 ? result.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
}
