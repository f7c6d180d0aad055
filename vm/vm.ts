/**
 * Runs a `labimg boot` VM: picks the accelerator, lays out its work folder (a qcow2 overlay over the base
 * image, the NoCloud seed, the console log), starts qemu and reads the console as it comes, for the log and
 * for the agent's progress. Reusing a work folder starts the same machine again, disk and all.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { privateWorkDirBeside } from '../contract/private-file';
import path from 'node:path';
import { chooseAccelerator } from './accelerator';
import { agentEvent, LineSplitter, type AgentEvent } from './progress';
import { writeRelay } from './guest-forward';
import { renderNetworkConfig, type Lan } from './lan';
import { qemuArgs, type Accelerator, type GuestForward, type HostForward } from './qemu';
import { renderMetaData, writeSeed } from './seed';

export class VmError extends Error {}

const QEMU = 'qemu-system-x86_64';

export interface VmOptions {
  workDir: string;
  baseImage: string;
  userData: Buffer;
  hostname: string;
  kernel?: { kernel: string; initrd: string; append: string };
  accel: Accelerator | 'auto';
  memoryMiB: number;
  cpus: number;
  offline: boolean;
  forwards: readonly GuestForward[];
  hostForwards?: readonly HostForward[];
  /** A second NIC on a network shared with this host's other VMs, its address in the seed's network-config. */
  lan?: Lan;
  /**
   * The VM disk's size in bytes, when more than the base image's: cloud images are 2–3 GiB, too little for a
   * container runtime and the control-plane images, and grow their root filesystem to the disk at first boot.
   */
  diskBytes?: number;
  timeoutMs: number;
  /** Each console line as it arrives. */
  onConsole?: (line: string) => void;
  /** Each agent event, with the seconds since qemu started. */
  onEvent?: (event: AgentEvent, seconds: number) => void;
}

export interface VmResult {
  /** qemu's exit status; the VM powered off when it is 0. */
  code: number | null;
  timedOut: boolean;
  seconds: number;
  events: AgentEvent[];
  serialLog: string;
  stderr: string;
}

/** The base image's format (raw, qcow2, ...) and size as qemu-img reads them. */
function imageInfo(file: string): { format: string; virtualSize: number } {
  const info = spawnSync('qemu-img', ['info', '--output=json', file], { encoding: 'utf8' });
  if (info.error) throw new VmError(`qemu-img is not installed (Debian: apt-get install qemu-utils): ${info.error.message}`);
  if (info.status !== 0) throw new VmError(`qemu-img cannot read ${file}: ${info.stderr.trim()}`);
  const { format, 'virtual-size': virtualSize } = JSON.parse(info.stdout) as { format: string; 'virtual-size': number };
  return { format, virtualSize };
}

/**
 * The VM's disk: an overlay, so the base image is never written, as large as asked (never smaller than the
 * base: that would cut its filesystem off). An existing one is the same machine again, as it was left.
 *
 * The guest writes its secrets to it (the user-data cloud-init copies, the node credential, kubeadm's keys), so
 * it is 0600: qemu-img makes it with the umask's mode, in a folder only this user can enter, and it is made 0600
 * there before it is renamed into place; one left from an earlier run with a wider mode is made 0600 too.
 */
export function overlayDisk(workDir: string, baseImage: string, diskBytes: number | undefined): string {
  const disk = path.join(workDir, 'disk.qcow2');
  if (existsSync(disk)) {
    chmodSync(disk, 0o600);
    return disk;
  }
  const base = path.resolve(baseImage);
  const { format, virtualSize } = imageInfo(base);
  const size = diskBytes !== undefined && diskBytes > virtualSize ? [String(diskBytes)] : [];
  const staging = privateWorkDirBeside(disk);
  try {
    const staged = path.join(staging, 'disk.qcow2');
    const made = spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', format, '-b', base, staged, ...size], { encoding: 'utf8' });
    if (made.status !== 0) throw new VmError(`qemu-img could not make the VM's disk: ${made.stderr.trim()}`);
    chmodSync(staged, 0o600);
    renameSync(staged, disk);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return disk;
}

export function runVm(options: VmOptions): Promise<VmResult> {
  mkdirSync(options.workDir, { recursive: true, mode: 0o700 });
  const disk = overlayDisk(options.workDir, options.baseImage, options.diskBytes);
  // One instance id per work folder: starting the machine again is a reboot, not a new instance.
  const seed = writeSeed(options.workDir, options.userData, renderMetaData(`labimg-${path.basename(path.resolve(options.workDir))}`, options.hostname), options.lan ? renderNetworkConfig(options.lan) : undefined);
  const accel = chooseAccelerator(options.accel);
  const args = qemuArgs({ accel, memoryMiB: options.memoryMiB, cpus: options.cpus, disk, seed, kernel: options.kernel, offline: options.offline, forwards: options.forwards, hostForwards: options.hostForwards ?? [], relay: options.forwards.length > 0 ? writeRelay(options.workDir) : [], lan: options.lan });
  const serialLog = path.join(options.workDir, 'serial.log');
  // The guest's console: nothing secret is meant to reach it, but it is this machine's alone all the same.
  const log = createWriteStream(serialLog, { flags: 'a', mode: 0o600 });
  if (existsSync(serialLog)) chmodSync(serialLog, 0o600);
  const started = Date.now();
  const events: AgentEvent[] = [];
  const lines = new LineSplitter();
  let stderr = '';

  return new Promise((resolve, reject) => {
    const qemu = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      qemu.kill('SIGKILL');
    }, options.timeoutMs);
    qemu.stdout.on('data', (chunk: Buffer) => {
      log.write(chunk);
      for (const line of lines.push(chunk.toString('utf8'))) {
        options.onConsole?.(line);
        const event = agentEvent(line);
        if (!event) continue;
        events.push(event);
        options.onEvent?.(event, (Date.now() - started) / 1000);
      }
    });
    qemu.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    qemu.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new VmError(error.code === 'ENOENT' ? `${QEMU} is not installed (Debian: apt-get install qemu-system-x86)` : error.message));
    });
    qemu.on('close', (code) => {
      clearTimeout(timer);
      log.end(() => resolve({ code, timedOut, seconds: (Date.now() - started) / 1000, events, serialLog, stderr }));
    });
  });
}
