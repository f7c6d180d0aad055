/**
 * GET /metrics: the endpoint's own counters and the fleet's state in the Prometheus text exposition format
 * 0.0.4, so an existing Prometheus can alert on failed or silent nodes without learning our JSON.
 *
 * The server owns one EndpointCounters and bumps it as it answers; rendering is pure and reads `now` as an
 * argument so ages are testable.
 */
import type { FleetView } from '../contract/endpoint-api';
import { NODE_STATES, nodeState, type NodeState } from './fleet-page';

export interface EndpointCounters {
  /**
   * Answers by `${route} ${status}`, e.g. "POST /v1/enroll 200". The route is its key in the route table
   * (contract/endpoint-routes.ts), which is its pattern ("GET /v1/nodes/:node/join"), not the path, or every
   * node would start its own time series; "unmatched" for a request no route took.
   */
  requests: Map<string, number>;
  /** Completed TLS handshakes: what a burst of new nodes costs the endpoint most. */
  tlsConnections: number;
  enrollments: number;
  reportsStored: number;
  reportsDuplicate: number;
  joinMaterialIssued: number;
  authFailures: number;
  rateLimited: number;
}

export function newCounters(): EndpointCounters {
  return { requests: new Map(), tlsConnections: 0, enrollments: 0, reportsStored: 0, reportsDuplicate: 0, joinMaterialIssued: 0, authFailures: 0, rateLimited: 0 };
}

export function countRequest(c: EndpointCounters, route: string, status: number): void {
  const key = `${route} ${status}`;
  c.requests.set(key, (c.requests.get(key) ?? 0) + 1);
}

type SimpleCounter = Exclude<keyof EndpointCounters, 'requests'>;

/** The plain counters, in the order they are exposed. Names end in _total, as promtool's lint wants. */
const SIMPLE_COUNTERS: Array<{ field: SimpleCounter; name: string; help: string }> = [
  { field: 'tlsConnections', name: 'labimg_endpoint_tls_connections_total', help: 'TLS connections accepted (handshakes completed).' },
  { field: 'enrollments', name: 'labimg_endpoint_enrollments_total', help: 'Nodes enrolled (or re-enrolled) with an enrollment token.' },
  { field: 'reportsStored', name: 'labimg_endpoint_reports_stored_total', help: 'Phase reports stored.' },
  { field: 'reportsDuplicate', name: 'labimg_endpoint_reports_duplicate_total', help: 'Phase reports that were resends of an already stored report.' },
  { field: 'joinMaterialIssued', name: 'labimg_endpoint_join_material_issued_total', help: 'Join material handed to nodes.' },
  { field: 'authFailures', name: 'labimg_endpoint_auth_failures_total', help: 'Requests refused for a missing, unknown, revoked or expired token or credential.' },
  { field: 'rateLimited', name: 'labimg_endpoint_rate_limited_total', help: 'Requests refused by the rate limiter.' },
];

type Labels = Array<[name: string, value: string]>;

interface Family {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  samples: Array<{ labels: Labels; value: number }>;
}

export function renderMetrics(view: FleetView, counters: EndpointCounters, now: Date): string {
  return [requestFamily(counters), ...SIMPLE_COUNTERS.map((c) => simpleFamily(c, counters)), ...fleetFamilies(view, now)].map(renderFamily).join('');
}

function requestFamily(counters: EndpointCounters): Family {
  const samples = [...counters.requests]
    .map(([key, value]) => {
      // The route itself contains a space ("POST /v1/enroll"); the status is what follows the last one.
      const cut = key.lastIndexOf(' ');
      const labels: Labels = cut < 0 ? [['route', key], ['code', '']] : [['route', key.slice(0, cut)], ['code', key.slice(cut + 1)]];
      return { labels, value };
    })
    .sort((a, b) => compareLabels(a.labels, b.labels));
  return { name: 'labimg_endpoint_requests_total', type: 'counter', help: 'HTTP requests answered by the join endpoint, by route and status code.', samples };
}

function simpleFamily(c: (typeof SIMPLE_COUNTERS)[number], counters: EndpointCounters): Family {
  return { name: c.name, type: 'counter', help: c.help, samples: [{ labels: [], value: counters[c.field] }] };
}

function fleetFamilies(view: FleetView, now: Date): Family[] {
  // Every state of every pool and role that has nodes is exposed, zeros included, so an alert on
  // labimg_nodes{status="failed"} > 0 resolves when the node recovers instead of the series vanishing.
  const byGroup = new Map<string, { pool: string; role: string; counts: Record<NodeState, number> }>();
  const gpuByPool = new Map<string, number>();
  const phases: Family['samples'] = [];
  const ages: Family['samples'] = [];
  for (const node of view.nodes) {
    const groupKey = JSON.stringify([node.pool, node.role]);
    const group = byGroup.get(groupKey) ?? { pool: node.pool, role: node.role, counts: { ready: 0, failed: 0, 'in-progress': 0, 'enrolled-no-report': 0 } };
    group.counts[nodeState(node)] += 1;
    byGroup.set(groupKey, group);
    gpuByPool.set(node.pool, (gpuByPool.get(node.pool) ?? 0) + (node.gpu ? 1 : 0));
    for (const p of node.phases) phases.push({ labels: [['node', node.node], ['pool', node.pool], ['phase', p.phase]], value: p.durationMs / 1000 });
    const reportedAt = node.lastReportAt === undefined ? NaN : Date.parse(node.lastReportAt);
    // A node clock ahead of ours would give a negative age; "just now" is the honest reading of that.
    if (!Number.isNaN(reportedAt)) ages.push({ labels: [['node', node.node], ['pool', node.pool]], value: Math.max(0, (now.getTime() - reportedAt) / 1000) });
  }
  const nodes: Family['samples'] = [];
  for (const g of byGroup.values()) for (const state of NODE_STATES) nodes.push({ labels: [['pool', g.pool], ['role', g.role], ['status', state]], value: g.counts[state] });
  const gpu: Family['samples'] = [...gpuByPool].map(([pool, count]) => ({ labels: [['pool', pool]], value: count }));
  return [
    { name: 'labimg_nodes', type: 'gauge', help: 'Enrolled nodes by pool, role and status (ready, failed, in-progress, enrolled-no-report).', samples: sorted(nodes) },
    { name: 'labimg_node_gpu', type: 'gauge', help: 'Enrolled nodes that report a GPU, by pool.', samples: sorted(gpu) },
    { name: 'labimg_node_phase_seconds', type: 'gauge', help: 'Time a node has spent in each phase (bake, boot), from its reports.', samples: sorted(phases) },
    { name: 'labimg_node_last_report_age_seconds', type: 'gauge', help: 'Seconds since the time of the node\'s latest report.', samples: sorted(ages) },
  ];
}

function renderFamily(f: Family): string {
  const lines = [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`];
  for (const s of f.samples) lines.push(`${f.name}${renderLabels(s.labels)} ${formatValue(s.value)}`);
  return lines.join('\n') + '\n';
}

function renderLabels(labels: Labels): string {
  return labels.length === 0 ? '' : `{${labels.map(([name, value]) => `${name}="${escapeLabelValue(value)}"`).join(',')}}`;
}

/** The exposition format escapes exactly these three in label values; anything else goes through as UTF-8. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Stable output: the same fleet always renders the same text, which keeps diffs and tests readable. */
function sorted(samples: Family['samples']): Family['samples'] {
  return [...samples].sort((a, b) => compareLabels(a.labels, b.labels));
}

function compareLabels(a: Labels, b: Labels): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = (a[i] as [string, string])[1];
    const y = (b[i] as [string, string])[1];
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}
