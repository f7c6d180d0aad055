/**
 * Time to GPU from a real `labimg serve`: nodes enroll and post their reports, with the time since boot, over
 * HTTPS; the fleet JSON, `labimg nodes` (its table and --json) and /metrics then show how far into its latest
 * boot each GPU node reached each milestone. Every expected number below is written out by hand from the
 * reports this test posts.
 */
import test from 'ava';
import { rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { PhaseReport } from '../contract/agent-config';
import type { FleetView } from '../contract/endpoint-api';
import { labimg, tempDir } from './helpers/cli';
import { createPool, startServe } from './helpers/endpoint';
import { reportBody, send } from './helpers/https-client';

interface Node {
  name: string;
  credential: string;
}

test('time to GPU: the fleet JSON, `labimg nodes` and /metrics show each GPU node\'s milestones of its latest boot', async (t) => {
  const data = tempDir('labimg-time-to-gpu-');
  const token = createPool({ data }, 'lab', 'ubuntu');
  const serve = await startServe({ data });
  t.teardown(async () => {
    await serve.kill();
    rmSync(data, { recursive: true, force: true });
  });

  const enroll = async (name: string, gpu: boolean): Promise<Node> => {
    const answer = await send(serve.port, { method: 'POST', path: '/v1/enroll', token, json: { node: name, role: 'worker', profile: 'ubuntu', gpu } });
    t.is(answer.status, 200, answer.text);
    return { name, credential: (answer.json as { credential: string }).credential };
  };
  // The node's wall clock: one second per report, so each step's latest report is also its latest by time.
  let second = 0;
  const post = async (node: Node, step: string, status: PhaseReport['status'], sinceBootMs: number, gpu: boolean, id?: string): Promise<PhaseReport> => {
    const at = new Date(Date.UTC(2026, 11, 6, 8, 0, (second += 1))).toISOString();
    const report = reportBody(node.name, { step, status, sinceBootMs, gpu, at, ...(id === undefined ? {} : { id }) });
    return resend(node, report);
  };
  const resend = async (node: Node, report: PhaseReport): Promise<PhaseReport> => {
    const answer = await send(serve.port, { method: 'POST', path: `/v1/nodes/${node.name}/reports`, token: node.credential, json: report });
    t.is(answer.status, 200, answer.text);
    return report;
  };
  const timeToGpuColumn = () => {
    const table = labimg(['nodes', '--data', data]);
    t.is(table.code, 0, table.stderr);
    return timeToGpuColumnOf(table.stdout);
  };
  const fleetTimes = async () => {
    const fleet = (await send(serve.port, { path: '/v1/fleet' })).json as FleetView;
    return Object.fromEntries(fleet.nodes.map((n) => [n.node, n.timeToGpu]));
  };

  const gpu1 = await enroll('gpu-1', true);
  const gpu2 = await enroll('gpu-2', true);
  const cpu1 = await enroll('cpu-1', false);

  // gpu-1 goes all the way; gpu-2 stops while its kubelet registers; cpu-1 has no GPU, and its kubelet registering is no GPU milestone.
  await post(gpu1, 'gpu-driver', 'started', 30_000, true);
  await post(gpu1, 'gpu-driver', 'done', 41_200, true);
  await post(gpu1, 'gpu-switch', 'done', 43_500, true);
  await post(gpu1, 'node-registered', 'done', 70_000, true);
  await post(gpu1, 'gpu-allocatable', 'done', 95_100, true);
  await post(gpu1, 'complete', 'done', 96_000, true);
  await post(gpu2, 'gpu-driver', 'done', 38_000, true);
  await post(gpu2, 'gpu-switch', 'done', 40_000, true);
  await post(gpu2, 'node-registered', 'started', 45_000, true);
  await post(cpu1, 'gpu-driver', 'skipped', 20_000, false);
  await post(cpu1, 'node-registered', 'done', 60_000, false);

  t.deepEqual(await fleetTimes(), {
    'cpu-1': undefined,
    'gpu-1': [
      { step: 'gpu-driver', seconds: 41.2 },
      { step: 'gpu-switch', seconds: 43.5 },
      { step: 'node-registered', seconds: 70 },
      { step: 'gpu-allocatable', seconds: 95.1 },
    ],
    'gpu-2': [
      { step: 'gpu-driver', seconds: 38 },
      { step: 'gpu-switch', seconds: 40 },
    ],
  });

  t.deepEqual(timeToGpuColumn(), {
    'cpu-1': '',
    'gpu-1': 'driver 41.2 s · runtime 43.5 s · registered 1m 10s · GPU 1m 35s',
    'gpu-2': 'driver 38.0 s · runtime 40.0 s',
  });
  const json = labimg(['nodes', '--data', data, '--json']);
  t.is(json.code, 0, json.stderr);
  t.deepEqual(
    (JSON.parse(json.stdout) as FleetView).nodes.find((n) => n.node === 'gpu-2')?.timeToGpu,
    [{ step: 'gpu-driver', seconds: 38 }, { step: 'gpu-switch', seconds: 40 }],
  );

  const metrics = (await send(serve.port, { path: '/metrics' })).text;
  const series = (name: string) => metrics.split('\n').filter((line) => line.startsWith(`${name}_`));
  const driver = 'labimg_node_startup_driver_loaded_duration_seconds';
  // 41.2 s and 38 s: both above 30, both at most 45.
  t.true(series(driver).includes(`${driver}_bucket{pool="lab",role="worker",le="30"} 0`), series(driver).join('\n'));
  t.true(series(driver).includes(`${driver}_bucket{pool="lab",role="worker",le="45"} 2`));
  t.true(series(driver).includes(`${driver}_bucket{pool="lab",role="worker",le="+Inf"} 2`));
  t.true(series(driver).includes(`${driver}_sum{pool="lab",role="worker"} 79.2`));
  t.true(series(driver).includes(`${driver}_count{pool="lab",role="worker"} 2`));
  const runtime = 'labimg_node_startup_runtime_switched_duration_seconds';
  t.true(series(runtime).includes(`${runtime}_sum{pool="lab",role="worker"} 83.5`));
  t.true(series(runtime).includes(`${runtime}_count{pool="lab",role="worker"} 2`));
  const registration = 'labimg_node_startup_registration_duration_seconds';
  // Only gpu-1: gpu-2 has not registered, and cpu-1 is no GPU node.
  t.true(series(registration).includes(`${registration}_sum{pool="lab",role="worker"} 70`));
  t.true(series(registration).includes(`${registration}_count{pool="lab",role="worker"} 1`));
  const allocatable = 'labimg_node_startup_gpu_allocatable_duration_seconds';
  t.deepEqual(series(allocatable), [
    ...['5', '10', '15', '20', '30', '45', '60', '90'].map((le) => `${allocatable}_bucket{pool="lab",role="worker",le="${le}"} 0`),
    ...['120', '180', '300', '600', '1200', '+Inf'].map((le) => `${allocatable}_bucket{pool="lab",role="worker",le="${le}"} 1`),
    `${allocatable}_sum{pool="lab",role="worker"} 95.1`,
    `${allocatable}_count{pool="lab",role="worker"} 1`,
  ]);
  t.regex(metrics, new RegExp(`# TYPE ${allocatable} histogram\n`));
  t.deepEqual(promtool(metrics), { ok: true, output: '' });

  // gpu-1 reboots. Its first report of the new boot is of another step, made 9 s into it: the previous boot's
  // milestones are history, and this boot has reached none yet.
  await post(gpu1, 'kubelet-config', 'done', 9_000, true);
  t.is((await fleetTimes())['gpu-1'], undefined);
  t.is(timeToGpuColumn()['gpu-1'], '-', 'a GPU node with no milestone yet shows a dash');
  const driverDone = await post(gpu1, 'gpu-driver', 'done', 33_000, true);
  await post(gpu1, 'gpu-switch', 'done', 35_500, true);
  // A resend of a report already stored (its answer was lost) changes nothing, not even the order.
  await resend(gpu1, driverDone);
  // gpu-2 reboots too, but its new boot's first report comes later into the boot (50 s) than the previous
  // boot's last one (45 s): its gpu-driver is running again, so it has no milestone of this boot.
  await post(gpu2, 'gpu-driver', 'started', 50_000, true);

  t.deepEqual(await fleetTimes(), {
    'cpu-1': undefined,
    'gpu-1': [
      { step: 'gpu-driver', seconds: 33 },
      { step: 'gpu-switch', seconds: 35.5 },
    ],
    'gpu-2': undefined,
  });
  t.deepEqual(timeToGpuColumn(), { 'cpu-1': '', 'gpu-1': 'driver 33.0 s · runtime 35.5 s', 'gpu-2': '-' });
  const after = (await send(serve.port, { path: '/metrics' })).text.split('\n');
  t.true(after.includes(`${driver}_sum{pool="lab",role="worker"} 33`));
  t.true(after.includes(`${driver}_count{pool="lab",role="worker"} 1`));
  t.true(after.includes(`${runtime}_count{pool="lab",role="worker"} 1`));
  t.deepEqual(after.filter((line) => line.startsWith(`${registration}_`) || line.startsWith(`${allocatable}_`)), [], 'no node reached these in its latest boot');

  // gpu-1's agent finds everything in place this boot: the driver loaded at boot, the runtime already nvidia, the
  // Node registered; its skipped reports say when each was found, and the GPU became allocatable while it waited.
  await post(gpu1, 'node-registered', 'skipped', 61_000, true);
  await post(gpu1, 'gpu-allocatable', 'done', 88_000, true);
  t.is(timeToGpuColumn()['gpu-1'], 'driver 33.0 s · runtime 35.5 s · registered 1m 01s · GPU 1m 28s');

  // gpu-3 has a GPU its driver cannot use, and joins as a CPU node (gpu.onFailure cpu): gpu-driver and gpu-switch
  // finish, but the run completes without waiting for any GPU, so there is no time to GPU.
  const gpu3 = await enroll('gpu-3', true);
  await post(gpu3, 'gpu-driver', 'done', 30_000, true);
  await post(gpu3, 'gpu-switch', 'done', 31_000, true);
  t.is(timeToGpuColumn()['gpu-3'], 'driver 30.0 s · runtime 31.0 s', 'while it boots, what it reached shows');
  await post(gpu3, 'complete', 'done', 60_000, true);
  t.is((await fleetTimes())['gpu-3'], undefined);
  t.is(timeToGpuColumn()['gpu-3'], '-');
});

/** `labimg nodes`' TIME-TO-GPU column by node: from where its header starts to where the ERROR header starts. */
function timeToGpuColumnOf(table: string): Record<string, string> {
  const [header = '', ...rows] = table.split('\n');
  const from = header.indexOf('TIME-TO-GPU');
  const to = header.indexOf('ERROR');
  if (from < 0 || to < from) throw new Error(`no TIME-TO-GPU column before ERROR in ${JSON.stringify(header)}`);
  return Object.fromEntries(rows.filter((row) => /^[a-z0-9-]+ /.test(row) && !row.includes(' nodes: ')).map((row) => [row.split(' ')[0], row.slice(from, to).trim()]));
}

/** Debian's promtool, as the metrics render tests run it: lint warnings exit 3 and count as failures. */
function promtool(exposition: string): { ok: boolean; output: string } {
  const run = spawnSync('/usr/bin/promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (run.error) throw run.error; // no promtool is a failure, not a skip
  const output = `${run.stdout}${run.stderr}`;
  return { ok: run.status === 0 && !/error/i.test(output), output };
}
