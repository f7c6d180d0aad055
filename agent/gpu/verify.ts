/**
 * Whether the NVIDIA GPUs on the PCI bus can really be used: the driver's module is loaded, `nvidia-smi` lists
 * every one of them, the driver's branch supports each device, and the toolkit's runtime is there. The answer
 * is a verdict with the reason a GPU cannot be used, in words for the log and the report and as a short code
 * for the node label that says why a GPU node joined as a CPU node (gpu.onFailure: cpu).
 *
 * Only reads: loading the module and blacklisting nouveau are the gpu-driver step's (../steps/gpu-driver.ts).
 */
import type { GpuSpec } from '../../contract/agent-config';
import { CommandFailed, COMMAND_NOT_FOUND, type CommandResult, type Host, type HostFiles } from '../host/host';
import { isModuleLoaded, type PciDevice } from '../host/facts';
import { NVIDIA_SMI_QUERY, parseDriverGpus, type DriverGpu } from './nvidia-smi';
import { readSupportedDevices, unsupportedDevices } from './supported-gpus';

/** Why the GPUs cannot be used; a node label value (letters, digits, '-'), so kubectl can select on it. */
export type GpuFailure =
  | 'nouveau-holds-gpu'
  | 'secure-boot-unsigned-module'
  | 'driver-not-loaded'
  | 'driver-not-answering'
  | 'gpu-missing-from-driver'
  | 'unsupported-gpu'
  | 'toolkit-missing';

export type GpuVerdict =
  | { usable: true; gpus: DriverGpu[] }
  | { usable: false; failure: GpuFailure; message: string };

/** The GPUs nouveau drives: its sysfs driver folder lists each device it is bound to by PCI address. */
export async function gpusHeldByNouveau(host: HostFiles, gpus: PciDevice[]): Promise<string[]> {
  const held: string[] = [];
  for (const gpu of gpus) if (await host.exists(`/sys/bus/pci/drivers/nouveau/${gpu.address}`)) held.push(gpu.address);
  return held;
}

/**
 * nvidia-smi's answer, failing or not. Run as a command, not a query, although it changes nothing: the plan
 * lists it, so a reader sees where the node checks its GPUs.
 */
async function askDriver(host: Host): Promise<CommandResult> {
  try {
    return await host.run([...NVIDIA_SMI_QUERY], { timeoutMs: 2 * 60_000 });
  } catch (error) {
    if (error instanceof CommandFailed) return error.result;
    throw error;
  }
}

/** The verdict on `gpus` (the NVIDIA GPUs of the PCI scan, at least one) as the machine is now. */
export async function verifyGpus(host: Host, spec: GpuSpec, gpus: PciDevice[]): Promise<GpuVerdict> {
  const held = await gpusHeldByNouveau(host, gpus);
  if (held.length > 0) {
    return { usable: false, failure: 'nouveau-holds-gpu', message: `nouveau holds ${held.join(', ')}` };
  }
  if (!(await isModuleLoaded(host, 'nvidia'))) return { usable: false, failure: 'driver-not-loaded', message: 'the nvidia module is not loaded' };

  const smi = await askDriver(host);
  if (smi.code === COMMAND_NOT_FOUND) return { usable: false, failure: 'driver-not-answering', message: 'nvidia-smi is not installed' };
  if (smi.code !== 0) {
    // nvidia-smi prints its errors on stdout (FACTS.md); the first line says what is wrong.
    const said = `${smi.stdout}\n${smi.stderr}`.trim().split('\n').find((line) => line.trim() !== '') ?? '';
    return { usable: false, failure: 'driver-not-answering', message: `nvidia-smi fails (exit status ${smi.code}): ${said}` };
  }
  let listed: DriverGpu[];
  try {
    listed = parseDriverGpus(smi.stdout);
  } catch (error) {
    return { usable: false, failure: 'driver-not-answering', message: (error as Error).message };
  }
  const missing = gpus.filter((gpu) => !listed.some((found) => found.address === gpu.address));
  if (missing.length > 0) {
    return {
      usable: false,
      failure: 'gpu-missing-from-driver',
      message: `nvidia-smi lists ${listed.length} of ${gpus.length} GPUs; missing ${missing.map((g) => g.address).join(', ')}`,
    };
  }

  const driverVersion = listed[0]?.driverVersion ?? 'unknown';
  const supported = await readSupportedDevices(host, spec);
  if (supported) {
    const unsupported = unsupportedDevices(supported, gpus);
    if (unsupported.length > 0) {
      return {
        usable: false,
        failure: 'unsupported-gpu',
        message: `driver ${driverVersion} does not support ${unsupported.map((g) => `10de:${g.device?.replace(/^0x/, '')} at ${g.address}`).join(', ')} (${supported.source})`,
      };
    }
  }

  // With the GPU operator its toolkit arrives only after the node joined: there is no runtime to look for yet.
  if (spec.stack === undefined && !(await host.exists(spec.runtimeBinary))) {
    return { usable: false, failure: 'toolkit-missing', message: `${spec.runtimeBinary} is missing (is the NVIDIA container toolkit installed?)` };
  }
  return { usable: true, gpus: listed };
}
