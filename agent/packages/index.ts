/** The package manager of the profile's OS: apt, or yum and dnf, spelled out in their own modules. */
import type { AgentConfig } from '../../contract/agent-config';
import type { Host } from '../host/host';
import { AptPackages } from './apt';
import type { PackageManager } from './package-manager';
import { YumPackages } from './yum';

export function packageManagerFor(host: Host, config: AgentConfig): PackageManager {
  switch (config.os.packageManager) {
    case 'apt':
      return new AptPackages(host);
    case 'yum':
    case 'dnf':
      return new YumPackages(host, config.os.packageManager);
    case 'none':
      // Steps that install packages do not apply to such a profile (it lists none); reaching here is a bug.
      throw new Error(`profile ${config.profile}: ${config.os.id} has no package manager`);
  }
}
