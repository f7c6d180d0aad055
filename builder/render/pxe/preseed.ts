/**
 * debian-installer (d-i): a preseed file that answers every question of an install to one ext4 root with no
 * swap, and the script its late_command runs inside the new system to put the labimg agent there. Debian 12
 * and 13 and Ubuntu 18.04 (whose netboot installer is d-i too) take the same file, less the few keys one of
 * them lacks.
 *
 * Sources, read 2026-12-06: the Debian 12 installation guide, Appendix B (package installation-guide-amd64
 * 20230508+deb12u1: en/apbs02.html for boot parameters and their aliases, en/apbs04.html and
 * example-preseed.txt for the keys, https://www.debian.org/releases/bookworm/amd64/apbs02.en.html and apbs04);
 * the Debian 12 netboot initrd itself (debian-installer-12-netboot-amd64 20230607+deb12u15, text/ images):
 * /bin/preseed_fetch, /lib/preseed/preseed.sh, /bin/preseed_command, /bin/in-target and /bin/choose-mirror
 * (choose-mirror-bin 2.123+deb12u1). Every key below also passed `debconf-set-selections --checkonly`. A VM
 * booted Debian 12's d-i with these kernel arguments and nearly these keys on 2026-12-06 (an http mirror, no
 * EFI fragment in the recipe); whether such an install completes was not known when this was written.
 */
import { networkInstallerOf } from '../../../contract/os-families';
import { nodeFiles, unitName } from '../node-files';
import { PXE_NODE_FILES } from './layout';
import { hostnameOf, operatorOf, sudoersLine } from './operator';
import { renderTargetScript, targetFilesOf, type TargetFile } from './target-script';
import type { InstallInputs } from './types';

/** Where late_command puts the install script in the new system, and removes it from once it has run. */
export const PRESEED_SCRIPT_PATH = `/root/${PXE_NODE_FILES.installScript}`;

/** One preseed line: owner, question, type, value. A debconf value is one line. */
interface Answer {
  /** Comment lines written above it. */
  why?: string[];
  owner?: 'd-i' | 'tasksel' | 'popularity-contest';
  question: string;
  type: 'string' | 'boolean' | 'select' | 'multiselect' | 'password' | 'note';
  value: string;
}

/** The archive d-i installs from, as choose-mirror's manual entry takes it. */
export interface PreseedMirror {
  protocol: 'http' | 'https';
  hostname: string;
  directory: string;
}

function isUbuntu(inputs: InstallInputs): boolean {
  return inputs.agentConfig.os.id === 'ubuntu';
}

/**
 * The profile's archive (image.netInstall.repo, e.g. https://deb.debian.org/debian) split into what
 * choose-mirror asks when mirror/country is "manual": mirror/protocol, then mirror/PROTOCOL/hostname and
 * mirror/PROTOCOL/directory. choose-mirror refuses a hostname with a "/" and an empty directory
 * (validate_mirror), and offers https only when the installer's wget is GNU wget (fill_protocols: wget_is_gnu),
 * which Debian 12's netboot initrd has (wget-udeb; /bin/choose-mirror there names mirror/https/hostname,
 * directory and proxy). Ubuntu 18.04's initrd was not checked, so its archive must be http.
 */
export function preseedMirror(inputs: InstallInputs): PreseedMirror {
  const profile = inputs.agentConfig.profile;
  const repo = inputs.image.netInstall.repo;
  if (repo === undefined) throw new Error(`profile ${profile}: image.netInstall.repo is required for a debian-installer install: the archive it installs from, e.g. https://deb.debian.org/debian`);
  let url: URL;
  try {
    url = new URL(repo);
  } catch {
    throw new Error(`profile ${profile}: image.netInstall.repo is not a URL: ${JSON.stringify(repo)}`);
  }
  const protocol = url.protocol.slice(0, -1);
  const why =
    protocol !== 'http' && protocol !== 'https'
      ? `debian-installer fetches its archive over http or https, not ${protocol}`
      : protocol === 'https' && isUbuntu(inputs)
        ? "Ubuntu 18.04's installer is given an http archive only (its https support was not checked)"
        : url.username !== '' || url.password !== ''
          ? 'debian-installer takes no user name or password in the archive URL'
          : url.search !== '' || url.hash !== ''
            ? 'debian-installer takes no query or fragment in the archive URL'
            : undefined;
  if (why !== undefined) throw new Error(`profile ${profile}: image.netInstall.repo ${repo}: ${why}`);
  const directory = url.pathname.replace(/\/+$/, '');
  if (directory === '') throw new Error(`profile ${profile}: image.netInstall.repo ${repo}: name the archive's folder too (e.g. /debian): debian-installer refuses an empty directory`);
  return { protocol: protocol as PreseedMirror['protocol'], hostname: url.host, directory };
}

