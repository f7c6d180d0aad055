/**
 * The address a control plane advertises when node.json names a network (advertiseNetwork) rather than an
 * address: the node's own IPv4 address in that network, as `ip -4 -o addr show` lists it. kubeadm's own
 * choice is the address of the default route's interface, which on a node with two NICs can be the wrong one:
 * a NAT uplink every VM has (qemu's 10.0.2.15), or a management network the workers cannot reach.
 * The CIDR was checked when it was written (`--advertise-network`); here it is only compared against.
 */
import { BlockList } from 'node:net';
import type { NodeConfig } from '../../contract/agent-config';
import type { Host } from '../host/host';

/** Whether the IPv4 `address` is in `cidr` ("192.168.76.0/24"), by Node's own subnet check (net.BlockList, Node 15.0). */
export function inNetwork(address: string, cidr: string): boolean {
  const [network = '', prefix = ''] = cidr.split('/');
  const subnet = new BlockList();
  subnet.addSubnet(network, Number(prefix), 'ipv4');
  return subnet.check(address, 'ipv4');
}

/** The addresses in `ip -4 -o addr show` output ("3: eth1    inet 192.168.76.10/24 brd ..."), in its order. */
export function ipv4Addresses(ipOutput: string): string[] {
  return [...ipOutput.matchAll(/\binet (\d+\.\d+\.\d+\.\d+)\//g)].map((match) => match[1] as string);
}

/** The node with the address it advertises filled in from advertiseNetwork; unchanged when there is none to find. */
export async function withAdvertiseAddress(host: Pick<Host, 'query'>, node: NodeConfig): Promise<NodeConfig> {
  const network = node.advertiseNetwork;
  if (node.advertiseAddress || !network) return node;
  const addresses = ipv4Addresses((await host.query(['ip', '-4', '-o', 'addr', 'show'])).stdout);
  const address = addresses.find((candidate) => inNetwork(candidate, network));
  if (!address) throw new Error(`no address of this node is in advertiseNetwork ${network} (it has ${addresses.join(', ')})`);
  return { ...node, advertiseAddress: address };
}
