/** `labimg plan P --role R`: every step, command and file the agent would run and write on a fresh host. */
import type { Role } from '../../contract/agent-config';
import { formatPlan, planAgent } from '../../agent/plan';
import { nodeConfigFor } from '../../builder/build';
import { compileAgentConfig } from '../../builder/compile';
import type { MirrorPresetName } from '../../builder/mirrors/types';
import { loadProfile } from '../profile-cache';

export interface PlanOptions {
  profile: string;
  profilesDir: string;
  mirror?: MirrorPresetName;
  role: Role;
  gpu: boolean;
  json: boolean;
}

export async function printPlan(options: PlanOptions): Promise<void> {
  const profile = loadProfile(options.profile, { dir: options.profilesDir, mirror: options.mirror });
  const steps = await planAgent(compileAgentConfig(profile), nodeConfigFor(options.role), { gpu: options.gpu });
  process.stdout.write(options.json ? `${JSON.stringify(steps, null, 2)}\n` : formatPlan(steps));
}
