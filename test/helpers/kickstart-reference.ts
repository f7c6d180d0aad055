/**
 * What the RHEL 7 and RHEL 9 installers accept in a kickstart, as data: no kickstart validator is packaged for
 * Debian, so the tests check every command, option and section labimg writes against these lists.
 *
 * Source: pykickstart, the parser anaconda itself uses (github.com/pykickstart/pykickstart):
 * - commands: the `commandMap` of `pykickstart/handlers/rhel7.py` on branch rhel7-branch (579180648d, what RHEL 7
 *   shipped; master's RHEL7 handler lacks `sshkey`, which RHEL 7.x has) and of `pykickstart/handlers/rhel9.py` on
 *   rhel9-branch (f8bdd99e7d), less the commands that handler marks removed (device, deviceprobe, dmraid,
 *   install, multipath);
 * - deprecated: commands those handlers still parse but warn about (DeprecatedCommand);
 * - sections and their options: `setupSections` in `pykickstart/parser.py` and the section parsers in
 *   `pykickstart/sections.py` on the same branches;
 * - options: the option parsers of the handlers' command classes, for the commands labimg writes (and
 *   autopart, whose RHEL 7 version has no --noswap). The Red Hat installation guides (RHEL 7 "Kickstart
 *   Commands and Options", RHEL 9 "Kickstart commands and options reference") document the same sets.
 */
export interface KickstartReference {
  name: string;
  commands: readonly string[];
  deprecated: readonly string[];
  sections: readonly string[];
  sectionOptions: Readonly<Record<string, readonly string[]>>;
  /** Long options per command, for the commands labimg writes. */
  options: Readonly<Record<string, readonly string[]>>;
}

const SCRIPT_OPTIONS = ['--erroronfail', '--interpreter', '--log', '--logfile'];

export const RHEL7_KICKSTART: KickstartReference = {
  name: 'RHEL 7',
  commands: [
    'auth', 'authconfig', 'autopart', 'autostep', 'bootloader', 'btrfs', 'cdrom', 'clearpart', 'cmdline', 'device',
    'deviceprobe', 'dmraid', 'driverdisk', 'eula', 'fcoe', 'firewall', 'firstboot', 'graphical', 'group', 'halt',
    'harddrive', 'hmc', 'ignoredisk', 'install', 'iscsi', 'iscsiname', 'keyboard', 'lang', 'liveimg', 'logging',
    'logvol', 'mediacheck', 'method', 'mount', 'multipath', 'network', 'nfs', 'nvdimm', 'ostreesetup', 'part',
    'partition', 'poweroff', 'raid', 'realm', 'reboot', 'repo', 'reqpart', 'rescue', 'rootpw', 'selinux',
    'services', 'shutdown', 'skipx', 'snapshot', 'sshkey', 'sshpw', 'text', 'timezone', 'unsupported_hardware',
    'updates', 'upgrade', 'url', 'user', 'vnc', 'volgroup', 'xconfig', 'zerombr', 'zfcp',
  ],
  deprecated: ['upgrade'],
  sections: ['%pre', '%pre-install', '%post', '%onerror', '%traceback', '%packages', '%addon', '%anaconda'],
  sectionOptions: {
    '%pre': SCRIPT_OPTIONS,
    '%post': [...SCRIPT_OPTIONS, '--nochroot'],
    '%packages': ['--default', '--excludedocs', '--ignoremissing', '--instLangs', '--multilib', '--nobase', '--nocore', '--retries', '--timeout'],
  },
  options: {
    autopart: ['--backuppassphrase', '--cipher', '--encrypted', '--escrowcert', '--fstype', '--nohome', '--nolvm', '--passphrase', '--type'],
    clearpart: ['--all', '--cdl', '--disklabel', '--drives', '--initlabel', '--linux', '--list', '--none'],
    firewall: ['--disable', '--disabled', '--enable', '--enabled', '--ftp', '--http', '--port', '--remove-service', '--service', '--smtp', '--ssh', '--trust'],
    firstboot: ['--disable', '--disabled', '--enable', '--enabled', '--reconfig'],
    keyboard: ['--switch', '--vckeymap', '--xlayouts'],
    lang: ['--addsupport'],
    network: [
      '--activate', '--bindto', '--bondopts', '--bondslaves', '--bootproto', '--bridgeopts', '--bridgeslaves', '--device',
      '--dhcpclass', '--essid', '--ethtool', '--gateway', '--hostname', '--interfacename', '--ip', '--ipv6', '--ipv6gateway',
      '--mtu', '--nameserver', '--netmask', '--no-activate', '--nodefroute', '--nodns', '--noipv4', '--noipv6',
      '--notksdevice', '--onboot', '--teamconfig', '--teamslaves', '--vlanid', '--wepkey', '--wpakey',
    ],
    part: [
      '--active', '--asprimary', '--backuppassphrase', '--cipher', '--encrypted', '--escrowcert', '--fsoptions', '--fsprofile',
      '--fstype', '--grow', '--hibernation', '--label', '--maxsize', '--mkfsoptions', '--noformat', '--onbiosdisk', '--ondisk',
      '--ondrive', '--onpart', '--passphrase', '--recommended', '--resize', '--size', '--type', '--usepart',
    ],
    reboot: ['--eject'],
    reqpart: ['--add-boot'],
    rootpw: ['--iscrypted', '--lock', '--plaintext'],
    selinux: ['--disabled', '--enforcing', '--permissive'],
    skipx: [],
    sshkey: ['--username'],
    text: [],
    timezone: ['--isUtc', '--nontp', '--ntpservers', '--utc'],
    url: ['--mirrorlist', '--noverifyssl', '--proxy', '--url'],
    user: ['--gecos', '--gid', '--groups', '--homedir', '--iscrypted', '--lock', '--name', '--password', '--plaintext', '--shell', '--uid'],
    zerombr: [],
  },
};

