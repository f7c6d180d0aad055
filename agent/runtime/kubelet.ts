/** The kubelet: its unit, and the unit files the agent writes where no package brings them (Flatcar). */
import { KUBEADM_DROP_IN, KUBELET_UNIT, renderKubeadmDropIn, renderKubeletUnit } from '../kube/kubelet-unit';
import type { Daemon } from './daemon';

export interface UnitFile {
  path: string;
  content: string;
}

export const kubelet: Daemon & { unitFiles(binary: string): UnitFile[] } = {
  unit: 'kubelet',
  // It crash-loops until kubeadm init/join writes its config, and kubeadm starts it then.
  startWhenEnabled: false,
  present: () => true,
  unitFiles: (binary) => [
    { path: KUBELET_UNIT, content: renderKubeletUnit(binary) },
    { path: KUBEADM_DROP_IN, content: renderKubeadmDropIn(binary) },
  ],
};
