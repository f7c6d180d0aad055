import type { OsSpec } from '../../../contract/agent-config';
import { networkInstallerOf } from '../../../contract/os-families';
import { IPXE_BOOT_MAC, PXE_NODE_FILES, pxeAssetUrl, pxeBootAssets, pxeNodeUrl } from './layout';
import type { BootFiles, NetInstall } from './types';

export interface IpxeScriptInputs {
  os: OsSpec;
  profile: string;
  /** The installer's kernel and initrd (see bootFilesOf). */
  boot: BootFiles;
  /** The RHEL tree (`repo`) or Ubuntu's live ISO (`iso`) the installer installs from. */
  netInstall: NetInstall;
  /** This node's PXE folder, ending in "/" (see pxeNodeUrl): its kickstart.cfg, user-data and meta-data, preseed.cfg or ignition.json. */
  nodeUrl: string;
  /** The node's host name and domain, where its name is known (debian-installer takes them on the kernel line). */
  host?: { hostname: string; domain?: string };
}

/**
 * The name iPXE gives the initrd image. UEFI iPXE hands images to the kernel's EFI stub as files of that name,
 * and kernels older than 5.8 (CentOS 7's 3.10, Ubuntu 20.04's 5.4) only find their initrd through
 * `initrd=<name>` on the command line. BIOS kernels ignore the argument.
 */
export const INITRD_NAME = 'main';

/** x86 Linux truncates a longer command line (COMMAND_LINE_SIZE). */
const KERNEL_CMDLINE_MAX = 2048;

/**
 * iPXE splits a line at whitespace and expands ${…} settings (that is what the chain script relies on); it
 * has no quoting. So a URL here is one word, and `;` inside it is harmless: iPXE treats `;` as a command
 * separator only when it stands alone as a word.
 */
function ipxeWord(value: string, what: string): string {
  if (!/^\S+$/.test(value) || value.startsWith('#')) throw new Error(`${what} cannot go on an iPXE line as one word: ${JSON.stringify(value)}`);
  return value;
}

/**
 * The installer's kernel and initrd as iPXE fetches them: always the copies the PXE base serves under assets/
 * (layout.ts), never the profile's URLs themselves, which are https on every mirror and so out of reach of
 * firmware iPXE (see layout.ts for iPXE's HTTPS). The profile's kernel and initrd are where the copies come
 * from; Ubuntu publishes its live installer's only inside the ISO.
 */
export function bootFilesOf(profile: string, netInstall: NetInstall, base: string): BootFiles {
  const { kernel, initrd } = pxeBootAssets(profile, netInstall);
  return { kernel: pxeAssetUrl(base, kernel), initrd: pxeAssetUrl(base, initrd) };
}

function installerArgs(inputs: IpxeScriptInputs): string[] {
  const { os, netInstall, nodeUrl } = inputs;
  if (!nodeUrl.endsWith('/')) throw new Error(`nodeUrl must end in "/" (NoCloud appends file names to it): ${nodeUrl}`);
  const installer = networkInstallerOf(os);
  if (installer.kind === 'none') throw new Error(`profile ${inputs.profile}: ${installer.why}`);
  if (installer.kind === 'kickstart') {
    if (!netInstall.repo) throw new Error(`profile ${inputs.profile}: image.netInstall.repo is required for a RHEL-family install`);
    // CentOS 7's anaconda takes the inst.* spelling too. These two are fetched by the installer, not by iPXE,
    // so an https tree is fine: anaconda's dracut hook accepts http, https and ftp for both
    // (dracut/parse-anaconda-repo.sh and parse-anaconda-kickstart.sh, github.com/rhinstaller/anaconda at tag
    // anaconda-21.48.22.159-1, CentOS 7.9's, 2020-04-15, and on branch rhel-9 at e1810e7ae7, 2026-08-21, whose
    // docs/boot-options.rst lists inst.repo=[http,https,ftp]://), and fetches them with curl through dracut's
    // url-lib, which copies curl's CA bundle into the initramfs (modules.d/45url-lib/module-setup.sh,
    // github.com/dracutdevs/dracut, since tag 033 of 2013-09-12, the dracut CentOS 7 ships). Checked 2026-12-05.
    return [`inst.ks=${nodeUrl}${PXE_NODE_FILES.kickstart}`, `inst.repo=${netInstall.repo}`, 'ip=dhcp'];
  }
  if (installer.kind === 'preseed') {
    // Debian 12 installation guide, Appendix B (installation-guide-amd64 20230508+deb12u1, en/apbs02.html,
    // read 2026-12-06): "auto=true priority=critical" on the kernel line is the automated install (B.2.3): auto
    // (auto-install/enable) defers the locale and keyboard questions until the preseed is read, priority
    // (debconf/priority) asks nothing below critical; url is preseed/url; interface=auto picks the first viable
    // NIC (B.2.3). netcfg runs before a network preseed is fetched, so the host name and domain must be here
    // (B.4.2) as the aliases hostname (netcfg/get_hostname) and domain (netcfg/get_domain) of B.2.4.
    const host = inputs.host ? [`hostname=${inputs.host.hostname}`, ...(inputs.host.domain ? [`domain=${inputs.host.domain}`] : [])] : [];
    return ['auto=true', 'priority=critical', `url=${nodeUrl}${PXE_NODE_FILES.preseed}`, 'interface=auto', ...host];
  }
  if (installer.kind === 'ignition') {
    // Flatcar's PXE docs (docs/installing/bare-metal/booting-with-ipxe.md, flatcar/flatcar-docs at e0411428c3,
    // read 2026-12-06): flatcar.first_boot=1 makes Ignition provision the booted system, from the config at
    // ignition.config.url ("http, https, s3, and tftp schemes are supported").
    return ['flatcar.first_boot=1', `ignition.config.url=${nodeUrl}${PXE_NODE_FILES.ignition}`];
  }
  if (!netInstall.iso) throw new Error(`profile ${inputs.profile}: image.netInstall.iso is required for an Ubuntu install`);
  return [
    // As Ubuntu's netboot guide has it: casper downloads the ISO into a RAM disk and boots from it.
    'root=/dev/ram0',
    'ramdisk_size=1500000',
    'ip=dhcp',
    `url=${netInstall.iso}`,
    // cloud-init would otherwise read url= as its own (legacy) cloud-config URL and download the ISO again.
    'cloud-config-url=/dev/null',
    'autoinstall',
    `ds=nocloud-net;s=${nodeUrl}`,
  ];
}