export const RHEL9_KICKSTART: KickstartReference = {
  name: 'RHEL 9',
  commands: [
    'auth', 'authconfig', 'authselect', 'autopart', 'autostep', 'bootloader', 'btrfs', 'cdrom', 'clearpart', 'cmdline',
    'driverdisk', 'eula', 'fcoe', 'firewall', 'firstboot', 'graphical', 'group', 'halt', 'harddrive', 'hmc',
    'ignoredisk', 'iscsi', 'iscsiname', 'keyboard', 'lang', 'liveimg', 'logging', 'logvol', 'mediacheck', 'method',
    'module', 'mount', 'network', 'nfs', 'nvdimm', 'ostreecontainer', 'ostreesetup', 'part', 'partition', 'poweroff',
    'raid', 'realm', 'reboot', 'repo', 'reqpart', 'rescue', 'rhsm', 'rootpw', 'selinux', 'services', 'shutdown',
    'skipx', 'snapshot', 'sshkey', 'sshpw', 'syspurpose', 'text', 'timesource', 'timezone', 'updates', 'url', 'user',
    'vnc', 'volgroup', 'xconfig', 'zerombr', 'zfcp', 'zipl',
  ],
  deprecated: ['autostep', 'btrfs', 'method'],
  sections: ['%certificate', '%pre', '%pre-install', '%post', '%onerror', '%traceback', '%packages', '%addon', '%anaconda'],
  sectionOptions: {
    '%pre': SCRIPT_OPTIONS,
    '%post': [...SCRIPT_OPTIONS, '--nochroot'],
    '%packages': [
      '--default', '--exclude-weakdeps', '--excludeWeakdeps', '--excludedocs', '--ignoremissing', '--inst-langs', '--instLangs',
      '--multilib', '--nocore', '--retries', '--timeout',
    ],
  },
  options: {
    autopart: [
      '--backuppassphrase', '--cipher', '--encrypted', '--escrowcert', '--fstype', '--luks-version', '--noboot', '--nohome',
      '--nolvm', '--noswap', '--passphrase', '--pbkdf', '--pbkdf-iterations', '--pbkdf-memory', '--pbkdf-time', '--type',
    ],
    clearpart: ['--all', '--cdl', '--disklabel', '--drives', '--initlabel', '--linux', '--list', '--none'],
    firewall: [
      '--disable', '--disabled', '--enable', '--enabled', '--ftp', '--http', '--port', '--remove-service', '--service', '--smtp',
      '--ssh', '--trust', '--use-system-defaults',
    ],
    firstboot: ['--disable', '--disabled', '--enable', '--enabled', '--reconfig'],
    keyboard: ['--switch', '--vckeymap', '--xlayouts'],
    lang: ['--addsupport'],
    network: [
      '--activate', '--bindto', '--bondopts', '--bondslaves', '--bootproto', '--bridgeopts', '--bridgeslaves', '--device',
      '--dhcpclass', '--essid', '--ethtool', '--gateway', '--hostname', '--interfacename', '--ip', '--ipv4-dns-search',
      '--ipv4-ignore-auto-dns', '--ipv6', '--ipv6-dns-search', '--ipv6-ignore-auto-dns', '--ipv6gateway', '--mtu',
      '--nameserver', '--netmask', '--no-activate', '--nodefroute', '--nodns', '--noipv4', '--noipv6', '--notksdevice',
      '--onboot', '--teamconfig', '--teamslaves', '--vlanid', '--wepkey', '--wpakey',
    ],
    part: [
      '--asprimary', '--backuppassphrase', '--cipher', '--encrypted', '--escrowcert', '--fsoptions', '--fsprofile', '--fstype',
      '--grow', '--hibernation', '--label', '--luks-version', '--maxsize', '--mkfsoptions', '--noformat', '--onbiosdisk',
      '--ondisk', '--ondrive', '--onpart', '--passphrase', '--pbkdf', '--pbkdf-iterations', '--pbkdf-memory', '--pbkdf-time',
      '--recommended', '--resize', '--size', '--type', '--usepart',
    ],
    reboot: ['--eject', '--kexec'],
    reqpart: ['--add-boot'],
    rootpw: ['--allow-ssh', '--iscrypted', '--lock', '--plaintext'],
    selinux: ['--disabled', '--enforcing', '--permissive'],
    skipx: [],
    sshkey: ['--username'],
    text: ['--non-interactive'],
    timezone: ['--isUtc', '--nontp', '--ntpservers', '--utc'],
    url: ['--metalink', '--mirrorlist', '--noverifyssl', '--proxy', '--sslcacert', '--sslclientcert', '--sslclientkey', '--url'],
    user: ['--gecos', '--gid', '--groups', '--homedir', '--iscrypted', '--lock', '--name', '--password', '--plaintext', '--shell', '--uid'],
    zerombr: [],
  },
};

/** labimg writes one kickstart for the whole RHEL family, so it must satisfy both references. */
export const KICKSTART_REFERENCES: readonly KickstartReference[] = [RHEL7_KICKSTART, RHEL9_KICKSTART];
