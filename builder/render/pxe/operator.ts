import type { NodeConfig } from '../../../contract/agent-config';
import type { InstallInputs } from './types';

/**
 * How a person gets into an installed node: the distro's usual user (centos, ubuntu) with no password at all,
 * SSH keys only, and sudo without a password (there is none to ask for). Root stays locked.
 */
export interface Operator {
  username: string;
  authorizedKeys: string[];
}

const USERNAME = /^[a-z_][a-z0-9_-]*$/;
/** One OpenSSH public key line: type, base64 blob, optional comment. */
const AUTHORIZED_KEY = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\n\r"\\]*)?$/;
/** RFC 1123 host name, as Kubernetes node names are. */
const HOSTNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Whether `line` is one OpenSSH public key as labimg can carry it: one line, no quotes or backslashes. */
export function isAuthorizedKeyLine(line: string): boolean {
  return AUTHORIZED_KEY.test(line);
}

export function operatorOf(inputs: InstallInputs): Operator {
  const username = inputs.image.sshUsername;
  if (!USERNAME.test(username)) throw new Error(`image.sshUsername "${username}" is not a Linux user name`);
  const authorizedKeys = [...(inputs.sshAuthorizedKeys ?? [])];
  for (const key of authorizedKeys) {
    // Keys end up inside a quoted kickstart argument and a YAML list: one plain line, no quotes or backslashes.
    if (!AUTHORIZED_KEY.test(key)) throw new Error(`not an OpenSSH public key line: ${JSON.stringify(key.slice(0, 40))}…`);
  }
  return { username, authorizedKeys };
}

/** The installed system's host name: the node name when one is given, else whatever DHCP or the installer picks. */
export function hostnameOf(node: NodeConfig): string | undefined {
  if (node.nodeName === undefined) return undefined;
  if (node.nodeName.length > 253 || !HOSTNAME.test(node.nodeName)) throw new Error(`node name "${node.nodeName}" is not a host name`);
  return node.nodeName;
}

/** The sudo rule for an account that has no password to type (cloud-init's `sudo:` takes it as is). */
export const PASSWORDLESS_SUDO = 'ALL=(ALL) NOPASSWD:ALL';

/** The same rule as an /etc/sudoers.d line. */
export function sudoersLine(username: string): string {
  return `${username} ${PASSWORDLESS_SUDO}`;
}
