/**
 * Every difference between operating-system families, answered once per family.
 *
 * A family is decided by the profile's package manager (yum and dnf: rhel; apt: debian; none: flatcar). Code
 * that differs by family reads the answer here instead of comparing the family with one name and sending
 * every other family down the else branch: the type below makes each family answer every question, so a new
 * family does not compile until it has said what it is. Facts that differ by release (glibc, the distro's
 * Node.js) are rows of `releases`; adding a distro release is its profile file plus at most one row.
 */
import type { OsFamily, OsSpec } from './agent-config';

export type PackageManagerName = OsSpec['packageManager'];

/**
 * The unattended installer labimg writes a config for, or why a release has none: anaconda's kickstart,
 * subiquity's autoinstall, debian-installer's preseed, or Flatcar's PXE image provisioned by Ignition (which
 * installs Flatcar to disk with flatcar-install: builder/render/pxe/flatcar.ts).
 */
export type NetworkInstaller = { kind: 'kickstart' } | { kind: 'autoinstall' } | { kind: 'preseed' } | { kind: 'ignition' } | { kind: 'none'; why: string };

/** What labimg knows of one release of a family's distros. Unknown facts are left out and not checked. */
export interface OsRelease {
  /** os-release ID and VERSION_ID, as a profile's os.id and os.versionId name them. */
  id: string;
  versionId: string;
  /** The C library's version: official Node.js builds from 18 on need 2.28 (nodejs/node PR #42659, BUILDING.md). */
  glibc?: string;
  /** The Node.js of the distro's own `nodejs` package in its main archive (no module stream, no backport). */
  nodejs?: string;
}

/** What the agent on a node asks of its family. */
export interface OsFamilyOnNode {
  /** What the family's packages are; none on an image-based OS, which installs nothing. */
  packageFormat: 'rpm' | 'deb' | 'none';
  /** How the family's packages are pinned against upgrades: excludes in the repo file (yum, dnf), `apt-mark hold`, or not at all. */
  pinning: 'repo-excludes' | 'hold' | 'none';
  /** The firewall front-end its distros may ship, which the firewall-off step turns off. */
  firewall: 'firewalld' | 'ufw' | 'none';
  /** Whether its distros ship SELinux enabled, for the selinux step to set the profile's mode. */
  selinux: boolean;
  /**
   * The command that rebuilds the running kernel's initramfs, so that a module blacklisted in /etc/modprobe.d
   * stays out of early boot too (nouveau, before NVIDIA's driver); undefined where there is none to rebuild.
   */
  initramfsRebuild: readonly string[] | undefined;
}

/** What a build of a profile asks of its family. */
export interface OsFamilyForBuilds {
  /**
   * A freshly installed host of the family, as `labimg plan` simulates it: os-release's ID_LIKE, /etc/fstab
   * with the swap line the lab turns off, and what /proc/swaps lists after its header. A build's question: the
   * plan is the builder's, and the agent bundle is smaller without it.
   */
  freshInstall: { idLike: string; fstab: readonly string[]; swaps: string };
  /** The os.packageManager values that make a profile this family. */
  packageManagers: readonly PackageManagerName[];
  /** Whether the agent's Node.js can come from the distro's own package (agent.nodeRuntime.source: package). */
  nodejsPackage: boolean;
  /**
   * An image-based OS whose /usr is read-only (Flatcar): binaries go to /opt/bin, volume plugins to /opt/libexec,
   * and the built-in containerd is pointed at /etc/containerd/config.toml by a drop-in.
   */
  readOnlyUsr: boolean;
  /** What its cloud images read their instance config from: cloud-init user-data, or Ignition alone. */
  instanceConfig: 'cloud-init' | 'ignition';
  /** The network installer of a release of this family. */
  networkInstaller(release: Pick<OsRelease, 'id' | 'versionId'>): NetworkInstaller;
  releases: readonly OsRelease[];
}

/** Everything a family answers: what its nodes ask, and what a build of a profile asks. */
export type OsFamilyTraits = OsFamilyOnNode & OsFamilyForBuilds;

