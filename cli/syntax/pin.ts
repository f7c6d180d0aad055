/** `labimg pin`'s arguments and help; its work (../commands/pin.ts) is imported only when it runs. */
import type { Argv } from 'yargs';
import type { GlobalOptions } from '../options';

const work = () => import('../commands/pin');

export function addPinCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
  return y.command(
    'pin <urls..>',
    "download each URL and print it pinned by the sha256 of what it serves now, ready to paste into a profile's manifests",
    (c) => c.positional('urls', { type: 'string', array: true, demandOption: true, describe: 'http(s) URLs of manifests' }),
    async (argv) => (await work()).pinUrls({ urls: argv.urls as string[] }),
  );
}
