import { chmodSync, fsyncSync, mkdirSync, openSync, closeSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import type { RenderedFile } from '../builder/render/types';

function writeDurably(file: string, content: Buffer, mode: number): void {
  writeFileSync(file, content, { mode });
  // writeFileSync's mode is masked by the umask; the manifest promises the exact mode.
  chmodSync(file, mode);
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `dir` with exactly `files`, or leaves it untouched.
 *
 * Everything is written into a sibling temp directory first; only a complete set is renamed into place.
 * A reader (a PXE server, a Packer run) therefore sees the old build or the new one, never a mix, and a
 * failure half-way leaves no partial output behind.
 */
export function writeDirectoryAtomically(dir: string, files: RenderedFile[]): void {
  const parent = path.dirname(path.resolve(dir));
  const base = path.basename(dir);
  mkdirSync(parent, { recursive: true });
  const staging = path.join(parent, `.${base}.tmp-${process.pid}`);
  const previous = path.join(parent, `.${base}.old-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  try {
    mkdirSync(staging);
    for (const file of files) {
      const target = path.join(staging, file.name);
      mkdirSync(path.dirname(target), { recursive: true });
      writeDurably(target, file.content, file.mode);
    }
    if (existsSync(dir)) renameSync(dir, previous);
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (existsSync(previous) && !existsSync(dir)) renameSync(previous, dir);
    throw error;
  }
  rmSync(previous, { recursive: true, force: true });
}

/** Writes `file` whole or not at all: a temp file beside it, fsynced, then renamed over it. */
export function writeFileAtomically(file: string, content: Buffer, mode: number): void {
  const staging = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.tmp-${process.pid}`);
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  try {
    writeDurably(staging, content, mode);
    renameSync(staging, file);
  } catch (error) {
    rmSync(staging, { force: true });
    throw error;
  }
}
