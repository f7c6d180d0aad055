/**
 * The fleet page's timeline: one row per node, its steps as bars on a time axis all rows share, drawn as inline
 * SVG by the endpoint itself (no chart library, nothing fetched: the admin laptop may be air-gapped). Each phase
 * (bake, boot) has its own stretch of the axis and its own scale, shared by every node: a bake of two hours would
 * otherwise flatten a boot of one minute into a line. Hovering a bar shows the step, its times and its message:
 * the page's script draws that tooltip; a failed or running bar has it as a <title> too, with no script.
 *
 * A step's bar ends at its report's time (by the node's clock) and starts its duration earlier; a step still
 * running starts at its report and reaches as far as the endpoint's clock has moved since it received it.
 */
import type { FleetNode, FleetStep, FleetView } from '../contract/endpoint-api';
import { LEAVING_STEP, RUN_COMPLETE_STEP } from '../contract/agent-config';
import { escapeHtml, formatDuration } from './html';

/** Where a bar lies, in ms from the start of its node's phase. */
export interface StepBar {
  step: FleetStep;
  startMs: number;
  endMs: number;
}

/** One phase's stretch of the shared axis. */
interface PhaseScale {
  phase: string;
  /** The longest phase of any node drawn, in ms: the stretch's full width. */
  spanMs: number;
  x0: number;
  width: number;
}

/** The SVG's user units: a viewBox this wide, scaled to the page's width (1366-pixel laptops included). */
const WIDTH = 1000;
const LABEL_WIDTH = 170;
const ROW_HEIGHT = 16;
const AXIS_HEIGHT = 22;
const PHASE_GAP = 12;
const BAR_HEIGHT = ROW_HEIGHT - 5;
const PHASE_ORDER = ['bake', 'boot'];

/**
 * Each step's bar within its phase, per phase, for one node. The steps that are no work of their own (the run's
 * completion spans both phases; leaving is the machine powering off) get no bar.
 */
export function stepBars(node: FleetNode, generatedAt: string): Map<string, StepBar[]> {
  const now = Date.parse(generatedAt);
  const byPhase = new Map<string, Array<{ step: FleetStep; start: number; end: number }>>();
  for (const step of node.steps ?? []) {
    if (step.step === RUN_COMPLETE_STEP || step.step === LEAVING_STEP) continue;
    const at = Date.parse(step.at);
    if (!Number.isFinite(at)) continue;
    let start: number;
    let end: number;
    if (step.status === 'started') {
      const received = step.receivedAt === undefined ? Number.NaN : Date.parse(step.receivedAt);
      start = at;
      end = at + (Number.isFinite(received) && Number.isFinite(now) ? Math.max(0, now - received) : 0);
    } else {
      end = at;
      start = at - Math.max(0, step.durationMs ?? 0);
    }
    const list = byPhase.get(step.phase) ?? [];
    list.push({ step, start, end });
    byPhase.set(step.phase, list);
  }
  const bars = new Map<string, StepBar[]>();
  for (const [phase, list] of byPhase) {
    const origin = Math.min(...list.map((b) => b.start));
    bars.set(phase, list.map((b) => ({ step: b.step, startMs: b.start - origin, endMs: b.end - origin })));
  }
  return bars;
}

/** The phases any node has drawn, bake before boot, each given a share of the width after the labels. */
function phaseScales(rows: Array<Map<string, StepBar[]>>): PhaseScale[] {
  const spans = new Map<string, number>();
  for (const bars of rows) {
    for (const [phase, list] of bars) spans.set(phase, Math.max(spans.get(phase) ?? 0, ...list.map((b) => b.endMs)));
  }
  const phases = [...spans.keys()].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
  const room = WIDTH - LABEL_WIDTH - PHASE_GAP * Math.max(0, phases.length - 1);
  // Bake runs once per image, long before a boot; boot is what an operator watches, so it gets the larger share.
  const shares = phases.map((p) => (p === 'boot' && phases.length > 1 ? 0.65 : phases.length > 1 && phases.includes('boot') ? 0.35 / (phases.length - 1) : 1 / phases.length));
  let x = LABEL_WIDTH;
  return phases.map((phase, i) => {
    const width = room * (shares[i] as number);
    const scale = { phase, spanMs: Math.max(1000, spans.get(phase) ?? 0), x0: x, width };
    x += width + PHASE_GAP;
    return scale;
  });
}

function rank(phase: string): number {
  const i = PHASE_ORDER.indexOf(phase);
  return i < 0 ? PHASE_ORDER.length : i;
}

