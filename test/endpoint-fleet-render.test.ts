import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { FleetNode, FleetView } from '../contract/endpoint-api';
import { formatDuration, renderFleetPage } from '../endpoint/fleet-page';
import { firstLine, formatAge, formatFleetTable } from '../endpoint/fleet-table';
import { countRequest, newCounters, renderMetrics, type EndpointCounters } from '../endpoint/metrics';

// ── a small fleet: one ready, one in progress, one failed with a hostile error, one that never reported ──────

const NOW = new Date('2024-05-01T10:00:00.000Z');
const HOSTILE_ERROR = `nvidia-smi failed: <script>alert(1)</script> "'&\nsecond line`;

function node(overrides: Partial<FleetNode> & Pick<FleetNode, 'node' | 'pool' | 'state'>): FleetNode {
  return { role: 'worker', profile: 'ubuntu-24.04', gpu: false, enrolledAt: '2024-05-01T09:00:00.000Z', phases: [], ready: false, ...overrides };
}

function sampleView(): FleetView {
  return {
    generatedAt: NOW.toISOString(),
    nodes: [
      node({
        node: 'cp-1', pool: 'cpu', role: 'control-plane', step: 'complete', status: 'done', lastReportAt: '2024-05-01T09:59:48.000Z',
        phases: [{ phase: 'bake', durationMs: 250_000 }, { phase: 'boot', durationMs: 83_000 }], ready: true, state: 'ready',
      }),
      node({ node: 'worker-1', pool: 'cpu', step: 'kubeadm-join', status: 'started', lastReportAt: '2024-05-01T09:55:00.000Z', phases: [{ phase: 'boot', durationMs: 12_340 }], state: 'in-progress' }),
      node({
        node: 'gpu-1', pool: 'gpu', profile: 'ubuntu-24.04-nvidia', gpu: true, step: 'gpu-driver', status: 'failed', lastReportAt: '2024-05-01T07:30:00.000Z',
        phases: [{ phase: 'bake', durationMs: 7_500_000 }, { phase: 'boot', durationMs: 850 }], error: HOSTILE_ERROR, state: 'failed',
      }),
      node({ node: 'gpu-2', pool: 'gpu', profile: 'ubuntu-24.04-nvidia', gpu: true, state: 'enrolled-no-report' }),
    ],
  };
}

const EMPTY: FleetView = { generatedAt: NOW.toISOString(), nodes: [] };

function sampleCounters(): EndpointCounters {
  const c = newCounters();
  countRequest(c, 'POST /v1/enroll', 200);
  countRequest(c, 'POST /v1/enroll', 401);
  countRequest(c, 'POST /v1/enroll', 200);
  countRequest(c, 'POST /v1/nodes/NODE/reports', 200);
  Object.assign(c, { tlsConnections: 7, enrollments: 2, reportsStored: 5, reportsDuplicate: 1, joinMaterialIssued: 1, authFailures: 1, rateLimited: 0 });
  return c;
}

// ── durations and ages ──────────────────────────────────────────────────────────────────────────────────────

test('formatDuration: milliseconds, tenths of seconds, minutes and seconds, hours and minutes', (t) => {
  const cases: Array<[number, string]> = [
    [0, '0 ms'],
    [850, '850 ms'],
    [999.4, '999 ms'],
    [999.6, '1.0 s'], // rounds up into the next unit instead of printing "1000 ms"
    [12_345, '12.3 s'],
    [59_949, '59.9 s'],
    [59_960, '1m 00s'],
    [83_000, '1m 23s'],
    [3_599_499, '59m 59s'],
    [3_599_500, '1h 00m'],
    [7_500_000, '2h 05m'],
    [-1, '?'],
    [Number.NaN, '?'],
  ];
  t.deepEqual(cases.map(([ms]) => formatDuration(ms)), cases.map(([, text]) => text));
});

