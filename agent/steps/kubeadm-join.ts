/**
 * Worker: `kubeadm join` from a JoinConfiguration with token discovery pinned to the cluster CA. The file
 * holds the bootstrap token, so it is created 0600, handed to kubeadm, and removed whatever the outcome.
 */
import { decideGpu } from '../gpu/detect';
import { joinDocuments, renderKubeadmConfig } from '../kubeadm/documents';
import { KUBEADM_JOIN_CONFIG, KUBELET_KUBECONFIG } from '../kubeadm/files';
import { joinMaterial } from '../kubeadm/join-material';
import { isWorker, nodeOf, Step } from './step';

export const kubeadmJoin: Step = {
  id: 'kubeadm-join',
  phase: 'boot',
  title: 'Join the cluster (kubeadm join)',
  applies: isWorker,

  async check(ctx) {
    return ctx.host.exists(KUBELET_KUBECONFIG);
  },

  async apply(ctx) {
    const node = nodeOf(ctx);
    const material = joinMaterial(node, ctx.secrets);
    const { labels } = await decideGpu(ctx.host, ctx.config.gpu);
    await ctx.host.writeFile(KUBEADM_JOIN_CONFIG, renderKubeadmConfig(joinDocuments(ctx.config, node, material, labels)), 0o600);
    try {
      await ctx.host.run(['kubeadm', 'join', '--config', ctx.host.hostPath(KUBEADM_JOIN_CONFIG)], { timeoutMs: 20 * 60_000 });
    } finally {
      await ctx.host.remove(KUBEADM_JOIN_CONFIG);
    }
  },
};
