/**
 * The disk image the end-to-end VMs start from: Debian 12 made with mmdebstrap (packages from Debian's
 * mirror), an ext4 filesystem made from the tree with mkfs.ext4 -d (no loop mount, no root needed beyond
 * what mmdebstrap wants), and its kernel and initrd taken out for direct kernel boot. Built once and cached
 * under .cache/e2e/ by a hash of everything that goes into it, so a second run starts in seconds.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../test/helpers/cli';

export interface BootImage {
  /** Raw ext4 image, never written to: every VM runs on an overlay. */
  disk: string;
  kernel: string;
  initrd: string;
  append: string;
  /** How long the build took, when this call built it; absent when it came from the cache. */
  builtInSeconds?: number;
}

const LABEL = 'e2eroot';

/** What the image holds. containerd is left out on purpose: installing it is one of the agent's steps. */
const PACKAGES = [
  'systemd-sysv', 'udev', 'kmod', 'procps', 'iproute2', 'netbase', 'ifupdown', 'isc-dhcp-client', 'ca-certificates',
  'linux-image-cloud-amd64', 'initramfs-tools', 'cloud-init', 'nodejs', 'curl',
  // As in Debian's cloud images: systemd-run --wait (Packer scripts) needs the system bus.
  'dbus',
];

/** mmdebstrap hooks: fstab by label, cloud-init on NoCloud only, a small initramfs with the virtio drivers. */
const CUSTOMIZE = [
  `echo "LABEL=${LABEL} / ext4 defaults 0 1" > "$1/etc/fstab"`,
  // C.UTF-8: Debian's locale-gen ignores the locale it is asked for, so cloud-init's default en_US fails.
  'printf "datasource_list: [NoCloud, None]\\nlocale: C.UTF-8\\n" > "$1/etc/cloud/cloud.cfg.d/90-labimg-e2e.cfg"',
  // No openssh in the image: without this, cloud-init warns about host keys it cannot make.
  'sed -i "/^ - ssh$/d" "$1/etc/cloud/cloud.cfg"',
  'sed -i "s/^MODULES=.*/MODULES=list/" "$1/etc/initramfs-tools/initramfs.conf"',
  'printf "virtio_pci\\nvirtio_blk\\nvirtio_scsi\\nvirtio_net\\nsd_mod\\next4\\n" >> "$1/etc/initramfs-tools/modules"',
  'chroot "$1" update-initramfs -u',
];

const MIRROR = 'http://deb.debian.org/debian';

function cacheKey(): string {
  return createHash('sha256').update(JSON.stringify({ PACKAGES, CUSTOMIZE, MIRROR, LABEL, suite: 'bookworm', size: '4G' })).digest('hex').slice(0, 16);
}

function tool(command: string, args: string[], cwd?: string): void {
  execFileSync(command, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
}

export function bootImage(): BootImage {
  const dir = path.join(repoRoot, '.cache', 'e2e', `debian12-${cacheKey()}`);
  const image: BootImage = {
    disk: path.join(dir, 'root.img'),
    kernel: path.join(dir, 'vmlinuz'),
    initrd: path.join(dir, 'initrd.img'),
    append: `root=LABEL=${LABEL} rw console=ttyS0,115200 panic=-1 net.ifnames=0`,
  };
  if (existsSync(image.disk)) return image;

  const started = Date.now();
  const work = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const rootfs = path.join(work, 'rootfs');
    tool('mmdebstrap', [
      '--variant=minbase',
      '--hook-dir=/usr/share/mmdebstrap/hooks/eatmydata',
      '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
      `--include=${PACKAGES.join(',')}`,
      ...CUSTOMIZE.map((hook) => `--customize-hook=${hook}`),
      'bookworm',
      rootfs,
      MIRROR,
    ]);
    const boot = readdirSync(path.join(rootfs, 'boot'));
    const file = (prefix: string) => path.join(rootfs, 'boot', boot.find((name) => name.startsWith(prefix)) as string);
    copyFileSync(file('vmlinuz-'), path.join(work, 'vmlinuz'));
    copyFileSync(file('initrd.img-'), path.join(work, 'initrd.img'));
    tool('truncate', ['-s', '4G', path.join(work, 'root.img')]);
    tool('mkfs.ext4', ['-q', '-L', LABEL, '-d', rootfs, path.join(work, 'root.img')]);
    rmSync(rootfs, { recursive: true, force: true });
    renameSync(work, dir);
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
  return { ...image, builtInSeconds: (Date.now() - started) / 1000 };
}
