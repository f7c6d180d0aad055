/**
 * GET /metrics: the endpoint's own counters and the fleet's state in the Prometheus text exposition format
 * 0.0.4, so an existing Prometheus can alert on failed or silent nodes without learning our JSON.
 *
 * The server owns one EndpointCounters and bumps it as it answers; rendering is pure and reads `now` as an
 * argument so ages are testable.
 */
import type { FleetView } from '../contract/endpoint-api';
import { GPU_MILESTONES, type GpuMilestoneStep } from '../contract/gpu-timing';
import { latestReportTime, NODE_STATES, type NodeState } from './fleet-page';

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
  connectionsRefused: number;
}

export function newCounters(): EndpointCounters {
  return { requests: new Map(), tlsConnections: 0, enrollments: 0, reportsStored: 0, reportsDuplicate: 0, joinMaterialIssued: 0, authFailures: 0, rateLimited: 0, connectionsRefused: 0 };
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
  { field: 'connectionsRefused', name: 'labimg_endpoint_connections_refused_total', help: 'Connections closed at once for a connection cap (in all, or per address).' },
];

type Labels = Array<[name: string, value: string]>;

interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  help: string;
  /** `suffix` follows the family's name: a histogram's _bucket, _sum and _count. */
  samples: Array<{ labels: Labels; value: number; suffix?: string }>;
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
  const skews: Family['samples'] = [];
  for (const node of view.nodes) {
    const groupKey = JSON.stringify([node.pool, node.role]);
    const group = byGroup.get(groupKey) ?? { pool: node.pool, role: node.role, counts: { ready: 0, failed: 0, 'in-progress': 0, 'enrolled-no-report': 0, departed: 0 } };
    group.counts[node.state] += 1;
    byGroup.set(groupKey, group);
    gpuByPool.set(node.pool, (gpuByPool.get(node.pool) ?? 0) + (node.gpu ? 1 : 0));
    for (const p of node.phases) phases.push({ labels: [['node', node.node], ['pool', node.pool], ['phase', p.phase]], value: p.durationMs / 1000 });
    // By the node's time, but never later than the endpoint received it (latestReportTime): a clock hours ahead must
    // not keep a silent node looking fresh. A departed node said its last word on purpose: it is not silent, and an
    // alert on a growing age must not fire for it.
    const reportedAt = latestReportTime(node) ?? Number.NaN;
    if (!Number.isNaN(reportedAt) && node.state !== 'departed') ages.push({ labels: [['node', node.node], ['pool', node.pool]], value: Math.max(0, (now.getTime() - reportedAt) / 1000) });
    if (node.clockSkewMs !== undefined) skews.push({ labels: [['node', node.node], ['pool', node.pool]], value: node.clockSkewMs / 1000 });
  }
  const nodes: Family['samples'] = [];
  for (const g of byGroup.values()) for (const state of NODE_STATES) nodes.push({ labels: [['pool', g.pool], ['role', g.role], ['status', state]], value: g.counts[state] });
  const gpu: Family['samples'] = [...gpuByPool].map(([pool, count]) => ({ labels: [['pool', pool]], value: count }));
  return [
    { name: 'labimg_nodes', type: 'gauge', help: 'Enrolled nodes by pool, role and status (ready, failed, in-progress, enrolled-no-report, departed).', samples: sorted(nodes) },
    { name: 'labimg_node_gpu', type: 'gauge', help: 'Enrolled nodes that report a GPU, by pool.', samples: sorted(gpu) },
    { name: 'labimg_node_phase_seconds', type: 'gauge', help: 'Time a node has spent in each phase (bake, boot), from its reports.', samples: sorted(phases) },
    ...timeToGpuFamilies(view),
    { name: 'labimg_node_last_report_age_seconds', type: 'gauge', help: 'Seconds since the time of the node\'s latest report, for every node that has not departed.', samples: sorted(ages) },
    {
      name: 'labimg_node_clock_skew_seconds',
      type: 'gauge',
      help: 'How far the time of the node\'s latest report was ahead of when the endpoint received it, for the nodes whose clock runs more than 5 minutes ahead.',
      samples: sorted(skews),
    },
  ];
}

