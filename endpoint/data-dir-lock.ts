/**
 * One `labimg serve` per data directory: the file store serialises writes inside its process only, so a
 * second server on the same directory could lose updates. A lock left by a killed server (kill -9, power
 * cut) is taken over once that pid is gone.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../contract/errors';
import { acquirePidLock } from '../contract/pid-lock';

export class DataDirBusy extends UserError {
  constructor(dir: string, pid: number | undefined) {
    super(`${dir} is in use by another labimg serve${pid === undefined ? '' : ` (pid ${pid})`}; stop it, or give this one its own --data`);
    this.name = 'DataDirBusy';
  }
}

export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return acquirePidLock(path.join(dir, 'serve.lock'), (owner) => new DataDirBusy(dir, owner));
}
