/**
 * YAML with long gzip+base64 texts in it, as js-yaml writes it, without js-yaml examining those texts.
 *
 * js-yaml chooses each string's style by testing it against the patterns of every style and implicit type: for
 * the agent's 38 KB of base64 that is 1 ms, and 3 ms the first time in a process, on each of a build's user-data
 * files (measured 2026-12-06 with js-yaml 5.5). A text of this kind has only one way to be written, so it is put
 * in after js-yaml has laid the rest out. It stands in a document in one of two ways.
 *
 * A whole string: a cloud-config's `content` with `encoding: gzip+base64`.
 *   - base64 (RFC 4648 §4) has only A-Z a-z 0-9 + / =, so there is no space, and so no ": " or " #", which end a
 *     plain scalar, and no line break (YAML 1.2.2 §7.3.3, ns-plain-char);
 *   - a gzip stream starts with the bytes 1f 8b 08 (RFC 1952 §2.3.1: ID1, ID2, CM = deflate), so its base64
 *     starts with "H4sI": no indicator character (§7.3.3, ns-plain-first), and no null, boolean, number or
 *     timestamp of the core or YAML 1.1 schemas starts so;
 *   - with lineWidth -1 js-yaml folds nothing.
 * So js-yaml writes such a string plain, on one line, as it is.
 *
 * Lines of a longer text: a script that writes a file from a here-document of base64 lines (an installer's
 * late-command, builder/render/pxe/target-script.ts). Whether js-yaml writes a text with line breaks as a
 * literal block, and with which header, depends on its characters (a tab, a control character or a line "---"
 * rule a block out: js-yaml 5.5 dist/js-yaml.mjs canUseBlock, doubleQuoteForInvisibles), its first line (a
 * leading space needs an indentation indicator) and its last two characters (the chomping indicator); and a
 * literal block writes each line as it is after the block's indentation (renderLiteralBlock, indentString). A
 * run of base64 lines that is neither the first nor the last line changes none of that, and neither does a
 * placeholder line of letters, digits and "-" put in its place. Only a literal block writes the placeholder
 * on a line of its own right below the line before it: a quoted or folded text doubles its line breaks.
 *
 * test/yaml-gzip-base64.test.ts holds both ways to js-yaml's own output. A placeholder that does not come out
 * exactly once, in order, where its way needs it, leaves the document to js-yaml alone.
 */
import { dump, type DumpOptions } from 'js-yaml';

/** Shorter texts are left to js-yaml: examining them costs less than the search for their placeholder. */
const LONG = 1024;
const PLACEHOLDER = 'labimg-gzip-base64-';

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

/** js-yaml's `dump(document, { ...options, lineWidth: -1 })`, long gzip+base64 texts put in verbatim where they can be. */
export function dumpWithGzipBase64(document: unknown, options: Omit<DumpOptions, 'lineWidth'>): string {
  return dumpWithGzipBase64Verbatim(document, options) ?? dump(document, { ...options, lineWidth: -1 });
}

/** A text taken out of the document, and how its placeholder stands in for it. */
interface Verbatim {
  /** The whole string (`value`), or lines of base64 inside a longer text, without their last line break (`lines`). */
  way: 'value' | 'lines';
  text: string;
}

/**
 * The same dump, each long gzip+base64 text of `document` dumped as a placeholder which the text then replaces;
 * undefined when there is none, or when a placeholder does not come out exactly once, in order, as its way needs:
 * a mapping's value at the end of its line, or a line of a literal block right below a line of that block.
 */
