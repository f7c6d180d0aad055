/**
 * The HTML page `labimg serve` answers GET /fleet with: one self-contained document (inline CSS and SVG, one
 * inline script, no external assets), so it works on an air-gapped admin laptop. Its tables read as they always
 * did without a script; the timeline and aggregates above them are SVG the endpoint draws, the script only keeps
 * the page current (fleet-live.ts).
 *
 * Also home to the few fleet facts the page, `labimg nodes` and /metrics must agree on: how a node's state is
 * named, how the fleet is totalled, and how a duration reads.
 */
import type { FleetNode, FleetView, NodeState } from '../contract/endpoint-api';
import { GPU_MILESTONES, GPU_MILESTONE_LABELS } from '../contract/gpu-timing';
import { filterView, type FleetFilters } from './fleet-aggregates';
import { escapeHtml, formatDuration, htmlDocument, timeElement } from './html';
import { aggregates, filterForm, stateCounts } from './fleet-sections';
import { renderTimeline } from './fleet-timeline';

export type { NodeState };
export { escapeHtml, formatDuration };

/** Every state, as the `status` label of `labimg_nodes` lists them for each pool and role. */
export const NODE_STATES: readonly NodeState[] = ['ready', 'failed', 'in-progress', 'enrolled-no-report', 'departed'];

/**
 * The one rule that names where a node stands (FleetNode.state); the page, the table and /metrics read the
 * state it gave. The latest report wins: a node whose latest report says it left has departed, whatever an earlier
 * step did; a ready node whose re-run then failed needs attention, so "failed" comes before "ready".
 */
export function nodeState(facts: Pick<FleetNode, 'status' | 'ready' | 'departedAt'>): NodeState {
  if (facts.departedAt !== undefined) return 'departed';
  if (facts.status === 'failed') return 'failed';
  if (facts.ready) return 'ready';
  return facts.status === undefined ? 'enrolled-no-report' : 'in-progress';
}

export interface FleetSummary {
  /** Every enrolled node, departed ones included. */
  total: number;
  byState: Record<NodeState, number>;
  /** Per pool, in name order: the nodes that are there (not departed), and those that left. */
  byPool: Array<{ pool: string; nodes: number; departed: number }>;
}

export function summarizeFleet(view: FleetView): FleetSummary {
  const byState: Record<NodeState, number> = { ready: 0, failed: 0, 'in-progress': 0, 'enrolled-no-report': 0, departed: 0 };
  const byPool = new Map<string, { nodes: number; departed: number }>();
  for (const node of view.nodes) {
    byState[node.state] += 1;
    const pool = byPool.get(node.pool) ?? { nodes: 0, departed: 0 };
    pool[node.state === 'departed' ? 'departed' : 'nodes'] += 1;
    byPool.set(node.pool, pool);
  }
  return {
    total: view.nodes.length,
    byState,
    byPool: [...byPool].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([pool, counts]) => ({ pool, ...counts })),
  };
}

/**
 * The one-line totals the page and `labimg nodes` both print, e.g. "5 nodes: 1 ready, 1 failed, 0 in progress,
 * 0 enrolled without a report, 3 departed. Pools: cpu 1, gpu 1 (+3 departed)." A pool's count is of the nodes
 * that are there; in an autoscaling pool the departed ones pile up, so they are counted apart.
 */
export function describeFleetSummary(summary: FleetSummary): string {
  const s = summary.byState;
  const pools = summary.byPool.map((p) => `${p.pool} ${p.nodes}${p.departed > 0 ? ` (+${p.departed} departed)` : ''}`).join(', ');
  return (
    `${summary.total} ${summary.total === 1 ? 'node' : 'nodes'}: ${s.ready} ready, ${s.failed} failed, ` +
    `${s['in-progress']} in progress, ${s['enrolled-no-report']} enrolled without a report, ${s.departed} departed. Pools: ${pools}.`
  );
}

