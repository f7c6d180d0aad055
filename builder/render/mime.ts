/**
 * Multipart MIME user-data, in the layout of cloud-init's own `cloud-init devel make-mime`: one
 * multipart/mixed message whose parts cloud-init handles by their type. labimg uses it to carry the user's
 * own shell scripts (text/x-shellscript) beside its cloud-config; cloud-init runs such parts in its
 * scripts-user stage, before the runcmd that starts the agent (both live in the instance's scripts folder,
 * and cloud-init runs part-NNN before runcmd).
 */
import { createHash } from 'node:crypto';

export interface MimePart {
  /** cloud-init's part types, as make-mime names them: cloud-config, x-shellscript. */
  type: 'text/cloud-config' | 'text/x-shellscript';
  filename: string;
  content: string;
}

/** RFC 2045: a line of a 7bit body is at most 998 octets; "binary" allows any length. */
const LINE_MAX = 998;

function base64Lines(text: string): string {
  return (Buffer.from(text, 'utf8').toString('base64').match(/.{1,76}/g) ?? []).join('\n');
}

/**
 * ASCII travels as it is: readable, and a third smaller than base64, which matters against EC2's 16 KB. The
 * agent's own base64 sits on one long line of the cloud-config, hence "binary" (lines of any length) for
 * such parts. Anything else is base64: Python's email parser, which cloud-init uses, reads 8-bit text back
 * only as Latin-1.
 */
function encodePart(content: string): { encoding: '7bit' | 'binary' | 'base64'; body: string } {
  if (!/^[\x09\x0a\x0d\x20-\x7e]*$/.test(content)) return { encoding: 'base64', body: base64Lines(content) };
  const body = content.endsWith('\n') ? content.slice(0, -1) : content;
  return { encoding: content.split('\n').every((line) => line.length <= LINE_MAX) ? '7bit' : 'binary', body };
}

function headerValue(text: string, what: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(text)) throw new Error(`${what} ${JSON.stringify(text)} cannot go into a MIME header as it is`);
  return text;
}

/**
 * The message, deterministic for the same parts: the boundary is taken from their hash (make-mime draws a
 * random one), and is checked to appear in no part.
 */
export function renderMultipart(parts: readonly MimePart[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${part.type}\0${part.filename}\0${part.content}\0`);
  const boundary = `===============labimg${hash.digest('hex').slice(0, 24)}==`;
  if (parts.some((part) => part.content.includes(boundary))) throw new Error('a MIME part contains its own boundary');
  const rendered = parts.map((part) => {
    const { encoding, body } = encodePart(part.content);
    return [
      `--${boundary}`,
      `Content-Type: ${part.type}; charset="utf-8"`,
      'MIME-Version: 1.0',
      `Content-Transfer-Encoding: ${encoding}`,
      `Content-Disposition: attachment; filename="${headerValue(part.filename, 'file name')}"`,
      '',
      body,
      '',
    ].join('\n');
  });
  return [`Content-Type: multipart/mixed; boundary="${boundary}"`, 'MIME-Version: 1.0', '', ...rendered, `--${boundary}--`, ''].join('\n');
}
