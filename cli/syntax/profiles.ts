/** `labimg profiles`'s flags and help; its work (../commands/profiles.ts) is imported only when it runs. */
import type { Argv } from 'yargs';
import type { GlobalOptions } from '../options';

const work = () => import('../commands/profiles');

export function addProfilesCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
  return y.command('profiles', 'list the profiles you can build', (c) => c, async (argv) => (await work()).listBuildableProfiles(argv.profiles));
}
