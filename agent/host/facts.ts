/**
 * Facts about the machine, read from files only (/etc, /proc, /sys), so they work the same on a real node,
 * under a test's temp root, and on the dry-run host.
 */
import type { HostFiles } from './host';

export interface OsRelease {
  id: string;
  versionId: string;
  idLike: string[];
  prettyName: string;
}

/** Parses /etc/os-release (KEY=value lines, values optionally quoted). */
export async function readOsRelease(host: HostFiles): Promise<OsRelease | undefined> {
  const text = (await host.readFile('/etc/os-release')) ?? (await host.readFile('/usr/lib/os-release'));
  if (text === undefined) return undefined;
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match?.[1]) fields.set(match[1], unquote(match[2] ?? ''));
  }
  return {
    id: fields.get('ID') ?? '',
    versionId: fields.get('VERSION_ID') ?? '',
    idLike: (fields.get('ID_LIKE') ?? '').split(/\s+/).filter(Boolean),
    prettyName: fields.get('PRETTY_NAME') ?? '',
  };
}

function unquote(value: string): string {
  const match = /^(["'])(.*)\1$/.exec(value);
  return match ? (match[2] ?? '').replace(/\\(.)/g, '$1') : value;
}

export async function readHostname(host: HostFiles): Promise<string> {
  const fromKernel = (await host.readFile('/proc/sys/kernel/hostname'))?.trim();
  const fromFile = (await host.readFile('/etc/hostname'))?.trim();
  return fromKernel || fromFile || 'localhost';
}

export interface PciDevice {
  address: string;
  /** As sysfs prints it: `0x%04x`, e.g. 0x10de. */
  vendor: string;
  /** As sysfs prints it: `0x%06x`, 24 bits including the programming interface, e.g. 0x030200. */
  class: string;
  /** The device id, as sysfs prints it: `0x%04x`, e.g. 0x2330; absent where sysfs shows none. */
  device?: string;
}

export async function listPciDevices(host: HostFiles): Promise<PciDevice[]> {
  const base = '/sys/bus/pci/devices';
  const devices: PciDevice[] = [];
  for (const address of await host.listDir(base)) {
    const vendor = (await host.readFile(`${base}/${address}/vendor`))?.trim().toLowerCase();
    const klass = (await host.readFile(`${base}/${address}/class`))?.trim().toLowerCase();
    const device = (await host.readFile(`${base}/${address}/device`))?.trim().toLowerCase();
    if (vendor && klass) devices.push({ address, vendor, class: klass, ...(device ? { device } : {}) });
  }
  return devices;
}

/**
 * Kernel modules that are available now. Loadable modules are listed in /proc/modules; built-in ones only
 * appear under /sys/module, so both count. The kernel spells module names with `_`, modprobe accepts `-`.
 */
export async function isModuleLoaded(host: HostFiles, module: string): Promise<boolean> {
  const name = module.replace(/-/g, '_');
  const loaded = (await host.readFile('/proc/modules')) ?? '';
  if (loaded.split('\n').some((line) => line.split(' ')[0] === name)) return true;
  return host.exists(`/sys/module/${name}`);
}

/** Active swap areas from /proc/swaps (its first line is a header). */
export async function activeSwaps(host: HostFiles): Promise<string[]> {
  const text = (await host.readFile('/proc/swaps')) ?? '';
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}

/** The live value of a sysctl (net.ipv4.ip_forward → /proc/sys/net/ipv4/ip_forward), whitespace-normalized. */
export async function readSysctl(host: HostFiles, key: string): Promise<string | undefined> {
  const value = await host.readFile(`/proc/sys/${key.replace(/\./g, '/')}`);
  return value === undefined ? undefined : normalizeSysctlValue(value);
}

export function normalizeSysctlValue(value: string): string {
  return value.trim().split(/\s+/).join(' ');
}

/**
 * Milliseconds since the kernel booted: the first field of /proc/uptime, in seconds with two decimals, counted on
 * CLOCK_BOOTTIME (proc(5), "/proc/uptime"; read 2026-12-06), so no change of the wall clock moves it. Undefined where
 * the file is absent or unreadable.
 */
export async function sinceBootMs(host: HostFiles): Promise<number | undefined> {
  const seconds = /^(\d+(?:\.\d+)?)\s/.exec((await host.readFile('/proc/uptime')) ?? '')?.[1];
  return seconds === undefined ? undefined : Math.round(Number(seconds) * 1000);
}