/** The timeline of `nodes` as one <svg>; "" when no node has reported a step yet. */
export function renderTimeline(view: FleetView, options: { linkNodes: boolean } = { linkNodes: true }): string {
  const rows = view.nodes.map((node) => ({ node, bars: stepBars(node, view.generatedAt) }));
  const scales = phaseScales(rows.map((r) => r.bars));
  if (scales.length === 0) return '';
  const height = AXIS_HEIGHT + rows.length * ROW_HEIGHT + 4;
  const axis = scales.map(axisOf).join('');
  const body = rows.map((row, i) => rowOf(row.node, row.bars, scales, AXIS_HEIGHT + i * ROW_HEIGHT, options.linkNodes)).join('');
  const scaleData = scales.map((s) => ` data-${escapeHtml(s.phase)}-x0="${round(s.x0)}" data-${escapeHtml(s.phase)}-ms-per-unit="${(s.spanMs / s.width).toFixed(4)}"`).join('');
  return (
    `<svg class="timeline" viewBox="0 0 ${WIDTH} ${height}" width="100%" role="img" aria-labelledby="timeline-title"${scaleData}>` +
    `<title id="timeline-title">Steps of each node over time, per phase; hover a bar for its times</title>${axis}${body}</svg>`
  );
}

/** A phase's label and ticks at round durations, with grid lines down the rows. */
function axisOf(scale: PhaseScale): string {
  const step = tickStep(scale.spanMs);
  const ticks: string[] = [];
  // The last tick is left out when it would crowd the phase's end (and the next phase's first tick).
  for (let ms = 0; ms <= scale.spanMs && (ms === 0 || ms <= scale.spanMs * 0.9); ms += step) {
    const x = round(scale.x0 + (ms / scale.spanMs) * scale.width);
    ticks.push(`<line class="grid" x1="${x}" x2="${x}" y1="${AXIS_HEIGHT - 4}" y2="100%"/><text class="tick" x="${x}" y="${AXIS_HEIGHT - 6}">${formatDuration(ms)}</text>`);
  }
  return `<text class="phase" x="${round(scale.x0)}" y="9">${escapeHtml(scale.phase)}</text>${ticks.join('')}`;
}

/** A round tick interval that gives 3 to 8 ticks over `spanMs`. */
export function tickStep(spanMs: number): number {
  const candidates = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400].map((s) => s * 1000);
  return candidates.find((c) => spanMs / c <= 6) ?? Math.ceil(spanMs / 6);
}

/**
 * A node's row: its name, then one <path> per status holding all of that status's bars, so that a thousand rows
 * are a few thousand elements, not tens of thousands (bench/fleet-page.ts). Each bar is in `data-bars` too, as
 * "step,phase,status,x,width,startMs,ms" joined by ";", which the page's script reads for its tooltip. A failed or
 * running bar also says what it is in its path's <title>, which a browser shows without a script.
 */
function rowOf(node: FleetNode, bars: Map<string, StepBar[]>, scales: PhaseScale[], y: number, link: boolean): string {
  const name = escapeHtml(node.node);
  const label = `<text class="label" x="0" y="${y + 12}">${name}</text>`;
  const linked = link ? `<a href="/fleet/nodes/${name}">${label}</a>` : label;
  const drawn = scales.flatMap((scale) =>
    (bars.get(scale.phase) ?? []).map((bar) => ({
      bar,
      status: bar.step.status === 'started' ? 'running' : bar.step.status,
      x: round(scale.x0 + (bar.startMs / scale.spanMs) * scale.width),
      // A step of a few milliseconds still shows: at least one unit wide.
      width: round(Math.max(1, ((bar.endMs - bar.startMs) / scale.spanMs) * scale.width)),
    })),
  );
  const statuses = [...new Set(drawn.map((d) => d.status))];
  const paths = statuses.map((status) => {
    const mine = drawn.filter((d) => d.status === status);
    const d = mine.map((b) => `M${b.x} ${y + 3}h${b.width}v${BAR_HEIGHT}h-${b.width}z`).join('');
    const title = status === 'failed' || status === 'running' ? `<title>${escapeHtml(mine.map((b) => barTitle(node, b.bar)).join('\n'))}</title>` : '';
    return `<path class="${status}" d="${d}">${title}</path>`;
  });
  const data = drawn.map((b) => [b.bar.step.step, b.bar.step.phase, b.status, b.x, b.width, Math.round(b.bar.startMs), Math.round(b.bar.endMs - b.bar.startMs)].join(',')).join(';');
  return `<g data-node="${name}" class="${node.state}" data-bars="${escapeHtml(data)}">${linked}${paths.join('')}</g>`;
}

/** What hovering a bar says: "w-1 · boot · kubeadm-join done, 20.0 s, 09:00:01 → 09:00:21 UTC", and the error. */
function barTitle(node: FleetNode, bar: StepBar): string {
  const s = bar.step;
  const took = formatDuration(bar.endMs - bar.startMs);
  const end = Date.parse(s.at);
  const times = s.status === 'started' ? `started ${clock(end)}, running ${took}` : `${clock(end - (bar.endMs - bar.startMs))} → ${clock(end)}, ${took}`;
  return `${node.node} · ${s.phase} · ${s.step} ${s.status === 'started' ? 'running' : s.status}: ${times}${s.error ? `\n${s.error}` : ''}`;
}

/** "09:00:21 UTC" by the node's clock; the day is on the node page. */
function clock(ms: number): string {
  return Number.isFinite(ms) ? `${new Date(ms).toISOString().slice(11, 19)} UTC` : '?';
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
