/**
 * The HTML page `labimg serve` answers GET /fleet with: one self-contained document (inline CSS, no scripts,
 * no external assets) that reloads itself, so it works on an air-gapped admin laptop and in a plain browser tab.
 *
 * Also home to the few fleet facts the page, `labimg nodes` and /metrics must agree on: how a node's state is
 * named, how the fleet is totalled, and how a duration reads.
 */
import type { FleetNode, FleetView, NodeState } from '../contract/endpoint-api';
import { GPU_MILESTONES, GPU_MILESTONE_LABELS } from '../contract/gpu-timing';

export type { NodeState };

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

/** "850 ms", "12.3 s", "1m 23s", "2h 05m": precise where a step is quick, coarse where a phase is long. */
export function formatDuration(ms: number): string {
  // Durations come from the nodes' reports; a negative or broken one should not break the page.
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (Math.round(ms) < 1000) return `${Math.round(ms)} ms`;
  const tenths = Math.round(ms / 100);
  if (tenths < 600) return `${(tenths / 10).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${pad2(seconds % 60)}s`;
  const minutes = Math.round(ms / 60_000);
  return `${Math.floor(minutes / 60)}h ${pad2(minutes % 60)}m`;
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

export function renderFleetPage(view: FleetView, options: { refreshSeconds: number }): string {
  const refresh = options.refreshSeconds;
  // A zero or fractional refresh would have the browser hammer the endpoint or ignore the tag.
  if (!Number.isInteger(refresh) || refresh < 1) throw new RangeError(`refreshSeconds must be a whole number of seconds, at least 1 (got ${refresh})`);
  const body =
    view.nodes.length === 0
      ? ['<p class="empty">The fleet is empty: no nodes have enrolled yet.</p>']
      : [`<p class="summary">${escapeHtml(describeFleetSummary(summarizeFleet(view)))}</p>`, ...fleetTables(view.nodes)];
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="refresh" content="${refresh}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>labimg fleet</title>',
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<h1>labimg fleet</h1>',
    ...body,
    `<p class="generated">Generated ${timeElement(view.generatedAt)}; this page reloads every ${refresh} s.</p>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
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
    escapeHtml(node.node),
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

/** An RFC 3339 time as "2024-05-01 10:00:00 UTC"; a value that does not parse is shown as it came. */
function timeElement(iso: string): string {
  const ms = Date.parse(iso);
  const shown = Number.isNaN(ms) ? iso : new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(shown)}</time>`;
}

/** Node names, pools and error messages arrive over the network; everything from the view goes through here. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] as string);
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

const STYLE = [
  'body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}',
  'table{border-collapse:collapse}',
  'th,td{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}',
  'tr.ready td{background:#eefbea}',
  'tr.failed td{background:#fdecea}',
  'tr.departed td{color:#888}',
  '.note{color:#666}',
  '.clock-skew{color:#a04000;font-size:.9em}',
  'pre{margin:0;white-space:pre-wrap;max-width:40rem}',
  '.generated{color:#666;font-size:.9em}',
].join('');
