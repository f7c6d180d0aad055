import type { PinnedPackage } from '../../contract/agent-config';
import type { Host } from '../host/host';
import { INSTALL_COMMAND_OPTIONS, PackageManager } from './package-manager';

/** No debconf questions, and keep config files we already wrote when a package ships its own version. */
const APT_ENV = { DEBIAN_FRONTEND: 'noninteractive' };
const KEEP_OUR_CONFIG = ['-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold'];

export class AptPackages implements PackageManager {
  readonly #host: Host;

  constructor(host: Host) {
    this.#host = host;
  }

  async installedVersion(name: string): Promise<string | undefined> {
    const result = await this.#host.query(['dpkg-query', '-W', '-f=${Status}\\t${Version}\\n', name]);
    if (result.code !== 0) return undefined;
    const [status = '', version] = result.stdout.trim().split('\t');
    // Status is "want error state". A removed package keeps a "deinstall ok config-files" record; a package
    // on hold (apt-mark hold, as every pinned one is) reads "hold ok installed".
    const [want, error, state] = status.split(' ');
    return (want === 'install' || want === 'hold') && error === 'ok' && state === 'installed' && version ? version : undefined;
  }

  async install(packages: PinnedPackage[]): Promise<void> {
    const specs = packages.map((p) => (p.version ? `${p.name}=${p.version}` : p.name));
    // Pinned packages are held; moving a pin to a new version must be allowed to change a held package.
    const pinnedFlags = packages.some((p) => p.version) ? ['--allow-change-held-packages', '--allow-downgrades'] : [];
    await this.#host.run(['apt-get', 'install', '-y', ...KEEP_OUR_CONFIG, ...pinnedFlags, ...specs], { ...INSTALL_COMMAND_OPTIONS, env: APT_ENV });
  }

  async remove(names: string[]): Promise<void> {
    await this.#host.run(['apt-get', 'remove', '-y', ...names], { ...INSTALL_COMMAND_OPTIONS, env: APT_ENV });
  }

  async held(): Promise<string[]> {
    const result = await this.#host.query(['apt-mark', 'showhold']);
    return result.code === 0 ? result.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
  }

  async hold(names: string[]): Promise<void> {
    await this.#host.run(['apt-mark', 'hold', ...names]);
  }
}

/** `apt-get update`, after sources changed, so the next install sees the new repositories. */
export async function refreshAptIndexes(host: Host): Promise<void> {
  await host.run(['apt-get', 'update'], { ...INSTALL_COMMAND_OPTIONS, env: APT_ENV });
}
