/**
 * NVIDIA's driver from its CUDA repository on the RHEL family, installed as NVIDIA's driver installation guide
 * says for the kernel-module flavour and branch a profile asks for (gpu.nvidiaDriver).
 *
 * Sources (checked 2026-12-05):
 * - docs.nvidia.com/datacenter/tesla/driver-installation-guide, "Kernel Modules", table "Open GPU kernel module
 *   installation", RHEL/Rocky 8 and 9: `dnf module enable nvidia-driver:open-dkms` then `dnf install nvidia-open`;
 *   a branch: `dnf module enable nvidia-driver:580-open`, same package. Since driver 560 the open flavour is the
 *   default, and the default stream of the `nvidia-driver` module is open-dkms; packages of streams that are not
 *   enabled are filtered out (dnf.modularity(7)), so `kmod-nvidia-latest-dkms` alone is refused.
 * - The same guide, "Advanced Options" (switching flavours): the proprietary modules come with `cuda-drivers`;
 *   NVIDIA/yum-packaging-dkms-nvidia README: the proprietary DKMS streams are `latest-dkms` and `<branch>-dkms`,
 *   the open ones `open-dkms` and `<branch>-open` (515 and newer); RHEL 7 has no streams and no open flavour,
 *   only the `latest-dkms` flavour, installed as nvidia-driver-latest-dkms (NVIDIA/yum-packaging-nvidia-driver,
 *   docs/guide-rhel7.md).
 * - Open modules need a Turing or newer GPU; Maxwell, Pascal and Volta need the proprietary ones (guide,
 *   "Kernel Modules").
 */
import type { PinnedPackage } from '../contract/agent-config';

export type NvidiaKernelModules = 'open' | 'proprietary';

export interface NvidiaDriverChoice {
  modules: NvidiaKernelModules;
  /** "latest", or a driver branch such as "580". */
  branch: string;
}

export interface NvidiaDriverInstall {
  /** The dnf module stream to enable first ("nvidia-driver:open-dkms"); absent on yum, which has no modules. */
  moduleStream?: string;
  packages: PinnedPackage[];
}

const PACKAGE_OF: Readonly<Record<NvidiaKernelModules, string>> = { open: 'nvidia-open', proprietary: 'cuda-drivers' };

function dnfStream({ modules, branch }: NvidiaDriverChoice): string {
  if (modules === 'open') return branch === 'latest' ? 'open-dkms' : `${branch}-open`;
  return `${branch}-dkms`;
}

/** Why `choice` cannot be installed with `packageManager`, or undefined when it can. */
export function nvidiaDriverUnavailable(packageManager: string, choice: NvidiaDriverChoice): string | undefined {
  if (packageManager === 'dnf') return undefined;
  if (packageManager === 'yum') {
    if (choice.modules === 'open') return "NVIDIA's RHEL 7 repository has no open kernel modules: use modules: proprietary";
    if (choice.branch !== 'latest') return "NVIDIA's RHEL 7 repository has no branch streams (dnf modules): use branch: latest";
    return undefined;
  }
  return `is for NVIDIA's CUDA repository on the RHEL family (dnf or yum); with ${packageManager}, list the driver packages under gpu.driverPackages`;
}

/** The stream and packages NVIDIA's guide installs for `choice`; nvidiaDriverUnavailable has accepted it. */
export function nvidiaDriverInstall(packageManager: string, choice: NvidiaDriverChoice): NvidiaDriverInstall {
  if (packageManager === 'yum') return { packages: [{ name: 'nvidia-driver-latest-dkms' }] };
  return { moduleStream: `nvidia-driver:${dnfStream(choice)}`, packages: [{ name: PACKAGE_OF[choice.modules] }] };
}

/**
 * Where the driver's packages put NVIDIA's supported-gpus.json, which the agent checks the GPUs against:
 * - Ubuntu's nvidia-driver-<N> and nvidia-driver-<N>-server: /usr/share/doc/<package>/supported-gpus.json, not
 *   compressed (NVIDIA/ubuntu-packaging-nvidia-driver debian/nvidia-driver-*.docs and `dh_compress
 *   -Xsupported-gpus.json`; canonical/ubuntu-drivers-common gpu-manager.c opens these paths; read 2026-12-06).
 * - NVIDIA's CUDA repository on EL8 and later: the nvidia-driver package's `%doc supported-gpus/supported-gpus.json`
 *   (NVIDIA/yum-packaging-nvidia-driver nvidia-driver.spec), /usr/share/doc/nvidia-driver/ with EL8's unversioned
 *   documentation folders.
 * Elsewhere (EL7, whose folders carry the version; Debian's own packages) it is not known: a profile pins
 * gpu.supportedDevices instead.
 */
export function supportedGpusFiles(packageManager: string, driverPackages: readonly PinnedPackage[], fromCudaRepository: boolean): string[] {
  if (packageManager === 'dnf' && fromCudaRepository) return ['/usr/share/doc/nvidia-driver/supported-gpus.json'];
  if (packageManager !== 'apt') return [];
  return driverPackages.filter((p) => /^nvidia-driver-[0-9]{3}(-server)?$/.test(p.name)).map((p) => `/usr/share/doc/${p.name}/supported-gpus.json`);
}
