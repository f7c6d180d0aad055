/**
 * The file store's log, one frame per write: a put carries its key and value, a delete its key alone.
 *
 *   offset  size  field
 *        0     2  "kv", which no run of zeros or text is
 *        2     1  kind: 1 put, 2 delete
 *        3     1  0 (reserved)
 *        4     4  key length in bytes, little-endian
 *        8     4  value length in bytes (0 for a delete)
 *       12     4  CRC-32 of bytes 2-11, the key and the value (zlib's crc32, as gzip and PNG use; in Node
 *                  from 20.15.0, nodejs/node pull 52692, read 2026-12-07)
 *       16        the key (UTF-8), then the value (UTF-8 JSON text)
 *
 * A frame whose check fails, or that the file ends inside of, is where the log ends: the tail a writer left
 * when the machine lost power in the middle of an append (see file-store.ts for what is done with it).
 */
import { crc32 } from 'node:zlib';

export const HEADER_BYTES = 16;
const MAGIC = 0x766b; // "kv" read little-endian
/** The magic as it lies in the file, for finding frames. */
export const MAGIC_BYTES = Buffer.from('kv', 'latin1');
export const enum FrameKind {
  Put = 1,
  Delete = 2,
}

export interface Frame {
  kind: FrameKind;
  key: string;
  /** The value's text, for a put. */
  value?: string;
}

/** A frame as bytes, ready to append. */
export function encodeFrame(frame: Frame): Buffer {
  const key = Buffer.from(frame.key, 'utf8');
  const valueLength = frame.value === undefined ? 0 : Buffer.byteLength(frame.value, 'utf8');
  const bytes = Buffer.allocUnsafe(HEADER_BYTES + key.length + valueLength);
  bytes.writeUInt16LE(MAGIC, 0);
  bytes.writeUInt8(frame.kind, 2);
  bytes.writeUInt8(0, 3);
  bytes.writeUInt32LE(key.length, 4);
  bytes.writeUInt32LE(valueLength, 8);
  key.copy(bytes, HEADER_BYTES);
  if (frame.value !== undefined) bytes.write(frame.value, HEADER_BYTES + key.length, 'utf8');
  bytes.writeUInt32LE(checksum(bytes), 12);
  return bytes;
}

/** What a frame's header says, once its magic and kind are known good; its check needs the whole frame. */
export interface FrameHeader {
  kind: FrameKind;
  keyLength: number;
  valueLength: number;
  /** Header, key and value. */
  frameLength: number;
}

/** The header at `at`, or undefined when the bytes there are not one (the log's torn or damaged end). */
export function readHeader(bytes: Buffer, at: number): FrameHeader | undefined {
  if (bytes.length - at < HEADER_BYTES || bytes.readUInt16LE(at) !== MAGIC || bytes.readUInt8(at + 3) !== 0) return undefined;
  const kind = bytes.readUInt8(at + 2);
  if (kind !== FrameKind.Put && kind !== FrameKind.Delete) return undefined;
  const keyLength = bytes.readUInt32LE(at + 4);
  const valueLength = bytes.readUInt32LE(at + 8);
  if (keyLength === 0 || (kind === FrameKind.Delete && valueLength !== 0)) return undefined;
  return { kind, keyLength, valueLength, frameLength: HEADER_BYTES + keyLength + valueLength };
}

/** Whether the whole frame at `at` (header.frameLength bytes of `bytes`) passes its check. */
export function frameIntact(bytes: Buffer, at: number, header: FrameHeader): boolean {
  return checksum(bytes.subarray(at, at + header.frameLength)) === bytes.readUInt32LE(at + 12);
}

function checksum(frame: Buffer): number {
  return crc32(frame.subarray(HEADER_BYTES), crc32(frame.subarray(2, 12)));
}
