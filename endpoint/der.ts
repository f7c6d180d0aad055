/**
 * Just enough ASN.1 DER to write an X.509 certificate (reading one is node-forge's, certificate.ts). Encodings
 * follow ITU-T X.690 (DER); each writer says which rule it keeps where DER leaves a choice.
 */

/** A tag, its length (short form below 128, else long form, X.690 §8.1.3) and the content. */
export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), lengthOf(body.length), body]);
}

function lengthOf(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export const sequence = (...items: Buffer[]): Buffer => tlv(0x30, ...items);
export const set = (...items: Buffer[]): Buffer => tlv(0x31, ...items);
export const octetString = (bytes: Buffer): Buffer => tlv(0x04, bytes);
export const utf8String = (text: string): Buffer => tlv(0x0c, Buffer.from(text, 'utf8'));
export const NULL = Buffer.from([0x05, 0x00]);
/** DER writes TRUE as 0xff (X.690 §11.1). */
export const boolean = (value: boolean): Buffer => tlv(0x01, Buffer.from([value ? 0xff : 0x00]));
/** A context-specific tag [n]: constructed for EXPLICIT tagging, primitive for an IMPLICIT primitive type. */
export const tagged = (n: number, constructed: boolean, ...content: Buffer[]): Buffer => tlv(0x80 | (constructed ? 0x20 : 0) | n, ...content);

/** A non-negative INTEGER from its big-endian magnitude: leading zero bytes dropped, one added where the top bit would read as a sign. */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const bytes = magnitude.subarray(start);
  return tlv(0x02, (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes.length ? bytes : Buffer.from([0]));
}

export const smallInteger = (value: number): Buffer => unsignedInteger(Buffer.from([value]));

/** An OBJECT IDENTIFIER: the first two arcs as 40·a + b, every arc in base 128, high bit on all but the last byte (X.690 §8.19). */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const bytes: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const groups = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) groups.unshift((value & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** A BIT STRING of whole bytes: the leading octet counts unused bits, none here. */
export const bitString = (bytes: Buffer): Buffer => tlv(0x03, Buffer.from([0]), bytes);

/**
 * A named-bit BIT STRING such as KeyUsage from the numbers of the bits that are set (bit 0 is the most
 * significant bit of the first byte). DER removes trailing zero bits (X.690 §11.2.2), so the string ends at
 * the highest bit set and the leading octet says how many bits of the last byte are unused.
 */
export function namedBits(bits: number[]): Buffer {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[Math.floor(bit / 8)] = (bytes[Math.floor(bit / 8)] ?? 0) | (0x80 >> bit % 8);
  return tlv(0x03, Buffer.from([7 - (highest % 8)]), bytes);
}

/**
 * A certificate time. RFC 5280 §4.1.2.5: UTCTime (YYMMDDHHMMSSZ) through 2049, GeneralizedTime
 * (YYYYMMDDHHMMSSZ) from 2050; both in UTC with seconds and no fraction (§4.1.2.5.1–2).
 * https://www.rfc-editor.org/rfc/rfc5280#section-4.1.2.5 (read 2026-12-05)
 */
export function time(date: Date): Buffer {
  const digits = date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:T]/g, '');
  return date.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), 'ascii')) : tlv(0x18, Buffer.from(digits, 'ascii'));
}
