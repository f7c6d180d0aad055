/**
 * The Debian installer's netboot kernel and initrd for the PXE test, taken from Debian's own package of them and
 * cached under .cache/e2e/ by the package's version.
 *
 * The installer (d-i) downloads its further components from the mirror as it runs, kernel modules among them,
 * and it takes the modules built for the kernel it booted: the netboot kernel's ABI must be one the mirror's
 * debian-installer index still lists. Pinned to 20250803+deb13u6, whose kernel is 6.12.94+deb13-amd64, because
 * that is the newest one whose every component this machine's network lets through: measured 2026-12-06, the
 * mirror's trixie index lists module packages for 6.12.94 and 6.12.107 (deb13u7's kernel), and every 6.12.107
 * module package came back 404 through this machine's network filter while every 6.12.94 one came back; Debian
 * 12's installer fails the same way for other components (anna, finish-install, grub-installer: 290 of its
 * 439 .udeb files refused), so the test installs Debian 13. A real site points its profile at the mirror's
 * `current` images, which always match the mirror's modules.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const NETBOOT_PACKAGE = {
  name: 'debian-installer-13-netboot-amd64',
  version: '20250803+deb13u6',
  url: 'http://deb.debian.org/debian/pool/main/d/debian-installer-netboot-images/debian-installer-13-netboot-amd64_20250803+deb13u6_all.deb',
  // sha256 of the .deb as downloaded 2026-12-06 (151,224,320 B); it is no longer in the mirror's Packages
  // index, which lists deb13u7, so its sum is pinned here rather than read from the index.
  sha256: 'b14500fba1c068c7d818de1376e46151628d96d8b2f322dfcbe7a16b7b8c2fa4',
  /** The text-mode installer's images inside it (the gtk ones beside them need a framebuffer console). */
  imagesDir: 'usr/lib/debian-installer/images/13/amd64/text/debian-installer/amd64',
} as const;

export interface NetbootImages {
  kernel: string;
  initrd: string;
}

/** The package's kernel and initrd, downloaded and checked once, then from the cache. */
export async function netbootImages(cacheDir: string): Promise<NetbootImages> {
  const dir = path.join(cacheDir, `netboot-${NETBOOT_PACKAGE.version}`);
  const images: NetbootImages = { kernel: path.join(dir, 'linux'), initrd: path.join(dir, 'initrd.gz') };
  if (existsSync(images.kernel) && existsSync(images.initrd)) return images;

  const response = await fetch(NETBOOT_PACKAGE.url);
  if (!response.ok) throw new Error(`${NETBOOT_PACKAGE.url}: HTTP ${response.status}`);
  const deb = Buffer.from(await response.arrayBuffer());
  const sum = createHash('sha256').update(deb).digest('hex');
  if (sum !== NETBOOT_PACKAGE.sha256) throw new Error(`${NETBOOT_PACKAGE.url}: sha256 ${sum}, expected ${NETBOOT_PACKAGE.sha256}`);

  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const debFile = path.join(work, 'netboot.deb');
    writeFileSync(debFile, deb);
    const tree = path.join(work, 'tree');
    execFileSync('dpkg-deb', ['-x', debFile, tree]);
    renameSync(path.join(tree, NETBOOT_PACKAGE.imagesDir, 'linux'), path.join(work, 'linux'));
    renameSync(path.join(tree, NETBOOT_PACKAGE.imagesDir, 'initrd.gz'), path.join(work, 'initrd.gz'));
    rmSync(tree, { recursive: true, force: true });
    rmSync(debFile);
    renameSync(work, dir);
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
  return images;
}
