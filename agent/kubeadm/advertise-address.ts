/**
 * The address a control plane advertises when node.json names a network (advertiseNetwork) rather than an
 * address: the node's own IPv4 address in that network, as `ip -4 -o addr show` lists it. kubeadm's own
 * choice is the address of the default route's interface, which on a node with two NICs can be the wrong one:
 * a NAT uplink every VM has (qemu's 10.0.2.15), or a management network the workers cannot reach.
 */
import type { NodeConfig } from '../../contract/agent-config';
import type { Host } from '../host/host';

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipv4Number(text: string): number | undefined {
  const octets = IPV4.exec(text)?.slice(1, 5).map(Number);
  if (!octets || octets.some((octet) => octet > 255)) return undefined;
  return octets.reduce((value, octet) => value * 256 + octet, 0);
}

/** Whether `address` is in `cidr` ("192.168.76.0/24"); false for anything that is not IPv4. */
export function inNetwork(address: string, cidr: string): boolean {
  const [network = '', prefixText = ''] = cidr.split('/');
  const [a, n, prefix] = [ipv4Number(address), ipv4Number(network), Number(prefixText)];
  if (a === undefined || n === undefined || !/^\d{1,2}$/.test(prefixText) || prefix > 32) return false;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return ((a & mask) >>> 0) === ((n & mask) >>> 0);
}

/**
 * The addresses in `ip -4 -o addr show` output ("2: eth1    inet 192.168.76.10/24 brd ... scope global eth1 ..."),
 * one line per address, in the order ip lists them.
 */
export function ipv4Addresses(ipOutput: string): string[] {
  return [...ipOutput.matchAll(/\binet (\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\/\d{1,2}\b/g)].map((match) => match[1] as string);
}

/** The node with the address it advertises filled in from advertiseNetwork; unchanged when there is none to find. */
export async function withAdvertiseAddress(host: Pick<Host, 'query'>, node: NodeConfig): Promise<NodeConfig> {
  if (node.advertiseAddress || !node.advertiseNetwork) return node;
  const listed = await host.query(['ip', '-4', '-o', 'addr', 'show']);
  if (listed.code !== 0) throw new Error(`cannot list this node's addresses for advertiseNetwork ${node.advertiseNetwork}: ip -4 -o addr show exited ${listed.code}`);
  const addresses = ipv4Addresses(listed.stdout);
  const address = addresses.find((candidate) => inNetwork(candidate, node.advertiseNetwork as string));
  if (!address) throw new Error(`no address of this node is in advertiseNetwork ${node.advertiseNetwork} (it has ${addresses.join(', ') || 'no IPv4 address'}): is the NIC on that network up?`);
  return { ...node, advertiseAddress: address };
}
