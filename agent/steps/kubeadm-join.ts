/**
 * Worker: `kubeadm join` from a JoinConfiguration with token discovery pinned to the cluster CA. The file
 * holds the bootstrap token, so it is created 0600, handed to kubeadm, and removed whatever the outcome.
 */
import { PATHS } from '../../contract/node-paths';
import { registrationExtras } from '../gpu/readiness-gate';
import { joinDocuments, renderKubeadmConfig } from '../kubeadm/documents';
import { KUBELET_KUBECONFIG } from '../kubeadm/files';
import { retryUntil } from '../endpoint/backoff';
import type { JoinMaterial } from '../kubeadm/documents';
import { joinMaterial } from '../kubeadm/join-material';
import { isWorker, nodeOf, Step, StepContext } from './step';

/**
 * Join material pasted into node.json wins; otherwise it comes from the join endpoint, waiting (with backoff
 * and jitter) while the control plane is still coming up and has not published any.
 */
async function materialFor(ctx: StepContext): Promise<JoinMaterial> {
  const node = nodeOf(ctx);
  const session = ctx.endpoint;
  if (node.join || !session) return joinMaterial(node, ctx.secrets);
  // Checked against the contract by the session (a malformed answer is waited out like none); a worker asks for no
  // certificate key, and joinDocuments reads the three fields a worker's discovery needs.
  return retryUntil('waiting for join material', () => session.joinMaterial(false), ctx.log);
}

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
    const material = await materialFor(ctx);
    const extras = await registrationExtras(ctx.host, ctx.config);
    await ctx.host.writeFile(PATHS.kubeadmJoinConfig, renderKubeadmConfig(joinDocuments(ctx.config, node, material, extras)), 0o600);
    try {
      await ctx.host.run(['kubeadm', 'join', '--config', ctx.host.hostPath(PATHS.kubeadmJoinConfig)], { timeoutMs: 20 * 60_000 });
    } finally {
      await ctx.host.remove(PATHS.kubeadmJoinConfig);
    }
  },
};
