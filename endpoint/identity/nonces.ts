/**
 * One-use nonces for the `audience` Alibaba Cloud signs into an instance identity document, so a document proves
 * it was signed just now, for this endpoint. They are made without storing anything, so asking for one (a public
 * route) grows nothing: a nonce is its expiry and random bytes with an HMAC of both under the endpoint's nonce
 * key, checked on use; its single use is recorded only once a signed document carrying it has verified.
 *
 * The characters are those of base64url and ".", which need no escaping in a query string or in the JSON that
 * Alibaba splices the audience into.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Long enough to fetch the signature and send the enrollment on a slow boot, short enough to be worthless later. */
export const NONCE_TTL_MS = 5 * 60_000;

const NONCE = /^([0-9]{1,12})\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{22})$/;

export interface MintedNonce {
  nonce: string;
  expiresAt: string;
}

export function mintNonce(key: Buffer, now: Date, ttlMs = NONCE_TTL_MS): MintedNonce {
  const expires = Math.floor((now.getTime() + ttlMs) / 1000);
  const random = randomBytes(12).toString('base64url');
  return { nonce: `${expires}.${random}.${tag(key, expires, random).toString('base64url')}`, expiresAt: new Date(expires * 1000).toISOString() };
}

/** Why `nonce` is not a live nonce of this endpoint, or undefined when it is one. */
export function nonceRefusal(key: Buffer, nonce: string, now: Date): string | undefined {
  const match = NONCE.exec(nonce);
  if (!match?.[1] || !match[2] || !match[3]) return 'the audience is not a nonce of this endpoint (GET /v1/identity/nonce)';
  const expires = Number(match[1]);
  const expected = tag(key, expires, match[2]);
  const presented = Buffer.from(match[3], 'base64url');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return 'the audience is not a nonce this endpoint made';
  if (expires * 1000 <= now.getTime()) return `the nonce expired at ${new Date(expires * 1000).toISOString()}; the node asks for a new one`;
  return undefined;
}

/** 16 bytes of HMAC-SHA256: forging one is as hard as 128 random bits, and it keeps the nonce short. */
function tag(key: Buffer, expires: number, random: string): Buffer {
  return createHmac('sha256', key).update(`identity-nonce\n${expires}\n${random}`).digest().subarray(0, 16);
}