test('formatAge: whole seconds, minutes, hours and days; a report from the future reads as now', (t) => {
  const cases: Array<[number, string]> = [
    [0, '0s ago'],
    [12_900, '12s ago'],
    [59_999, '59s ago'],
    [60_000, '1m ago'],
    [300_000, '5m ago'],
    [9_000_000, '2h ago'],
    [3 * 86_400_000 + 5, '3d ago'],
    [-5_000, '0s ago'],
    [Number.NaN, '?'],
  ];
  t.deepEqual(cases.map(([ms]) => formatAge(ms)), cases.map(([, text]) => text));
});

// ── the HTML page ───────────────────────────────────────────────────────────────────────────────────────────

test('fleet page: refreshes itself, summarises the fleet and has one row per node with its state', (t) => {
  const page = renderFleetPage(sampleView(), { refreshSeconds: 30 });
  t.true(page.startsWith('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'));
  // Without a script the page reloads itself; with one, the script follows the event stream instead.
  t.regex(page, /<head>[\s\S]*\n<noscript><meta http-equiv="refresh" content="30"><\/noscript>\n[\s\S]*<\/head>/);
  t.regex(page, /<\/main>\n<script>\(function\(\)\{\nvar refresh=30\*1000,[\s\S]*?<\/script>\n<\/body>\n<\/html>\n$/);
  t.true(page.includes('\n<p class="summary">4 nodes: 1 ready, 1 failed, 1 in progress, 1 enrolled without a report, 0 departed. Pools: cpu 2, gpu 2.</p>\n'));
  const rows = [...page.matchAll(/<tr data-node="([^"]*)" data-status="([^"]*)"/g)].map((m) => `${m[1]} ${m[2]}`);
  t.deepEqual(rows, ['cp-1 ready', 'worker-1 in-progress', 'gpu-1 failed', 'gpu-2 enrolled-no-report']);
  t.true(
    page.includes(
      '<tr data-node="cp-1" data-status="ready" class="ready"><td><a href="/fleet/nodes/cp-1">cp-1</a></td><td>cpu</td><td>control-plane</td><td>no</td><td>ubuntu-24.04</td>' +
        '<td>complete done</td><td><time datetime="2024-05-01T09:59:48.000Z">2024-05-01 09:59:48 UTC</time></td><td>bake 4m 10s, boot 1m 23s</td><td></td><td></td></tr>\n',
    ),
  );
  t.true(
    page.includes(
      '<tr data-node="gpu-2" data-status="enrolled-no-report" class="enrolled-no-report"><td><a href="/fleet/nodes/gpu-2">gpu-2</a></td><td>gpu</td><td>worker</td><td>yes</td>' +
        '<td>ubuntu-24.04-nvidia</td><td>—</td><td>—</td><td>—</td><td>—</td><td></td></tr>\n',
    ),
  );
});

test('fleet page: an error from the network is shown whole but escaped, never as markup', (t) => {
  const page = renderFleetPage(sampleView(), { refreshSeconds: 30 });
  t.true(page.includes('<td>bake 2h 05m, boot 850 ms</td><td>—</td><td><pre>nvidia-smi failed: &lt;script&gt;alert(1)&lt;/script&gt; &quot;&#39;&amp;\nsecond line</pre></td></tr>'));
  // The page's one script is its own, after the markup; the error's is text.
  t.is(page.match(/<script/g)?.length, 1);
  t.regex(page, /<\/main>\n<script>\(function\(\)\{/);
  t.false(page.includes(`"'&`));
});

test('fleet page: a hostile node name cannot leave its attribute or cell', (t) => {
  const view: FleetView = { generatedAt: NOW.toISOString(), nodes: [node({ node: `x"><img src=x onerror=alert(1)>`, pool: `p'&`, state: 'enrolled-no-report' })] };
  const page = renderFleetPage(view, { refreshSeconds: 5 });
  t.true(
    page.includes(
      '<tr data-node="x&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" data-status="enrolled-no-report" class="enrolled-no-report">' +
        '<td><a href="/fleet/nodes/x&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">x&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</a></td><td>p&#39;&amp;</td>',
    ),
  );
  t.false(page.includes('<img'));
  t.true(page.includes('Pools: p&#39;&amp; 1.'));
});

test('fleet page: self-contained: one inline script that its policy allows alone, links only to its own pages, no external assets', (t) => {
  const page = renderFleetPage(sampleView(), { refreshSeconds: 30 });
  t.deepEqual(page.match(/<link|<img|<iframe|\ssrc=|url\(|@import/gi), null);
  t.deepEqual([...new Set([...page.matchAll(/\shref="([^"]*)"/g)].map((m) => (m[1] as string).replace(/[^/]+$/, '')))], ['/fleet/nodes/']);
  const script = /<script>([\s\S]*?)<\/script>/.exec(page)?.[1] ?? '';
  const hash = createHash('sha256').update(script).digest('base64');
  t.true(page.includes(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'sha256-${hash}'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; base-uri 'none'">`));
});

test('fleet page: an empty fleet says so instead of showing an empty table', (t) => {
  const page = renderFleetPage(EMPTY, { refreshSeconds: 10 });
  t.true(page.includes('\n<h1>labimg fleet</h1>\n<p class="empty">The fleet is empty: no nodes have enrolled yet.</p>\n<p class="generated">'));
  t.false(page.includes('<table'));
  t.true(page.includes('<meta http-equiv="refresh" content="10">'));
});

test('fleet page: a refresh interval that is not a whole number of seconds, at least 1, is refused', (t) => {
  for (const refreshSeconds of [0, -5, 1.5, Number.NaN]) {
    t.throws(() => renderFleetPage(EMPTY, { refreshSeconds }), { instanceOf: RangeError, message: /refreshSeconds must be a whole number/ });
  }
  t.notThrows(() => renderFleetPage(EMPTY, { refreshSeconds: 1 }));
});

// ── the terminal table ──────────────────────────────────────────────────────────────────────────────────────

test('fleet table: aligned columns, ages, phase times, the error\'s first line and the totals', (t) => {
  t.is(
    formatFleetTable(sampleView(), NOW),
    [
      'NODE      POOL  ROLE           GPU  PHASE/STEP            STATUS              LAST-REPORT  TIME                      TIME-TO-GPU  ERROR',
      'cp-1      cpu   control-plane  no   complete done         ready               12s ago      bake 4m 10s, boot 1m 23s',
      'worker-1  cpu   worker         no   kubeadm-join started  in-progress         5m ago       boot 12.3 s',
      `gpu-1     gpu   worker         yes  gpu-driver failed     failed              2h ago       bake 2h 05m, boot 850 ms  -            nvidia-smi failed: <script>alert(1)</script> "'&`,
      'gpu-2     gpu   worker         yes  -                     enrolled-no-report  -            -                         -',
      '',
      '4 nodes: 1 ready, 1 failed, 1 in progress, 1 enrolled without a report, 0 departed. Pools: cpu 2, gpu 2.',
      '',
    ].join('\n'),
  );
});

test('fleet table: a long error is cut to 60 characters, and terminal escape sequences are defused', (t) => {
  const long = 'E'.repeat(100);
  t.is(firstLine(long, 60), 'E'.repeat(59) + '…');
  t.is(firstLine('short\r\nsecond', 60), 'short');
  const view: FleetView = {
    generatedAt: NOW.toISOString(),
    nodes: [node({ node: 'n1', pool: 'p', state: 'failed', step: 's', status: 'failed', lastReportAt: NOW.toISOString(), error: `\u001b[2J\u001b]0;pwned\u0007${long}\nmore` })],
  };
  const lines = formatFleetTable(view, NOW).split('\n');
  t.is(lines[1], `n1    p     worker  no   s failed    failed  0s ago       -                  ?[2J?]0;pwned?${'E'.repeat(45)}…`);
  t.is(lines[3], '1 node: 0 ready, 1 failed, 0 in progress, 0 enrolled without a report, 0 departed. Pools: p 1.');
});

test('fleet table: an empty fleet prints one friendly line', (t) => {
  t.is(formatFleetTable(EMPTY, NOW), 'no nodes have enrolled yet\n');
});

// ── /metrics ────────────────────────────────────────────────────────────────────────────────────────────────

/** Runs Debian's promtool on an exposition. Lint warnings exit 3 and error text goes to stderr: both count. */
function promtool(exposition: string): { ok: boolean; output: string } {
  const run = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (run.error) throw run.error; // no promtool is a failure, not a skip
  const output = `${run.stdout}${run.stderr}`;
  return { ok: run.status === 0 && !/error/i.test(output), output };
}

const SAMPLE_METRICS = `# HELP labimg_endpoint_requests_total HTTP requests answered by the join endpoint, by route and status code.
# TYPE labimg_endpoint_requests_total counter
labimg_endpoint_requests_total{route="POST /v1/enroll",code="200"} 2
labimg_endpoint_requests_total{route="POST /v1/enroll",code="401"} 1
labimg_endpoint_requests_total{route="POST /v1/nodes/NODE/reports",code="200"} 1
# HELP labimg_endpoint_tls_connections_total TLS connections accepted (handshakes completed).
# TYPE labimg_endpoint_tls_connections_total counter
labimg_endpoint_tls_connections_total 7
# HELP labimg_endpoint_enrollments_total Nodes enrolled (or re-enrolled) with an enrollment token.
# TYPE labimg_endpoint_enrollments_total counter
labimg_endpoint_enrollments_total 2
# HELP labimg_endpoint_reports_stored_total Phase reports stored.
# TYPE labimg_endpoint_reports_stored_total counter
labimg_endpoint_reports_stored_total 5
# HELP labimg_endpoint_reports_duplicate_total Phase reports that were resends of an already stored report.
# TYPE labimg_endpoint_reports_duplicate_total counter
labimg_endpoint_reports_duplicate_total 1
# HELP labimg_endpoint_join_material_issued_total Join material handed to nodes.
# TYPE labimg_endpoint_join_material_issued_total counter
labimg_endpoint_join_material_issued_total 1
# HELP labimg_endpoint_auth_failures_total Requests refused for a missing, unknown, revoked or expired token or credential.
# TYPE labimg_endpoint_auth_failures_total counter
labimg_endpoint_auth_failures_total 1
# HELP labimg_endpoint_rate_limited_total Requests refused by the rate limiter.
# TYPE labimg_endpoint_rate_limited_total counter
labimg_endpoint_rate_limited_total 0
# HELP labimg_endpoint_connections_refused_total Connections closed at once for a connection cap (in all, or per address).
# TYPE labimg_endpoint_connections_refused_total counter
labimg_endpoint_connections_refused_total 0
# HELP labimg_nodes Enrolled nodes by pool, role and status (ready, failed, in-progress, enrolled-no-report, departed).
# TYPE labimg_nodes gauge
labimg_nodes{pool="cpu",role="control-plane",status="departed"} 0
labimg_nodes{pool="cpu",role="control-plane",status="enrolled-no-report"} 0
labimg_nodes{pool="cpu",role="control-plane",status="failed"} 0
labimg_nodes{pool="cpu",role="control-plane",status="in-progress"} 0
labimg_nodes{pool="cpu",role="control-plane",status="ready"} 1
labimg_nodes{pool="cpu",role="worker",status="departed"} 0
labimg_nodes{pool="cpu",role="worker",status="enrolled-no-report"} 0
labimg_nodes{pool="cpu",role="worker",status="failed"} 0
labimg_nodes{pool="cpu",role="worker",status="in-progress"} 1
labimg_nodes{pool="cpu",role="worker",status="ready"} 0
labimg_nodes{pool="gpu",role="worker",status="departed"} 0
labimg_nodes{pool="gpu",role="worker",status="enrolled-no-report"} 1
labimg_nodes{pool="gpu",role="worker",status="failed"} 1
labimg_nodes{pool="gpu",role="worker",status="in-progress"} 0
labimg_nodes{pool="gpu",role="worker",status="ready"} 0
# HELP labimg_node_gpu Enrolled nodes that report a GPU, by pool.
# TYPE labimg_node_gpu gauge
labimg_node_gpu{pool="cpu"} 0
labimg_node_gpu{pool="gpu"} 2
# HELP labimg_node_phase_seconds Time a node has spent in each phase (bake, boot), from its reports.
# TYPE labimg_node_phase_seconds gauge
labimg_node_phase_seconds{node="cp-1",pool="cpu",phase="bake"} 250
labimg_node_phase_seconds{node="cp-1",pool="cpu",phase="boot"} 83
labimg_node_phase_seconds{node="gpu-1",pool="gpu",phase="bake"} 7500
labimg_node_phase_seconds{node="gpu-1",pool="gpu",phase="boot"} 0.85
labimg_node_phase_seconds{node="worker-1",pool="cpu",phase="boot"} 12.34
# HELP labimg_node_startup_driver_loaded_duration_seconds Seconds from boot to driver loaded (the gpu-driver step done or skipped), per GPU node in its latest boot.
# TYPE labimg_node_startup_driver_loaded_duration_seconds histogram
# HELP labimg_node_startup_runtime_switched_duration_seconds Seconds from boot to runtime switched (the gpu-switch step done or skipped), per GPU node in its latest boot.
# TYPE labimg_node_startup_runtime_switched_duration_seconds histogram
# HELP labimg_node_startup_registration_duration_seconds Seconds from boot to kubelet registered (the node-registered step done or skipped), per GPU node in its latest boot.
# TYPE labimg_node_startup_registration_duration_seconds histogram
# HELP labimg_node_startup_gpu_allocatable_duration_seconds Seconds from boot to GPU allocatable (the gpu-allocatable step done or skipped), per GPU node in its latest boot.
# TYPE labimg_node_startup_gpu_allocatable_duration_seconds histogram
# HELP labimg_node_last_report_age_seconds Seconds since the time of the node's latest report, for every node that has not departed.
# TYPE labimg_node_last_report_age_seconds gauge
labimg_node_last_report_age_seconds{node="cp-1",pool="cpu"} 12
labimg_node_last_report_age_seconds{node="gpu-1",pool="gpu"} 9000
labimg_node_last_report_age_seconds{node="worker-1",pool="cpu"} 300
# HELP labimg_node_clock_skew_seconds How far the time of the node's latest report was ahead of when the endpoint received it, for the nodes whose clock runs more than 5 minutes ahead.
# TYPE labimg_node_clock_skew_seconds gauge
`;

test('countRequest keeps one count per route and status', (t) => {
  const c = sampleCounters();
  t.deepEqual([...c.requests].sort(), [
    ['POST /v1/enroll 200', 2],
    ['POST /v1/enroll 401', 1],
    ['POST /v1/nodes/NODE/reports 200', 1],
  ]);
});

test('metrics: the whole exposition for a realistic fleet', (t) => {
  t.is(renderMetrics(sampleView(), sampleCounters(), NOW), SAMPLE_METRICS);
});

test('metrics: promtool accepts the realistic exposition without a lint warning', (t) => {
  t.deepEqual(promtool(renderMetrics(sampleView(), sampleCounters(), NOW)), { ok: true, output: '' });
});

test('metrics: a fresh endpoint with no nodes is valid and reports zeros', (t) => {
  const text = renderMetrics(EMPTY, newCounters(), NOW);
  t.deepEqual(promtool(text), { ok: true, output: '' });
  t.true(text.includes('\nlabimg_endpoint_enrollments_total 0\n'));
  t.true(text.endsWith('# HELP labimg_node_clock_skew_seconds How far the time of the node\'s latest report was ahead of when the endpoint received it, for the nodes whose clock runs more than 5 minutes ahead.\n# TYPE labimg_node_clock_skew_seconds gauge\n'));
  t.false(/^labimg_(nodes|node_gpu|node_phase_seconds|node_last_report_age_seconds|node_clock_skew_seconds|endpoint_requests_total)[{ ]/m.test(text));
});

test('metrics: backslashes, quotes and newlines in label values are escaped and promtool accepts them', (t) => {
  const nasty = 'we"ird\\pool\nx';
  const view: FleetView = {
    generatedAt: NOW.toISOString(),
    nodes: [node({ node: 'n\\1', pool: nasty, state: 'in-progress', gpu: true, step: 's', status: 'done', lastReportAt: '2024-05-01T10:00:30.000Z', phases: [{ phase: 'bo"ot', durationMs: 1500 }] })],
  };
  const c = newCounters();
  countRequest(c, 'GET /v1/"odd"\\route\n', 404);
  const text = renderMetrics(view, c, NOW);
  const samples = text.split('\n').filter((line) => line.includes('we\\"ird') || line.startsWith('labimg_endpoint_requests_total{'));
  t.deepEqual(samples, [
    'labimg_endpoint_requests_total{route="GET /v1/\\"odd\\"\\\\route\\n",code="404"} 1',
    'labimg_nodes{pool="we\\"ird\\\\pool\\nx",role="worker",status="departed"} 0',
    'labimg_nodes{pool="we\\"ird\\\\pool\\nx",role="worker",status="enrolled-no-report"} 0',
    'labimg_nodes{pool="we\\"ird\\\\pool\\nx",role="worker",status="failed"} 0',
    'labimg_nodes{pool="we\\"ird\\\\pool\\nx",role="worker",status="in-progress"} 1',
    'labimg_nodes{pool="we\\"ird\\\\pool\\nx",role="worker",status="ready"} 0',
    'labimg_node_gpu{pool="we\\"ird\\\\pool\\nx"} 1',
    'labimg_node_phase_seconds{node="n\\\\1",pool="we\\"ird\\\\pool\\nx",phase="bo\\"ot"} 1.5',
    // The report is 30 s "in the future" (a node clock running ahead): its age is 0, not -30.
    'labimg_node_last_report_age_seconds{node="n\\\\1",pool="we\\"ird\\\\pool\\nx"} 0',
  ]);
  t.deepEqual(promtool(text), { ok: true, output: '' });
});

test('metrics: the promtool check is real — broken expositions fail it', (t) => {
  const good = renderMetrics(sampleView(), sampleCounters(), NOW);
  const duplicateType = good.replace('# TYPE labimg_node_gpu gauge\n', '# TYPE labimg_node_gpu gauge\n# TYPE labimg_node_gpu gauge\n');
  const badName = good.replace(/labimg_node_gpu\{/g, 'labimg-node-gpu{');
  const unescaped = good.replace('pool="cpu"} 0', 'pool="c"pu"} 0');
  const lintOnly = '# HELP labimg_things Things without a _total suffix.\n# TYPE labimg_things counter\nlabimg_things 1\n';
  for (const [name, text] of [['duplicate TYPE', duplicateType], ['bad metric name', badName], ['unescaped quote', unescaped], ['counter without _total', lintOnly]] as const) {
    t.not(text, good, name);
    t.false(promtool(text).ok, name);
  }
  t.regex(promtool(duplicateType).output, /second TYPE line for metric name "labimg_node_gpu"/);
  t.regex(promtool(lintOnly).output, /counter metrics should have "_total" suffix/);
});

// ── departed nodes: powered off on purpose, counted apart and listed last ───────────────────────────────────

/** The realistic fleet after a scale-in: worker-2 left 12 minutes ago, gpu-3 10 minutes ago. */
function departedView(): FleetView {
  const view = sampleView();
  const left = [
    node({
      node: 'worker-2', pool: 'cpu', step: 'leaving', status: 'done', lastReportAt: '2024-05-01T09:48:00.000Z', departedAt: '2024-05-01T09:48:00.000Z',
      phases: [{ phase: 'boot', durationMs: 61_000 }], state: 'departed',
    }),
    node({
      node: 'gpu-3', pool: 'gpu', profile: 'ubuntu-24.04-nvidia', gpu: true, step: 'leaving', status: 'done', lastReportAt: '2024-05-01T09:50:00.000Z',
      departedAt: '2024-05-01T09:50:00.000Z', phases: [{ phase: 'boot', durationMs: 95_000 }], timeToGpu: [{ step: 'gpu-driver', seconds: 41.2 }], state: 'departed',
    }),
  ];
  // In the registry's order: pool, then name.
  const [cp1, worker1, gpu1, gpu2] = view.nodes as [FleetNode, FleetNode, FleetNode, FleetNode];
  return { ...view, nodes: [cp1, worker1, left[0] as FleetNode, gpu1, gpu2, left[1] as FleetNode] };
}

test('fleet table: departed nodes are counted in the totals but not listed, and a line says how to list them', (t) => {
  t.is(
    formatFleetTable(departedView(), NOW),
    [
      'NODE      POOL  ROLE           GPU  PHASE/STEP            STATUS              LAST-REPORT  TIME                      TIME-TO-GPU  ERROR',
      'cp-1      cpu   control-plane  no   complete done         ready               12s ago      bake 4m 10s, boot 1m 23s',
      'worker-1  cpu   worker         no   kubeadm-join started  in-progress         5m ago       boot 12.3 s',
      `gpu-1     gpu   worker         yes  gpu-driver failed     failed              2h ago       bake 2h 05m, boot 850 ms  -            nvidia-smi failed: <script>alert(1)</script> "'&`,
      'gpu-2     gpu   worker         yes  -                     enrolled-no-report  -            -                         -',
      '',
      '6 nodes: 1 ready, 1 failed, 1 in progress, 1 enrolled without a report, 2 departed. Pools: cpu 2 (+1 departed), gpu 2 (+1 departed).',
      '2 departed nodes are not listed; `labimg nodes --departed` lists them.',
      '',
    ].join('\n'),
  );
});

test('fleet table: with departed, they come after the others, the latest to leave first, with how long ago they left', (t) => {
  t.is(
    formatFleetTable(departedView(), NOW, { departed: true }),
    [
      'NODE      POOL  ROLE           GPU  PHASE/STEP            STATUS              LAST-REPORT  TIME                      TIME-TO-GPU    ERROR',
      'cp-1      cpu   control-plane  no   complete done         ready               12s ago      bake 4m 10s, boot 1m 23s',
      'worker-1  cpu   worker         no   kubeadm-join started  in-progress         5m ago       boot 12.3 s',
      `gpu-1     gpu   worker         yes  gpu-driver failed     failed              2h ago       bake 2h 05m, boot 850 ms  -              nvidia-smi failed: <script>alert(1)</script> "'&`,
      'gpu-2     gpu   worker         yes  -                     enrolled-no-report  -            -                         -',
      'gpu-3     gpu   worker         yes  leaving done          departed            10m ago      boot 1m 35s               driver 41.2 s',
      'worker-2  cpu   worker         no   leaving done          departed            12m ago      boot 1m 01s',
      '',
      '6 nodes: 1 ready, 1 failed, 1 in progress, 1 enrolled without a report, 2 departed. Pools: cpu 2 (+1 departed), gpu 2 (+1 departed).',
      '',
    ].join('\n'),
  );
});

test('fleet table: a fleet that has all departed says so, and still counts them', (t) => {
  const view: FleetView = { generatedAt: NOW.toISOString(), nodes: departedView().nodes.filter((n) => n.state === 'departed') };
  t.is(
    formatFleetTable(view, NOW),
    'every enrolled node has departed\n\n2 nodes: 0 ready, 0 failed, 0 in progress, 0 enrolled without a report, 2 departed. Pools: cpu 0 (+1 departed), gpu 0 (+1 departed).\n' +
      '2 departed nodes are not listed; `labimg nodes --departed` lists them.\n',
  );
});

test('fleet page: departed nodes in a muted table of their own, after the others, the latest to leave first', (t) => {
  const page = renderFleetPage(departedView(), { refreshSeconds: 30 });
  t.true(page.includes('\n<p class="summary">6 nodes: 1 ready, 1 failed, 1 in progress, 1 enrolled without a report, 2 departed. Pools: cpu 2 (+1 departed), gpu 2 (+1 departed).</p>\n'));
  const tables = [...page.matchAll(/<table id="([a-z]+)">([\s\S]*?)<\/table>/g)].map((m) => ({
    id: m[1],
    rows: [...(m[2] ?? '').matchAll(/<tr data-node="([^"]*)" data-status="([^"]*)" class="([^"]*)"/g)].map((r) => `${r[1]} ${r[2]} ${r[3]}`),
  }));
  t.deepEqual(tables, [
    { id: 'nodes', rows: ['cp-1 ready ready', 'worker-1 in-progress in-progress', 'gpu-1 failed failed', 'gpu-2 enrolled-no-report enrolled-no-report'] },
    { id: 'departed', rows: ['gpu-3 departed departed', 'worker-2 departed departed'] },
  ]);
  t.true(page.includes('</table>\n<h2>Departed</h2>\n'));
  t.true(page.includes('tr.departed td{color:var(--muted)}'), 'muted');
  t.true(
    page.includes(
      '<tr data-node="worker-2" data-status="departed" class="departed"><td><a href="/fleet/nodes/worker-2">worker-2</a></td><td>cpu</td><td>worker</td><td>no</td><td>ubuntu-24.04</td>' +
        '<td>leaving done</td><td><time datetime="2024-05-01T09:48:00.000Z">2024-05-01 09:48:00 UTC</time></td><td>boot 1m 01s</td><td></td><td></td></tr>\n',
    ),
  );
});

test('metrics: departed nodes have their own status in labimg_nodes, and no last-report age that would look silent', (t) => {
  const text = renderMetrics(departedView(), sampleCounters(), NOW);
  t.deepEqual(promtool(text), { ok: true, output: '' });
  const lines = text.split('\n');
  t.deepEqual(lines.filter((line) => line.startsWith('labimg_nodes{') && line.includes('status="departed"')), [
    'labimg_nodes{pool="cpu",role="control-plane",status="departed"} 0',
    'labimg_nodes{pool="cpu",role="worker",status="departed"} 1',
    'labimg_nodes{pool="gpu",role="worker",status="departed"} 1',
  ]);
  t.true(lines.includes('labimg_nodes{pool="gpu",role="worker",status="failed"} 1'), 'the failed node is still counted as failed');
  t.deepEqual(lines.filter((line) => line.startsWith('labimg_node_last_report_age_seconds{')), [
    'labimg_node_last_report_age_seconds{node="cp-1",pool="cpu"} 12',
    'labimg_node_last_report_age_seconds{node="gpu-1",pool="gpu"} 9000',
    'labimg_node_last_report_age_seconds{node="worker-1",pool="cpu"} 300',
  ]);
  t.true(lines.includes('labimg_node_phase_seconds{node="worker-2",pool="cpu",phase="boot"} 61'), 'its history stays');
  t.true(lines.includes('labimg_node_gpu{pool="gpu"} 3'));
});
