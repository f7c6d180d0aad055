/** `labimg show P`: the profile with `extends` resolved, or the AgentConfig it compiles to. */
import { dump } from 'js-yaml';
import type { Argv } from 'yargs';
import { compileAgentConfig } from '../../builder/compile';
import type { MirrorPresetName } from '../../builder/mirrors/types';
import { loadProfile } from '../../builder/profiles';
import { mirrorOption, type GlobalOptions } from '../options';

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

export function addShowCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
  return y.command(
    'show <profile>',
    'print a profile with its extends resolved, or the AgentConfig it compiles to',
    (c) =>
      mirrorOption(c.positional('profile', { type: 'string', demandOption: true, describe: 'profile name or YAML file' }))
        .option('agent-config', { type: 'boolean', default: false, describe: 'print the compiled AgentConfig instead' })
        .option('json', { type: 'boolean', default: false }),
    (argv) => showProfile({ profile: argv.profile, profilesDir: argv.profiles, mirror: argv.mirror, agentConfig: argv.agentConfig, json: argv.json }),
  );
}
