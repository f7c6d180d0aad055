/**
 * The labimg command line, bundled as dist/labimg-cli.cjs and started by dist/labimg.js (cli/launcher.ts): the
 * global options, every command's flags (one file each in cli/syntax/), and how a failure reaches the user. Each
 * command's work (cli/commands/) is imported when it runs, so a command initialises only its own modules. Commands parse
 * their flags and call the builder and the endpoint; this is the only layer that touches the disk and the terminal.
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../contract/errors';
import { FindingsError, formatFindings } from '../builder/profiles/findings';
import { version as labimgVersion } from '../package.json';
import { addAuditCommand } from './syntax/audit';
import { addBootCommand } from './syntax/boot';
import { addBuildCommand } from './syntax/build';
import { addCaCommand } from './syntax/ca';
import { addMirrorsCommand } from './syntax/mirrors';
import { addNodesCommand } from './syntax/nodes';
import { addPinCommand } from './syntax/pin';
import { addPlanCommand } from './syntax/plan';
import { addPoolCommand } from './syntax/pool';
import { addProfilesCommand } from './syntax/profiles';
import { addRenderCommand } from './syntax/render';
import { addServeCommand } from './syntax/serve';
import { addShowCommand } from './syntax/show';
import { addValidateCommand } from './syntax/validate';
import type { GlobalOptions } from './options';
import { DEFAULT_PROFILES_DIR } from './package-files';
import { keepBuilds } from './kept-builds';
import { keepProfileLoads, profileLoadedAfresh } from './profile-cache';
import { terminalColumns } from './terminal-width';

/**
 * True in dist/labimg-build.cjs, the bundle the launcher runs only for command lines that start with `build`
 * (scripts/build.mjs, cli/launcher.ts); absent where this code runs unbundled.
 */
declare const LABIMG_BUILD_ALONE: boolean;

/** In the order `labimg --help` lists them. */
const ALL_COMMANDS: ReadonlyArray<(y: Argv<GlobalOptions>) => Argv<GlobalOptions>> = [
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
  addPinCommand,
];

/**
 * The commands yargs is told of: in build's own bundle, build alone. yargs runs the command the command line
 * names and builds only that one's options, so the others' syntax is work for nothing there; and a word that is no
 * command meets strict mode's "Unknown argument" instead of suggestions, which only the launcher's other bundle
 * can be asked for.
 */
const COMMANDS = typeof LABIMG_BUILD_ALONE !== 'undefined' && LABIMG_BUILD_ALONE ? [addBuildCommand] : ALL_COMMANDS;

export function cli(args: string[]): Argv<GlobalOptions> {
  const program = yargs(args)
    .scriptName('labimg')
    .version(labimgVersion)
    .usage('$0 <command>\n\nTurns Kubernetes node profiles into bootable machines.')
    // Every command's help wraps at the terminal's width (yargs's own default is at most 80 columns).
    .wrap(terminalColumns())
    .option('profiles', { type: 'string', default: DEFAULT_PROFILES_DIR, describe: 'directory of profile YAML files', global: true });
  skipHelpForFailedHandlers(program);
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

/** What skipHelpForFailedHandlers reaches of yargs: its internal methods, which its typings leave out. */
interface YargsInternals {
  getInternalMethods(): { getUsageInstance(): { cacheHelpMessage(): void } };
}

/**
 * yargs renders the whole help text of a command each time it starts the command's handler (runCommand in
 * yargs 17's lib/command.js calls `getUsageInstance().cacheHelpMessage()`), so that a handler failing later can
 * still print that help. labimg's failure handler (`.fail` above) never prints help, so the text, 5-10 ms of
 * every command's start (README "Figures"), is not made; `--help` renders it as before.
 */
function skipHelpForFailedHandlers(program: Argv<GlobalOptions>): void {
  const usage = (program as unknown as YargsInternals).getInternalMethods().getUsageInstance();
  usage.cacheHelpMessage = () => undefined;
}

/** What the launcher (cli/launcher.ts) tells the command line. */
export interface LaunchContext {
  /** The identity of labimg's build (its bundles): with it, commands keep the profiles they load (./profile-cache.ts). */
  buildIdentity?: string;
}

/**
 * Whether the code this run compiled is what the command's later runs need, so that the launcher may keep it as
 * the command's code cache: not when the run loaded a profile that later runs will take as kept.
 */
export function codeCacheWanted(): boolean {
  return !profileLoadedAfresh();
}

/** Runs the command; a problem the user can fix is one line (every finding, for profiles), a bug its stack. */
export async function main(context: LaunchContext = {}): Promise<void> {
  if (context.buildIdentity !== undefined) {
    keepProfileLoads(context.buildIdentity);
    keepBuilds(context.buildIdentity);
  }
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
