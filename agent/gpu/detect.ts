/**
 * The GPU switch's decision: is there an NVIDIA GPU on the PCI bus, did the gpu-driver step find it usable
 * (../steps/gpu-driver.ts, ./verify.ts), and is the toolkit's runtime binary installed? Every step that cares
 * (the runtime config, kubeadm's node labels) calls this, so they always agree.
 */
import type { GpuSpec } from '../../contract/agent-config';
import { listPciDevices, PciDevice } from '../host/facts';
import type { Host, HostFiles } from '../host/host';
import { verifyGpus, type GpuVerdict } from './verify';

export const NVIDIA_VENDOR = '0x10de';
/** sysfs prints the 24-bit class with prog-if: VGA controller 0x030000, 3D controller (datacenter GPUs) 0x030200. */
export const GPU_CLASSES = ['0x030000', '0x030200'];

export interface GpuDecision {
  gpus: PciDevice[];
  /** Make the NVIDIA runtime the default: a GPU is present and verified usable, the toolkit included. */
  useNvidia: boolean;
  /** Node labels to register with: the profile's when the GPUs are usable; why not when they are not. */
  labels: Record<string, string>;
  /** One line for the log: what was found and what follows from it. */
  summary: string;
  /** Why the GPUs cannot be used, when they cannot (unusableMessage). */
  unusable?: string;
}

export function unusableMessage(verdict: { message: string }): string {
  return `the NVIDIA GPUs cannot be used: ${verdict.message}`;
}

/** The label a GPU node joins with when its GPUs cannot be used and gpu.onFailure is cpu; its value says why. */
export const GPU_UNUSABLE_LABEL = 'labimg.dev/gpu-unusable';

export function isNvidiaGpu(device: PciDevice): boolean {
  return device.vendor === NVIDIA_VENDOR && GPU_CLASSES.includes(device.class);
}

export async function nvidiaGpus(host: HostFiles): Promise<PciDevice[]> {
  return (await listPciDevices(host)).filter(isNvidiaGpu);
}

/**
 * The gpu-driver step's verdict in this run, by host: the step runs first in the boot phase and the steps after it
 * ask decideGpu. `final`: the step tried what it could (loaded the module) and this is how it stands.
 */
const verdicts = new WeakMap<HostFiles, { verdict: GpuVerdict; final: boolean }>();

export function rememberVerdict(host: HostFiles, verdict: GpuVerdict, options: { final?: boolean } = {}): void {
  verdicts.set(host, { verdict, final: options.final ?? false });
}

export function rememberedVerdict(host: HostFiles): { verdict: GpuVerdict; final: boolean } | undefined {
  return verdicts.get(host);
}

/**
 * The decision for this run. The gpu-driver step runs first in the boot phase and leaves its verdict; called
 * before or without it, the GPUs are verified here (nvidia-smi asked, nothing loaded).
 */
export async function decideGpu(host: Host, spec: GpuSpec | undefined): Promise<GpuDecision> {
  const gpus = spec ? await nvidiaGpus(host) : [];
  const verdict = spec && gpus.length > 0 ? (rememberedVerdict(host)?.verdict ?? (await verifyGpus(host, spec, gpus))) : undefined;
  const decision = (found: string, useNvidia: boolean, labels: Record<string, string>, unusable?: string): GpuDecision => ({
    gpus,
    useNvidia,
    labels,
    // Under a GPU operator stack the operator's toolkit brings the nvidia runtime; labimg's own config keeps runc.
    summary: `${found}; ${useNvidia && spec?.stack ? "runc in labimg's config, the GPU operator's toolkit adds nvidia" : `${useNvidia ? 'nvidia' : 'runc'} is the default runtime`}`,
    ...(unusable ? { unusable } : {}),
  });
  if (!verdict) return decision('no NVIDIA GPU', false, {});
  if (!verdict.usable) return decision(`NVIDIA GPU unusable (${verdict.failure})`, false, { [GPU_UNUSABLE_LABEL]: verdict.failure }, unusableMessage(verdict));
  return decision(`NVIDIA GPU at ${gpus.map((g) => g.address).join(', ')}`, true, { ...spec!.nodeLabels });
}
