/** `labimg validate`'s flags and help; its work (../commands/validate.ts) is imported only when it runs. */
import type { Argv } from 'yargs';
import { mirrorOption, type GlobalOptions } from '../options';

const work = () => import('../commands/validate');

export function addValidateCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
  return y.command(
    'validate [refs..]',
    'check profiles (all of them when none is named); exits 1 with every problem found',
    (c) => mirrorOption(c.positional('refs', { type: 'string', array: true, describe: 'profile names or YAML files' })),
    async (argv) => {
      if (!(await work()).validateProfiles({ refs: argv.refs ?? [], profilesDir: argv.profiles, mirror: argv.mirror })) process.exitCode = 1;
    },
  );
}
