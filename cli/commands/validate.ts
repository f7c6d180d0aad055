/** `labimg validate [P|FILE ...]`: every problem of each profile, with its file, line and field. */
import { compileAgentConfig } from '../../builder/compile';
import type { MirrorPresetName } from '../../builder/mirrors/types';
import { formatFindings, listProfiles, ProfileError } from '../../builder/profiles';
import { loadProfile } from '../profile-cache';

export interface ValidateOptions {
  /** Profile names or files; every buildable profile when empty. */
  refs: readonly string[];
  profilesDir: string;
  mirror?: MirrorPresetName;
}

/** Checks each profile; false when any has a problem (each printed to stderr). */
export function validateProfiles(options: ValidateOptions): boolean {
  // Abstract profiles are incomplete by design; they are checked through the profiles that extend them.
  const refs = options.refs.length > 0 ? options.refs : listProfiles(options.profilesDir).filter((p) => !p.abstract).map((p) => p.name);
  let valid = true;
  for (const ref of refs) {
    try {
      compileAgentConfig(loadProfile(ref, { dir: options.profilesDir, mirror: options.mirror }));
      process.stdout.write(`ok  ${ref}\n`);
    } catch (error) {
      if (!(error instanceof ProfileError)) throw error;
      valid = false;
      process.stderr.write(`${formatFindings(error.findings)}\n`);
    }
  }
  return valid;
}
