/** `labimg mirrors`'s flags and help; its work (../commands/mirrors.ts) is imported only when it runs. */
import type { Argv } from 'yargs';
import { MIRROR_PRESET_NAMES } from '../../builder/mirrors/types';
import type { GlobalOptions } from '../options';

const work = () => import('../commands/mirrors');

export function addMirrorsCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
  return y.command(
    'mirrors [name]',
    'list the mirror presets and where each takes every download from',
    (c) => c.positional('name', { choices: MIRROR_PRESET_NAMES, describe: 'one preset' }),
    async (argv) => (await work()).describeMirrors(argv.name ? [argv.name] : MIRROR_PRESET_NAMES),
  );
}
