import { sha256Hex } from '../contract/sha256';
import type { RenderedFile } from './render/types';

/**
 * The most user-data each cloud takes, in raw bytes (before any base64), as each provider documents it (FACTS.md,
 * "Cloud user-data, Ignition and Packer"). Where a limit counts the base64 text, or its unit is unsure, the raw
 * figure is the safe one:
 *   ec2        16 KB raw; Auto Scaling counts base64 (21,847 characters), which holds 16,383 bytes.
 *   aliyun     16 KB before base64 (the user-data guide; the current RunInstances text says 32 KB), and whether a
 *              KB is 1,000 or 1,024 bytes is not said: 16,000.
 *   openstack  Nova's schema limits the base64 string to 65,535 characters: 49,149 bytes.
 *   azure      customData: "the maximum length of the binary array is 65535 bytes", decoded.
 *   gce        256 KiB per metadata value, sent as it is.
 */
export const USER_DATA_LIMITS = {
  ec2: 16_383,
  aliyun: 16_000,
  openstack: 49_149,
  azure: 65_535,
  gce: 262_144,
} as const;

export type Cloud = keyof typeof USER_DATA_LIMITS;

/** The clouds a stub (the agent fetched at boot) is made for: those whose limit a full user-data would pass. */
const STUB_CLOUDS: readonly Cloud[] = ['ec2', 'aliyun'];
/** A full user-data carries the agent itself and is meant for every cloud that takes it whole. */
const FULL_CLOUDS: readonly Cloud[] = ['openstack', 'azure', 'gce'];

/** Past this share of a limit it is meant to fit, a user-data gets a warning: the next feature may push it over. */
export const HEADROOM_WARNING_SHARE = 0.75;

export interface ManifestEntry {
  name: string;
  size: number;
  sha256: string;
  mode: string;
  /** Only for user-data: which clouds accept a file of this size. */
  userDataLimits?: Record<Cloud, { limit: number; fits: boolean }>;
}

export interface Manifest {
  profile: string;
  labimgVersion: string;
  files: ManifestEntry[];
}

/** Files a cloud takes as instance user-data: cloud-init's, and Ignition's (Flatcar and Fedora CoreOS read it there). */
export function isUserData(name: string): boolean {
  return name.startsWith('user-data') || name.startsWith('ignition-');
}

/** The clouds a user-data file is meant to fit: a stub the ones with small limits, a full one the others. */
export function intendedClouds(name: string): readonly Cloud[] {
  return /-stub\.[a-z]+$/.test(name) ? STUB_CLOUDS : FULL_CLOUDS;
}

/**
 * One line for each user-data file that is too big for, or within a quarter of, the limit of a cloud it is
 * meant for: "user-data-worker.yaml: 52,300 B is 80% of openstack's 49,149 B".
 */
export function userDataWarnings(manifest: Manifest): string[] {
  return manifest.files.flatMap((file) =>
    intendedClouds(file.name)
      .filter((cloud) => file.userDataLimits !== undefined && file.size > USER_DATA_LIMITS[cloud] * HEADROOM_WARNING_SHARE)
      .map((cloud) => {
        const limit = USER_DATA_LIMITS[cloud];
        const how = file.size > limit ? `is too big for ${cloud}'s ${bytes(limit)}` : `is ${Math.round((file.size / limit) * 100)}% of ${cloud}'s ${bytes(limit)}`;
        return `${file.name}: ${bytes(file.size)} ${how}`;
      }),
  );
}

/**
 * 67577 → "67,577 B", as toLocaleString('en-US') writes a whole number: its first call loads ICU's locale data,
 * 20 ms of a `labimg build`.
 */
function bytes(n: number): string {
  return `${String(n).replace(/\B(?=(\d{3})+$)/g, ',')} B`;
}

function limitsFor(size: number): Record<Cloud, { limit: number; fits: boolean }> {
  const entries = Object.entries(USER_DATA_LIMITS).map(([cloud, limit]) => [cloud, { limit, fits: size <= limit }]);
  return Object.fromEntries(entries) as Record<Cloud, { limit: number; fits: boolean }>;
}

/** Deterministic: files sorted by name, no timestamps, so two builds of the same inputs are identical. */
export function buildManifest(profile: string, labimgVersion: string, files: RenderedFile[]): Manifest {
  const entries = [...files]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((file): ManifestEntry => {
      const entry: ManifestEntry = {
        name: file.name,
        size: file.content.length,
        sha256: sha256Hex(file.content),
        mode: file.mode.toString(8).padStart(4, '0'),
      };
      if (isUserData(file.name)) entry.userDataLimits = limitsFor(file.content.length);
      return entry;
    });
  return { profile, labimgVersion, files: entries };
}
