/**
 * One `labimg serve` per data directory: the file store serialises writes inside its process only, so a
 * second server on the same directory could lose updates. The lock file holds the owner's pid; a lock left
 * by a killed server (kill -9, power cut) is taken over once that pid is gone.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export class DataDirBusy extends Error {
  constructor(dir: string, pid: number) {
    super(`${dir} is in use by another labimg serve (pid ${pid}); stop it, or give this one its own --data`);
    this.name = 'DataDirBusy';
  }
}

export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'serve.lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) throw new DataDirBusy(dir, owner);
      rmSync(file, { force: true }); // stale: its owner is gone
    }
  }
  throw new Error(`cannot take the lock ${file}: another process keeps recreating it`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
