/**
 * One process at a time: a lock file that holds its owner's pid, taken over when that owner is gone (a crash,
 * kill -9, a reboot). The agent takes one per root, so the systemd unit and an admin running `agent.js run`
 * by hand never interleave steps; `labimg serve` takes one per data directory, whose file store serialises
 * writes inside its own process only.
 *
 * It uses fs directly: it needs create-exclusive semantics, which the agent Host's atomic write-and-rename
 * deliberately does not have, and it coordinates processes rather than changing the machine.
 */
import { mkdir, readFile, rm, writeFile } from 'fs/promises';
import { dirname } from 'path';

/** Takes `lockFile`; `busy` makes the error thrown when its owner is alive, naming who holds it. */
export async function acquirePidLock(lockFile: string, busy: (owner: number | undefined) => Error): Promise<() => Promise<void>> {
  await mkdir(dirname(lockFile), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lockFile, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return async () => {
        await rm(lockFile, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(await readFile(lockFile, 'utf8').catch(() => ''), 10);
      if (Number.isFinite(owner) && owner !== process.pid && isAlive(owner)) throw busy(owner);
      await rm(lockFile, { force: true });
    }
  }
  // Another process took the lock between our removing a stale one and taking it.
  throw busy(undefined);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
