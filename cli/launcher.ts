/**
 * dist/labimg.js, the file `labimg` runs. It answers `labimg --version` itself, as yargs would, and hands every
 * other command line to the CLI proper (cli/main.ts, bundled as dist/labimg-cli.cjs, and for `labimg build` as
 * dist/labimg-build.cjs, which holds no other command's work), loaded with the code cache
 * of the command it runs (./compile-cache.ts). So `--version` parses no more than this file, and a command
 * compiles its code once, on its first run.
 */
import path from 'node:path';
import { version } from '../package.json';

/** The command line, and `labimg build`'s own bundle of it, without the other commands' work (scripts/build.mjs). */
const CLI_BUNDLE = 'labimg-cli.cjs';
const BUILD_BUNDLE = 'labimg-build.cjs';
/** Each bundle's sha256, written in by the bundler, which builds this file after the bundles. */
declare const LABIMG_BUNDLE_SHA256: Readonly<Record<string, string>>;

const args = process.argv.slice(2);
if (args.length === 1 && args[0] === '--version') {
  process.stdout.write(`${version}\n`);
} else {
  // Required here, not imported above: --version loads none of the modules the cache needs.
  const { buildIdentity, loadBundle } = require('./compile-cache') as typeof import('./compile-cache');
  const command = args.find((arg) => !arg.startsWith('-')) ?? 'cli';
  // yargs runs the first positional word that names a command (yargs 17.7.3 build/lib/yargs-factory.js,
  // kRunYargsParserAndExecuteCommands, the loop over argv._ from index 0; read 2026-12-06), and a first word of
  // the command line that is no flag is the first positional: `build` first is `labimg build`, whatever follows.
  const bundle = args[0] === 'build' ? BUILD_BUNDLE : CLI_BUNDLE;
  const cli = loadBundle<typeof import('./main')>(path.join(__dirname, bundle), command, undefined, LABIMG_BUNDLE_SHA256[bundle]);
  // After the command's work, so that the cache holds every function it compiled, not only the top level; and at
  // exit, for the commands that end the process themselves (`--help`). Only when the command succeeded: a usage
  // error or a typo of a command's name is no command to keep a cache for. And only when the run did what the
  // command's repeats do (./main.ts codeCacheWanted).
  const saveWhenSucceeded = (code = process.exitCode) => {
    if (!code && cli.exports.codeCacheWanted()) cli.saveCache();
  };
  process.once('exit', saveWhenSucceeded);
  // Both bundles load profiles with the same code: their kept loads are the build's, not one bundle's.
  void cli.exports.main({ buildIdentity: buildIdentity(__dirname, LABIMG_BUNDLE_SHA256) }).then(() => saveWhenSucceeded());
}
