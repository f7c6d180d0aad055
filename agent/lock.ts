/**
 * One agent at a time per root: the systemd unit and an admin running `agent.js run` by hand must not
 * interleave steps. The lock file holds the owner's pid; a lock whose owner is gone (crash, reboot) is taken over.
 * The join endpoint takes its data directory with the same lock (endpoint/data-dir-lock.ts).
 * It uses fs directly, not the Host: it needs create-exclusive semantics, which the Host's atomic
 * write-and-rename deliberately does not have, and it coordinates processes rather than changing the machine.
 */
import * as fs from 'fs';
import * as path from 'path';

export class AgentBusy extends Error {}

/** Takes `lockFile`; `busy` makes the error for a lock whose owner is alive (a default names the agent). */
export async function acquireLock(
  lockFile: string,
  busy: (owner: number) => Error = (owner) => new AgentBusy(`another agent (pid ${owner}) is running; lock ${lockFile}`),
): Promise<() => Promise<void>> {
  await fs.promises.mkdir(path.dirname(lockFile), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.promises.writeFile(lockFile, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return async () => {
        await fs.promises.rm(lockFile, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(await fs.promises.readFile(lockFile, 'utf8').catch(() => ''), 10);
      if (Number.isFinite(owner) && owner !== process.pid && isAlive(owner)) throw busy(owner);
      await fs.promises.rm(lockFile, { force: true });
    }
  }
  throw new AgentBusy(`could not take the lock ${lockFile}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
