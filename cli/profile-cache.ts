/**
 * How a command loads the profile it was given: through the loads kept in labimg's cache folder
 * (../builder/profiles/cache.ts), in profiles/ beside the code cache. Kept loads are on when the launcher has
 * named the build that runs (cli/launcher.ts, keepProfileLoads); code run any other way (the tests under tsx)
 * loads every profile afresh.
 */
import path from 'node:path';
import { loadProfileKept, type KeptLoads } from '../builder/profiles/cache';
import type { LoadOptions, Profile } from '../builder/profiles';
import { keepNewest, labimgCacheDir, readOwnFile, writeOwnFile } from './cache-files';

/**
 * The most loads kept: each is a few KB, and one for each profile file, folder and mirror a user builds from is
 * plenty; profiles made and thrown away (a test suite's) would otherwise pile up.
 */
export const KEPT_LOADS_MAX = 256;

let kept: KeptLoads | undefined;
let loadedAfresh = false;

/** Turns kept loads on for the labimg whose identity is `identity`, unless labimg's caches are off. */
export function keepProfileLoads(identity: string, cacheDir = labimgCacheDir()): void {
  kept = cacheDir === undefined ? undefined : keptLoadsIn(cacheDir, identity);
}

/** Kept loads in `cacheDir`/profiles/, read and written as labimg's cache folder allows (./cache-files.ts). */
export function keptLoadsIn(cacheDir: string, identity: string): KeptLoads {
  const dir = path.join(cacheDir, 'profiles');
  return {
    identity,
    read: (name) => readOwnFile(path.join(dir, name))?.toString('utf8'),
    write: (name, text, isStale) => {
      writeOwnFile(dir, path.join(dir, name), text, isStale);
      keepNewest(dir, (other) => other.endsWith('.json'), KEPT_LOADS_MAX);
    },
  };
}

export function loadProfile(ref: string, options: LoadOptions): Profile {
  return loadProfileKept(ref, options, kept, () => {
    loadedAfresh = true;
  });
}

/**
 * Whether a profile was loaded afresh in this run, though loads are kept: then the run did work its repeats will
 * not do, and the launcher keeps no code cache of it (a cache made now would carry the loading code into every
 * later run, a third of its size, for nothing).
 */
export function profileLoadedAfresh(): boolean {
  return loadedAfresh;
}
