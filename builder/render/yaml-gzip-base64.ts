/**
 * YAML with long gzip+base64 texts in it, as js-yaml writes it, without js-yaml examining those texts.
 *
 * js-yaml chooses each string's style by reading it character by character and testing it against every
 * implicit type's pattern: for the agent's 38 KB of base64 that is 1 ms, and 3 ms the first time in a process,
 * on each of a build's user-data files (measured 2026-12-06 with js-yaml 5.5). A text of this kind has only one
 * way to be written, so it is put in after js-yaml has laid the rest out:
 *   - base64 (RFC 4648 §4) has only A-Z a-z 0-9 + / =, so there is no space, and so no ": " or " #", which end a
 *     plain scalar, and no line break (YAML 1.2.2 §7.3.3, ns-plain-char);
 *   - a gzip stream starts with the bytes 1f 8b 08 (RFC 1952 §2.3.1: ID1, ID2, CM = deflate), so its base64
 *     starts with "H4sI": no indicator character (§7.3.3, ns-plain-first), and no null, boolean, number or
 *     timestamp of the core or YAML 1.1 schemas starts so;
 *   - with lineWidth -1 js-yaml folds nothing.
 * So js-yaml writes such a text plain, on one line, as it is; test/yaml-gzip-base64.test.ts holds this to
 * js-yaml's own output. A placeholder stands in for each text, and a placeholder that does not come out exactly
 * once, as a whole plain scalar, leaves the document to js-yaml alone.
 */
import { dump, type DumpOptions } from 'js-yaml';

/** Shorter texts are left to js-yaml: examining them costs less than the search for their placeholder. */
const LONG = 1024;
/**
 * A gzip stream in base64 long enough to be worth putting in verbatim. Base64 exactly as Node writes it (RFC 4648
 * §4, padded): Node's decoder skips what is not base64, so only a text of the alphabet and its padding, in the
 * one form an encoder writes, comes back the same. That is the regex /^H4sI[A-Za-z0-9+/]*={0,2}$/ without its
 * non-canonical matches, and native: the regex spent 0.4 ms in V8's regexp interpreter on the agent's 38 KB each
 * time a process first met it (measured 2026-12-06).
 */
export function isLongGzipBase64(text: string): boolean {
  return text.length >= LONG && text.startsWith('H4sI') && Buffer.from(text, 'base64').toString('base64') === text;
}

/** js-yaml's `dump(document, { ...options, lineWidth: -1 })`, long gzip+base64 strings put in verbatim where they can be. */
export function dumpWithGzipBase64(document: unknown, options: Omit<DumpOptions, 'lineWidth'>): string {
  return dumpWithGzipBase64Verbatim(document, options) ?? dump(document, { ...options, lineWidth: -1 });
}

/**
 * The same dump, each long gzip+base64 string of `document` dumped as a placeholder which the string then
 * replaces; undefined when there is none, or when a placeholder does not come out exactly once, in order, as a
 * mapping's value at the end of its line.
 */
export function dumpWithGzipBase64Verbatim(document: unknown, options: Omit<DumpOptions, 'lineWidth'>): string | undefined {
  const texts: string[] = [];
  const withPlaceholders = replaceLongGzipBase64(document, (text) => `labimg-gzip-base64-${texts.push(text) - 1}`);
  if (texts.length === 0) return undefined;
  // With one capture group, split gives text, placeholder, text, ...: the placeholders are the odd pieces.
  const pieces = dump(withPlaceholders, { ...options, lineWidth: -1 }).split(/(?<=: )(labimg-gzip-base64-\d+)(?=\n)/);
  const found = pieces.filter((_, i) => i % 2 === 1);
  if (found.length !== texts.length || found.some((name, i) => name !== `labimg-gzip-base64-${i}`)) return undefined;
  return pieces.map((piece, i) => (i % 2 === 1 ? texts[(i - 1) / 2] : piece)).join('');
}

/** A copy of `value` in which `stand` has replaced each long gzip+base64 string, depth first, in key order. */
function replaceLongGzipBase64(value: unknown, stand: (text: string) => string): unknown {
  if (typeof value === 'string') return isLongGzipBase64(value) ? stand(value) : value;
  if (Array.isArray(value)) return value.map((item) => replaceLongGzipBase64(item, stand));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, replaceLongGzipBase64(item, stand)]));
  }
  return value;
}
