/**
 * Where PXE files live under a PXE base URL, the same for `labimg serve` (base http://HOST:PORT/pxe) and for a
 * build's pxe/ folder on any web server (base: --pxe-url):
 *
 *   BASE/boot.ipxe                     the chain script DHCP points iPXE at (serve only)
 *   BASE/nodes/ID/boot.ipxe            one node's install script; ID is a MAC address (serve) or a role (build)
 *   BASE/nodes/ID/kickstart.cfg        RHEL family
 *   BASE/nodes/ID/user-data, meta-data Ubuntu autoinstall (a NoCloud seed)
 *   BASE/nodes/ID/preseed.cfg          debian-installer (Debian 12 and 13, Ubuntu 18.04): the answers, no secret
 *   BASE/nodes/ID/labimg-install.sh    debian-installer: the script its late_command runs in the new system
 *   BASE/nodes/ID/ignition.json        Flatcar: the Ignition of its PXE image, which installs it to disk
 *   BASE/assets/HOST/PATH              the installer's kernel and initrd downloaded from https://HOST/PATH (the
 *                                      profile's netInstall.kernel and .initrd: RHEL family, Debian, Flatcar), where
 *                                      `wget -x` saves them
 *   BASE/assets/ISO/casper/vmlinuz     the kernel and initrd copied out of an installer ISO, for profiles that
 *   BASE/assets/ISO/casper/initrd      name none (Ubuntu publishes them only inside its ISO)
 *
 * iPXE fetches the scripts and the kernel and initrd itself, and the iPXE in most machines' firmware has no
 * HTTPS: iPXE's src/config/general.h leaves DOWNLOAD_PROTO_HTTPS undefined for BIOS builds (`#if defined (
 * PLATFORM_pcbios ) #undef DOWNLOAD_PROTO_HTTPS`, github.com/ipxe/ipxe at 0ab2277c40, 2026-08-21), and until
 * commit 05cb930466 ("[build] Extend default configuration for non-BIOS builds", 2026-01-16) no default build
 * had it at all. Even one that has it trusts only the iPXE root CA (src/crypto/rootcert.c) and fetches the
 * cross-signed certificates of public CAs from http://ca.ipxe.org/auto (src/config/crypto.h). Checked 2026-12-05.
 * So every URL here that iPXE fetches is served by the PXE base over plain HTTP, from the local network: the
 * installer's own downloads (inst.repo, inst.ks, the tree's packages, Ubuntu's ISO) may stay https.
 *
 * A folder per node, not a query string: NoCloud's seed URL (ds=nocloud-net;s=…/) must end in "/", and
 * cloud-init appends "user-data" and "meta-data" to it. A MAC is written as iPXE's ${netX/mac:hexhyp} prints
 * it (52-54-00-12-34-56), so the chain script can name the folder itself.
 */
export const PXE_NODE_FILES = {
  ipxe: 'boot.ipxe',
  kickstart: 'kickstart.cfg',
  userData: 'user-data',
  metaData: 'meta-data',
  preseed: 'preseed.cfg',
  installScript: 'labimg-install.sh',
  ignition: 'ignition.json',
} as const;

export type PxeNodeFile = (typeof PXE_NODE_FILES)[keyof typeof PXE_NODE_FILES];

/** The chain script, at the top of the base. */
export const PXE_CHAIN_FILE = 'boot.ipxe';

/** The MAC of the interface iPXE booted from, as iPXE expands it in a script. */
export const IPXE_BOOT_MAC = '${netX/mac:hexhyp}';

/** A MAC address in the folder's spelling: lowercase, hyphens. Accepts colons, hyphens or none. */
export function macFolderName(mac: string): string {
  const hex = mac.toLowerCase().replace(/[:-]/g, '');
  if (!/^[0-9a-f]{12}$/.test(hex)) throw new Error(`not a MAC address: ${JSON.stringify(mac)}`);
  return hex.match(/../g)!.join('-');
}

/** The base URL without a trailing slash, e.g. http://10.0.0.5:8080/pxe. */
export function pxeBase(url: string): string {
  if (!/^https?:\/\/\S+$/.test(url)) throw new Error(`not an http(s) URL: ${JSON.stringify(url)}`);
  return url.replace(/\/+$/, '');
}

