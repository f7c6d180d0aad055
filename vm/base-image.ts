/**
 * The disk a `labimg boot` VM starts from: a file the user names, or the profile's cloud image, downloaded
 * once into a cache and checked against the profile's checksum (a sha256, or a checksum list such as
 * Debian's SHA512SUMS or Ubuntu's SHA256SUMS that names the image).
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../contract/errors';

export class ImageError extends UserError {}

export interface ExpectedDigest {
  algorithm: 'sha256' | 'sha512';
  hex: string;
}

const ALGORITHM_BY_LENGTH: Readonly<Record<number, ExpectedDigest['algorithm']>> = { 64: 'sha256', 128: 'sha512' };

/**
 * The digest a checksum list gives `fileName`: GNU lines ("HEX  name", "HEX *name") or BSD lines
 * ("SHA512 (name) = HEX"). The algorithm follows from the length of the hex digits.
 */
export function digestFromList(list: string, fileName: string): ExpectedDigest | undefined {
  for (const raw of list.split('\n')) {
    const line = raw.trim();
    const gnu = /^([0-9a-fA-F]+) [ *](.+)$/.exec(line);
    const bsd = /^(SHA256|SHA512) \((.+)\) = ([0-9a-fA-F]+)$/.exec(line);
    const [hex, name] = gnu ? [gnu[1], gnu[2]] : bsd ? [bsd[3], bsd[2]] : [undefined, undefined];
    if (hex === undefined || name === undefined || path.posix.basename(name) !== fileName) continue;
    const algorithm = ALGORITHM_BY_LENGTH[hex.length];
    if (algorithm) return { algorithm, hex: hex.toLowerCase() };
  }
  return undefined;
}

/** The cache the images live in: $XDG_CACHE_HOME/labimg/images, or ~/.cache/labimg/images. */
export function imageCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'labimg', 'images');
}

async function get(url: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new ImageError(`cannot download ${url}: ${((error as { cause?: Error }).cause ?? (error as Error)).message}`);
  }
  if (!response.ok || !response.body) throw new ImageError(`cannot download ${url}: HTTP ${response.status}`);
  return response;
}

async function download(url: string): Promise<Buffer> {
  return Buffer.from(await (await get(url)).arrayBuffer());
}

/** Streams `url` into `file`, hashing as it goes: images are hundreds of megabytes. Returns the hex digest. */
async function downloadTo(url: string, file: string, algorithm: ExpectedDigest['algorithm']): Promise<string> {
  const response = await get(url);
  const hash = createHash(algorithm);
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(body, createWriteStream(file, { flags: 'wx' }));
  return hash.digest('hex');
}

/** What the profile's checksum says the image must hash to: "sha256:<hex>", or "file:<list URL>". */
async function expectedDigest(url: string, checksum: string): Promise<ExpectedDigest> {
  if (checksum.startsWith('sha256:')) return { algorithm: 'sha256', hex: checksum.slice('sha256:'.length).toLowerCase() };
  const listUrl = checksum.replace(/^file:/, '');
  const fileName = path.posix.basename(new URL(url).pathname);
  const digest = digestFromList((await download(listUrl)).toString('utf8'), fileName);
  if (!digest) throw new ImageError(`${listUrl} lists no sha256 or sha512 for ${fileName}`);
  return digest;
}

/**
 * The profile's cloud image in the cache, downloaded and checked first when it is not there yet. A download
 * that does not match is never kept.
 */
export async function cachedCloudImage(image: { url: string; checksum: string }, cacheDir = imageCacheDir()): Promise<string> {
  const target = path.join(cacheDir, path.posix.basename(new URL(image.url).pathname));
  if (existsSync(target)) return target;
  const expected = await expectedDigest(image.url, image.checksum);
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${target}.${process.pid}.part`;
  try {
    const actual = await downloadTo(image.url, partial, expected.algorithm);
    if (actual !== expected.hex) throw new ImageError(`${image.url} has ${expected.algorithm} ${actual}, but ${image.checksum} says ${expected.hex}; nothing was kept`);
    renameSync(partial, target);
  } finally {
    rmSync(partial, { force: true });
  }
  return target;
}
