/**
 * Whether UEFI Secure Boot is on, as `mokutil --sb-state` says (lcp/mokutil src/mokutil.c, sb_state; FACTS.md):
 * its first line on stdout is "SecureBoot enabled" or "SecureBoot disabled", exit 0 either way; without UEFI or
 * its Secure Boot variable it prints an error on stderr (exit 1 or 255), which means off. Asked only when the
 * kernel refused a module, to say why.
 */
import type { Host } from '../host/host';

export function saysSecureBootEnabled(stdout: string): boolean {
  return stdout.split('\n')[0]?.trim() === 'SecureBoot enabled';
}

export async function secureBootEnabled(host: Host): Promise<boolean> {
  return saysSecureBootEnabled((await host.query(['mokutil', '--sb-state'])).stdout);
}
