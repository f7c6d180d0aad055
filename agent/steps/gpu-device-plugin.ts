/**
 * GPU part of the lab (control plane): the device plugin DaemonSet (NVIDIA's, or HAMi's vGPU one) that makes
 * `nvidia.com/gpu` schedulable, and the RuntimeClass `nvidia` for pods that name the NVIDIA runtime
 * rather than rely on it being the default. Cluster-wide, so created once from the control plane even when
 * the control plane itself has no GPU.
 */
import { PATHS } from '../../contract/node-paths';
import { renderNvidiaRuntimeClass } from '../kube/runtime-class';
import { manifestsStep } from './manifests-step';
import { isControlPlane } from './step';

export const gpuDevicePlugin = manifestsStep({
  id: 'gpu-device-plugin',
  title: 'Install the GPU device plugin and the nvidia RuntimeClass',
  applies: (ctx) => isControlPlane(ctx) && ctx.config.gpu?.vendor === 'nvidia',
  manifests: (ctx) => ctx.config.gpu?.devicePlugin?.manifests ?? [],
  generated: (ctx) => [{ path: PATHS.nvidiaRuntimeClass, content: renderNvidiaRuntimeClass(ctx.config.gpu?.nodeLabels ?? {}) }],
});
