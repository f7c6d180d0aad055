/**
 * The HTML page `labimg serve` answers GET /fleet with: one self-contained document (inline CSS, no scripts,
 * no external assets) that reloads itself, so it works on an air-gapped admin laptop and in a plain browser tab.
 *
 * Also home to the few fleet facts the page, `labimg nodes` and /metrics must agree on: how a node's state is
 * named, how the fleet is totalled, and how a duration reads.
 */
import type { FleetNode, FleetView } from '../contract/endpoint-api';
import { GPU_MILESTONES, GPU_MILESTONE_LABELS } from '../contract/gpu-timing';

/** Where a node stands, as the page, the table and the `status` label of `labimg_nodes` all name it. */
export type NodeState = 'ready' | 'failed' | 'in-progress' | 'enrolled-no-report';

export const NODE_STATES: readonly NodeState[] = ['ready', 'failed', 'in-progress', 'enrolled-no-report'];

export function nodeState(node: FleetNode): NodeState {
  // The latest report wins: a ready node whose re-run then failed needs attention, so "failed" comes first.
  if (node.status === 'failed') return 'failed';
  if (node.ready) return 'ready';
  return node.status === undefined ? 'enrolled-no-report' : 'in-progress';
}

export interface FleetSummary {
  total: number;
  byState: Record<NodeState, number>;
  /** Node count per pool, pools in name order. */
  byPool: Array<{ pool: string; nodes: number }>;
}

export function summarizeFleet(view: FleetView): FleetSummary {
  const byState: Record<NodeState, number> = { ready: 0, failed: 0, 'in-progress': 0, 'enrolled-no-report': 0 };
  const byPool = new Map<string, number>();
  for (const node of view.nodes) {
    byState[nodeState(node)] += 1;
    byPool.set(node.pool, (byPool.get(node.pool) ?? 0) + 1);
  }
  return {
    total: view.nodes.length,
    byState,
    byPool: [...byPool].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([pool, nodes]) => ({ pool, nodes })),
  };
}

/** The one-line totals the page and `labimg nodes` both print, e.g. "3 nodes: 1 ready, … Pools: cpu 1, gpu 2." */
export function describeFleetSummary(summary: FleetSummary): string {
  const s = summary.byState;
  const pools = summary.byPool.map((p) => `${p.pool} ${p.nodes}`).join(', ');
  return (
    `${summary.total} ${summary.total === 1 ? 'node' : 'nodes'}: ${s.ready} ready, ${s.failed} failed, ` +
    `${s['in-progress']} in progress, ${s['enrolled-no-report']} enrolled without a report. Pools: ${pools}.`
  );
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
      : [`<p class="summary">${escapeHtml(describeFleetSummary(summarizeFleet(view)))}</p>`, ...nodeTable(view.nodes)];
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

function nodeTable(nodes: FleetNode[]): string[] {
  return [
    '<table>',
    `<thead><tr>${COLUMNS.map((c) => `<th>${c}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...nodes.map(nodeRow),
    '</tbody>',
    '</table>',
  ];
}

function nodeRow(node: FleetNode): string {
  const state = nodeState(node);
  const step = node.step === undefined ? '—' : `${node.step} ${node.status ?? ''}`.trim();
  const cells = [
    escapeHtml(node.node),
    escapeHtml(node.pool),
    escapeHtml(node.role),
    node.gpu ? 'yes' : 'no',
    escapeHtml(node.profile),
    escapeHtml(step),
    node.lastReportAt === undefined ? '—' : timeElement(node.lastReportAt),
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
  'pre{margin:0;white-space:pre-wrap;max-width:40rem}',
  '.generated{color:#666;font-size:.9em}',
].join('');
