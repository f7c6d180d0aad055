import { networkInstallerOf } from '../../../contract/os-families';
import { nodeFiles, unitName } from '../node-files';
import { hostnameOf, operatorOf, sudoersLine, type Operator } from './operator';
import { renderTargetScript, targetFilesOf } from './target-script';
import type { InstallInputs } from './types';

/** One kickstart command line, with the comment that says why it is there. */
interface KickstartCommand {
  /** Comment lines written above the command. */
  why?: string[];
  name: string;
  args: string[];
}

/** Packages the installed system needs before the agent runs: install-node.sh fetches and unpacks Node.js. */
const PACKAGES = ['@core', 'curl', 'tar', 'gzip', 'xz'];

/**
 * Kickstart lines are split like a shell would (pykickstart uses shlex): plain words stay bare, anything else
 * goes in double quotes, which may not hold a quote or a backslash themselves.
 */
function ksWord(value: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  if (/["\\\n\r]/.test(value)) throw new Error(`cannot quote ${JSON.stringify(value)} for a kickstart line`);
  return `"${value}"`;
}

function option(name: string, value: string): string {
  return `--${name}=${ksWord(value)}`;
}

function sudoersPath(operator: Operator): string {
  return `/etc/sudoers.d/90-labimg-${operator.username}`;
}

function commands(inputs: InstallInputs, operator: Operator): KickstartCommand[] {
  const { repo } = inputs.image.netInstall;
  if (!repo) throw new Error(`profile ${inputs.agentConfig.profile}: image.netInstall.repo is required for a kickstart install`);
  const host = inputs.agentConfig.host;
  const hostname = hostnameOf(inputs.node);
  const network = ['--bootproto=dhcp', '--device=link', '--onboot=yes', '--activate', ...(hostname ? [option('hostname', hostname)] : [])];

  const list: KickstartCommand[] = [
    { why: ['Installs from the network tree, in text mode, asking nothing.'], name: 'text', args: [] },
    // The installed packages come from the tree by the installer's own https (yum or dnf, with the system's CAs):
    // pykickstart's `url` has --noverifyssl "for a tree on a HTTPS server" since F14, RHEL 7 included
    // (pykickstart/commands/url.py, github.com/pykickstart/pykickstart rhel7-branch at 579180648d, 2020-04-20,
    // rhel9-branch at f8bdd99e7d, 2025-05-27; checked 2026-12-05). Only iPXE's downloads must be plain HTTP.
    { name: 'url', args: [option('url', repo)] },
    { name: 'lang', args: ['en_US.UTF-8'] },
    { name: 'keyboard', args: ['--vckeymap=us', '--xlayouts=us'] },
    { name: 'timezone', args: ['Etc/UTC', '--utc'] },
    // --device=link: the first interface that has a link, rather than a name that differs from machine to machine.
    { name: 'network', args: network },
    { name: 'firstboot', args: ['--disabled'] },
    { name: 'skipx', args: [] },
    {
      why: [`Root stays locked. The operator logs in as ${operator.username}, by SSH key only, and uses sudo without a password (%post).`],
      name: 'rootpw',
      args: ['--lock'],
    },
    { name: 'user', args: [option('name', operator.username), '--groups=wheel', '--lock'] },
    ...operator.authorizedKeys.map((key) => ({ name: 'sshkey', args: [option('username', operator.username), ksWord(key)] })),
  ];
  const hostSettings: KickstartCommand[] = [];
  if (host.selinux !== 'unchanged') hostSettings.push({ name: 'selinux', args: [`--${host.selinux}`] });
  if (host.disableFirewall) hostSettings.push({ name: 'firewall', args: ['--disabled'] });
  if (hostSettings[0]) hostSettings[0].why = ['Host settings the agent enforces on first boot anyway, set from the start.'];
  list.push(
    ...hostSettings,
    {
      why: [
        'Every disk is wiped. No swap: the kubelet will not run with swap on, and RHEL 7 has no `autopart --noswap`,',
        'so the layout is spelled out: reqpart adds /boot and whatever the firmware needs (biosboot or /boot/efi).',
      ],
      name: 'zerombr',
      args: [],
    },
    { name: 'clearpart', args: ['--all', '--initlabel'] },
    { name: 'reqpart', args: ['--add-boot'] },
    { name: 'part', args: ['/', '--fstype=xfs', '--size=8192', '--grow'] },
    { why: ['It must then boot from its disk: the PXE server has to stop offering it an install (renderIpxeLocalBoot).'], name: 'reboot', args: [] },
  );
  return list;
}

/**
 * The %post body (bash, run chrooted in the installed system): the files cloud-init's user-data writes,
 * passwordless sudo for the operator, and the agent's unit enabled so it runs on first boot. Exported on
 * its own so tests can shellcheck it and run it against a temporary root.
 */
export function renderKickstartPost(inputs: InstallInputs): string {
  const operator = operatorOf(inputs);
  const sudoers = `# The operator has no password to type: labimg nodes are reached by SSH key only.\n${sudoersLine(operator.username)}\n`;
  const files = nodeFiles(inputs);
  return renderTargetScript([...targetFilesOf(files), { path: sudoersPath(operator), mode: 0o440, content: Buffer.from(sudoers, 'utf8') }], {
    defaultRoot: '',
    purpose: ['Kickstart %post: installs the labimg agent into the new system and enables it for first boot.'],
    ...(inputs.installFinished ? { installFinished: inputs.installFinished } : {}),
    finish: [
      '# Enabled, not started: the agent runs on first boot, once the installer has rebooted into the new system.',
      ...files.filter((file) => file.enable).map((unit) => `systemctl enable ${unitName(unit)}`),
    ],
  });
}

function renderCommand(command: KickstartCommand): string {
  const line = [command.name, ...command.args].join(' ');
  return command.why ? `\n${command.why.map((why) => `# ${why}`).join('\n')}\n${line}` : line;
}

/**
 * A kickstart for the RHEL family that installs a minimal system and puts the labimg agent on it.
 *
 * One file serves CentOS 7 and Rocky/RHEL 9 alike: it uses only commands and options both installers accept
 * (test/helpers/kickstart-reference.ts lists them, from pykickstart). A kickstart that carries the node's secrets is as
 * secret as they are: serve it to that node only, and write it 0600.
 */
export function renderKickstart(inputs: InstallInputs): string {
  if (networkInstallerOf(inputs.agentConfig.os).kind !== 'kickstart') throw new Error(`profile ${inputs.agentConfig.profile}: a kickstart installs the RHEL family only, not ${inputs.agentConfig.os.id}`);
  const operator = operatorOf(inputs);
  const os = inputs.agentConfig.os;
  const header = [
    `# labimg: network install of profile ${inputs.agentConfig.profile} (${os.id} ${os.versionId}) as a ${inputs.node.role} node;`,
    '# on first boot the labimg agent takes the node from there. Generated by labimg: same inputs, same bytes.',
  ].join('\n');
  const body = commands(inputs, operator).map(renderCommand).join('\n');
  const packages = ['%packages', ...PACKAGES, '%end'].join('\n');
  const script = renderKickstartPost(inputs);
  // The installer ends a section at the first line that reads %end, wherever it is.
  if (script.split('\n').includes('%end')) throw new Error('the %post script has a line that reads %end');
  // --erroronfail: a node whose agent did not land must not boot as if it had.
  const post = `%post --interpreter=/bin/bash --erroronfail --log=/root/labimg-post.log\n${script}%end`;
  return `${header}\n${body}\n\n${packages}\n\n${post}\n`;
}
