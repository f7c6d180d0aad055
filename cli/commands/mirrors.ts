/** `labimg mirrors [NAME]`: the mirror presets, and where each takes every download from. */
import type { Argv } from 'yargs';
import { formatMirror } from '../../builder/mirrors/describe';
import { MIRROR_PRESETS } from '../../builder/mirrors/presets';
import { MIRROR_PRESET_NAMES, type MirrorPresetName } from '../../builder/mirrors/types';
import type { GlobalOptions } from '../options';

export function describeMirrors(names: readonly MirrorPresetName[]): void {
  process.stdout.write(names.map((name) => formatMirror(MIRROR_PRESETS[name])).join('\n'));
}

export function addMirrorsCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
  return y.command(
    'mirrors [name]',
    'list the mirror presets and where each takes every download from',
    (c) => c.positional('name', { choices: MIRROR_PRESET_NAMES, describe: 'one preset' }),
    (argv) => describeMirrors(argv.name ? [argv.name] : MIRROR_PRESET_NAMES),
  );
}
