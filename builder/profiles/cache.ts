/**
 * A profile loaded again without reading its YAML or checking it again, when nothing it was made from has
 * changed. Loading is a function of the files it reads, the paths it finds empty (load.ts ProfileReads), the
 * options and labimg's own code; so a load's result is kept with the sha256 of each of those files and the list
 * of those paths, and is taken only while every file still holds that text and every path is still empty. The
 * entry's key holds labimg's identity (its build's: every bundle's digest, size and time), the profile's file and
 * folder and the mirror, so another labimg or another --mirror never meets it. Only a profile that loaded without a finding is kept: a profile with
 * problems is read and reported anew each time.
 *
 * What this saves: parsing each file of the chain with js-yaml, in V8's interpreter, and the schema, the derived
 * facts and the rules; about 9 ms of a 110 ms `labimg build centos-gpu` here (README "Figures").
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '../../contract/sha256';
import type { LoadOptions } from './load';
import { profileFile, ProfileReads } from './reads';
import type { Profile } from './types';

/**
 * The loader, required only when a load is not kept: it brings the YAML parser, the schema's validators and the
 * rules, whose start-up a kept load skips along with their work.
 */
const loader = () => require('./load') as typeof import('./load');

/** Where loads are kept (the CLI's cache folder, cli/profile-cache.ts); reading and writing may fail silently. */
export interface KeptLoads {
  /** labimg's own identity: it changes with any change to labimg's code. */
  readonly identity: string;
  read(name: string): string | undefined;
  /** Writes the entry `name`, then removes the entries `isStale` names. */
  write(name: string, text: string, isStale: (name: string) => boolean): void;
}

interface Entry {
  key: string;
  /** Each file the load read, with the sha256 of its text. */
  files: Array<[file: string, sha256: string]>;
  /** Each path the load looked at and found nothing. */
  absent: string[];
  profile: Profile;
}

/** loadProfile (./load.ts), or the profile kept from a load of the same inputs. */
export function loadProfileKept(ref: string, options: LoadOptions, kept: KeptLoads | undefined, onFreshLoad?: () => void): Profile {
  if (kept === undefined) return loader().loadResolvedProfile(ref, options).profile;
  const key = sha256Hex(JSON.stringify([kept.identity, profileFile(ref, options.dir), path.resolve(options.dir), options.mirror ?? null]));
  const prefix = `${sha256Hex(kept.identity).slice(0, 16)}-`;
  const name = `${prefix}${key.slice(0, 32)}.json`;
  const entry = entryFor(kept.read(name), key);
  if (entry !== undefined && stillHolds(entry)) return entry.profile;

  onFreshLoad?.();
  const reads = new ProfileReads();
  const { profile } = loader().loadResolvedProfile(ref, options, reads);
  // JSON brings back exactly what it was given only for plain data; anything else is loaded anew each time.
  if (isPlainData(profile)) {
    const fresh: Entry = { key, files: [...reads.texts].map(([file, text]) => [file, sha256Hex(text)]), absent: [...reads.absent], profile };
    kept.write(name, JSON.stringify(fresh), (other) => other.endsWith('.json') && !other.startsWith(prefix));
  }
  return profile;
}

function entryFor(text: string | undefined, key: string): Entry | undefined {
  if (text === undefined) return undefined;
  try {
    const entry = JSON.parse(text) as Partial<Entry>;
    return entry.key === key && Array.isArray(entry.files) && Array.isArray(entry.absent) && entry.profile !== undefined ? (entry as Entry) : undefined;
  } catch {
    return undefined;
  }
}

/** Every file as the load read it, every empty path still empty. */
function stillHolds(entry: Entry): boolean {
  try {
    return entry.files.every(([file, digest]) => sha256Hex(readFileSync(file, 'utf8')) === digest) && entry.absent.every((file) => !existsSync(file));
  } catch {
    return false;
  }
}

/** Strings, finite numbers, booleans, null, arrays and plain objects of them, with no property left undefined. */
function isPlainData(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every(isPlainData);
  if (typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.values(value as object).every((field) => field !== undefined && isPlainData(field));
}
