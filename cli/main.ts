/**
 * The labimg command line, bundled as dist/labimg.js: the global options, every command (one file each in
 * cli/commands/), and how a failure reaches the user. Commands parse their flags and call the builder and the
 * endpoint; this is the only layer that touches the disk and the terminal.
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../contract/errors';
import { FindingsError, formatFindings } from '../builder/profiles';
import { version as labimgVersion } from '../package.json';
import { addAuditCommand } from './commands/audit';
import { addBootCommand } from './commands/boot';
import { addBuildCommand } from './commands/build';
import { addCaCommand } from './commands/ca';
import { addMirrorsCommand } from './commands/mirrors';
import { addNodesCommand } from './commands/nodes';
import { addPlanCommand } from './commands/plan';
import { addPoolCommand } from './commands/pool';
import { addProfilesCommand } from './commands/profiles';
import { addRenderCommand } from './commands/render';
import { addServeCommand } from './commands/serve';
import { addShowCommand } from './commands/show';
import { addValidateCommand } from './commands/validate';
import type { GlobalOptions } from './options';
import { DEFAULT_PROFILES_DIR } from './package-files';

/** In the order `labimg --help` lists them. */
const COMMANDS: ReadonlyArray<(y: Argv<GlobalOptions>) => Argv<GlobalOptions>> = [
  addProfilesCommand,
  addMirrorsCommand,
  addShowCommand,
  addValidateCommand,
  addPlanCommand,
  addRenderCommand,
  addBuildCommand,
  addServeCommand,
  addPoolCommand,
  addCaCommand,
  addNodesCommand,
  addAuditCommand,
  addBootCommand,
];

export function cli(args: string[]): Argv<GlobalOptions> {
  const program = yargs(args)
    .scriptName('labimg')
    .version(labimgVersion)
    .usage('$0 <command>\n\nTurns Kubernetes node profiles into bootable machines.')
    .option('profiles', { type: 'string', default: DEFAULT_PROFILES_DIR, describe: 'directory of profile YAML files', global: true });
  return COMMANDS.reduce((y, addCommand) => addCommand(y), program)
    .demandCommand(1, 'name a command; `labimg --help` lists them')
    .strict()
    .recommendCommands()
    .fail((message, error) => {
      // Errors from a command's own work are reported by main(); usage mistakes get a short hint, no wall of help.
      if (error) throw error;
      process.stderr.write(`labimg: ${message}\nRun "labimg --help" for the commands and their options.\n`);
      process.exit(2);
    });
}

/** Runs the command; a problem the user can fix is one line (every finding, for profiles), a bug its stack. */
async function main(): Promise<void> {
  try {
    await cli(hideBin(process.argv)).parseAsync();
  } catch (error) {
    if (error instanceof FindingsError) {
      process.stderr.write(`${formatFindings(error.findings)}\n`);
    } else if (error instanceof UserError) {
      process.stderr.write(`labimg: ${error.message}\n`);
    } else {
      process.stderr.write(`labimg: ${(error as Error).stack ?? String(error)}\n`);
    }
    process.exitCode = 1;
  }
}

if (require.main === module) void main();
