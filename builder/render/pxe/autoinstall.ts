import { networkInstallerOf } from '../../../contract/os-families';
import { nodeFiles, unitName } from '../node-files';
import { dumpWithGzipBase64 } from '../yaml-gzip-base64';
import { hostnameOf, operatorOf, PASSWORDLESS_SUDO } from './operator';
import { renderTargetScript, targetFilesOf } from './target-script';
import type { InstallInputs } from './types';

/** Where the installer's own cloud-init drops the script that late-commands runs (tmpfs, gone after the install). */
export const TARGET_SCRIPT_PATH = '/run/labimg/install-into-target.sh';

/** cloud-config for the installed system, applied by its cloud-init on first boot (autoinstall's `user-data`). */
interface TargetCloudConfig {
  hostname?: string;
  users: Array<{
    name: string;
    groups: string[];
    shell: string;
    lock_passwd: boolean;
    sudo: string;
    ssh_authorized_keys?: string[];
  }>;
}

/** The autoinstall keys written, as subiquity's autoinstall-schema.json names them (version 1). */
interface Autoinstall {
  version: 1;
  locale: string;
  keyboard: { layout: string };
  ssh: { 'install-server': boolean; 'allow-pw': boolean };
  storage: { layout: { name: 'direct' }; swap: { size: 0 } };
  'user-data': TargetCloudConfig;
  'late-commands': string[];
}

/** The whole NoCloud user-data: cloud-config for the live installer system, with `autoinstall` for subiquity. */
interface InstallerCloudConfig {
  write_files: Array<{ path: string; permissions: string; owner: string; content: string }>;
  autoinstall: Autoinstall;
}

/** Autoinstall came with Ubuntu 20.04's live installer; 18.04 netboots debian-installer, which takes a preseed. */
function requireAutoinstall(profile: string, os: InstallInputs['agentConfig']['os']): void {
  const installer = networkInstallerOf(os);
  if (installer.kind !== 'autoinstall') throw new Error(`profile ${profile}: ${installer.kind === 'none' ? installer.why : `${os.id} ${os.versionId} installs with ${installer.kind}, not autoinstall`}`);
}

/**
 * The late-commands script (bash, run in the installer with the new system mounted at /target): the files
 * cloud-init's user-data writes, then the unit enabled inside the target. Exported on its own so tests can
 * shellcheck it and run it against a temporary root.
 */
export function renderAutoinstallTargetScript(inputs: InstallInputs): string {
  requireAutoinstall(inputs.agentConfig.profile, inputs.agentConfig.os);
  const files = nodeFiles(inputs);
  const script = renderTargetScript(targetFilesOf(files), {
    defaultRoot: '/target',
    purpose: ['Autoinstall late-command: installs the labimg agent into the new system and enables it for first boot.'],
    ...(inputs.installFinished ? { installFinished: inputs.installFinished } : {}),
    finish: [
      '# Subiquity before 23.10 ignores storage.swap next to a storage layout and gives the new system a swap',
      '# file anyway; the kubelet will not run with swap on, so it goes now rather than on first boot.',
      'if [ -f "$root/etc/fstab" ]; then',
      "  sed -i '/^\\/swap\\.img[[:space:]]/d' \"$root/etc/fstab\"",
      'fi',
      'rm -f "$root/swap.img"',
      '',
      "# Enabled from inside the new system, as subiquity's documentation shows; it starts on first boot.",
      ...files.filter((file) => file.enable).map((unit) => `curtin in-target --target="$root" -- systemctl enable ${unitName(unit)}`),
    ],
  });
  return `#!/bin/bash\n${script}`;
}

function targetCloudConfig(inputs: InstallInputs): TargetCloudConfig {
  const operator = operatorOf(inputs);
  const hostname = hostnameOf(inputs.node);
  return {
    ...(hostname ? { hostname } : {}),
    users: [
      {
        name: operator.username,
        groups: ['adm', 'sudo'],
        shell: '/bin/bash',
        // No password at all: SSH keys only, and sudo cannot ask for one.
        lock_passwd: true,
        sudo: PASSWORDLESS_SUDO,
        ...(operator.authorizedKeys.length > 0 ? { ssh_authorized_keys: operator.authorizedKeys } : {}),
      },
    ],
  };
}

/**
 * NoCloud user-data for Ubuntu's live server installer (subiquity), 20.04 or later.
 *
 * Its top level is cloud-config for the installer's own live system, where it only drops the late-commands
 * script (a command line could not carry the agent: one argument is limited to 128 KiB). `autoinstall` is for
 * subiquity: no swap, the whole largest disk, the operator account (via `user-data`, created on first boot, in
 * place of `identity`, which would need a password) and the late-command. User-data that carries the node's
 * secrets is as secret as they are: serve it to that node only, and write it 0600.
 */
export function renderAutoinstallUserData(inputs: InstallInputs): string {
  requireAutoinstall(inputs.agentConfig.profile, inputs.agentConfig.os);
  const config: InstallerCloudConfig = {
    write_files: [{ path: TARGET_SCRIPT_PATH, permissions: '0700', owner: 'root:root', content: renderAutoinstallTargetScript(inputs) }],
    autoinstall: {
      version: 1,
      locale: 'en_US.UTF-8',
      keyboard: { layout: 'us' },
      ssh: { 'install-server': true, 'allow-pw': false },
      // direct: one ext4 root over the whole disk. 20.04's lvm layout makes a 4 GiB root and leaves the rest of the disk unused.
      storage: { layout: { name: 'direct' }, swap: { size: 0 } },
      'user-data': targetCloudConfig(inputs),
      'late-commands': [`bash ${TARGET_SCRIPT_PATH}`],
    },
  };
  return `#cloud-config\n${dumpWithGzipBase64(config, { noRefs: true })}`;
}

/**
 * NoCloud meta-data, which the ds=nocloud-net seed URL must also serve. The installer needs nothing from it,
 * and cloud-init reads a file with no keys as empty meta-data.
 */
export function renderNoCloudMetaData(): string {
  return '# NoCloud meta-data for the labimg installer: nothing is needed here, but the file must exist.\n';
}
