/**
 * GPU part of the lab, before the driver: the headers DKMS builds NVIDIA's kernel module against. DKMS builds
 * for the kernels whose /lib/modules/<release>/build it finds (dkms(8): the kernel source directory defaults to
 * /lib/modules/$kernelver/build), so headers of another kernel, such as the newest kernel-devel of the updates
 * repository on a host still running the image's kernel, leave the running kernel without a module and
 * `nvidia-smi` failing. NVIDIA's guide installs kernel-devel-$(uname -r) on EL7/8 and kernel-devel-matched on
 * EL9 (docs.nvidia.com/datacenter/tesla/driver-installation-guide, "Red Hat Enterprise Linux"; checked
 * 2026-12-05). Whatever the profile installs, this step ends only when the running kernel's headers are there.
 */
import { packageManagerFor } from '../packages';
import type { Host } from '../host/host';
import type { Step, StepContext } from './step';

/** `uname -r`, as the kernel itself reports it. */
export async function runningKernelRelease(host: Host): Promise<string> {
  const release = (await host.readFile('/proc/sys/kernel/osrelease'))?.trim();
  if (!release) throw new Error('cannot read the running kernel release from /proc/sys/kernel/osrelease');
  return release;
}

const buildDirOf = (release: string) => `/lib/modules/${release}/build`;

function headerPackages(ctx: StepContext, release: string): string[] {
  const spec = ctx.config.gpu?.kernelHeaders;
  if (!spec) return [];
  return spec.packages.map((name) => (spec.runningKernel ? `${name}-${release}` : name));
}

export const kernelHeaders: Step = {
  id: 'kernel-headers',
  phase: 'bake',
  title: "Install the running kernel's headers for the NVIDIA driver's DKMS module",
  applies: (ctx) => (ctx.config.gpu?.kernelHeaders?.packages.length ?? 0) > 0,

  async check(ctx) {
    const release = await runningKernelRelease(ctx.host);
    if (!(await ctx.host.exists(buildDirOf(release)))) return false;
    const manager = packageManagerFor(ctx.host, ctx.config);
    for (const name of headerPackages(ctx, release)) if ((await manager.installedVersion(name)) === undefined) return false;
    return true;
  },

  async apply(ctx) {
    const release = await runningKernelRelease(ctx.host);
    const packages = headerPackages(ctx, release);
    try {
      await packageManagerFor(ctx.host, ctx.config).install(packages.map((name) => ({ name })));
    } catch (err) {
      throw new Error(
        `could not install ${packages.join(' ')}: the configured repositories may no longer carry headers for the running kernel ${release}. ` +
          'Update the kernel and reboot into it; the agent resumes where it stopped. ' +
          `(${err instanceof Error ? err.message : String(err)})`,
      );
    }
    if (!(await ctx.host.exists(buildDirOf(release)))) {
      throw new Error(
        `${packages.join(' ')} brought no headers for the running kernel ${release} (${buildDirOf(release)} is missing), so DKMS would build ` +
          "the NVIDIA module for a kernel that is not running. Update the kernel to the headers' version and reboot into it; the agent resumes where it stopped.",
      );
    }
  },
};
