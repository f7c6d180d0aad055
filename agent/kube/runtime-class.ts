/**
 * The RuntimeClass `nvidia`: pods that ask for it (runtimeClassName: nvidia) run under the runtime entry the
 * GPU switch writes into containerd's config, on GPU nodes only. Its scheduling selector is the set of
 * labels GPU nodes register with, so such a pod never lands on a CPU node, whose containerd has no
 * `nvidia` entry and would fail it. Written by the agent, as the Calico Installation is.
 */
import { manifestStream } from '../text/manifest-stream';

export interface RuntimeClass {
  apiVersion: 'node.k8s.io/v1';
  kind: 'RuntimeClass';
  metadata: { name: string };
  handler: string;
  scheduling?: { nodeSelector: Record<string, string> };
}

export function nvidiaRuntimeClass(gpuNodeLabels: Record<string, string>): RuntimeClass {
  const runtimeClass: RuntimeClass = { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'nvidia' }, handler: 'nvidia' };
  if (Object.keys(gpuNodeLabels).length > 0) runtimeClass.scheduling = { nodeSelector: { ...gpuNodeLabels } };
  return runtimeClass;
}

export function renderNvidiaRuntimeClass(gpuNodeLabels: Record<string, string>): string {
  return manifestStream([nvidiaRuntimeClass(gpuNodeLabels)]);
}
