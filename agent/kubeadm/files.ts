/** Where the agent keeps the kubeadm config files it hands to kubeadm. */
export const KUBEADM_INIT_CONFIG = '/etc/labimg/kubeadm-init.yaml';
/** Holds the bootstrap token: written 0600 just before `kubeadm join` and removed right after. */
export const KUBEADM_JOIN_CONFIG = '/etc/labimg/kubeadm-join.yaml';
export const KUBEADM_IMAGES_CONFIG = '/etc/labimg/kubeadm-images.yaml';

export const ADMIN_KUBECONFIG = '/etc/kubernetes/admin.conf';
export const KUBELET_KUBECONFIG = '/etc/kubernetes/kubelet.conf';
