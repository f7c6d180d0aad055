/**
 * Package operations for the two families. The builder already put every version in the distro's own
 * format (rpm "1.23.3-0", deb "1.28.15-1.1"), so nothing here translates versions; it only spells commands.
 */
import type { PinnedPackage } from '../../contract/agent-config';
import type { Host } from '../host/host';

export interface InstallOptions {
  /** yum: repositories whose `exclude=` must be lifted for this install (`--disableexcludes=<id>`). */
  disableExcludes?: string[];
}

export interface PackageManager {
  /** Installed version in the distro's format, or undefined when the package is not installed. */
  installedVersion(name: string): Promise<string | undefined>;
  install(packages: PinnedPackage[], options?: InstallOptions): Promise<void>;
  remove(names: string[]): Promise<void>;
  /** Packages held back from upgrades (apt-mark hold); yum pins through repo excludes instead. */
  held(): Promise<string[]>;
  hold(names: string[]): Promise<void>;
}

/**
 * Whether an installed version satisfies a pin. A pin may name the full version ("1.23.3-0") or leave the
 * release out ("1.23.3"); an unpinned package is satisfied by any installed version.
 */
export function satisfiesPin(installed: string | undefined, pin: PinnedPackage): boolean {
  if (installed === undefined) return false;
  if (!pin.version) return true;
  return installed === pin.version || installed.startsWith(`${pin.version}-`);
}

/** Packages of the list that are missing or at another version than pinned. */
export async function unsatisfied(manager: PackageManager, packages: PinnedPackage[]): Promise<PinnedPackage[]> {
  const missing: PinnedPackage[] = [];
  for (const pin of packages) if (!satisfiesPin(await manager.installedVersion(pin.name), pin)) missing.push(pin);
  return missing;
}

/** Package installs download a lot over slow mirrors: long timeout, a couple of retries. */
export const INSTALL_COMMAND_OPTIONS = { timeoutMs: 30 * 60_000, retries: 2, retryDelayMs: 15_000 };