/** The node's host name split as netcfg asks for it: the first label, and the rest as the domain. */
export function preseedHostname(inputs: InstallInputs): { hostname: string; domain?: string } | undefined {
  const name = hostnameOf(inputs.node);
  if (name === undefined) return undefined;
  const dot = name.indexOf('.');
  return dot < 0 ? { hostname: name } : { hostname: name.slice(0, dot), domain: name.slice(dot + 1) };
}

/**
 * preseed/late_command, run by d-i's preseed_command with `sh -c` (busybox) while the new system is still at
 * /target. preseed_fetch resolves a relative name against the URL the preseed came from (make_absolute_url in
 * /lib/preseed/preseed.sh), so this file names no URL and one preseed serves wherever its folder is served.
 * umask 077: the script carries the node's secrets. It is removed whatever happens, and the command fails when
 * either step did: preseed_command then shows the critical error preseed/command_failed, and the install
 * stops there rather than finishing a node without its agent.
 */
function lateCommand(): string {
  const target = `/target${PRESEED_SCRIPT_PATH}`;
  return [
    'umask 077',
    'ok=',
    `preseed_fetch ${PXE_NODE_FILES.installScript} ${target} && in-target bash ${PRESEED_SCRIPT_PATH} && ok=1`,
    `rm -f ${target}`,
    '[ -n "$ok" ]',
  ].join('; ');
}

/**
 * One ext4 root over the whole disk, and no swap. partman-auto's recipe format (example-preseed.txt, "expert_recipe"):
 * min, priority and max size in MB, then the partition's settings; the EFI system partition first, which
 * $iflabel{ gpt } keeps to GPT disks (the guide's "Partitioning for EFI" fragment for amd64).
 */
const ROOT_RECIPE = [
  'labimg-root ::',
  '538 538 1075 free $iflabel{ gpt } $reusemethod{ } method{ efi } format{ } .',
  '500 10000 1000000000 ext4 $primary{ } $bootable{ } method{ format } format{ } use_filesystem{ } filesystem{ ext4 } mountpoint{ / } .',
].join(' ');

