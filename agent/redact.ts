/**
 * Keeps secrets out of everything the agent prints or stores.
 *
 * Known secrets (the bootstrap and enrollment tokens from secrets.json) are registered at start-up; on top of
 * those, anything shaped like a bootstrap token or a kubeadm certificate key is masked, because `kubeadm init`
 * prints a freshly generated token that no file told us about.
 */
import { BOOTSTRAP_TOKEN_IN_TEXT } from '../contract/token-formats';

const CERTIFICATE_KEY = /(certificate-key[=\s:"']+)[a-f0-9]{64}\b/gi;
export const REDACTED = '<redacted>';

export class Redactor {
  readonly #secrets = new Set<string>();

  add(secret: string | undefined): void {
    // Very short strings would mask ordinary words; real tokens are far longer.
    if (secret && secret.length >= 6) this.#secrets.add(secret);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) out = out.split(secret).join(REDACTED);
    return out.replace(BOOTSTRAP_TOKEN_IN_TEXT, REDACTED).replace(CERTIFICATE_KEY, `$1${REDACTED}`);
  }
}
