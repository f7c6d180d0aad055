/**
 * Files that may hold a secret (a token, a user-data that carries one, a disk a node keeps its credential on),
 * written so that no other user can read them at any moment, whatever the umask and whatever was there before.
 *
 * The content goes into a new file beside the target, under a random name, created with O_CREAT|O_EXCL and mode
 * 0600: O_EXCL fails on a name that exists, a symlink planted there included, wherever it points (open(2)), so
 * nobody else holds the file open, and the umask only ever turns bits off (umask(2)). Its mode is then set exactly
 * with fchmod, which the umask does not touch, before it is renamed over the target: rename(2) replaces the old
 * file, a wider-mode one or a symlink included, atomically, so readers see the old file or the new one, and the
 * new one was never wider than the mode asked for. (Linux man-pages 6.03, open(2), umask(2), rename(2), read
 * 2026-12-06; FACTS.md.)
 */
import { randomBytes } from 'crypto';
import { closeSync, fchmodSync, fsyncSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from 'fs';
import { basename, dirname, join, resolve } from 'path';

/** Writes `content` to `file` whole or not at all, never readable by anyone but its owner on the way. */
export function writePrivateFile(file: string, content: Buffer | string, mode = 0o600): void {
  const dir = dirname(resolve(file));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const staging = join(dir, `.${basename(file)}.tmp-${randomBytes(6).toString('hex')}`);
  const fd = openSync(staging, 'wx', mode & 0o600);
  try {
    try {
      const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      for (let written = 0; written < bytes.length; ) written += writeSync(fd, bytes, written);
      fchmodSync(fd, mode);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(staging, file);
  } catch (error) {
    rmSync(staging, { force: true });
    throw error;
  }
  syncDirectory(dir);
}

/**
 * A fresh folder beside `target` that only this user can enter (mkdtemp(3) makes it 0700), for a tool that writes a
 * file with the umask's mode: inside it, nobody else can open that file before it is made private and renamed out.
 */
export function privateWorkDirBeside(target: string): string {
  const dir = dirname(resolve(target));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return mkdtempSync(join(dir, `.${basename(target)}.tmp-`));
}

/** Makes a rename durable across a power cut; some filesystems refuse fsync on a folder. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
