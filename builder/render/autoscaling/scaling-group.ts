/** What both clouds' scaling files are made from: one pool's workers of one profile, on one instance type. */
import type { RenderedFile } from '../types';

export type AutoscalingCloud = 'aws' | 'aliyun';
export const AUTOSCALING_CLOUDS: readonly AutoscalingCloud[] = ['aws', 'aliyun'];

export interface ScalingGroupInputs {
  profileName: string;
  pool: string;
  /** The name the cluster autoscaler's auto-discovery tag carries (AWS only). */
  clusterName: string;
  imageId: string;
  instanceType: string;
  /** The worker user-data the instances boot with, as the build wrote it: its mode says whether it holds a secret. */
  userData: RenderedFile;
  /** The labels a worker of this profile registers with (a GPU profile's on a GPU instance), for the node template. */
  nodeLabels: Readonly<Record<string, string>>;
  /** nvidia.com/gpu of one instance: absent (or 0) where the profile prepares no GPU or the type has none. */
  gpusPerInstance?: number;
}

/** One name for the group and its template: the profile and the pool, both DNS labels already. */
export function scalingGroupName(inputs: Pick<ScalingGroupInputs, 'profileName' | 'pool'>): string {
  return `labimg-${inputs.profileName}-${inputs.pool}`;
}

/**
 * A JSON file of the autoscaling/ folder. One that embeds the user-data takes its mode (0600 where it carries an
 * enrollment token), since it is as secret as the user-data; one that does not is 0644.
 */
export function scalingFile(name: string, value: unknown, embeds?: RenderedFile): RenderedFile {
  return { name: `autoscaling/${name}`, content: Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8'), mode: embeds?.mode ?? 0o644 };
}

/** Entries sorted by key, so the same inputs give the same bytes however the profile listed them. */
export function sortedEntries(record: Readonly<Record<string, string>>): Array<[string, string]> {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
