/**
 * GPU part of the lab: the NVIDIA driver (when the profile installs one) and the container toolkit, whose
 * runtime binary the GPU switch points the container runtime at. Baked into every image of a GPU profile,
 * so the same image serves CPU and GPU pools; the switch decides at boot.
 *
 * Where the driver comes from NVIDIA's CUDA repository on dnf, it is a module: the stream of the profile's
 * flavour and branch is enabled first, since dnf filters out the packages of streams that are not
 * (dnf.modularity(7)); the default stream, open-dkms since driver 560, would refuse the proprietary packages.
 */
import { packageManagerFor } from '../packages';
import { INSTALL_COMMAND_OPTIONS, unsatisfied } from '../packages/package-manager';
import type { Step, StepContext } from './step';

function gpuPackages(ctx: StepContext) {
  return ctx.config.gpu ? [...ctx.config.gpu.driverPackages, ...ctx.config.gpu.toolkitPackages] : [];
}

export const installGpuPackages: Step = {
  id: 'install-gpu-packages',
  phase: 'bake',
  title: 'Install NVIDIA driver and container toolkit packages',
  applies: (ctx) => gpuPackages(ctx).length > 0,

  async check(ctx) {
    return (await unsatisfied(packageManagerFor(ctx.host, ctx.config), gpuPackages(ctx))).length === 0;
  },

  async apply(ctx) {
    const manager = packageManagerFor(ctx.host, ctx.config);
    const missing = await unsatisfied(manager, gpuPackages(ctx));
    if (missing.length === 0) return;
    const stream = ctx.config.gpu?.driverModuleStream;
    // Enabling the stream again is a no-op, so a crash between the two commands is finished next run.
    if (stream) await ctx.host.run(['dnf', 'module', 'enable', '-y', stream], INSTALL_COMMAND_OPTIONS);
    await manager.install(missing);
  },
};
