/** `labimg render P --role R`: one role's cloud-init user-data on stdout. */
import type { Role } from '../../contract/agent-config';
import { renderUserData } from '../../builder/build';
import type { MirrorPresetName } from '../../builder/mirrors/types';
import { loadProfile } from '../profile-cache';
import { buildInputs, requireCloudInit } from '../build-inputs';
import { readEnrollment, type EnrollmentFlags } from '../inputs/enrollment';
import { readJoinMaterial, type JoinFlags } from '../inputs/join';
import { readControlPlaneSettings, type ControlPlaneFlags } from '../inputs/control-plane';

export interface RenderOptions {
  profile: string;
  profilesDir: string;
  mirror?: MirrorPresetName;
  role: Role;
  join: JoinFlags;
  enrollment: EnrollmentFlags;
  controlPlane?: ControlPlaneFlags;
}

export function printUserData(options: RenderOptions): void {
  const profile = loadProfile(options.profile, { dir: options.profilesDir, mirror: options.mirror });
  const inputs = buildInputs(profile, {
    join: readJoinMaterial(options.join),
    enrollment: readEnrollment(options.enrollment),
    controlPlane: readControlPlaneSettings(options.controlPlane ?? {}),
  });
  requireCloudInit(inputs);
  process.stdout.write(renderUserData(inputs, options.role).content);
}
