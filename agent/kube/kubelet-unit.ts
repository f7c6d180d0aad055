/**
 * The kubelet's systemd unit where no package brings it (Flatcar): the unit and kubeadm's drop-in, as the
 * Kubernetes packages install them, but with the kubelet at the path its binary was put. The drop-in is
 * kubeadm's side of the contract: kubeadm init/join write the kubeconfigs, /var/lib/kubelet/config.yaml and
 * the flags in kubeadm-flags.env that it names.
 */
import { managedHeader } from '../text/managed-header';

export const KUBELET_UNIT = '/etc/systemd/system/kubelet.service';
export const KUBEADM_DROP_IN = '/etc/systemd/system/kubelet.service.d/10-kubeadm.conf';

export function renderKubeletUnit(kubelet: string): string {
  return `${managedHeader()}[Unit]
Description=kubelet: the Kubernetes node agent
Documentation=https://kubernetes.io/docs/reference/command-line-tools-reference/kubelet/
Wants=network-online.target
After=network-online.target containerd.service

[Service]
ExecStart=${kubelet}
# Until kubeadm has written its config the kubelet exits at once; it keeps being restarted until then.
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
`;
}

export function renderKubeadmDropIn(kubelet: string): string {
  return `${managedHeader()}[Service]
Environment="KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf"
Environment="KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml"
# Written by kubeadm init and join: KUBELET_KUBEADM_ARGS.
EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env
# The admin's last-resort overrides: KUBELET_EXTRA_ARGS.
EnvironmentFile=-/etc/sysconfig/kubelet
ExecStart=
ExecStart=${kubelet} $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS
`;
}