/** One entry per family, each answering every question; the compiler refuses a family that leaves one out. */
export type OsFamilyTable<Traits = OsFamilyTraits, Family extends string = OsFamily> = { readonly [F in Family]: Traits };

/**
 * What nodes ask of each family. The agent reads this table alone: it travels in every user-data, whose size
 * clouds limit, so the release rows and installers that only a build needs stay out of it (OS_FAMILIES below
 * adds them, family by family).
 */
export const OS_FAMILIES_ON_NODE: OsFamilyTable<OsFamilyOnNode> = {
  rhel: {
    packageFormat: 'rpm',
    pinning: 'repo-excludes',
    firewall: 'firewalld',
    selinux: true,
    // dracut(8): --force overwrites the current kernel's image; NVIDIA's guide, "Disabling Nouveau" (FACTS.md).
    initramfsRebuild: ['dracut', '--force'],
  },
  debian: {
    packageFormat: 'deb',
    pinning: 'hold',
    // Ubuntu ships ufw; Debian ships no front-end at all, which the step finds and leaves alone.
    firewall: 'ufw',
    selinux: false,
    // update-initramfs(8): -u updates the newest kernel's image; NVIDIA's guide, "Disabling Nouveau" (FACTS.md).
    initramfsRebuild: ['update-initramfs', '-u'],
  },
  flatcar: {
    packageFormat: 'none',
    pinning: 'none',
    firewall: 'none',
    selinux: false,
    // Flatcar's initramfs is part of its signed, read-only /usr image.
    initramfsRebuild: undefined,
  },
};

/**
 * Each family's answers for nodes and for builds, together. Pure, and given plain literals, so a bundle that
 * never reads OS_FAMILIES (the agent's) leaves the build answers out.
 */
function withBuildAnswers(onNode: OsFamilyTable<OsFamilyOnNode>, forBuilds: OsFamilyTable<OsFamilyForBuilds>): OsFamilyTable {
  const families = Object.keys(onNode) as OsFamily[];
  return Object.fromEntries(families.map((family) => [family, { ...onNode[family], ...forBuilds[family] }])) as OsFamilyTable;
}

