/**
 * A node's report history: every report it sent, as the endpoint stored it, in one store entry per node
 * (KEYS.nodeReports). One entry rather than one per report, because under a burst of new nodes each created file
 * and folder is file-system work that the endpoint's core pays for: a folder per node and a file per report made
 * two of the four files each new node created (bench/join-burst.ts; the one entry saved about 0.3 ms of CPU per
 * node, measured 2026-12-06), and the entries of all nodes share one folder, whose fsyncs a burst's writes share.
 *
 * The history is bounded, which one file per report never was: a node that reboots every day would have kept
 * every boot's reports for as long as it lived. It keeps the newest REPORTS_KEPT_PER_NODE reports and at most
 * REPORT_BYTES_KEPT_PER_NODE of them, and counts what it dropped, so the node page can say so.
 */
import type { ReportRequest } from '../contract/endpoint-api';

/** A report as stored: what the node sent, and when the endpoint received it, by the endpoint's clock. */
export type StoredReport = ReportRequest & { receivedAt: string };

export interface ReportHistory {
  /** Oldest first, by arrival at the endpoint. */
  reports: StoredReport[];
  /** How many older reports were dropped to keep within the bounds; 0 when none were. */
  dropped: number;
}

/**
 * An agent reports each step it runs twice, as it starts and as it ends (agent/runner.ts), a few dozen reports a
 * boot at a few hundred bytes each: 256 keep a node's last several boots.
 */
export const REPORTS_KEPT_PER_NODE = 256;

/**
 * A report's error may hold 8,192 characters (endpoint/schemas.ts), so 256 failed reports could come near 3 MB,
 * and etcd refuses a request over 1.5 MiB unless its operator raised --max-request-bytes
 * (https://etcd.io/docs/v3.6/dev-guide/limit/, read 2026-12-06). Half a MiB keeps each entry well under that, and
 * rewriting it on a report stays cheap.
 */
export const REPORT_BYTES_KEPT_PER_NODE = 512 * 1024;

/** The history an entry holds; an absent entry holds none. */
export function parseReportHistory(value: string | undefined): ReportHistory {
  if (value === undefined) return { reports: [], dropped: 0 };
  const parsed = JSON.parse(value) as Partial<ReportHistory>;
  return { reports: parsed.reports ?? [], dropped: parsed.dropped ?? 0 };
}

export function holdsReport(history: ReportHistory, id: string): boolean {
  return history.reports.some((r) => r.id === id);
}

/**
 * The entry with `report` added after the others, the oldest dropped beyond the bounds; undefined when it holds a
 * report of that id already (a resend). The newest report is always kept: one report is far below the byte bound.
 */
export function withReport(value: string | undefined, report: StoredReport): string | undefined {
  const history = parseReportHistory(value);
  if (holdsReport(history, report.id)) return undefined;
  const reports = [...history.reports, report];
  let dropped = history.dropped;
  const overCount = reports.length - REPORTS_KEPT_PER_NODE;
  if (overCount > 0) dropped += reports.splice(0, overCount).length;
  let text = serialise(reports, dropped);
  if (Buffer.byteLength(text) > REPORT_BYTES_KEPT_PER_NODE) {
    // Each report's share of the entry: its JSON and a comma.
    let excess = Buffer.byteLength(text) - REPORT_BYTES_KEPT_PER_NODE;
    let drop = 0;
    while (excess > 0 && drop < reports.length - 1) excess -= Buffer.byteLength(JSON.stringify(reports[drop++])) + 1;
    dropped += reports.splice(0, drop).length;
    text = serialise(reports, dropped);
  }
  return text;
}

function serialise(reports: StoredReport[], dropped: number): string {
  return JSON.stringify(dropped > 0 ? { reports, dropped } : { reports });
}

/**
 * The reports a data directory kept one per entry before the history (KEYS.legacyReports), joined with the
 * history; a report in both counts once. The node's order, by its clock, arrival breaking ties.
 */
export function joinedReports(history: ReportHistory, legacy: readonly StoredReport[]): StoredReport[] {
  const held = new Set(history.reports.map((r) => r.id));
  const reports = [...legacy.filter((r) => !held.has(r.id)), ...history.reports];
  return reports.sort((a, b) => a.at.localeCompare(b.at) || a.receivedAt.localeCompare(b.receivedAt));
}
