/**
 * A mirror: where a node's downloads come from instead of their upstream hosts. Two tables, applied to the
 * profile before it is compiled, so every artifact (repositories, manifests, images, the Node runtime,
 * base images) and the agent's plan name the mirror and nothing else.
 */

/** The mirrors labimg knows; `custom` is a profile's own tables with no preset under them. */
export const MIRROR_PRESET_NAMES = ['upstream', 'aliyun', 'daocloud'] as const;
export type MirrorPresetName = (typeof MIRROR_PRESET_NAMES)[number];
export type MirrorName = MirrorPresetName | 'custom';

/** Every URL that starts with `from` is fetched from `to` followed by the rest of the URL. */
export interface FileRule {
  from: string;
  to: string;
  /** Who runs the mirror; shown by `labimg mirrors`. */
  provider?: string;
}

/** Where the images of one upstream registry (by host, e.g. quay.io) are pulled from. */
export interface RegistryRule {
  /** A registry host with an optional path: image references of the upstream registry are rewritten onto it. */
  to: string;
  /**
   * The mirror serves every repository of the upstream registry at the same path, as a pull-through proxy
   * does. Then containerd sends every pull of that registry through it (hosts.toml), which also covers
   * images named inside manifests labimg does not write. A copy that renames or flattens paths (kubeadm's
   * images in one namespace) only serves the references labimg writes itself.
   */
  samePaths: boolean;
  provider?: string;
}

export interface Mirror {
  name: MirrorName;
  /** Tried longest `from` first. */
  files: FileRule[];
  /** Keyed by upstream registry host. */
  registries: Record<string, RegistryRule>;
}

/** A profile's `mirror:` field once resolved: a preset and the profile's own rules over it. */
export interface MirrorSpec {
  preset: MirrorName;
  files: FileRule[];
  registries: Record<string, RegistryRule>;
}
