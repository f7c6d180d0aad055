/**
 * Bearer secrets: enrollment tokens ("<id>.<secret>", per pool) and node credentials (per node).
 *
 * Only a SHA-256 of each secret is stored. The secrets are 256 random bits, so a fast hash is enough (there is
 * nothing to brute-force, unlike a password), and comparing the hashes with timingSafeEqual keeps the
 * comparison from leaking how many leading bytes matched.
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { ENROLLMENT_TOKEN } from '../contract/token-formats';

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ID_LENGTH = 8;

export interface NewEnrollmentToken {
  id: string;
  /** The whole token, "<id>.<secret>": shown once, never stored. */
  token: string;
  secretSha256: string;
}

export function newEnrollmentToken(): NewEnrollmentToken {
  const id = Array.from({ length: ID_LENGTH }, () => ID_ALPHABET[randomInt(ID_ALPHABET.length)]).join('');
  const secret = randomBytes(32).toString('base64url');
  return { id, token: `${id}.${secret}`, secretSha256: sha256Hex(secret) };
}

/** Splits a presented enrollment token; undefined when it cannot be one (no lookup is made then). */
export function parseEnrollmentToken(token: string): { id: string; secret: string } | undefined {
  const match = ENROLLMENT_TOKEN.exec(token);
  return match?.[1] && match[2] ? { id: match[1], secret: match[2] } : undefined;
}

export function newNodeCredential(): { credential: string; sha256: string } {
  const credential = randomBytes(32).toString('base64url');
  return { credential, sha256: sha256Hex(credential) };
}

export function sha256Hex(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time check of a presented secret against a stored SHA-256 (hex). */
export function secretMatches(presented: string, storedSha256: string): boolean {
  const expected = Buffer.from(storedSha256, 'hex');
  const actual = createHash('sha256').update(presented, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** The credential from an "Authorization: Bearer …" header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
  return match?.[1];
}

/** Constant-time equality of two stored SHA-256 hashes (hex): whether two enrollments carried the same credential. */
export function secretHashesMatch(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}
