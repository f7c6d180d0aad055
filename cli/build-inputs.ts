/** A loaded profile and the command's flags → what the builder renders from (builder/build.ts). */
import { UserError } from '../contract/errors';
import { bootsWithCloudInit, type BuildInputs, type ControlPlaneSettings, type Enrollment, type JoinMaterial } from '../builder/build';
import { compileAgentConfig, nodeRuntimeOf } from '../builder/compile';
import { packerSourcesOf } from '../builder/render/packer';
import { nameSourceFor } from '../builder/node-naming';
import type { Profile } from '../builder/profiles';
import { version as labimgVersion } from '../package.json';
import { agentSourceFor } from './inputs/agent-url';
import { autoscalingCloudOf } from './inputs/autoscaling';
import { readPxeInputs, type PxeFlags } from './inputs/pxe';
import { readAgentBundle } from './package-files';

export interface BuildFlags {
  join?: JoinMaterial;
  enrollment?: Enrollment;
  controlPlane?: ControlPlaneSettings;
  agentUrl?: string;
  pxe?: PxeFlags;
  /** --autoscaling: the cloud whose scaling group launches the workers (checked by cli/inputs/autoscaling.ts); it decides their names. */
  autoscaling?: string;
}

export function buildInputs(profile: Profile, flags: BuildFlags = {}): BuildInputs {
  const agentBundle = readAgentBundle();
  const agentConfig = compileAgentConfig(profile);
  const pxe = readPxeInputs(profile, agentConfig.os, flags.pxe ?? {});
  const autoscaling = flags.autoscaling === undefined ? undefined : autoscalingCloudOf(flags.autoscaling);
  const nameFrom = nameSourceFor({ profileName: profile.name, naming: profile.kubernetes.nodeName, autoscaling, identity: flags.enrollment?.identity });
  return {
    // An image block may name only a network install (Flatcar): nothing for Packer to bake from then.
    ...(profile.image && packerSourcesOf(profile.image).length > 0 ? { packer: { profileName: profile.name, image: profile.image } } : {}),
    ...(pxe ? { pxe } : {}),
    profileName: profile.name,
    agentConfig,
    nodeRuntime: nodeRuntimeOf(profile),
    agentBundle,
    labimgVersion,
    join: flags.join,
    enrollment: flags.enrollment,
    ...(flags.controlPlane ? { controlPlane: flags.controlPlane } : {}),
    ...(nameFrom ? { nameFrom } : {}),
    agentSource: agentSourceFor(agentBundle, flags.agentUrl, flags.enrollment),
    ...(autoscaling !== undefined ? { autoscaling: { cloud: autoscaling } } : {}),
  };
}

/** For the commands that write cloud-init user-data: a profile whose OS takes Ignition alone has none. */
export function requireCloudInit(inputs: BuildInputs): void {
  if (!bootsWithCloudInit(inputs.agentConfig)) {
    throw new UserError(`profile ${inputs.profileName} boots with Ignition, not cloud-init: labimg build ${inputs.profileName} writes ignition-ROLE.json`);
  }
}
