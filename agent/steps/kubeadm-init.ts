/**
 * Lab step 9 (control plane): `kubeadm init` from a config file — image repository, version, pod and service
 * subnets, CRI socket, the systemd cgroup driver for the kubelet, no taints on a one-node lab, and the GPU
 * switch's node labels. Done once: admin.conf exists afterwards.
 */
import { PATHS } from '../../contract/node-paths';
import { registrationExtras } from '../gpu/readiness-gate';
import { withAdvertiseAddress } from '../kubeadm/advertise-address';
import { initDocuments, renderKubeadmConfig } from '../kubeadm/documents';
import { ADMIN_KUBECONFIG } from '../kubeadm/files';
import { isControlPlane, nodeOf, Step } from './step';

export const kubeadmInit: Step = {
  id: 'kubeadm-init',
  phase: 'boot',
  title: 'Initialize the control plane (kubeadm init)',
  applies: isControlPlane,

  async check(ctx) {
    return ctx.host.exists(ADMIN_KUBECONFIG);
  },

  async apply(ctx) {
    // advertiseNetwork: the node's address on that network, not the default route's (advertise-address.ts).
    const node = await withAdvertiseAddress(ctx.host, nodeOf(ctx));
    const documents = initDocuments(ctx.config, node, await registrationExtras(ctx.host, ctx.config));
    // No token in this file (kubeadm generates one), but it describes the cluster: root only all the same.
    await ctx.host.writeFile(PATHS.kubeadmInitConfig, renderKubeadmConfig(documents), 0o600);
    await ctx.host.run(['kubeadm', 'init', '--config', ctx.host.hostPath(PATHS.kubeadmInitConfig)], { timeoutMs: 20 * 60_000 });
  },
};
