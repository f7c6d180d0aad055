/** IPv4 CIDR blocks, as kubeadm's podSubnet and serviceSubnet and Calico's IP pools take them. */

export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit number. */
  network: number;
  prefix: number;
}

export type CidrParse = { ok: true; cidr: Ipv4Cidr } | { ok: false; reason: 'syntax' } | { ok: false; reason: 'host-bits'; network: string };

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

function octetsValid(parts: string[]): boolean {
  // No leading zeros: "010" means 8 to some tools and 10 to others.
  return parts.every((part) => Number(part) <= 255 && (part === '0' || !part.startsWith('0')));
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function formatIpv4(address: number): string {
  return [24, 16, 8, 0].map((shift) => (address >>> shift) & 0xff).join('.');
}

export function parseIpv4Cidr(text: string): CidrParse {
  const match = CIDR.exec(text);
  if (!match) return { ok: false, reason: 'syntax' };
  const octets = match.slice(1, 5) as [string, string, string, string];
  const prefix = Number(match[5]);
  if (!octetsValid(octets) || prefix > 32) return { ok: false, reason: 'syntax' };
  const address = octets.reduce((value, octet) => value * 256 + Number(octet), 0);
  const network = (address & mask(prefix)) >>> 0;
  if (network !== address) return { ok: false, reason: 'host-bits', network: `${formatIpv4(network)}/${prefix}` };
  return { ok: true, cidr: { network, prefix } };
}

function lastAddress(cidr: Ipv4Cidr): number {
  return (cidr.network | (~mask(cidr.prefix) >>> 0)) >>> 0;
}

export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.network <= lastAddress(b) && b.network <= lastAddress(a);
}

/** Whether `inner` lies wholly inside `outer`. */
export function cidrContains(outer: Ipv4Cidr, inner: Ipv4Cidr): boolean {
  return inner.prefix >= outer.prefix && ((inner.network & mask(outer.prefix)) >>> 0) === outer.network;
}
