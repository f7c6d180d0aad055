/**
 * What `nvidia-smi` says about the GPUs the driver drives: one CSV line per GPU of the query below, e.g.
 * `00000000:3B:00.0, NVIDIA H100 80GB HBM3, 550.54.15`. Only a loaded, working driver answers it, so a GPU in
 * this list is one that CUDA and the device plugin can use; a GPU on the PCI bus but missing here is not.
 *
 * Format (nvidia-smi(1), "--query-gpu" and "--format=csv,noheader"; NVIDIA's nvidia-smi documentation, read
 * 2026-12-06): values separated by ", ", no quoting, no header with noheader; pci.bus_id is
 * "domain:bus:device.function" with an 8-hex-digit domain in upper case, where sysfs names the same device with a
 * 4-digit domain in lower case (0000:3b:00.0).
 */

/** The query the agent runs: the fields it compares, nothing that takes long to collect. */
export const NVIDIA_SMI_QUERY = ['nvidia-smi', '--query-gpu=pci.bus_id,name,driver_version', '--format=csv,noheader'] as const;

export interface DriverGpu {
  /** As sysfs names the device: 0000:3b:00.0. */
  address: string;
  name: string;
  driverVersion: string;
}

/**
 * 00000000:3B:00.0 (nvidia-smi) → 0000:3b:00.0 (sysfs, whose names are "%04x:%02x:%02x.%d": Linux
 * drivers/pci/probe.c; a VMD domain past 0xffff keeps its fifth digit), or undefined when it is not a PCI address.
 */
export function sysfsAddressOf(busId: string): string | undefined {
  const match = /^([0-9a-f]{1,8}):([0-9a-f]{2}:[0-9a-f]{2}\.[0-7])$/i.exec(busId.trim());
  return match ? `${parseInt(match[1]!, 16).toString(16).padStart(4, '0')}:${match[2]!.toLowerCase()}` : undefined;
}

/** The GPUs of NVIDIA_SMI_QUERY's output; a line that is not three fields with a PCI address is an error. */
export function parseDriverGpus(stdout: string): DriverGpu[] {
  const gpus: DriverGpu[] = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(', ');
    const address = fields.length === 3 ? sysfsAddressOf(fields[0] ?? '') : undefined;
    if (!address) throw new Error(`nvidia-smi printed "${line.trim()}", not "PCI address, name, driver version"`);
    gpus.push({ address, name: (fields[1] ?? '').trim(), driverVersion: (fields[2] ?? '').trim() });
  }
  return gpus;
}
