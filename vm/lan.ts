/**
 * A network the `labimg boot` VMs of one lab share beside their own user-mode network: qemu's multicast socket
 * backend, so VMs on this host see each other's frames with no bridge, no tap and no root. Each VM on it gets a
 * second NIC with a MAC of its own (derived from its name: qemu would give every VM's second NIC the same
 * default one) and a static address from the NoCloud seed's network-config, since nothing on the segment
 * serves DHCP.
 *
 * qemu 7.2's `-netdev socket,id=str[,fd=h][,mcast=maddr:port[,localaddr=addr]]` ("configure a network
 * backend to connect to a multicast maddr and port"): `qemu-system-x86_64 -help`, QEMU 7.2.22 (Debian 12),
 * read 2026-12-06. Multicast frames also reach the VM that sent them; IPv4 on the segment does not mind.
 */
import { createHash } from 'node:crypto';

export interface Lan {
  /** The multicast group and UDP port every VM of the lab joins, such as 230.0.76.1:47600. */
  group: string;
  /** This VM's address on the segment, with its prefix: 192.168.76.10/24. */
  address: string;
  /** This VM's NIC on the segment: locally administered, unique per VM name. */
  mac: string;
}

/** The user-mode NIC's MAC, given explicitly beside a lan NIC so the network-config can match it. qemu's own default for a first NIC. */
export const UPLINK_MAC = '52:54:00:12:34:56';

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const octets = (text: string): number[] | undefined => {
  const match = IPV4.exec(text);
  const parts = match?.slice(1, 5).map(Number);
  return parts && parts.every((part) => part <= 255) ? parts : undefined;
};

/** "230.0.76.1:47600": an IPv4 multicast group (224.0.0.0/4) and a UDP port. */
export function parseLanGroup(text: string): string {
  const [host = '', port = '', ...rest] = text.split(':');
  const parts = octets(host);
  const portNumber = Number(port);
  if (!parts || parts[0]! < 224 || parts[0]! > 239 || rest.length > 0 || !/^\d{1,5}$/.test(port) || portNumber < 1 || portNumber > 65535) {
    throw new Error(`expected MULTICAST-IP:PORT with an address in 224.0.0.0/4, such as 230.0.76.1:47600, got "${text}"`);
  }
  return text;
}

/** "192.168.76.10/24": the VM's address on the lan and the segment's prefix length. */
export function parseLanAddress(text: string): string {
  const [host = '', prefix = '', ...rest] = text.split('/');
  const bits = Number(prefix);
  if (!octets(host) || rest.length > 0 || !/^\d{1,2}$/.test(prefix) || bits < 1 || bits > 30) {
    throw new Error(`expected the VM's IPv4 address and prefix length, such as 192.168.76.10/24, got "${text}"`);
  }
  return text;
}

/** 52:54:00 (qemu's prefix, locally administered) and three bytes of the VM's name's sha256. */
export function lanMac(vmName: string): string {
  const bytes = createHash('sha256').update(vmName).digest().subarray(0, 3);
  return ['52', '54', '00', ...Array.from(bytes, (b) => b.toString(16).padStart(2, '0'))].join(':');
}

/**
 * The seed's network-config (version 2): DHCP on the user-mode NIC, as cloud-init's fallback would do without
 * one, and the static address on the lan NIC, each found by its MAC. cloud-init 22.4's NoCloud reads an
 * optional `network-config` file from the seed (cloudinit/sources/DataSourceNoCloud.py, "optional":
 * ["vendor-data", "network-config"], cloud-init 22.4.2 as Debian 12 ships it, read 2026-12-06). Without a
 * gateway on the lan, the default route stays on the user-mode NIC.
 */
export function renderNetworkConfig(lan: Lan): string {
  return [
    'version: 2',
    'ethernets:',
    '  eth0:',
    `    match: {macaddress: "${UPLINK_MAC}"}`,
    '    dhcp4: true',
    '  eth1:',
    `    match: {macaddress: "${lan.mac}"}`,
    `    addresses: [${lan.address}]`,
    '',
  ].join('\n');
}