/**
 * Time to GPU, one histogram per milestone, named after kubelet's own node startup figures
 * (kubelet_node_startup_pre_kubelet_duration_seconds, _pre_registration_, _registration_, _post_registration_,
 * kubelet_node_startup_duration_seconds: kubernetes pkg/kubelet/metrics/metrics.go at 0028b26b5f,
 * NodeStartup*Key, read 2026-12-06). Kubelet's are gauges, one node's own value; the endpoint sees the fleet, so each of ours is a
 * histogram over the nodes of a pool and role, one observation per node that reached the milestone in its
 * latest boot. A pool and role's series start with its first observation, as a labelled histogram's do in a
 * Prometheus client; the pool's GPU nodes are counted by labimg_node_gpu, so the ones without a GPU yet are that
 * minus the gpu_allocatable count.
 */
function timeToGpuFamilies(view: FleetView): Family[] {
  const groups = new Map<string, { pool: string; role: string; seconds: Map<GpuMilestoneStep, number[]> }>();
  for (const node of view.nodes) {
    if (node.timeToGpu === undefined) continue;
    const key = JSON.stringify([node.pool, node.role]);
    const group = groups.get(key) ?? { pool: node.pool, role: node.role, seconds: new Map() };
    groups.set(key, group);
    for (const m of node.timeToGpu) group.seconds.set(m.step, [...(group.seconds.get(m.step) ?? []), m.seconds]);
  }
  const ordered = [...groups.values()].sort((a, b) => compareLabels([['pool', a.pool], ['role', a.role]], [['pool', b.pool], ['role', b.role]]));
  return GPU_MILESTONES.map((milestone) => ({
    name: `labimg_node_startup_${milestone.metric}_duration_seconds`,
    type: 'histogram' as const,
    help: `Seconds from boot to ${milestone.title} (the ${milestone.step} step done or skipped), per GPU node in its latest boot.`,
    samples: ordered.flatMap((g) => {
      const observations = g.seconds.get(milestone.step);
      return observations ? histogramSamples([['pool', g.pool], ['role', g.role]], observations) : [];
    }),
  }));
}

/**
 * Boot-time buckets. The time runs from the kernel's start (/proc/uptime), so firmware is not in it: systemd
 * reaches our units within seconds, a cloud GPU VM loads a prebuilt driver in tens of seconds, and one that
 * builds it with DKMS on first boot, or waits on a slow image pull before the device plugin runs, takes
 * minutes. Past 20 minutes something is wrong, and +Inf holds it. Hand-picked round numbers, closer together
 * where most nodes land, as kubelet picks its podStartupDurationBuckets (same file as above).
 */
export const TIME_TO_GPU_BUCKETS = [5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200] as const;

function histogramSamples(labels: Labels, observations: number[]): Family['samples'] {
  const buckets = [...TIME_TO_GPU_BUCKETS.map(String), '+Inf'].map((le, i) => ({
    labels: [...labels, ['le', le]] as Labels,
    suffix: '_bucket',
    value: observations.filter((seconds) => i >= TIME_TO_GPU_BUCKETS.length || seconds <= (TIME_TO_GPU_BUCKETS[i] as number)).length,
  }));
  return [
    ...buckets,
    // Summed in whole milliseconds, as the nodes measured them, so 41.2 + 95.1 reads 136.3 and not 136.29999999999998.
    { labels, suffix: '_sum', value: observations.reduce((sum, seconds) => sum + Math.round(seconds * 1000), 0) / 1000 },
    { labels, suffix: '_count', value: observations.length },
  ];
}

function renderFamily(f: Family): string {
  const lines = [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`];
  for (const s of f.samples) lines.push(`${f.name}${s.suffix ?? ''}${renderLabels(s.labels)} ${formatValue(s.value)}`);
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
