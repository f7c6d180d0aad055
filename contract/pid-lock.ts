/**
 * One process at a time: a lock file that holds its owner's pid, taken over when that owner is gone (a crash,
 * kill -9, a reboot). The agent takes one per root, so the systemd unit and an admin running `agent.js run`
 * by hand never interleave steps; `labimg serve` takes one per data directory, whose file store serialises
 * writes inside its own process only.
 *
 * A live pid is not proof enough: after a reboot (or in a long boot) the pid may belong to an unrelated process.
 * So the lock also holds its owner's start time and the boot's id (Linux), and a live pid whose start time or
 * boot differs is not the owner: proc_pid_stat(5), field 22 `starttime`, clock ticks after boot
 * (https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html), and `/proc/sys/kernel/random/boot_id`, a UUID
 * made once per boot (the kernel's admin guide, sysctl/kernel "random": https://docs.kernel.org/admin-guide/sysctl/kernel.html);
 * both read 2026-12-06. A lock of the older form (the pid alone) is its live pid's unless `olderFormStale` says
 * otherwise (the endpoint's data directory lock checks whether it was written before this boot).
 *
 * It uses fs directly: it needs create-exclusive semantics, which the agent Host's atomic write-and-rename
 * deliberately does not have, and it coordinates processes rather than changing the machine.
 */
import { mkdir, readFile, rm, writeFile } from 'fs/promises';
import { dirname } from 'path';

/** Takes `lockFile`; `busy` makes the error thrown when its owner is alive, naming who holds it. */
export async function acquirePidLock(lockFile: string, busy: (owner: number | undefined) => Error, olderFormStale?: (lockFile: string) => Promise<boolean>): Promise<() => Promise<void>> {
  await mkdir(dirname(lockFile), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lockFile, await ownLockLine(), { flag: 'wx', mode: 0o600 });
      return async () => {
        await rm(lockFile, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = await lockLineOwner(await readFile(lockFile, 'utf8').catch(() => ''), async () => !(await olderFormStale?.(lockFile)));
      if (owner !== undefined && owner !== process.pid) throw busy(owner);
      await rm(lockFile, { force: true });
    }
  }
  // Another process took the lock between our removing a stale one and taking it.
  throw busy(undefined);
}

/** What this process writes into a lock it takes: "PID STARTTIME BOOT_ID". */
export async function ownLockLine(): Promise<string> {
  return `${process.pid} ${await startOf(process.pid).catch(() => '')}\n`;
}

/**
 * The pid of the live process that wrote `line` (a lock file's one line), or undefined when none does: no pid, a
 * dead one, or a live pid of another start or boot. A line of the older form (the pid alone) is its live pid's
 * when `olderFormOwned` says so.
 */
export async function lockLineOwner(line: string, olderFormOwned: () => Promise<boolean>): Promise<number | undefined> {
  const [pid = '', ...rest] = line.trim().split(' ');
  const owner = Number.parseInt(pid, 10);
  if (!Number.isFinite(owner) || !isAlive(owner)) return undefined;
  const recorded = rest.join(' ');
  // The same start and boot (taken to be where /proc cannot say), or for the older form, `olderFormOwned`.
  const owns = recorded ? recorded === (await startOf(owner).catch(() => recorded)) : await olderFormOwned();
  return owns ? owner : undefined;
}

/** "STARTTIME BOOT_ID" of a process, from Linux's /proc. */
async function startOf(pid: number): Promise<string> {
  const fields = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces: field 3 on, so field 22 is the 20th.
  return `${fields.slice(fields.lastIndexOf(')') + 2).split(' ')[19]} ${(await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim()}`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
