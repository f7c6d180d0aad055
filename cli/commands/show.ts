/** `labimg show P`: the profile with `extends` resolved, or the AgentConfig it compiles to. */
import { dump } from 'js-yaml';
import { compileAgentConfig } from '../../builder/compile';
import type { MirrorPresetName } from '../../builder/mirrors/types';
import { loadProfile } from '../../builder/profiles';

export interface ShowOptions {
  profile: string;
  profilesDir: string;
  mirror?: MirrorPresetName;
  agentConfig: boolean;
  json: boolean;
}

export function showProfile(options: ShowOptions): void {
  const profile = loadProfile(options.profile, { dir: options.profilesDir, mirror: options.mirror });
  const value = options.agentConfig ? compileAgentConfig(profile) : profile;
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : dump(value, { lineWidth: -1, noRefs: true }));
}
