/** Files kubeadm itself writes, which the agent's checks read. */
export const ADMIN_KUBECONFIG = '/etc/kubernetes/admin.conf';
export const KUBELET_KUBECONFIG = '/etc/kubernetes/kubelet.conf';
