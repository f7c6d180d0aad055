/**
 * /etc/fstab swap handling. Swap entries are commented out rather than deleted, so an admin can see what the
 * machine had and turn it back on by hand.
 */
const COMMENT_PREFIX = '#labimg-swap-off# ';

function isSwapEntry(line: string): boolean {
  const trimmed = line.trim();
  if (!trimmed || trimmed.startsWith('#')) return false;
  // fields: device, mount point, type, options, dump, pass
  const fields = trimmed.split(/\s+/);
  return fields[2] === 'swap';
}

export function swapEntries(fstab: string): string[] {
  return fstab.split('\n').filter(isSwapEntry);
}

export function commentOutSwap(fstab: string): string {
  return fstab
    .split('\n')
    .map((line) => (isSwapEntry(line) ? `${COMMENT_PREFIX}${line}` : line))
    .join('\n');
}
