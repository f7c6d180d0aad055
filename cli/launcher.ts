/**
 * dist/labimg.js, the file `labimg` runs. It answers `labimg --version` itself, as yargs would, and hands every
 * other command line to the CLI proper (cli/main.ts, bundled as dist/labimg-cli.cjs), loaded with the code cache
 * of the command it runs (./compile-cache.ts). So `--version` parses no more than this file, and a command
 * compiles its code once, on its first run.
 */
import path from 'node:path';
import { version } from '../package.json';

/** Beside this file in dist/. */
const CLI_BUNDLE = 'labimg-cli.cjs';
/** The bundle's sha256, written in by the bundler (scripts/build.mjs), which builds this file after the bundle. */
declare const LABIMG_CLI_SHA256: string;

const args = process.argv.slice(2);
if (args.length === 1 && args[0] === '--version') {
  process.stdout.write(`${version}\n`);
} else {
  // Required here, not imported above: --version loads none of the modules the cache needs.
  const { loadBundle } = require('./compile-cache') as typeof import('./compile-cache');
  const command = args.find((arg) => !arg.startsWith('-')) ?? 'cli';
  const cli = loadBundle<typeof import('./main')>(path.join(__dirname, CLI_BUNDLE), command, undefined, LABIMG_CLI_SHA256);
  // After the command's work, so that the cache holds every function it compiled, not only the top level; and at
  // exit, for the commands that end the process themselves (`--help`). Only when the command succeeded: a usage
  // error or a typo of a command's name is no command to keep a cache for. And only when the run did what the
  // command's repeats do (./main.ts codeCacheWanted).
  const saveWhenSucceeded = (code = process.exitCode) => {
    if (!code && cli.exports.codeCacheWanted()) cli.saveCache();
  };
  process.once('exit', saveWhenSucceeded);
  void cli.exports.main({ bundleIdentity: cli.identity }).then(() => saveWhenSucceeded());
}