/** Every family's answers: what its nodes ask (above), and what a build asks. */
export const OS_FAMILIES: OsFamilyTable = /* @__PURE__ */ withBuildAnswers(OS_FAMILIES_ON_NODE, {
  rhel: {
    freshInstall: {
      idLike: 'rhel fedora',
      fstab: [
        '/dev/mapper/centos-root /                       xfs     defaults        0 0',
        'UUID=3a5f1c2e-0d6b-4b3e-9a57-5d2f0e8c4b11 /boot xfs     defaults        0 0',
        '/dev/mapper/centos-swap swap                    swap    defaults        0 0',
      ],
      swaps: '/dev/dm-1\tpartition\t2097148\t0\t-2\n',
    },
    packageManagers: ['yum', 'dnf'],
    nodejsPackage: true,
    readOnlyUsr: false,
    instanceConfig: 'cloud-init',
    // Anaconda reads kickstart on every RHEL release labimg targets (7 and 9: builder/render/pxe/kickstart.ts).
    networkInstaller: () => ({ kind: 'kickstart' }),
    releases: [
      // glibc 2.17: the glibc package of CentOS 7 / RHEL 7 (glibc-2.17-*.el7).
      { id: 'centos', versionId: '7', glibc: '2.17' },
      { id: 'rhel', versionId: '7', glibc: '2.17' },
      // EL9 ships the first version of each Application Stream as plain RPMs, Node.js 16 among them, and later
      // ones (18, 20, 22) as module streams (access.redhat.com/documentation/en-us/red_hat_enterprise_linux/9/
      // html/managing_software_with_the_dnf_tool/assembly_distribution-of-content-in-rhel-9_managing-software-
      // with-the-dnf-tool, read 2026-12-02). EL8's default nodejs module stream is 10.
      { id: 'rocky', versionId: '8', nodejs: '10.24.0' },
      { id: 'rocky', versionId: '9', nodejs: '16.20.2' },
      { id: 'rhel', versionId: '8', nodejs: '10.24.0' },
      { id: 'rhel', versionId: '9', nodejs: '16.20.2' },
      { id: 'almalinux', versionId: '9', nodejs: '16.20.2' },
    ],
  },
  debian: {
    freshInstall: {
      idLike: 'debian',
      fstab: ['/dev/disk/by-uuid/6c1e2f84-3b1f-4c55-8d0a-9f7e0b6a2d13 / ext4 defaults 0 1', '/swap.img none swap sw 0 0'],
      swaps: '/swap.img\tpartition\t2097148\t0\t-2\n',
    },
    packageManagers: ['apt'],
    nodejsPackage: true,
    readOnlyUsr: false,
    instanceConfig: 'cloud-init',
    // Subiquity's autoinstall arrived with Ubuntu 20.04. Debian's own installer (d-i) reads preseed, and so
    // does Ubuntu 18.04's netboot installer, which is d-i too (builder/render/pxe/preseed.ts). Older releases
    // are left out: nothing labimg writes was checked against their installers.
    networkInstaller: ({ id, versionId }) => {
      const [major = 0] = versionId.split('.').map(Number);
      if (id === 'ubuntu' && major >= 20) return { kind: 'autoinstall' };
      if ((id === 'debian' && major >= 12) || (id === 'ubuntu' && versionId === '18.04')) return { kind: 'preseed' };
      return { kind: 'none', why: `labimg installs Ubuntu 18.04 and Debian 12 or later with preseed and Ubuntu 20.04 or later with autoinstall, not ${id} ${versionId}` };
    },
    releases: [
      // Node.js versions: the nodejs package of each release's main archive, packages.ubuntu.com and
      // packages.debian.org. glibc 2.27: Ubuntu 18.04's libc6 (2.27-3ubuntu1).
      { id: 'ubuntu', versionId: '18.04', glibc: '2.27', nodejs: '8.10.0' },
      { id: 'ubuntu', versionId: '20.04', nodejs: '10.19.0' },
      { id: 'ubuntu', versionId: '22.04', nodejs: '12.22.9' },
      { id: 'ubuntu', versionId: '24.04', nodejs: '18.19.1' },
      { id: 'debian', versionId: '11', nodejs: '12.22.12' },
      { id: 'debian', versionId: '12', nodejs: '18.19.0' },
      { id: 'debian', versionId: '13', nodejs: '20.19.2' },
    ],
  },
  flatcar: {
    // Flatcar mounts its partitions with systemd units and has no swap.
    freshInstall: { idLike: 'coreos', fstab: ['# Flatcar mounts its filesystems with systemd units'], swaps: '' },
    packageManagers: ['none'],
    nodejsPackage: false,
    readOnlyUsr: true,
    instanceConfig: 'ignition',
    // Flatcar's PXE image runs from RAM and carries flatcar-install, which the Ignition labimg serves it runs.
    networkInstaller: () => ({ kind: 'ignition' }),
    releases: [],
  },
});

/** The family a package manager belongs to. */
export function familyOfPackageManager(manager: PackageManagerName): OsFamily {
  const families = Object.keys(OS_FAMILIES) as OsFamily[];
  const family = families.find((name) => OS_FAMILIES[name].packageManagers.includes(manager));
  if (family === undefined) throw new Error(`no OS family uses the package manager "${manager}"`);
  return family;
}

/** What labimg knows of this release, or undefined for a release it has no row for. */
export function osRelease(os: Pick<OsSpec, 'family' | 'id' | 'versionId'>): OsRelease | undefined {
  return OS_FAMILIES[os.family].releases.find((release) => release.id === os.id && release.versionId === os.versionId);
}

/** The network installer of the profile's OS release. */
export function networkInstallerOf(os: Pick<OsSpec, 'family' | 'id' | 'versionId'>): NetworkInstaller {
  return OS_FAMILIES[os.family].networkInstaller(os);
}
