/**
 * Where `labimg serve` puts a node's PXE files: one folder per MAC address, /pxe/nodes/<mac>/. The MAC is
 * written as iPXE's ${netX/mac:hexhyp} prints it (52-54-00-12-34-56), so the chain script can name the
 * folder itself. A folder, not a query string: NoCloud's seed URL (ds=nocloud-net;s=…/) must end in "/",
 * and cloud-init appends "user-data" and "meta-data" to it.
 */
export const PXE_NODE_FILES = {
  ipxe: 'boot.ipxe',
  kickstart: 'kickstart.cfg',
  userData: 'user-data',
  metaData: 'meta-data',
} as const;

/** The MAC of the interface iPXE booted from, as iPXE expands it in a script. */
export const IPXE_BOOT_MAC = '${netX/mac:hexhyp}';

/** A MAC address in the folder's spelling: lowercase, hyphens. Accepts colons, hyphens or none. */
export function macFolderName(mac: string): string {
  const hex = mac.toLowerCase().replace(/[:-]/g, '');
  if (!/^[0-9a-f]{12}$/.test(hex)) throw new Error(`not a MAC address: ${JSON.stringify(mac)}`);
  return hex.match(/../g)!.join('-');
}

/** The base URL of the endpoint without a trailing slash, e.g. http://10.0.0.5:8080. */
function endpointBase(endpoint: string): string {
  if (!/^https?:\/\/\S+$/.test(endpoint)) throw new Error(`not an http(s) URL: ${JSON.stringify(endpoint)}`);
  return endpoint.replace(/\/+$/, '');
}

/** The node's folder URL, ending in "/". `mac` may also be IPXE_BOOT_MAC, for a script iPXE expands. */
export function pxeNodeUrl(endpoint: string, mac: string): string {
  const folder = mac === IPXE_BOOT_MAC ? mac : macFolderName(mac);
  return `${endpointBase(endpoint)}/pxe/nodes/${folder}/`;
}
