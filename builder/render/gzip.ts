/**
 * gzip as every renderer carries the agent: level 9, and byte-stable (gzipSync leaves the header's time at 0
 * and names no file), so the same bytes always give the same output. One build gzips the same bundle for
 * each role of each delivery path, so the result is kept per buffer: one compression instead of eight.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

const compressed = new WeakMap<Buffer, Buffer>();
/** The contents whose gzip was made ahead of time, not by gzipStable. */
const carried = new WeakSet<Buffer>();

/**
 * Carry `content` as `gzipped` from now on: a gzip made ahead of time (the bundler's Zopfli one of the agent,
 * smaller than level 9). Refused unless it is `content` gzipped, so a stale file cannot ship another agent.
 */
export function useGzipOf(content: Buffer, gzipped: Buffer): void {
  let inflated: Buffer | undefined;
  try {
    inflated = gunzipSync(gzipped);
  } catch {
    inflated = undefined;
  }
  if (!inflated?.equals(content)) throw new Error('the precompressed file is not this content gzipped');
  compressed.set(content, gzipped);
  carried.add(content);
}

/**
 * Carry `content` as `gzipped` from now on, unchecked: for a pair whose maker recorded the sha256 of both as it
 * wrote them, and whose digests the caller has found unchanged (cli/package-files.ts), which inflating would only
 * confirm. Inflating the agent was a millisecond of every build, most of it zlib's first call in the process.
 */
export function useRecordedGzipOf(content: Buffer, gzipped: Buffer): void {
  compressed.set(content, gzipped);
  carried.add(content);
}

/** The gzip made ahead of time that `content` is carried as (useGzipOf, useRecordedGzipOf), if there is one. */
export function carriedGzipOf(content: Buffer): Buffer | undefined {
  return carried.has(content) ? compressed.get(content) : undefined;
}

export function gzipStable(content: Buffer): Buffer {
  let result = compressed.get(content);
  if (!result) {
    result = gzipSync(content, { level: 9 });
    compressed.set(content, result);
  }
  return result;
}
