/**
 * Profiles: the YAML node recipes under profiles/, loaded, merged along `extends` and checked.
 * Everything else in the builder reads a typed Profile from here, never raw YAML.
 */
export { FindingsError, formatFindings, ProfileError, type Finding } from './findings';
export { listProfiles, loadProfile, loadResolvedProfile, type LoadOptions, type ResolvedProfile } from './load';
export type { GpuStack, ImageSources, NodeRuntime, NodeTarball, PackageSet, Profile, ProfileRepository, ProfileSummary } from './types';
