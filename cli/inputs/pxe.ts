/**
 * The build's PXE flags: where its pxe/ folder will be served (--pxe-url) and who may log in to machines it
 * installs (--ssh-authorized-keys).
 */
import { readFileSync } from 'node:fs';
import type { PxeBuildInputs } from '../../builder/build';
import { UserError } from '../../contract/errors';
import type { Profile } from '../../builder/profiles';
import { isAuthorizedKeyLine, netInstallOf, pxeBase, pxeBootAssets, pxeUnavailable } from '../../builder/render/pxe';

export interface PxeFlags {
  pxeUrl?: string;
  sshAuthorizedKeys?: string;
}

/**
 * The public keys in an authorized_keys file: one per line, blank lines and # comments skipped. A line that
 * is not a key is refused with its line number (a private key pasted by mistake is not echoed).
 */
export function readAuthorizedKeys(file: string, flag = '--ssh-authorized-keys'): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(`${flag}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const keys: string[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (!isAuthorizedKeyLine(line)) throw new UserError(`${flag}: ${file}:${index + 1}: expected an OpenSSH public key line (ssh-ed25519 AAAA… comment)`);
    keys.push(line);
  });
  return keys;
}

/** The build's pxe/ inputs, or undefined for a profile that cannot be installed over the network. */
export function readPxeInputs(profile: Profile, os: Parameters<typeof pxeUnavailable>[0], flags: PxeFlags): PxeBuildInputs | undefined {
  const why = pxeUnavailable(os, profile.image);
  if (why !== undefined) {
    if (flags.pxeUrl !== undefined) throw new UserError(`--pxe-url: profile ${profile.name} cannot be installed over the network: ${why}`);
    return undefined;
  }
  let base: string | undefined;
  if (flags.pxeUrl !== undefined) {
    try {
      base = pxeBase(flags.pxeUrl);
    } catch {
      throw new UserError(`--pxe-url: expected the http:// URL the build's pxe/ folder is served at, got "${flags.pxeUrl}"`);
    }
    // iPXE fetches boot.ipxe and the kernel and initrd under assets/ from this URL, and firmware iPXE has no
    // HTTPS (BIOS builds never, UEFI builds only from iPXE commit 05cb930466 of 2026-01-16; sources beside
    // PXE_NODE_FILES in builder/render/pxe/layout.ts). An https base would build files that loop in boot.ipxe's
    // retry on nearly every machine, so it is refused rather than warned about.
    if (base.startsWith('https:')) {
      throw new UserError(
        `--pxe-url: iPXE fetches boot.ipxe and the installer's kernel and initrd from ${base}/, and the iPXE in PC firmware has no HTTPS (iPXE leaves it out of BIOS builds); serve pxe/ over plain http:// on the local network (the installer's own downloads from the profile's mirror stay https)`,
      );
    }
  }
  const image = netInstallOf(profile.name, os, profile.image);
  // Checked before anything is written: the build summary names where each copy goes under assets/.
  try {
    pxeBootAssets(profile.name, image.netInstall);
  } catch (error) {
    throw new UserError(`profile ${profile.name}: image.netInstall: ${(error as Error).message}`);
  }
  return {
    image,
    ...(base !== undefined ? { base } : {}),
    ...(flags.sshAuthorizedKeys !== undefined ? { sshAuthorizedKeys: readAuthorizedKeys(flags.sshAuthorizedKeys) } : {}),
  };
}
