/**
 * KVM or TCG for `labimg boot`'s VMs: KVM only where it really runs guest code faster than qemu's own
 * translator. A /dev/kvm that opens is not enough: a nested or sandboxed host can offer one on which qemu
 * aborts setting up the vCPU, or one that runs guests far slower than TCG (measured on a sandboxed cloud VM,
 * 2026-12-05: the probe below took 4.8 s under that KVM and 0.09 s under TCG, and a Debian kernel printed
 * nothing in 25 s under KVM where TCG booted it at once).
 *
 * The probe is a real guest: a 512-byte boot sector that writes 1 to qemu's isa-debug-exit port, which makes
 * qemu exit with status (1 << 1) | 1 = 3 (qemu's hw/misc/debugexit.c). Both accelerators run it; KVM wins when
 * it gets there and is not slower than TCG by more than a start-up margin.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Accelerator } from './qemu';

const QEMU = 'qemu-system-x86_64';
const DEBUG_EXIT_PORT = 0xf4;
/** qemu's exit status after the guest wrote 1 to isa-debug-exit. */
const GUEST_RAN = 3;
/** Longer than any working accelerator needs to get through the BIOS to the boot sector. */
const PROBE_TIMEOUT_MS = 10_000;
/** What KVM may take over TCG (its own set-up); beyond that it is not the faster choice. */
const KVM_MARGIN_SECONDS = 1;

/** mov al, 1; out 0xf4, al; hlt; jmp $-1 — then the boot signature. */
function bootSector(): Buffer {
  const sector = Buffer.alloc(512);
  Buffer.from([0xb0, 0x01, 0xe6, DEBUG_EXIT_PORT, 0xf4, 0xeb, 0xfd]).copy(sector);
  sector.writeUInt16LE(0xaa55, 510);
  return sector;
}

/** Seconds the probe guest took under `accel`, or undefined when it did not run to its end. */
export function probeSeconds(accel: Accelerator, image: string): number | undefined {
  const started = process.hrtime.bigint();
  const probe = spawnSync(
    QEMU,
    ['-accel', accel, '-machine', 'pc', '-display', 'none', '-nodefaults', '-no-reboot',
      '-device', `isa-debug-exit,iobase=0x${DEBUG_EXIT_PORT.toString(16)},iosize=0x04`, '-drive', `file=${image},format=raw,if=floppy`],
    { timeout: PROBE_TIMEOUT_MS, stdio: 'ignore' },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return probe.status === GUEST_RAN ? seconds : undefined;
}

let probed: Accelerator | undefined;

/** `wanted`, or for 'auto' what the probes choose (once per process: the machine does not change under it). */
export function chooseAccelerator(wanted: Accelerator | 'auto'): Accelerator {
  if (wanted !== 'auto') return wanted;
  probed ??= probeAccelerator();
  return probed;
}

function probeAccelerator(): Accelerator {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return 'tcg';
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'labimg-accel-'));
  try {
    const image = path.join(dir, 'probe.img');
    writeFileSync(image, bootSector());
    const kvm = probeSeconds('kvm', image);
    if (kvm === undefined) return 'tcg';
    const tcg = probeSeconds('tcg', image);
    return tcg === undefined || kvm <= tcg + KVM_MARGIN_SECONDS ? 'kvm' : 'tcg';
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
