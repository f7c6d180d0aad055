/**
 * dist/labimg.js, the file `labimg` runs. It answers `labimg --version` itself, as yargs would, and hands every
 * other command line to the CLI proper (cli/main.ts, bundled as dist/labimg-cli.mjs), whose commands import their
 * own code from chunks beside it when they run. So `--version` parses no more than this file, and a command no
 * more than it needs.
 */
import { version } from '../package.json';

/** Beside this file in dist/; a variable, so the bundler leaves the import to run time. */
const CLI_MODULE = './labimg-cli.mjs';

const args = process.argv.slice(2);
if (args.length === 1 && args[0] === '--version') {
  process.stdout.write(`${version}\n`);
} else {
  void (import(CLI_MODULE) as Promise<typeof import('./main')>).then((cli) => cli.main());
}
