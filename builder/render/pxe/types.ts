import type { ImageSources } from '../../profiles/types';
import type { NodeConfig } from '../../../contract/agent-config';
import type { NodeInputs } from '../node-files';
import type { InstallFinished } from './install-finished';

/** A profile's network install: installer kernel and initrd, and the RHEL tree (`repo`) or Ubuntu's live ISO (`iso`). */
export type NetInstall = NonNullable<ImageSources['netInstall']>;

/** What an unattended installer needs besides what cloud-init user-data needs. */
export interface InstallInputs extends NodeInputs {
  /** An installer always installs one instance. */
  node: NodeConfig;
  /** The profile's image block: the operator's user name and the network install. */
  image: { sshUsername: string; netInstall: NetInstall };
  /**
   * Public keys that may log in as image.sshUsername. The account has no password, so without keys nobody
   * logs in over SSH; the node still installs and joins by itself.
   */
  sshAuthorizedKeys?: readonly string[];
  /** Where the install says it has finished: only a config `labimg serve` renders for one MAC (install-finished.ts). */
  installFinished?: InstallFinished;
}

/** The installer's kernel and initrd as iPXE fetches them. */
export interface BootFiles {
  kernel: string;
  initrd: string;
}
