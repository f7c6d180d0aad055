/**
 * The qemu command line of a `labimg boot` VM, as data: which accelerator, which disks, which network.
 * Pure, so every choice is tested without starting a VM; boot.ts runs it.
 */
import { UPLINK_MAC, type Lan } from './lan';

export type Accelerator = 'kvm' | 'tcg';

export interface GuestForward {
  /** An address and port inside the VM's user-mode network, such as 10.0.2.100:8443. */
  guest: string;
  /** The port on this host's loopback the connection goes to. */
  hostPort: number;
}

export interface HostForward {
  /** The port on this host's loopback, such as 2222. */
  hostPort: number;
  /** The guest's port it reaches, such as 22. */
  guestPort: number;
}

export interface VmSpec {
  accel: Accelerator;
  memoryMiB: number;
  cpus: number;
  /** The VM's own disk: a qcow2 overlay over the base image, so the base stays as it was. */
  disk: string;
  /** The NoCloud seed (an ISO labelled cidata); none for a machine that boots from the network. */
  seed?: string;
  /** Direct kernel boot, for images without a boot loader (a rootfs made with mmdebstrap). */
  kernel?: { kernel: string; initrd: string; append: string };
  /** Nothing reachable but the forwards: no mirror, no internet, not even this host. */
  offline: boolean;
  forwards: readonly GuestForward[];
  /** This host's ports that reach the guest: SSH, the API server. */
  hostForwards: readonly HostForward[];
  /** The command that relays one forwarded connection (guest-forward.ts), given HOST PORT after it. */
  relay: readonly string[];
  /** A second NIC on a network this host's other VMs share (lan.ts). */
  lan?: Lan;
  /**
   * Network first, then the disk, as a bare-metal machine provisioned over PXE boots: qemu's NIC ROM is iPXE, and
   * user networking's DHCP hands it `bootfile` from its TFTP server's `tftpDir`; `mac` is the NIC's, which the
   * PXE server knows the machine by.
   */
  netBoot?: { tftpDir: string; bootfile: string; mac: string };
}

const GUEST_ADDRESS = /^10\.0\.2\.(\d{1,3}):(\d{1,5})$/;

/** Checks "10.0.2.100:8443=8443" (guest address inside qemu's 10.0.2.0/24, host loopback port). */
export function parseGuestForward(text: string): GuestForward {
  const [guest = '', host = ''] = text.split('=');
  const match = GUEST_ADDRESS.exec(guest);
  const hostPort = Number(host);
  if (!match || Number(match[1]) > 254 || Number(match[2]) > 65535 || !/^\d{1,5}$/.test(host) || hostPort < 1 || hostPort > 65535) {
    throw new Error(`expected GUEST-IP:PORT=HOST-PORT with the guest address in 10.0.2.0/24, such as 10.0.2.100:8443=8443, got "${text}"`);
  }
  return { guest, hostPort };
}

const port = (text: string): number | undefined => (/^\d{1,5}$/.test(text) && Number(text) >= 1 && Number(text) <= 65535 ? Number(text) : undefined);

/** Checks "2222=22" (this host's loopback port, the guest's port). */
export function parseHostForward(text: string): HostForward {
  const [host = '', guest = '', ...rest] = text.split('=');
  const hostPort = port(host);
  const guestPort = port(guest);
  if (hostPort === undefined || guestPort === undefined || rest.length > 0) throw new Error(`expected HOST-PORT=GUEST-PORT such as 2222=22, got "${text}"`);
  return { hostPort, guestPort };
}

/** One word of a guestfwd cmd: quoted for the shell-style split qemu makes, commas doubled for its options. */
function cmdWord(word: string): string {
  const quoted = /^[\w./:-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
  return quoted.replace(/,/g, ',,');
}

function netdev(spec: VmSpec): string {
  const forwards = spec.forwards.map((f) => {
    const relay = [...spec.relay, '127.0.0.1', String(f.hostPort)].map(cmdWord).join(' ');
    return `,guestfwd=tcp:${f.guest}-cmd:${relay}`;
  });
  const inbound = spec.hostForwards.map((f) => `,hostfwd=tcp:127.0.0.1:${f.hostPort}-:${f.guestPort}`);
  const boot = spec.netBoot ? `,tftp=${spec.netBoot.tftpDir},bootfile=${spec.netBoot.bootfile}` : '';
  return `user,id=n0${spec.offline ? ',restrict=on' : ''}${forwards.join('')}${inbound.join('')}${boot}`;
}

export function qemuArgs(spec: VmSpec): string[] {
  // TCG on several threads: without KVM, each vCPU gets a host thread of its own.
  const accel = spec.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg,thread=multi', '-cpu', 'max'];
  const kernel = spec.kernel ? ['-kernel', spec.kernel.kernel, '-initrd', spec.kernel.initrd, '-append', spec.kernel.append] : [];
  return [
    '-machine', 'q35',
    ...accel,
    '-m', String(spec.memoryMiB),
    '-smp', String(spec.cpus),
    '-display', 'none',
    '-monitor', 'none',
    // The console comes out on qemu's stdout, where boot.ts logs it and reads the agent's progress from it.
    '-serial', 'stdio',
    ...kernel,
    ...(spec.netBoot ? ['-boot', 'order=nc'] : []),
    '-drive', `file=${spec.disk},if=virtio,format=qcow2`,
    ...(spec.seed ? ['-drive', `file=${spec.seed},if=virtio,format=raw,readonly=on`] : []),
    '-netdev', netdev(spec),
    '-device', `virtio-net-pci,netdev=n0${spec.netBoot ? `,mac=${spec.netBoot.mac}` : spec.lan ? `,mac=${UPLINK_MAC}` : ''}`,
    ...(spec.lan ? ['-netdev', `socket,id=lan,mcast=${spec.lan.group}`, '-device', `virtio-net-pci,netdev=lan,mac=${spec.lan.mac}`] : []),
    '-device', 'virtio-rng-pci',
  ];
}
