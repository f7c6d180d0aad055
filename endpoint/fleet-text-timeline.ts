/**
 * The fleet page's timeline as text, for `labimg nodes --watch`: one line per node, each phase a stretch of
 * characters on a scale every node shares (as on the page), one character per status so that it reads without
 * colour, in a pipe or a log too. Pure: the command gives the view and the width.
 */
import type { FleetView } from '../contract/endpoint-api';
import { formatDuration } from './html';
import { stepBars, type StepBar } from './fleet-timeline';

/** One character per status; later steps overwrite earlier ones where they share a character. */
export const TEXT_TIMELINE_MARKS: Readonly<Record<string, string>> = { done: '=', started: '>', skipped: '-', failed: 'X' };

const PHASE_ORDER = ['bake', 'boot'];
const NAME_MAX = 24;

/** The timeline's lines, a header and a legend; [] when no node has a step to draw. */
export function formatTextTimeline(view: FleetView, columns: number): string[] {
  const rows = view.nodes.map((node) => ({ name: node.node, bars: stepBars(node, view.generatedAt) }));
  const spans = new Map<string, number>();
  for (const { bars } of rows) for (const [phase, list] of bars) spans.set(phase, Math.max(spans.get(phase) ?? 0, 1000, ...list.map((b) => b.endMs)));
  const phases = [...spans.keys()].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
  if (phases.length === 0) return [];
  const nameWidth = Math.min(NAME_MAX, Math.max(8, ...rows.map((r) => Array.from(r.name).length)));
  // The name, a space, and per phase a "|" and its cells.
  const room = Math.max(phases.length * 8, columns - nameWidth - 1 - phases.length);
  const widths = phases.map((p) => Math.floor(room * share(p, phases)));
  const header =
    pad('TIMELINE', nameWidth) + ' ' + phases.map((p, i) => '|' + pad(cut(`${p} 0–${formatDuration(spans.get(p) as number)}`, widths[i] as number), widths[i] as number)).join('');
  const lines = rows.map(({ name, bars }) => {
    const cells = phases.map((p, i) => '|' + drawPhase(bars.get(p) ?? [], spans.get(p) as number, widths[i] as number)).join('');
    return `${pad(cut(safe(name), nameWidth), nameWidth)} ${cells}`.trimEnd();
  });
  const legend = Object.entries(TEXT_TIMELINE_MARKS).map(([status, mark]) => `${mark} ${status === 'started' ? 'running' : status}`).join('  ');
  return [header.trimEnd(), ...lines, legend];
}

function drawPhase(bars: StepBar[], spanMs: number, width: number): string {
  const cells = Array.from({ length: width }, () => ' ');
  for (const bar of bars) {
    const from = Math.min(width - 1, Math.floor((bar.startMs / spanMs) * width));
    const to = Math.max(from + 1, Math.min(width, Math.ceil((bar.endMs / spanMs) * width)));
    for (let i = from; i < to; i += 1) cells[i] = TEXT_TIMELINE_MARKS[bar.step.status] ?? '?';
  }
  return cells.join('');
}

/** As on the page: boot, what an operator watches, gets the larger share when bake is there too. */
function share(phase: string, phases: string[]): number {
  if (phases.length === 1) return 1;
  if (!phases.includes('boot')) return 1 / phases.length;
  return phase === 'boot' ? 0.65 : 0.35 / (phases.length - 1);
}

function rank(phase: string): number {
  const i = PHASE_ORDER.indexOf(phase);
  return i < 0 ? PHASE_ORDER.length : i;
}

function pad(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - Array.from(text).length));
}

function cut(text: string, width: number): string {
  const chars = Array.from(text);
  return chars.length <= width ? text : chars.slice(0, width - 1).join('') + '…';
}

/** Names come from the network: no control characters or bidi overrides reach the terminal (as fleet-table.ts). */
function safe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '?');
}
