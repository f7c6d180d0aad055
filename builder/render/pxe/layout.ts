/**
 * Where PXE files live under a PXE base URL, the same for `labimg serve` (base http://HOST:PORT/pxe) and for a
 * build's pxe/ folder on any web server (base: --pxe-url):
 *
 *   BASE/boot.ipxe                     the chain script DHCP points iPXE at (serve only)
 *   BASE/nodes/ID/boot.ipxe            one node's install script; ID is a MAC address (serve) or a role (build)
 *   BASE/nodes/ID/kickstart.cfg        RHEL family
 *   BASE/nodes/ID/user-data, meta-data Ubuntu autoinstall (a NoCloud seed)
 *   BASE/assets/ISO/casper/vmlinuz     the kernel and initrd copied out of an installer ISO, for profiles that
 *   BASE/assets/ISO/casper/initrd      name none (Ubuntu publishes them only inside its ISO)
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

/** The installer ISO's folder under BASE/assets/: its file name without ".iso". */
export function isoAssetFolder(iso: string): string {
  const name = iso.slice(iso.lastIndexOf('/') + 1).replace(/\.iso$/i, '');
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`cannot name an assets folder after the ISO ${JSON.stringify(iso)}`);
  return name;
}

/** Where the kernel and initrd copied out of `iso` are served (casper/ as in the ISO itself). */
export function isoBootFiles(base: string, iso: string): { kernel: string; initrd: string } {
  const folder = `${pxeBase(base)}/assets/${isoAssetFolder(iso)}/casper`;
  return { kernel: `${folder}/vmlinuz`, initrd: `${folder}/initrd` };
}
