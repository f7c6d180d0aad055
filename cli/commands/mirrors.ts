/** `labimg mirrors [NAME]`: the mirror presets, and where each takes every download from. */
import { formatMirror } from '../../builder/mirrors/describe';
import { MIRROR_PRESETS } from '../../builder/mirrors/presets';
import type { MirrorPresetName } from '../../builder/mirrors/types';

export function describeMirrors(names: readonly MirrorPresetName[]): void {
  process.stdout.write(names.map((name) => formatMirror(MIRROR_PRESETS[name])).join('\n'));
}