/**
 * The nodes that are there, in the view's order (pool, then name), and apart from them the departed ones, the
 * latest to leave first: what an operator of an autoscaling pool looks for among them is what just left.
 */
export function splitDeparted(nodes: readonly FleetNode[]): { present: FleetNode[]; departed: FleetNode[] } {
  const departed = nodes.filter((n) => n.state === 'departed');
  // A departed node's latest report is the one it left with.
  const leftAt = (n: FleetNode) => latestReportTime(n) ?? 0;
  departed.sort((a, b) => leftAt(b) - leftAt(a) || compareText(a.pool, b.pool) || compareText(a.node, b.node));
  return { present: nodes.filter((n) => n.state !== 'departed'), departed };
}

/**
 * When the node made its latest report, in ms: its own time, but never later than the endpoint received it (a
 * report cannot be made after it arrives), so a clock that runs ahead neither makes a silent node look fresh nor
 * puts it first. Undefined before its first report.
 */
export function latestReportTime(node: Pick<FleetNode, 'lastReportAt' | 'lastReceivedAt'>): number | undefined {
  if (node.lastReportAt === undefined) return undefined;
  const made = Date.parse(node.lastReportAt);
  const received = node.lastReceivedAt === undefined ? Number.NaN : Date.parse(node.lastReceivedAt);
  return Number.isNaN(received) ? made : Math.min(made, received);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Time to GPU in one line, e.g. "driver 41.0 s · runtime 43.5 s · registered 1m 10s · GPU 1m 35s": the
 * milestones the node reached in its latest boot, so a GPU node part way shows how far it got; "" for none.
 */
export function formatTimeToGpu(node: FleetNode): string {
  return (node.timeToGpu ?? []).map((m) => `${GPU_MILESTONE_LABELS[m.step]} ${formatDuration(m.seconds * 1000)}`).join(' · ');
}

/** The clock skew flag, "clock 8h 00m ahead", or "" when the node's clock is not flagged (FleetNode.clockSkewMs). */
export function formatClockSkew(node: FleetNode): string {
  return node.clockSkewMs === undefined ? '' : `clock ${formatDuration(node.clockSkewMs)} ahead`;
}

/** "bake 4m 10s, boot 1m 23s", or "" before any phase has a duration. */
export function formatPhaseTimes(node: FleetNode): string {
  return node.phases.map((p) => `${p.phase} ${formatDuration(p.durationMs)}`).join(', ');
}

export interface FleetPageOptions {
  refreshSeconds: number;
  /** The page's filters (its query string): the nodes they keep are the page's, the others are left out. */
  filters?: FleetFilters;
}

/**
 * The fleet page: the nodes' counts, filters, histograms and slowest steps, their timeline, then today's tables,
 * which are what a browser without scripts or SVG still reads. It reloads itself every `refreshSeconds` without a
 * script, and with one it follows the event stream instead (fleet-live.ts).
 */
export function renderFleetPage(all: FleetView, options: FleetPageOptions): string {
  const filters = options.filters ?? {};
  const view = filterView(all, filters);
  const filtered = view.nodes.length < all.nodes.length;
  const summary = summarizeFleet(view);
  const body =
    all.nodes.length === 0
      ? ['<p class="empty">The fleet is empty: no nodes have enrolled yet.</p>']
      : [
          filterForm(all, filters),
          `<p class="summary">${filtered ? 'Filtered: ' : ''}${escapeHtml(describeFleetSummary(summary))}</p>`,
          stateCounts(summary.byState),
          aggregates(view),
          ...timelineSection(view),
          ...fleetTables(view.nodes),
        ];
  return htmlDocument('labimg fleet', options.refreshSeconds, ['<h1>labimg fleet</h1>', ...body, `<p class="generated">Generated ${timeElement(view.generatedAt)}; this page follows the endpoint's events, or reloads every ${options.refreshSeconds} s.</p>`]);
}

function timelineSection(view: FleetView): string[] {
  const svg = renderTimeline(view);
  if (svg === '') return [];
  const legend = ['running', 'done', 'skipped', 'failed'].map((s) => `<span class="key ${s}">${s}</span>`).join(' ');
  return ['<h2>Timeline</h2>', `<p class="legend">${legend} · each phase on its own scale, shared by every node; hover a bar for its times</p>`, svg];
}

const COLUMNS = ['Node', 'Pool', 'Role', 'GPU', 'Profile', 'Step', 'Last report', 'Time per phase', 'Time to GPU', 'Error'];

/**
 * The nodes that are there, then the departed ones in a table of their own, muted: they stay listed (the page has
 * no script to fold them, and a fold would close at every reload) but below everything that may need attention.
 */
function fleetTables(nodes: FleetNode[]): string[] {
  const { present, departed } = splitDeparted(nodes);
  return [
    ...(present.length > 0 ? nodeTable(present, 'nodes') : []),
    ...(departed.length > 0 ? ['<h2>Departed</h2>', '<p class="note">Powered off on purpose (a scale-in, a shutdown); the latest to leave first. A node that starts again moves back up.</p>', ...nodeTable(departed, 'departed')] : []),
  ];
}

function nodeTable(nodes: FleetNode[], id: 'nodes' | 'departed'): string[] {
  return [
    `<table id="${id}">`,
    `<thead><tr>${COLUMNS.map((c) => `<th>${c}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...nodes.map(nodeRow),
    '</tbody>',
    '</table>',
  ];
}

function nodeRow(node: FleetNode): string {
  const state = node.state;
  const step = node.step === undefined ? '—' : `${node.step} ${node.status ?? ''}`.trim();
  const cells = [
    `<a href="/fleet/nodes/${escapeHtml(node.node)}">${escapeHtml(node.node)}</a>`,
    escapeHtml(node.pool),
    escapeHtml(node.role),
    node.gpu ? 'yes' : 'no',
    escapeHtml(node.profile),
    escapeHtml(step),
    node.lastReportAt === undefined ? '—' : `${timeElement(node.lastReportAt)}${clockSkewNote(node)}`,
    escapeHtml(formatPhaseTimes(node) || '—'),
    timeToGpuCell(node),
    state === 'failed' && node.error !== undefined ? `<pre>${escapeHtml(node.error)}</pre>` : '',
  ];
  return `<tr data-node="${escapeHtml(node.node)}" data-status="${state}" class="${state}">${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
}

/**
 * Each milestone reached as "driver 41.0 s", its full name and exact seconds in a tooltip; a GPU node with none
 * yet shows a dash, a node without a GPU nothing. Plain markup: no script reads or builds it.
 */
function timeToGpuCell(node: FleetNode): string {
  if (!node.gpu) return '';
  const reached = node.timeToGpu ?? [];
  if (reached.length === 0) return '—';
  const titles = new Map<string, string>(GPU_MILESTONES.map((m) => [m.step, m.title]));
  const parts = reached.map((m) => {
    const text = `${GPU_MILESTONE_LABELS[m.step]} ${formatDuration(m.seconds * 1000)}`;
    return `<span data-milestone="${escapeHtml(m.step)}" title="${escapeHtml(`${titles.get(m.step) ?? m.step} ${m.seconds} s after boot`)}">${escapeHtml(text)}</span>`;
  });
  return `<span class="time-to-gpu">${parts.join(' · ')}</span>`;
}

/** The skew flag under a report's time, with the endpoint's receipt time in its tooltip; "" when not flagged. */
function clockSkewNote(node: FleetNode): string {
  const flag = formatClockSkew(node);
  if (flag === '') return '';
  const title = `the node's time of this report is ahead of when the endpoint received it${node.lastReceivedAt ? ` (${node.lastReceivedAt})` : ''}`;
  return `<br><span class="clock-skew" data-clock-skew-ms="${node.clockSkewMs}" title="${escapeHtml(title)}">${escapeHtml(flag)}</span>`;
}

