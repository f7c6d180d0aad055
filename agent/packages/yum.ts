import type { PinnedPackage } from '../../contract/agent-config';
import type { Host } from '../host/host';
import { INSTALL_COMMAND_OPTIONS, InstallOptions, PackageManager } from './package-manager';

export class YumPackages implements PackageManager {
  readonly #host: Host;
  readonly #binary: 'yum' | 'dnf';

  constructor(host: Host, binary: 'yum' | 'dnf') {
    this.#host = host;
    this.#binary = binary;
  }

  async installedVersion(name: string): Promise<string | undefined> {
    const result = await this.#host.query(['rpm', '-q', '--qf', '%{VERSION}-%{RELEASE}\\n', name]);
    if (result.code !== 0) return undefined;
    // Several versions can be installed side by side (kernels); the newest is listed last.
    const versions = result.stdout.trim().split('\n').filter(Boolean);
    return versions[versions.length - 1];
  }

  async install(packages: PinnedPackage[], options: InstallOptions = {}): Promise<void> {
    const specs = packages.map((p) => (p.version ? `${p.name}-${p.version}` : p.name));
    const excludes = (options.disableExcludes ?? []).map((id) => `--disableexcludes=${id}`);
    await this.#host.run([this.#binary, 'install', '-y', ...excludes, ...specs], INSTALL_COMMAND_OPTIONS);
  }

  async remove(names: string[]): Promise<void> {
    await this.#host.run([this.#binary, 'remove', '-y', ...names], INSTALL_COMMAND_OPTIONS);
  }

  async held(): Promise<string[]> {
    return [];
  }

  async hold(): Promise<void> {
    /* yum keeps pinned packages back through the repo's exclude= list, written with the repo file */
  }
}
