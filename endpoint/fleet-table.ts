/**
 * The text `labimg nodes` prints: one aligned line per node, a header, and the fleet's totals, sized for a
 * terminal. Pure: the command fetches the FleetView and the time, this only lays them out.
 */
import type { FleetNode, FleetView } from '../contract/endpoint-api';
import { describeFleetSummary, formatClockSkew, formatPhaseTimes, latestReportTime, formatTimeToGpu, splitDeparted, summarizeFleet } from './fleet-page';

const HEADER = ['NODE', 'POOL', 'ROLE', 'GPU', 'PHASE/STEP', 'STATUS', 'LAST-REPORT', 'TIME', 'TIME-TO-GPU', 'ERROR'];

/** Long enough to recognise the failure; the full message is on the fleet page and in the node's reports. */
export const ERROR_WIDTH = 60;

export interface FleetTableOptions {
  /**
   * List the departed nodes too, after the others, the latest to leave first. Off by default: in an autoscaling
   * pool they pile up and would push the nodes that are there off the screen; the totals count them either way.
   */
  departed?: boolean;
}

export function formatFleetTable(view: FleetView, now: Date, options: FleetTableOptions = {}): string {
  if (view.nodes.length === 0) return 'no nodes have enrolled yet\n';
  const { present, departed } = splitDeparted(view.nodes);
  const listed = options.departed ? [...present, ...departed] : present;
  const hidden = listed.length < view.nodes.length ? [`${departed.length} departed ${departed.length === 1 ? 'node is' : 'nodes are'} not listed; \`labimg nodes --departed\` lists them.`] : [];
  const summary = describeFleetSummary(summarizeFleet(view));
  if (listed.length === 0) return ['every enrolled node has departed', '', summary, ...hidden, ''].join('\n');
  const rows = [HEADER, ...listed.map((node) => nodeCells(node, now))];
  const widths = HEADER.map((_, column) => Math.max(...rows.map((row) => width(row[column] as string))));
  const lines = rows.map((row) => row.map((cell, column) => cell + ' '.repeat((widths[column] as number) - width(cell))).join('  ').trimEnd());
  return [...lines, '', summary, ...hidden, ''].join('\n');
}

function nodeCells(node: FleetNode, now: Date): string[] {
  const state = node.state;
  return [
    node.node,
    node.pool,
    node.role,
    node.gpu ? 'yes' : 'no',
    node.step === undefined ? '-' : `${node.step} ${node.status ?? ''}`.trim(),
    state,
    // A departed node's latest report is the one it left with: this is how long ago it left.
    lastReportCell(node, now),
    formatPhaseTimes(node) || '-',
    // As on the fleet page: nothing for a node without a GPU, a dash for one that has reached no milestone yet.
    node.gpu ? formatTimeToGpu(node) || '-' : '',
    state === 'failed' && node.error !== undefined ? firstLine(node.error, ERROR_WIDTH) : '',
  ].map(terminalSafe);
}

/** How long ago the node made its latest report (latestReportTime), and the clock skew flag when there is one. */
function lastReportCell(node: FleetNode, now: Date): string {
  const made = latestReportTime(node);
  if (made === undefined) return '-';
  const skew = formatClockSkew(node);
  return `${formatAge(now.getTime() - made)}${skew ? ` (${skew})` : ''}`;
}

/** "12s ago", "5m ago", "3h ago", "2d ago": how stale a node's news is, at a glance. */
export function formatAge(ms: number): string {
  if (Number.isNaN(ms)) return '?';
  // A node whose clock runs ahead of ours reports "from the future"; to the reader that is simply now.
  const seconds = Math.floor(Math.max(0, ms) / 1000);
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

/** The first line of `text`, cut to `max` characters with "…" when it had to be shortened. */
export function firstLine(text: string, max: number): string {
  const chars = Array.from(text.split(/\r\n|\r|\n/)[0] as string);
  return chars.length <= max ? chars.join('') : chars.slice(0, max - 1).join('') + '…';
}

/**
 * Error messages and names come from the network. Control characters (escape sequences that could recolour or
 * rewrite the terminal) and bidi overrides (which could make one name read as another) become "?".
 */
function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '?');
}

/** Code points, not UTF-16 units, so a character outside the BMP counts once, as the terminal draws it. */
function width(text: string): number {
  return Array.from(text).length;
}
