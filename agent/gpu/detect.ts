/**
 * The GPU switch's decision, from facts alone: is there an NVIDIA GPU on the PCI bus, and is the toolkit's
 * runtime binary installed? Both steps that care (the runtime config and kubeadm's node labels) call this, so
 * they always agree.
 */
import type { GpuSpec } from '../../contract/agent-config';
import { listPciDevices, PciDevice } from '../host/facts';
import type { HostFiles } from '../host/host';

export const NVIDIA_VENDOR = '0x10de';
/** sysfs prints the 24-bit class with prog-if: VGA controller 0x030000, 3D controller (datacenter GPUs) 0x030200. */
export const GPU_CLASSES = ['0x030000', '0x030200'];

export interface GpuDecision {
  gpus: PciDevice[];
  toolkitPresent: boolean;
  /** Make the NVIDIA runtime the default: a GPU is present and the toolkit can drive it. */
  useNvidia: boolean;
  /** Node labels to register with (empty unless useNvidia). */
  labels: Record<string, string>;
  /** One line for the log: what was found and what follows from it. */
  summary: string;
  /** Set when something is wrong enough to warn about. */
  warning?: string;
}

export function isNvidiaGpu(device: PciDevice): boolean {
  return device.vendor === NVIDIA_VENDOR && GPU_CLASSES.includes(device.class);
}

export async function decideGpu(host: HostFiles, spec: GpuSpec | undefined): Promise<GpuDecision> {
  const gpus = spec ? (await listPciDevices(host)).filter(isNvidiaGpu) : [];
  const toolkitPresent = spec ? await host.exists(spec.runtimeBinary) : false;
  const useNvidia = gpus.length > 0 && toolkitPresent;
  const found = gpus.length > 0 ? `NVIDIA GPU at ${gpus.map((g) => g.address).join(', ')}` : 'no NVIDIA GPU';
  if (gpus.length > 0 && !toolkitPresent) {
    return {
      gpus,
      toolkitPresent,
      useNvidia,
      labels: {},
      summary: `${found}; keeping runc as the default runtime`,
      warning: `${found} but ${spec?.runtimeBinary} is missing (is the NVIDIA container toolkit installed?); keeping runc, pods will not see the GPU`,
    };
  }
  return {
    gpus,
    toolkitPresent,
    useNvidia,
    labels: useNvidia && spec ? { ...spec.nodeLabels } : {},
    summary: useNvidia ? `${found}; nvidia is the default runtime` : `${found}; runc is the default runtime`,
  };
}
