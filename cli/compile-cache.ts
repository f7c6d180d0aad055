/**
 * Loads the CLI's CommonJS bundle with a V8 code cache, so that a command does not parse and compile the same
 * megabyte of JavaScript on every start: the bytecode of every function the command ran, kept on disk after its
 * first run and handed back to V8 the next time (a third of a `labimg build`, see README "Figures").
 *
 * Node 22 does this itself for any module (`module.enableCompileCache()`), but labimg runs on Node 20, whose only
 * code cache is `vm.Script`'s `cachedData` for a classic script (Node doc/api/vm.md, `new vm.Script` options
 * `cachedData`, `script.cachedDataRejected`, `script.createCachedData()`, read 2026-12-06). So the bundle is a
 * CommonJS file, compiled here in Node's own module wrapper.
 *
 * What V8 checks before it uses a cache is its own version, flags and CPU features, a checksum, and the source's
 * LENGTH, not its content (SerializedCodeData::SanityCheck and SourceHash in v8/src/snapshot/code-serializer.cc,
 * read 2026-12-06): a cache made for another bundle of the same length would run that bundle's bytecode. So the
 * file's name carries the sha256 of the bundle itself, and V8's version, the platform and the command.
 *
 * The cache is code that runs with the user's rights: it lives in labimg's own cache folder (./cache-files.ts says
 * who may write there), in v8/.
 */
import { closeSync, fstatSync, openSync, readFileSync, statSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import { Script } from 'node:vm';
import { sha256Hex } from '../contract/sha256';
import { labimgCacheDir, readOwnFile, writeOwnFile } from './cache-files';

/**
 * How the bundler begins each CLI bundle (scripts/build.mjs, which ends it with `\n});`): Node's own CommonJS
 * wrapper (`Module.wrap`, lib/internal/modules/cjs/loader.js in Node 20), whose parameters loadBundle passes.
 */
export const BUNDLE_WRAPPER_HEAD = '(function (exports, require, module, __filename, __dirname) { ';

/** A loaded bundle: what it exports, and a call that stores its code cache when it had none. */
export interface LoadedBundle<Exports> {
  exports: Exports;
  /** True when V8 took the cached code: nothing was compiled that the cache held. */
  cacheUsed: boolean;
  /** Writes the cache of every function compiled so far, once, when none was used; call it when the work is done. */
  saveCache(): void;
}

/** The folder for code cache files, or undefined when caching is off (./cache-files.ts). */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = labimgCacheDir(env);
  return dir === undefined ? undefined : path.join(dir, 'v8');
}

/**
 * Runs the CommonJS file `bundle` as Node's require would, with the code cache named for `purpose` (a command:
 * each command's cache holds the functions that command runs). `builtDigest` is the bundle's sha256 as the bundler
 * recorded it (the launcher carries it), which saves hashing the bundle's megabyte on every start (2-3 ms of a
 * 150 ms build, README "Figures"); the file's size and modification time join it in the cache's name, so a bundle
 * changed after the build never meets the cache of the one before. Without it, the bundle is hashed here.
 */
export function loadBundle<Exports>(bundle: string, purpose: string, cacheDir = compileCacheDir(), builtDigest?: string): LoadedBundle<Exports> {
  const { source, identity } = readBundle(bundle, builtDigest);
  const cacheFile = cacheDir ? path.join(cacheDir, cacheFileName(identity, purpose)) : undefined;
  const cachedData = cacheFile ? readOwnFile(cacheFile) : undefined;
  // A bundle the bundler wrote inside the wrapper is compiled as it is: wrapping it here would make V8 copy the
  // whole source into one flat string before compiling (a cons string of three parts), a megabyte more to allocate
  // and one more garbage collection of every start.
  const script = new Script(source.startsWith(BUNDLE_WRAPPER_HEAD) ? source : Module.wrap(source), { filename: bundle, cachedData });
  const module = { exports: {} as Exports, filename: bundle, id: bundle };
  const run = script.runInThisContext() as (exports: unknown, require: NodeRequire, module: unknown, filename: string, dirname: string) => void;
  run(module.exports, Module.createRequire(bundle), module, bundle, path.dirname(bundle));
  const cacheUsed = cachedData !== undefined && script.cachedDataRejected === false;
  let saved = cacheUsed;
  return {
    exports: module.exports,
    cacheUsed,
    saveCache() {
      if (saved || !cacheDir || !cacheFile) return;
      saved = true;
      writeCache(cacheDir, cacheFile, script.createCachedData());
    },
  };
}

