/**
 * The page of one node, GET /fleet/nodes/NODE: its timeline, every report it made in order with its message or
 * error, and what the audit trail recorded of its enrollment and joins. It is as public as /fleet, so it shows no
 * secret: reports carry none, and of an audit event it shows the action, time, source address and reason, never
 * the token id (half of an enrollment token) or anything of join material but whether a certificate key went.
 */
import type { FleetNode, ReportRequest } from '../contract/endpoint-api';
import { escapeHtml, formatDuration, htmlDocument, timeElement } from './html';
import { renderTimeline } from './fleet-timeline';
import { REPORT_BYTES_KEPT_PER_NODE, REPORTS_KEPT_PER_NODE } from './node-reports';
import type { AuditEvent } from './records';

/** The audit actions that concern one node's enrollment and joining, as the node page lists them. */
const NODE_ACTIONS: ReadonlySet<AuditEvent['action']> = new Set<AuditEvent['action']>([
  'node-enrolled',
  'enrollment-refused',
  'credential-rotated',
  'join-material-issued',
  'join-material-published',
  'join-material-refused',
  'node-revoked',
  'node-forgotten',
]);

/** The node's own events of the trail, oldest first. */
export function nodeAuditEvents(trail: readonly AuditEvent[], node: string): AuditEvent[] {
  return trail.filter((e) => e.node === node && NODE_ACTIONS.has(e.action));
}

export interface NodePageInput {
  node: FleetNode;
  generatedAt: string;
  reports: ReadonlyArray<ReportRequest & { receivedAt: string }>;
  /** How many older reports the node's history dropped (endpoint/node-reports.ts); 0 when none. */
  droppedReports: number;
  audit: readonly AuditEvent[];
  refreshSeconds: number;
}

export function renderNodePage(input: NodePageInput): string {
  const { node } = input;
  const name = escapeHtml(node.node);
  const facts = `pool ${node.pool} · ${node.role} · profile ${node.profile} · ${node.gpu ? 'GPU' : 'no GPU'} · ${node.state} · enrolled `;
  const timeline = renderTimeline({ generatedAt: input.generatedAt, nodes: [node] }, { linkNodes: false });
  return htmlDocument(`labimg node ${node.node}`, input.refreshSeconds, [
    '<p><a href="/fleet">← fleet</a></p>',
    `<h1>Node ${name}</h1>`,
    `<p class="summary" data-state="${node.state}">${escapeHtml(facts)}${timeElement(node.enrolledAt)}</p>`,
    ...(timeline === '' ? [] : ['<h2>Timeline</h2>', timeline]),
    `<h2>Reports</h2>`,
    ...(input.droppedReports > 0 ? [`<p class="note">${input.droppedReports} older ${input.droppedReports === 1 ? 'report is' : 'reports are'} no longer kept: a node keeps its latest ${REPORTS_KEPT_PER_NODE} reports, ${REPORT_BYTES_KEPT_PER_NODE / 1024} KiB at most.</p>`] : []),
    reportsTable(input.reports),
    '<h2>Enrollment and joins</h2>',
    auditTable(input.audit),
    `<p class="generated">Generated ${timeElement(input.generatedAt)}.</p>`,
  ]);
}

function reportsTable(reports: NodePageInput['reports']): string {
  if (reports.length === 0) return '<p class="note">No reports yet.</p>';
  const rows = reports.map((r) => {
    const cells = [
      timeElement(r.at),
      escapeHtml(r.phase),
      escapeHtml(r.step),
      escapeHtml(r.status),
      r.durationMs === undefined ? '' : formatDuration(r.durationMs),
      r.sinceBootMs === undefined ? '' : formatDuration(r.sinceBootMs),
      timeElement(r.receivedAt),
      r.error === undefined ? '' : `<pre>${escapeHtml(r.error)}</pre>`,
    ];
    return `<tr class="${r.status === 'failed' ? 'failed' : ''}" data-step="${escapeHtml(r.step)}" data-status="${escapeHtml(r.status)}">${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  });
  const head = ['Time (node)', 'Phase', 'Step', 'Status', 'Took', 'Since boot', 'Received', 'Message'];
  return `<table id="reports"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function auditTable(events: readonly AuditEvent[]): string {
  if (events.length === 0) return '<p class="note">No enrollment or join events in the audit trail.</p>';
  const rows = events.map((e) => {
    const detail = [
      e.certificateKey ? 'with the certificate key' : '',
      e.instance ? `vouched for by ${e.instance}` : '',
      e.reason ?? '',
    ].filter((d) => d !== '');
    return `<tr data-action="${escapeHtml(e.action)}"><td>${timeElement(e.at)}</td><td>${escapeHtml(e.action)}</td><td>${escapeHtml(e.source ?? '')}</td><td>${escapeHtml(detail.join('; '))}</td></tr>`;
  });
  return `<table id="audit"><thead><tr><th>Time</th><th>Event</th><th>From</th><th>Detail</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}
