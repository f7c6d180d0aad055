/**
 * A bare-metal machine as qemu plays one: an empty disk, and firmware that boots from the network first. qemu's
 * NIC option ROMs are iPXE (Debian's ipxe-qemu), which takes an address and a boot file name from user
 * networking's built-in DHCP server and runs the file, a script, from its built-in TFTP server.
 *
 * The boot file is a one-line script that chains to `labimg serve`'s /pxe/boot.ipxe over HTTP, as a site's DHCP
 * and TFTP would hand it out. Giving DHCP an http:// boot file instead works for iPXE but not for the Debian
 * installer after it: d-i takes the DHCP boot file name as its preseed URL and fails to read a preseed there
 * (seen on this machine, 2026-12-02).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chooseAccelerator } from '../../vm/accelerator';
import { qemuArgs } from '../../vm/qemu';

export interface PxeVmOptions {
  workDir: string;
  /** As qemu spells it: 52:54:00:12:34:56. */
  mac: string;
  /** The script iPXE chains to: http://10.0.2.2:PORT/pxe/boot.ipxe. */
  chainUrl: string;
}

export interface PxeVm {
  serialLog: string;
  /** Everything the console printed so far, escape sequences removed. */
  console(): string;
  /** qemu's exit status and what it printed on stderr. */
  exited: Promise<{ code: number | null; stderr: string }>;
  kill(): void;
}

/** ANSI sequences and the VT100 line-drawing switches that newt's dialogs are made of. */
const SCREEN_CONTROL = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0B]/g;

export function startPxeVm(options: PxeVmOptions): PxeVm {
  const tftp = path.join(options.workDir, 'tftp');
  mkdirSync(tftp, { recursive: true });
  writeFileSync(path.join(tftp, 'boot.ipxe'), `#!ipxe\nchain ${options.chainUrl}\n`);
  const disk = path.join(options.workDir, 'disk.qcow2');
  const made = spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '8G'], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`qemu-img: ${made.stderr}`);
  const serialLog = path.join(options.workDir, 'serial.log');
  const log = createWriteStream(serialLog);
  const args = qemuArgs({
    accel: chooseAccelerator('auto'),
    memoryMiB: 2048,
    cpus: 2,
    disk,
    offline: false,
    forwards: [],
    hostForwards: [],
    relay: [],
    netBoot: { tftpDir: tftp, bootfile: 'boot.ipxe', mac: options.mac },
  });
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Kept raw and cleaned when read: an escape sequence can be split between two chunks.
  let raw = '';
  qemu.stdout.on('data', (chunk: Buffer) => {
    log.write(chunk);
    raw += chunk.toString('utf8');
  });
  let stderr = '';
  qemu.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    qemu.on('error', reject);
    qemu.on('close', (code) => log.end(() => resolve({ code, stderr })));
  });
  return { serialLog, console: () => raw.replace(SCREEN_CONTROL, ''), exited, kill: () => void qemu.kill('SIGKILL') };
}