function answers(inputs: InstallInputs): Answer[] {
  const operator = operatorOf(inputs);
  const mirror = preseedMirror(inputs);
  const host = preseedHostname(inputs);
  const ubuntu = isUbuntu(inputs);
  const list: Answer[] = [
    { why: ['Asked before this file is read: auto=true on the kernel line defers them until it is (B.2.3).'], question: 'debian-installer/locale', type: 'string', value: 'en_US' },
    { question: 'keyboard-configuration/xkb-keymap', type: 'select', value: 'us' },
    {
      why: [
        'netcfg has run before this file is fetched, so the kernel line carries interface= and the host name',
        "(B.4.2); these answers only keep the questions away. DHCP's names take precedence over them.",
      ],
      question: 'netcfg/choose_interface',
      type: 'select',
      value: 'auto',
    },
    { question: 'netcfg/get_hostname', type: 'string', value: host?.hostname ?? 'unassigned-hostname' },
    { question: 'netcfg/get_domain', type: 'string', value: host?.domain ?? 'unassigned-domain' },
    { why: ['Nobody is there to offer firmware media.'], question: 'hw-detect/load_firmware', type: 'boolean', value: 'false' },
    { why: [`The archive: the profile's image.netInstall.repo (${inputs.image.netInstall.repo}).`], question: 'mirror/country', type: 'string', value: 'manual' },
    { question: 'mirror/protocol', type: 'string', value: mirror.protocol },
    { question: `mirror/${mirror.protocol}/hostname`, type: 'string', value: mirror.hostname },
    { question: `mirror/${mirror.protocol}/directory`, type: 'string', value: mirror.directory },
    { question: `mirror/${mirror.protocol}/proxy`, type: 'string', value: '' },
    {
      why: [
        `Root stays locked. The operator is ${operator.username}, whose password is "!" (locked): SSH keys only, and`,
        `sudo without a password, both set by ${PXE_NODE_FILES.installScript}.`,
      ],
      question: 'passwd/root-login',
      type: 'boolean',
      value: 'false',
    },
    { question: 'passwd/make-user', type: 'boolean', value: 'true' },
    { question: 'passwd/user-fullname', type: 'string', value: 'labimg operator' },
    { question: 'passwd/username', type: 'string', value: operator.username },
    { question: 'passwd/user-password-crypted', type: 'password', value: '!' },
    { question: 'clock-setup/utc', type: 'boolean', value: 'true' },
    { question: 'time/zone', type: 'string', value: 'UTC' },
    { question: 'clock-setup/ntp', type: 'boolean', value: 'false' },
    {
      why: ['Every disk is wiped. One ext4 root and no swap: the kubelet will not run with swap on.'],
      question: 'partman-auto/method',
      type: 'string',
      value: 'regular',
    },
    { question: 'partman-auto/expert_recipe', type: 'string', value: ROOT_RECIPE },
    { why: ['partman would otherwise ask whether to go on without swap.'], question: 'partman-basicfilesystems/no_swap', type: 'boolean', value: 'false' },
    { question: 'partman-partitioning/confirm_write_new_label', type: 'boolean', value: 'true' },
    { question: 'partman/choose_partition', type: 'select', value: 'finish' },
    { question: 'partman/confirm', type: 'boolean', value: 'true' },
    { question: 'partman/confirm_nooverwrite', type: 'boolean', value: 'true' },
    { question: 'apt-setup/cdrom/set-first', type: 'boolean', value: 'false' },
    // Debian 12's apt-setup added non-free-firmware; Ubuntu's archive has no such component.
    ...(ubuntu ? [] : [{ question: 'apt-setup/non-free-firmware', type: 'boolean', value: 'false' } satisfies Answer]),
    ...(ubuntu ? [] : [{ question: 'apt-setup/services-select', type: 'multiselect', value: 'security, updates' } satisfies Answer]),
    { question: 'base-installer/install-recommends', type: 'boolean', value: 'false' },
    // Debian's tasksel has an "ssh-server" task; Ubuntu's has none of that name, so it gets the package itself.
    ...(ubuntu ? [] : [{ owner: 'tasksel', question: 'tasksel/first', type: 'multiselect', value: 'ssh-server' } satisfies Answer]),
    {
      why: [
        `curl and the CAs: ${PXE_NODE_FILES.installScript} tells labimg serve with curl that the install has finished (pkgsel runs`,
        "before late_command), and install-node.sh fetches the agent's Node.js runtime on first boot.",
      ],
      question: 'pkgsel/include',
      type: 'string',
      value: ubuntu ? 'openssh-server curl ca-certificates' : 'curl ca-certificates',
    },
    { question: 'pkgsel/upgrade', type: 'select', value: 'none' },
    { owner: 'popularity-contest', question: 'popularity-contest/participate', type: 'boolean', value: 'false' },
    { question: 'grub-installer/only_debian', type: 'boolean', value: 'true' },
    { question: 'grub-installer/bootdev', type: 'string', value: 'default' },
    {
      why: ['It then reboots into the new system: the PXE server has to stop offering it an install (renderIpxeLocalBoot).'],
      question: 'finish-install/reboot_in_progress',
      type: 'note',
      value: '',
    },
    {
      why: [
        `Fetches ${PXE_NODE_FILES.installScript} from beside this file into the new system, runs it there, removes it;`,
        'a failure stops the install at its error.',
      ],
      question: 'preseed/late_command',
      type: 'string',
      value: lateCommand(),
    },
  ];
  return list;
}

