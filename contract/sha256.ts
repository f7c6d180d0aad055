/** The sha256 of `data` (a string as UTF-8) in lowercase hex: how labimg names files, bundles and inputs by content. */
import { createHash } from 'node:crypto';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
