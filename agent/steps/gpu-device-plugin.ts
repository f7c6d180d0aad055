/**
 * GPU part of the lab (control plane): the device plugin DaemonSet (NVIDIA's, or HAMi's vGPU one) that makes
 * `nvidia.com/gpu` schedulable, and, on containerd, the RuntimeClass `nvidia` for pods that name the NVIDIA
 * runtime rather than rely on it being the default. Cluster-wide, so created once from the control plane even
 * when the control plane itself has no GPU.
 *
 * With a GPU operator stack (gpu.stack), the manifests are the operator's, and the operator creates the RuntimeClass
 * nvidia itself (controllers/object_controls.go DefaultRuntimeClass, NVIDIA/gpu-operator v26.7.0; read 2026-12-06).
 *
 * Not on Docker: dockershim (Kubernetes <= 1.23) refuses every runtime handler but its own, so each pod naming
 * the class would fail at sandbox creation ("RuntimeHandler %q not supported", pkg/kubelet/dockershim/
 * docker_sandbox.go at v1.23.0; checked 2026-12-02). Nothing is lost: on a GPU node the switch makes nvidia
 * Docker's default runtime, which is what every pod there runs under.
 */
import { PATHS } from '../../contract/node-paths';
import { renderNvidiaRuntimeClass } from '../kube/runtime-class';
import { manifestsStep, type ManifestSpec } from './manifests-step';
import { isControlPlane } from './step';

export const devicePluginManifests: ManifestSpec = {
  id: 'gpu-device-plugin',
  title: 'Install the GPU device plugin and, on containerd, the nvidia RuntimeClass',
  applies: (ctx) => isControlPlane(ctx) && ctx.config.gpu?.vendor === 'nvidia',
  manifests: (ctx) => ctx.config.gpu?.devicePlugin?.manifests ?? [],
  // The plugin's config as the builder rendered it; the GPU operator creates its own RuntimeClass nvidia.
  generated: (ctx) => [
    ...(ctx.config.runtime.cri === 'containerd' && !ctx.config.gpu?.stack ? [{ path: PATHS.nvidiaRuntimeClass, content: renderNvidiaRuntimeClass(ctx.config.gpu?.nodeLabels ?? {}) }] : []),
    ...(ctx.config.gpu?.devicePlugin?.files ?? []),
  ],
};

export const gpuDevicePlugin = manifestsStep(devicePluginManifests);