export function dumpWithGzipBase64Verbatim(document: unknown, options: Omit<DumpOptions, 'lineWidth'>): string | undefined {
  const taken: Verbatim[] = [];
  const stand = (verbatim: Verbatim) => `${PLACEHOLDER}${taken.push(verbatim) - 1}`;
  const withPlaceholders = replaceLongGzipBase64(document, stand);
  if (taken.length === 0) return undefined;
  const laidOut = dump(withPlaceholders, { ...options, lineWidth: -1 });
  let found = 0;
  let misplaced = false;
  // A value: ": NAME" at the end of its line. A line: "\n", the block's indentation, NAME, "\n", below a line
  // that is not empty and above one that is the block's too.
  const result = laidOut.replace(/(: |\n( +))labimg-gzip-base64-(\d+)(?=\n)/g, (match: string, lead: string, indent: string | undefined, index: string, at: number) => {
    const verbatim = taken[found];
    if (Number(index) !== found || verbatim === undefined) {
      misplaced = true;
      return match;
    }
    found += 1;
    if (verbatim.way === 'value') {
      if (indent !== undefined) misplaced = true;
      return `${lead}${verbatim.text}`;
    }
    const after = at + match.length + 1;
    if (indent === undefined || laidOut[at - 1] === '\n' || laidOut.slice(after, after + indent.length) !== indent || laidOut[after + indent.length] === '\n') {
      misplaced = true;
      return match;
    }
    return `${lead}${verbatim.text.replaceAll('\n', `\n${indent}`)}`;
  });
  return misplaced || found !== taken.length ? undefined : result;
}

/** A copy of `value` in which `stand` has replaced each long gzip+base64 text, depth first, in key order. */
function replaceLongGzipBase64(value: unknown, stand: (verbatim: Verbatim) => string): unknown {
  if (typeof value === 'string') {
    if (isLongGzipBase64(value)) return stand({ way: 'value', text: value });
    return value.length > LONG && value.includes('\n') ? replaceBase64Lines(value, stand) : value;
  }
  if (Array.isArray(value)) return value.map((item) => replaceLongGzipBase64(item, stand));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, replaceLongGzipBase64(item, stand)]));
  }
  return value;
}

/**
 * `text` with each run of lines that is a long gzip+base64 text, wrapped at one width, replaced by a placeholder
 * line. A run starts with a line of "H4sI", goes on while the lines are as long as its first, and may end with
 * one shorter line (the base64's last, when its length is no multiple of the width). It is never the first or
 * the last line of `text`, and takes no line break: those decide js-yaml's block header. Any run of base64
 * lines is safe in a block; "H4sI" and the decoding only find the agent's quickly.
 */
function replaceBase64Lines(text: string, stand: (verbatim: Verbatim) => string): string {
  let result = '';
  let copied = 0;
  let lineStart = text.indexOf('\nH4sI') + 1;
  while (lineStart > 0) {
    const end = base64RunEnd(text, lineStart);
    // Something after the run's line break: the run is not the text's last line.
    if (end > lineStart && end + 1 < text.length) {
      result += `${text.slice(copied, lineStart)}${stand({ way: 'lines', text: text.slice(lineStart, end) })}`;
      copied = end;
    }
    lineStart = text.indexOf('\nH4sI', Math.max(end, lineStart)) + 1;
  }
  return copied === 0 ? text : result + text.slice(copied);
}

/**
 * Where the run of base64 lines from `start` (a line's first character) ends: at its last line's break. `start`
 * when there is no long gzip+base64 run there.
 */
function base64RunEnd(text: string, start: number): number {
  const firstBreak = text.indexOf('\n', start);
  const width = firstBreak - start;
  if (firstBreak < 0 || width < 4) return start;
  let lineEnd = firstBreak;
  // Lines of the run's width, then at most one shorter one; which of the two ends it is the base64's to say.
  while (true) {
    const following = text.indexOf('\n', lineEnd + 1);
    if (following < 0 || following - (lineEnd + 1) !== width) break;
    lineEnd = following;
  }
  const shorterEnd = text.indexOf('\n', lineEnd + 1);
  for (const end of shorterEnd > lineEnd + 1 && shorterEnd - (lineEnd + 1) < width ? [shorterEnd, lineEnd] : [lineEnd]) {
    const base64 = text.slice(start, end).replaceAll('\n', '');
    if (isLongGzipBase64(base64)) return end;
  }
  return start;
}
