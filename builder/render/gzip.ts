/**
 * gzip as every renderer carries the agent: level 9, and byte-stable (gzipSync leaves the header's time at 0
 * and names no file), so the same bytes always give the same output. One build gzips the same bundle for
 * each role of each delivery path, so the result is kept per buffer: one compression instead of eight.
 */
import { gzipSync } from 'node:zlib';

const compressed = new WeakMap<Buffer, Buffer>();

export function gzipStable(content: Buffer): Buffer {
  let result = compressed.get(content);
  if (!result) {
    result = gzipSync(content, { level: 9 });
    compressed.set(content, result);
  }
  return result;
}
