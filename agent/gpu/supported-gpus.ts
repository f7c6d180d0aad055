/**
 * The devices a driver supports, from NVIDIA's supported-gpus.json or a profile's own list, and the GPUs of the
 * PCI scan that are not among them: "driver 535 does not support 10de:2335" belongs at boot, not in a pod's
 * CUDA error later.
 *
 * supported-gpus.json (shipped with every driver: the .run installer's supported-gpus/, Ubuntu's
 * /usr/share/doc/nvidia-driver-<N>[-server]/, NVIDIA's EL packages' /usr/share/doc/nvidia-driver/; FACTS.md):
 * `{"chips": [{"devid": "0x2330", "subdevid": "0x16C0", "subvendorid": "0x10DE", "name": ..., "features": [...]},
 * {"devid": "0x0FC6", "name": ..., "legacybranch": "470.xx"}, ...]}`. An entry with a legacybranch is a device only
 * that legacy branch supports, not this driver (NVIDIA's parse-supported-gpus.py counts a device only without
 * one). Datacenter GPUs are listed per subsystem; the agent matches the device id alone, as Ubuntu's gpu-manager
 * does (devid parsed as hex).
 */
import type { GpuSpec } from '../../contract/agent-config';
import type { HostFiles } from '../host/host';
import type { PciDevice } from '../host/facts';

export interface SupportedDevices {
  /** Lower-case device ids without 0x: 2330. */
  deviceIds: Set<string>;
  /** Where the list came from, for the message. */
  source: string;
}

interface SupportedGpusJson {
  chips?: Array<{ devid?: unknown; legacybranch?: unknown }>;
}

/** A device id as sysfs (0x2330), supported-gpus.json (0x2330) or a profile (10de:2330, the schema's form) writes it → 2330. */
export function deviceIdOf(text: string): string {
  return text.trim().toLowerCase().replace(/^(0x|10de:)/, '');
}

/** The device ids supported-gpus.json lists for this driver; a file that is not that format is an error. */
export function parseSupportedGpus(text: string, file: string): Set<string> {
  let json: SupportedGpusJson;
  try {
    json = JSON.parse(text) as SupportedGpusJson;
  } catch (error) {
    throw new Error(`${file} is not JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(json.chips)) throw new Error(`${file} has no "chips" list: not NVIDIA's supported-gpus.json`);
  const ids = new Set<string>();
  for (const chip of json.chips) {
    if (typeof chip.devid === 'string' && chip.legacybranch === undefined) ids.add(deviceIdOf(chip.devid));
  }
  return ids;
}

/** What the profile says the driver supports; undefined when there is nothing to check against. */
export async function readSupportedDevices(host: HostFiles, spec: GpuSpec): Promise<SupportedDevices | undefined> {
  const source = spec.supportedDevices;
  if (!source) return undefined;
  if ('deviceIds' in source) {
    return { deviceIds: new Set(source.deviceIds.map(deviceIdOf)), source: "the profile's gpu.supportedDevices" };
  }
  for (const file of source.jsonFiles) {
    const text = await host.readFile(file);
    if (text !== undefined) return { deviceIds: parseSupportedGpus(text, file), source: file };
  }
  // Documentation can be left out of an install (dpkg path-exclude, rpm --nodocs): then there is no list.
  return undefined;
}

/** The GPUs whose device id the list lacks. */
export function unsupportedDevices(supported: SupportedDevices, gpus: PciDevice[]): PciDevice[] {
  return gpus.filter((gpu) => gpu.device !== undefined && !supported.deviceIds.has(deviceIdOf(gpu.device)));
}