/**
 * The profile's serial console for the installer. debian-installer copies what follows "---" into the installed
 * system's boot loader, and its guide says to put console= there for that (Debian installation guide 5.3.1,
 * "Boot console", https://d-i.debian.org/manual/en.amd64/ch05s03.html, read 2026-12-06); the other installers
 * get it as it is.
 */
function consoleArgs(inputs: IpxeScriptInputs): string[] {
  const { console } = inputs.netInstall;
  if (console === undefined) return [];
  return networkInstallerOf(inputs.os).kind === 'preseed' ? ['---', `console=${console}`] : [`console=${console}`];
}

/**
 * The iPXE script that network-installs one node: fetch the installer's kernel and initrd, point the
 * installer at this node's kickstart (RHEL family), NoCloud autoinstall seed (Ubuntu 20.04 and later), preseed
 * (debian-installer) or Ignition (Flatcar's PXE image), boot. A failed
 * download is retried rather than left at a prompt: nobody is watching the console.
 */
export function renderIpxeScript(inputs: IpxeScriptInputs): string {
  const args = [`initrd=${INITRD_NAME}`, ...installerArgs(inputs), ...consoleArgs(inputs)].map((arg) => ipxeWord(arg, 'a kernel argument'));
  const cmdline = args.join(' ');
  if (cmdline.length >= KERNEL_CMDLINE_MAX) throw new Error(`kernel command line is ${cmdline.length} bytes; Linux keeps ${KERNEL_CMDLINE_MAX - 1}`);
  const { os } = inputs;
  return `#!ipxe
# labimg: network install of profile ${inputs.profile} (${os.id} ${os.versionId}) on this machine. Generated by labimg.
:install
kernel ${ipxeWord(inputs.boot.kernel, 'the kernel URL')} ${cmdline} || goto retry
initrd --name ${INITRD_NAME} ${ipxeWord(inputs.boot.initrd, 'the initrd URL')} || goto retry
boot || goto retry

:retry
echo labimg: could not fetch or boot the installer, trying again in 30 s
imgfree
sleep 30
goto install
`;
}

/**
 * The script DHCP points every PXE client at: it chains to the script in the folder named after the MAC
 * address the client booted from, and asks again later when there is none (an unknown machine, or the
 * endpoint is down).
 */
export function renderIpxeChainScript(base: string): string {
  const url = pxeNodeUrl(base, IPXE_BOOT_MAC) + PXE_NODE_FILES.ipxe;
  return `#!ipxe
# labimg: every machine gets the install script of the MAC address it booted from. Generated by labimg.
:chain
chain ${ipxeWord(url, 'the endpoint URL')} || goto unknown

:unknown
echo labimg: nothing to install for \${netX/mac} (or the endpoint is unreachable), asking again in 60 s
sleep 60
goto chain
`;
}

/**
 * The script for a machine that is installed: leave iPXE, so the firmware boots the next device, its disk.
 * Serving this once a node has reported in keeps it from reinstalling at every reboot.
 */
export function renderIpxeLocalBoot(): string {
  return `#!ipxe
# labimg: this machine is installed; the firmware boots it from its next boot device, the disk.
exit
`;
}