function renderAnswer(answer: Answer): string {
  if (/[\r\n]/.test(answer.value)) throw new Error(`a debconf value is one line: ${answer.question}`);
  const line = `${answer.owner ?? 'd-i'} ${answer.question} ${answer.type}${answer.value === '' ? '' : ` ${answer.value}`}`;
  return answer.why ? `\n${answer.why.map((why) => `# ${why}`).join('\n')}\n${line}` : line;
}

function requirePreseed(inputs: InstallInputs): void {
  const os = inputs.agentConfig.os;
  const installer = networkInstallerOf(os);
  if (installer.kind !== 'preseed') {
    throw new Error(`profile ${inputs.agentConfig.profile}: ${installer.kind === 'none' ? installer.why : `${os.id} ${os.versionId} installs with ${installer.kind}, not debian-installer's preseed`}`);
  }
}

/**
 * The preseed for one node (or one role): every answer d-i asks for, and the late_command that installs the
 * agent. It carries no secret: those are in the script late_command fetches.
 */
export function renderPreseed(inputs: InstallInputs): string {
  requirePreseed(inputs);
  const os = inputs.agentConfig.os;
  const header = [
    `# labimg: debian-installer preseed for profile ${inputs.agentConfig.profile} (${os.id} ${os.versionId}) as a ${inputs.node.role} node;`,
    `# ${PXE_NODE_FILES.installScript} beside it puts the labimg agent on the new system, which takes the node from there.`,
    '# Generated by labimg: same inputs, same bytes.',
  ].join('\n');
  return `${header}\n${answers(inputs).map(renderAnswer).join('\n')}\n`;
}

/** The operator's authorized_keys, as the script writes it; none without keys. */
function authorizedKeysFile(username: string, keys: readonly string[]): TargetFile[] {
  if (keys.length === 0) return [];
  return [{ path: `/home/${username}/.ssh/authorized_keys`, mode: 0o600, content: Buffer.from(`${keys.join('\n')}\n`, 'utf8') }];
}

/**
 * The script late_command runs with `in-target bash` (chrooted in the new system, so its root is ""): the files
 * cloud-init's user-data writes, passwordless sudo and the SSH keys for the operator d-i created, no swap, and
 * the agent's unit enabled for first boot. It carries the node's secrets: 0600 when it does, served to that
 * node only. Exported on its own so tests can shellcheck it and run it against a temporary root.
 */
export function renderPreseedTargetScript(inputs: InstallInputs): string {
  requirePreseed(inputs);
  const operator = operatorOf(inputs);
  const files = nodeFiles(inputs);
  const sudoers = `# The operator has no password to type: labimg nodes are reached by SSH key only.\n${sudoersLine(operator.username)}\n`;
  const home = `/home/${operator.username}`;
  const keys = authorizedKeysFile(operator.username, operator.authorizedKeys);
  const script = renderTargetScript(
    [...targetFilesOf(files), { path: `/etc/sudoers.d/90-labimg-${operator.username}`, mode: 0o440, content: Buffer.from(sudoers, 'utf8') }, ...keys],
    {
      defaultRoot: '',
      purpose: ['debian-installer late_command (run with in-target): installs the labimg agent into the new system and enables it for first boot.'],
      ...(inputs.installFinished ? { installFinished: inputs.installFinished } : {}),
      finish: [
        ...(keys.length > 0
          ? [
              `# sshd reads the keys only from a folder that is the operator's own and private.`,
              `chmod 0700 "$root${home}/.ssh"`,
              `chown -R ${operator.username}: "$root${home}/.ssh"`,
              '',
            ]
          : []),
        '# The recipe makes no swap, but partman also adds swap it finds on other disks: none may stay on,',
        '# as the kubelet will not run with swap.',
        'if [ -f "$root/etc/fstab" ]; then',
        "  sed -i -E '/^[^#[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]]/d' \"$root/etc/fstab\"",
        'fi',
        '',
        '# Enabled, not started: the agent runs on first boot, once the installer has rebooted into the new system.',
        ...files.filter((file) => file.enable).map((unit) => `systemctl enable ${unitName(unit)}`),
      ],
    },
  );
  return `#!/bin/bash\n${script}`;
}
