/**
 * labimg's cache folder, for what a command can always make again from its inputs and keeps to save the time:
 * the V8 code cache of the CLI (./compile-cache.ts) and the profiles a command loaded (./profile-cache.ts).
 *
 * What is kept there is taken as labimg's own work (bytecode runs with the user's rights; a loaded profile
 * becomes what nodes receive), so the folder is the user's own ($XDG_CACHE_HOME/labimg, else ~/.cache/labimg;
 * never a shared temp folder), made 0700, and a file is read only when the user owns it and its folder and no one
 * else may write either. NODE_DISABLE_COMPILE_CACHE=1, Node's own switch for its compile cache (nodejs/node commit
 * 4baf4637eb, PR #54501), turns all of it off. Every failure to read or write is silent: a cache only ever costs
 * the time it was meant to save.
 */
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The folder of labimg's caches, or undefined when caching is off or there is no home to keep it in. */
export function labimgCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.NODE_DISABLE_COMPILE_CACHE === '1') return undefined;
  // XDG Base Directory Specification: $XDG_CACHE_HOME, an absolute path, else $HOME/.cache.
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'labimg');
  const home = env.HOME || os.homedir();
  return home && path.isAbsolute(home) ? path.join(home, '.cache', 'labimg') : undefined;
}

/** The file's bytes when this user owns it and only this user may write it (or root, the owner of root's home). */
export function readOwnFile(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const stat = fstatSync(fd);
    if (!stat.isFile() || !ownedByUs(stat) || !ownedByUs(statSync(path.dirname(file)))) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function ownedByUs(stat: { uid: number; mode: number }): boolean {
  const uid = process.getuid?.();
  return uid !== undefined && stat.uid === uid && (stat.mode & 0o022) === 0;
}

/**
 * Writes `file` (in `dir`, made 0700) whole or not at all, 0600: a temp file renamed over. Then removes the other
 * files of `dir` that `isStale` names, the entries an older labimg left.
 */
export function writeOwnFile(dir: string, file: string, data: Buffer | string, isStale: (name: string) => boolean): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!ownedByUs(statSync(dir))) return;
    writeFileSync(temp, data, { mode: 0o600, flag: 'wx' });
    renameSync(temp, file);
    for (const name of readdirSync(dir)) {
      if (name !== path.basename(file) && isStale(name)) rmSync(path.join(dir, name), { force: true });
    }
  } catch {
    rmSync(temp, { force: true });
  }
}

/** Removes all but the `count` newest files of `dir` that `counted` names (by modification time). Silent. */
export function keepNewest(dir: string, counted: (name: string) => boolean, count: number): void {
  try {
    const files = readdirSync(dir)
      .filter(counted)
      .map((name) => ({ name, mtimeMs: lstatSync(path.join(dir, name)).mtimeMs }));
    if (files.length <= count) return;
    files.sort((a, b) => b.mtimeMs - a.mtimeMs);
    for (const { name } of files.slice(count)) rmSync(path.join(dir, name), { force: true });
  } catch {
    // A cache that keeps a few more entries only takes a little more room.
  }
}
