import { createHash } from 'node:crypto';
import type { RenderedFile } from './render/types';

/** User-data size limits of the clouds people boot labimg nodes on (bytes, as each provider documents). */
export const USER_DATA_LIMITS = {
  ec2: 16_384,
  azure: 65_535,
  gce: 262_144,
} as const;

export type Cloud = keyof typeof USER_DATA_LIMITS;

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
        sha256: createHash('sha256').update(file.content).digest('hex'),
        mode: file.mode.toString(8).padStart(4, '0'),
      };
      if (isUserData(file.name)) entry.userDataLimits = limitsFor(file.content.length);
      return entry;
    });
  return { profile, labimgVersion, files: entries };
}
