/**
 * GPU part of the lab: the NVIDIA driver (when the profile installs one) and the container toolkit, whose
 * runtime binary the GPU switch points the container runtime at. Baked into every image of a GPU profile,
 * so the same image serves CPU and GPU pools; the switch decides at boot.
 */
import { packageInstallStep } from './package-install-step';

export const installGpuPackages = packageInstallStep({
  id: 'install-gpu-packages',
  title: 'Install NVIDIA driver and container toolkit packages',
  packages: (ctx) => (ctx.config.gpu ? [...ctx.config.gpu.driverPackages, ...ctx.config.gpu.toolkitPackages] : []),
});
