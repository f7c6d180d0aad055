/** `labimg show`'s flags and help; its work (../commands/show.ts) is imported only when it runs. */
import type { Argv } from 'yargs';
import { mirrorOption, type GlobalOptions } from '../options';

const work = () => import('../commands/show');

export function addShowCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
  return y.command(
    'show <profile>',
    'print a profile with its extends resolved, or the AgentConfig it compiles to',
    (c) =>
      mirrorOption(c.positional('profile', { type: 'string', demandOption: true, describe: 'profile name or YAML file' }))
        .option('agent-config', { type: 'boolean', default: false, describe: 'print the compiled AgentConfig instead' })
        .option('resolved', { type: 'boolean', default: false, describe: 'print every value with the profile line that states it or the rule that derived it (before any mirror)' })
        .option('json', { type: 'boolean', default: false }),
    async (argv) => (await work()).showProfile({ profile: argv.profile, profilesDir: argv.profiles, mirror: argv.mirror, agentConfig: argv.agentConfig, json: argv.json, resolved: argv.resolved }),
  );
}
