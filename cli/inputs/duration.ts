import { UserError } from '../../contract/errors';

/** "90s", "30m", "24h", "7d" → milliseconds; an error naming `flag` otherwise. */
export function parseDuration(text: string, flag: string): number {
  const match = /^([1-9][0-9]*)(s|m|h|d)$/.exec(text);
  if (!match?.[1] || !match[2]) throw new UserError(`${flag}: expected a duration such as 30m, 24h or 7d, got "${text}"`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
