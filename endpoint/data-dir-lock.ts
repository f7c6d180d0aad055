/**
 * One `labimg serve` per data directory: the file store serialises writes inside its process only, so a
 * second server on the same directory could lose updates. A lock left by a killed server (kill -9, power
 * cut) is taken over once that pid is gone, or belongs to another process since (contract/pid-lock.ts).
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../contract/errors';
import { acquirePidLock, lockLineOwner } from '../contract/pid-lock';

export class DataDirBusy extends UserError {
  constructor(dir: string, pid: number | undefined) {
    super(`${dir} is in use by another labimg serve${pid === undefined ? '' : ` (pid ${pid})`}; stop it, or give this one its own --data`);
    this.name = 'DataDirBusy';
  }
}

const LOCK_FILE = 'serve.lock';

export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return acquirePidLock(path.join(dir, LOCK_FILE), (owner) => new DataDirBusy(dir, owner), async (lockFile) => writtenBeforeThisBoot(lockFile));
}

/** The pid of the live process that holds `dir` (lockDataDir's rules), or undefined when none does. */
export async function dataDirOwner(dir: string): Promise<number | undefined> {
  const lockFile = path.join(dir, LOCK_FILE);
  return lockLineOwner(await readFile(lockFile, 'utf8').catch(() => ''), async () => !writtenBeforeThisBoot(lockFile));
}

/**
 * A serve.lock of the older form (the pid alone, from a labimg before 2026-12-06) written before this boot names
 * a pid of another boot: stale. This boot began /proc/uptime seconds ago (proc(5), https://man7.org/linux/man-pages/man5/proc.5.html,
 * read 2026-12-06). Where that cannot be read, the lock is not taken to be stale.
 */
function writtenBeforeThisBoot(lockFile: string): boolean {
  try {
    const bootedMs = Date.now() - Number.parseFloat(readFileSync('/proc/uptime', 'utf8')) * 1000;
    return statSync(lockFile).mtimeMs < bootedMs;
  } catch {
    return false;
  }
}
