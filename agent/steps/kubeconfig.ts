/**
 * Lab step 10 (control plane): root's kubectl config, a 0600 copy of /etc/kubernetes/admin.conf.
 * `install` copies and sets the mode in one command, so the credentials are never briefly world-readable.
 */
import { ADMIN_KUBECONFIG } from '../kubeadm/files';
import { isControlPlane, Step } from './step';

const ROOT_KUBECONFIG = '/root/.kube/config';

export const kubeconfig: Step = {
  id: 'kubeconfig',
  phase: 'boot',
  title: "Install root's kubeconfig from admin.conf",
  applies: isControlPlane,

  async check(ctx) {
    const admin = await ctx.host.readFile(ADMIN_KUBECONFIG);
    return admin !== undefined && (await ctx.host.readFile(ROOT_KUBECONFIG)) === admin && (await ctx.host.fileMode(ROOT_KUBECONFIG)) === 0o600;
  },

  async apply(ctx) {
    const { host } = ctx;
    await host.run(['install', '-D', '-m', '0600', host.hostPath(ADMIN_KUBECONFIG), host.hostPath(ROOT_KUBECONFIG)]);
  },
};
