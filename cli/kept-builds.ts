/**
 * A rebuild that would write exactly what its folder already holds, told without rendering it again. Rendering is
 * a function of its inputs alone (builder/build.ts renderBuild: the profile's facts, the options, the files they
 * name, the agent and the gzip it travels as) and of labimg's code. So after a build, what it wrote is kept in
 * labimg's cache folder, in builds/: each file's name, mode, size and sha256, under a key made of labimg's build
 * identity (every bundle's digest, size and time: cli/compile-cache.ts buildIdentity) and the sha256 of the inputs.
 * A later build with the same key whose folder still holds those files, byte for byte by their sha256 and nothing
 * else, is up to date: it renders nothing, writes nothing, and says so as any unchanged build does.
 *
 * Only inputs that are plain data make a key (strings, finite numbers, booleans, null, arrays, plain objects;
 * buffers by their sha256 and, for one the renderers carry gzipped, that gzip's); anything else is rendered each
 * time. So is a build that carries a secret (join material, enrollment tokens): its key would be made from it.
 * What this saves: rendering a profile's user-data, Ignition configs and installer files, 8 of a repeated
 * `labimg build centos-gpu`'s 35 ms here (README "Figures").
 */
import path from 'node:path';
import { sha256Hex } from '../contract/sha256';
import type { BuildInputs } from '../builder/build';
import type { Manifest } from '../builder/manifest';
import { carriedGzipOf } from '../builder/render/gzip';
import type { RenderedFile } from '../builder/render/types';
import { keepNewest, labimgCacheDir, readOwnFile, writeOwnFile } from './cache-files';
import { folderHolds } from './output';

/** The most builds kept: an entry is under a KB, and one per profile, option set and folder is plenty. */
export const KEPT_BUILDS_MAX = 256;

/** A file as a kept build remembers it. */
type KeptFile = [name: string, mode: number, size: number, sha256: string];

interface Entry {
  key: string;
  files: KeptFile[];
}

/** Where builds are kept: labimg's cache folder and the identity of the labimg that runs, or nowhere. */
let keptIn: { dir: string; identity: string } | undefined;

/** Turns kept builds on for the labimg whose identity is `identity`, unless labimg's caches are off. */
export function keepBuilds(identity: string, cacheDir = labimgCacheDir()): void {
  keptIn = cacheDir === undefined ? undefined : { dir: path.join(cacheDir, 'builds'), identity };
}

/** What a build does with the build kept for its inputs. */
export interface KeptBuild {
  /** The manifest of the folder, when it holds exactly what these inputs render; else undefined. */
  heldBy(outDir: string): Manifest | undefined;
  /** Keeps `files`, rendered from these inputs, which the folder now holds. */
  keep(files: readonly RenderedFile[]): void;
}

/** The build kept for `inputs`, or undefined where builds are not kept or these inputs make no key. */
export function keptBuildFor(inputs: BuildInputs): KeptBuild | undefined {
  if (keptIn === undefined || inputs.join !== undefined || inputs.enrollment !== undefined) return undefined;
  const { dir, identity } = keptIn;
  const inputsDigest = plainDataDigest(inputs);
  if (inputsDigest === undefined) return undefined;
  // zlib's version too: the renderers gzip with the zlib of the Node that runs labimg, which labimg's identity
  // does not cover, and another zlib may write other bytes.
  const key = sha256Hex(JSON.stringify([identity, process.versions.zlib, inputsDigest]));
  const prefix = `${sha256Hex(identity).slice(0, 16)}-`;
  const file = path.join(dir, `${prefix}${key.slice(0, 32)}.json`);
  return {
    heldBy(outDir) {
      const entry = entryFor(readOwnFile(file)?.toString('utf8'), key);
      if (entry === undefined) return undefined;
      let manifest: Buffer | undefined;
      const wanted = entry.files.map(([name, mode, size, sha256]) => ({ name, mode, size, sha256 }));
      const held = folderHolds(outDir, wanted, (want, bytes) => {
        if (sha256Hex(bytes) !== want.sha256) return false;
        if (want.name === 'manifest.json') manifest = bytes;
        return true;
      });
      return held && manifest !== undefined ? (JSON.parse(manifest.toString('utf8')) as Manifest) : undefined;
    },
    keep(files) {
      const entry: Entry = { key, files: files.map((f) => [f.name, f.mode, f.content.length, sha256Hex(f.content)]) };
      writeOwnFile(dir, file, JSON.stringify(entry), (other) => other.endsWith('.json') && !other.startsWith(prefix));
      keepNewest(dir, (other) => other.endsWith('.json'), KEPT_BUILDS_MAX);
    },
  };
}

/**
 * The sha256 of `value` written as JSON, each buffer as its sha256 (and its carried gzip's); undefined when
 * anything in it is not plain data. An object's field that is undefined is left out, as JSON leaves it out: the
 * renderers read an absent field and an undefined one alike.
 */
function plainDataDigest(value: unknown): string | undefined {
  let plain = true;
  let text: string | undefined;
  try {
    text = JSON.stringify(value, function replace(this: Record<string, unknown>, key: string, field: unknown) {
      // `this[key]` is the field before JSON's own conversion, which turns a buffer into an array of its bytes.
      const original = this[key];
      if (Buffer.isBuffer(original)) {
        const gzip = carriedGzipOf(original);
        return { buffer: sha256Hex(original), ...(gzip ? { carriedGzip: sha256Hex(gzip) } : {}) };
      }
      // In an array, JSON writes undefined as null, which the renderers may read otherwise.
      if (!isPlainValue(original) || (original === undefined && Array.isArray(this))) plain = false;
      return field;
    });
  } catch {
    return undefined; // a BigInt, or a cycle
  }
  return plain && text !== undefined ? sha256Hex(text) : undefined;
}

/** A value JSON writes as it is: what a key may be made of (undefined is an absent field, see above). */
function isPlainValue(value: unknown): boolean {
  if (value === undefined || value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return true;
  return typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value));
}

function entryFor(text: string | undefined, key: string): Entry | undefined {
  if (text === undefined) return undefined;
  try {
    const entry = JSON.parse(text) as Partial<Entry>;
    return entry.key === key && Array.isArray(entry.files) && entry.files.every(isKeptFile) ? (entry as Entry) : undefined;
  } catch {
    return undefined;
  }
}

function isKeptFile(file: unknown): file is KeptFile {
  return (
    Array.isArray(file) &&
    file.length === 4 &&
    typeof file[0] === 'string' &&
    Number.isInteger(file[1]) &&
    Number.isInteger(file[2]) &&
    typeof file[3] === 'string' &&
    /^[0-9a-f]{64}$/.test(file[3])
  );
}
