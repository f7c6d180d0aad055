/** `labimg show P`: the profile with `extends` resolved, or the AgentConfig it compiles to. */
import { dump } from 'js-yaml';
import { compileAgentConfig } from '../../builder/compile';
import type { MirrorPresetName } from '../../builder/mirrors/types';
import { loadResolvedProfile } from '../../builder/profiles';
import { loadProfile } from '../profile-cache';
import { valueOrigins } from '../../builder/profiles/provenance';

export interface ShowOptions {
  profile: string;
  profilesDir: string;
  mirror?: MirrorPresetName;
  agentConfig: boolean;
  json: boolean;
  /** Every value with the line that states it or the rule that derived it, before any mirror. */
  resolved?: boolean;
}

/** `path: value  # origin`, the comments in one column so the origins read as a list. */
function showResolved(options: ShowOptions): void {
  const rows = valueOrigins(loadResolvedProfile(options.profile, { dir: options.profilesDir, mirror: options.mirror }));
  if (options.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const width = Math.min(72, Math.max(...rows.map((row) => row.path.length + row.value.length + 2)));
  const lines = rows.map((row) => `${`${row.path}: ${row.value}`.padEnd(width)}  # ${row.origin}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

export function showProfile(options: ShowOptions): void {
  if (options.resolved) return showResolved(options);
  const profile = loadProfile(options.profile, { dir: options.profilesDir, mirror: options.mirror });
  const value = options.agentConfig ? compileAgentConfig(profile) : profile;
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : dump(value, { lineWidth: -1, noRefs: true }));
}