/**
 * The bundle's text, and what names its cache: the bundle's file name (cli for labimg-cli.cjs), then its sha256,
 * or the build's digest with the file's size and time. No "-" in it: writeCache reads the name's second field.
 */
function readBundle(bundle: string, builtDigest: string | undefined): { source: string; identity: string } {
  const tag = path.basename(bundle).replace(/^labimg-/, '').replace(/\.[^.]*$/, '').replace(/[^a-z0-9]/g, '') || 'bundle';
  if (builtDigest === undefined) {
    const source = readFileSync(bundle, 'utf8');
    return { source, identity: `${tag}.${sha256Hex(source).slice(0, 16)}` };
  }
  const fd = openSync(bundle, 'r');
  try {
    return { source: readFileSync(fd, 'utf8'), identity: `${tag}.${builtIdentity(builtDigest, fstatSync(fd))}` };
  } finally {
    closeSync(fd);
  }
}

/**
 * What the bundles of one build share, and no other build has: each bundle in `dir` (by name, with the digest the
 * bundler recorded) with its file's size and time, so an edit of one after the build is another identity.
 * Undefined when one of them is not there: then nothing is kept under any identity.
 */
export function buildIdentity(dir: string, builtDigests: Readonly<Record<string, string>>): string | undefined {
  try {
    return Object.entries(builtDigests)
      .map(([name, digest]) => builtIdentity(digest, statSync(path.join(dir, name))))
      .join('+');
  } catch {
    return undefined;
  }
}

/** A built bundle as its digest and its file's size and time: an edit after the build is another identity. */
function builtIdentity(builtDigest: string, stat: { size: number; mtimeMs: number }): string {
  return `${builtDigest.slice(0, 16)}.${stat.size}.${Math.round(stat.mtimeMs)}`;
}

/**
 * `build-<bundle>-<flags>-<V8>-<platform>-<arch>.v8`: the bundle's identity (readBundle) and a digest of Node's
 * flags (V8 refuses a cache made under other flags, so runs with and without --cpu-prof would otherwise replace
 * each other's). Any change to one of them is another file.
 */
function cacheFileName(bundleIdentity: string, purpose: string): string {
  const flags = `${process.execArgv.join(' ')}\0${process.env.NODE_OPTIONS ?? ''}`;
  const safePurpose = /^[a-z][a-z0-9]{0,31}$/.test(purpose) ? purpose : 'cli';
  const v8 = process.versions.v8.replace(/[^A-Za-z0-9.]/g, '_');
  return `${safePurpose}-${bundleIdentity}-${sha256Hex(flags).slice(0, 8)}-${v8}-${process.platform}-${process.arch}.v8`;
}

/**
 * The cache of this bundle for `purpose`. The caches an older build of the same bundle file left go; those of
 * this bundle under other flags or for other commands stay, and so do the other bundle file's.
 */
function writeCache(dir: string, file: string, data: Buffer): void {
  const identityOf = (name: string) => name.split('-')[1] ?? '';
  const current = identityOf(path.basename(file));
  const sameFile = (identity: string) => identity.split('.')[0] === current.split('.')[0];
  writeOwnFile(dir, file, data, (name) => name.endsWith('.v8') && identityOf(name) !== current && sameFile(identityOf(name)));
}