/** The base `labimg serve` serves PXE files under, at `origin` (http://HOST:PORT). */
export function endpointPxeBase(origin: string): string {
  return `${pxeBase(origin)}/pxe`;
}

/**
 * A node folder's URL, ending in "/". `id` is a MAC address (any spelling), IPXE_BOOT_MAC for a script iPXE
 * expands, or a role for a build's folders.
 */
export function pxeNodeUrl(base: string, id: string): string {
  const folder = id === IPXE_BOOT_MAC || /^[a-z][a-z-]*$/.test(id) ? id : macFolderName(id);
  return `${pxeBase(base)}/nodes/${folder}/`;
}

/** A file or folder name a PXE server serves under assets/ (the endpoint's `**` routes take the same). */
const ASSET_NAME = /^(?!\.\.?$)[A-Za-z0-9._-]+$/;

/**
 * Where BASE/assets/ serves a copy of the file at `url`: its host and path, as `wget -x` (--force-directories)
 * saves it, so two trees never share a name and the operator can tell what each copy is of. A port is left out
 * (wget would add "host:PORT", and ":" is no plain name), so mirrors on one host and different ports share a folder.
 */
export function downloadAssetPath(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`not a URL: ${JSON.stringify(url)}`);
  }
  const names = [parsed.hostname, ...parsed.pathname.split('/').filter((name) => name !== '')];
  const why =
    parsed.search !== '' || parsed.hash !== ''
      ? 'it has a query or fragment'
      : parsed.pathname.endsWith('/')
        ? 'it names a folder, not a file'
        : names.find((name) => !ASSET_NAME.test(name)) !== undefined
          ? `"${names.find((name) => !ASSET_NAME.test(name))}" is not a plain file name (letters, digits, ".", "_", "-")`
          : undefined;
  if (why !== undefined) throw new Error(`cannot serve a copy of ${url} under assets/ at its host and path: ${why}`);
  return names.join('/');
}

/** The installer ISO's folder under BASE/assets/: its file name without ".iso". */
export function isoAssetFolder(iso: string): string {
  const name = iso.slice(iso.lastIndexOf('/') + 1).replace(/\.iso$/i, '');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`cannot name an assets folder after the ISO ${JSON.stringify(iso)}`);
  return name;
}

/** One file iPXE fetches from BASE/assets/, and where the operator gets it. */
export interface PxeAsset {
  /** Its path under BASE/assets/. */
  path: string;
  /** The URL of the file it is a copy of, or of the ISO it is copied out of. */
  from: string;
  /** With an ISO: the file inside it (casper/vmlinuz). */
  inIso?: string;
}

/** The installer's kernel and initrd as BASE/assets/ serves them. */
export interface PxeBootAssets {
  kernel: PxeAsset;
  initrd: PxeAsset;
}

/**
 * The installer's kernel and initrd under BASE/assets/: copies of the profile's netInstall.kernel and .initrd
 * (which stay the source to download from), or for a profile that names none (Ubuntu), the ones inside its ISO.
 */
export function pxeBootAssets(profile: string, netInstall: { kernel?: string; initrd?: string; iso?: string }): PxeBootAssets {
  if (netInstall.kernel !== undefined && netInstall.initrd !== undefined) {
    return { kernel: { path: downloadAssetPath(netInstall.kernel), from: netInstall.kernel }, initrd: { path: downloadAssetPath(netInstall.initrd), from: netInstall.initrd } };
  }
  if (netInstall.kernel !== undefined || netInstall.initrd !== undefined) throw new Error(`profile ${profile}: image.netInstall names ${netInstall.kernel !== undefined ? 'a kernel but no initrd' : 'an initrd but no kernel'}`);
  if (netInstall.iso !== undefined) {
    const folder = `${isoAssetFolder(netInstall.iso)}/casper`;
    return {
      kernel: { path: `${folder}/vmlinuz`, from: netInstall.iso, inIso: 'casper/vmlinuz' },
      initrd: { path: `${folder}/initrd`, from: netInstall.iso, inIso: 'casper/initrd' },
    };
  }
  throw new Error(`profile ${profile}: image.netInstall names no kernel and initrd, and no ISO to take them from`);
}

/** An asset's URL under the PXE base. */
export function pxeAssetUrl(base: string, asset: PxeAsset): string {
  return `${pxeBase(base)}/assets/${asset.path}`;
}
