/**
 * Which file a profile reference names, and what loading a profile reads of the disk. Apart from the loader
 * (./load.ts) because the kept loads (./cache.ts) need both without loading anything.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const EXTENSION = '.yaml';

/** The file a profile reference names: a name in `dir`, or a path to a .yaml file. */
export function profileFile(ref: string, dir: string): string {
  const looksLikePath = ref.endsWith(EXTENSION) || ref.endsWith('.yml') || ref.includes('/') || ref.includes(path.sep);
  if (looksLikePath) return path.resolve(ref);
  return path.resolve(dir, `${ref}${EXTENSION}`);
}

/**
 * What loading a profile read of the disk: the text of each file, and each path it looked at and found nothing.
 * A load is a function of these alone (and of labimg itself and the options), which is what lets ./cache.ts keep
 * its result.
 */
export class ProfileReads {
  readonly texts = new Map<string, string>();
  readonly absent = new Set<string>();

  text(file: string): string {
    const text = readFileSync(file, 'utf8');
    this.texts.set(file, text);
    return text;
  }

  exists(file: string): boolean {
    const found = existsSync(file);
    if (!found) this.absent.add(file);
    return found;
  }
}
