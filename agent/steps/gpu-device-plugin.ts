/**
 * GPU part of the lab (control plane): the device plugin DaemonSet (NVIDIA's, or HAMi's vGPU one) that makes
 * `nvidia.com/gpu` schedulable. Cluster-wide, so it is created once from the control plane even when the
 * control plane itself has no GPU.
 */
import { manifestsStep } from './manifests-step';
import { isControlPlane } from './step';

export const gpuDevicePlugin = manifestsStep({
  id: 'gpu-device-plugin',
  title: 'Install the GPU device plugin',
  applies: (ctx) => isControlPlane(ctx) && (ctx.config.gpu?.devicePlugin?.manifests.length ?? 0) > 0,
  manifests: (ctx) => ctx.config.gpu?.devicePlugin?.manifests ?? [],
});
