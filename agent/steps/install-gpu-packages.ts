/**
 * GPU part of the lab: the NVIDIA driver (when the profile installs one) and the container toolkit, whose
 * runtime binary the GPU switch points the container runtime at. Baked into every image of a GPU profile,
 * so the same image serves CPU and GPU pools; the switch decides at boot.
 *
 * Where the driver comes from NVIDIA's CUDA repository on dnf, it is a module: the stream of the profile's
 * flavour and branch is enabled first, since dnf filters out the packages of streams that are not
 * (dnf.modularity(7)); the default stream, open-dkms since driver 560, would refuse the proprietary packages.
 */
import { INSTALL_COMMAND_OPTIONS } from '../packages/package-manager';
import { packageInstallStep } from './package-install-step';

export const installGpuPackages = packageInstallStep({
  id: 'install-gpu-packages',
  title: 'Install NVIDIA driver and container toolkit packages',
  packages: (ctx) => (ctx.config.gpu ? [...ctx.config.gpu.driverPackages, ...ctx.config.gpu.toolkitPackages] : []),
  // Enabling the stream again is a no-op, so a crash between the two commands is finished next run.
  async beforeInstall(ctx) {
    const stream = ctx.config.gpu?.driverModuleStream;
    if (stream) await ctx.host.run(['dnf', 'module', 'enable', '-y', stream], INSTALL_COMMAND_OPTIONS);
  },
});
