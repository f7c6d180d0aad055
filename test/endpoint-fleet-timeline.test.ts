/**
 * The fleet page's timeline and aggregates as the endpoint draws them, from a fleet whose steps have round
 * times: where each bar lies, which nodes the histograms count, which step is slowest, what the filters keep.
 */
import test from 'ava';
import type { FleetNode, FleetStep, FleetView } from '../contract/endpoint-api';
import { renderFleetPage } from '../endpoint/fleet-page';

const NOW = '2026-12-06T10:00:00.000Z';
const T0 = Date.parse('2026-12-06T09:00:00.000Z');

function step(phase: 'bake' | 'boot', name: string, status: FleetStep['status'], endS: number, durationS?: number, extra: Partial<FleetStep> = {}): FleetStep {
  return { step: name, phase, status, at: new Date(T0 + endS * 1000).toISOString(), ...(durationS === undefined ? {} : { durationMs: durationS * 1000 }), ...extra };
}

function node(name: string, pool: string, steps: FleetStep[], extra: Partial<FleetNode> = {}): FleetNode {
  return { node: name, pool, role: 'worker', profile: 'ubuntu', gpu: false, enrolledAt: new Date(T0).toISOString(), phases: [], ready: false, state: 'in-progress', steps, ...extra };
}

/** Boot steps only: a 10 s and a 20 s step back to back; the slowest node's boot lasts 60 s. */
function fleet(): FleetView {
  return {
    generatedAt: NOW,
    nodes: [
      node('a', 'cpu', [step('boot', 'driver', 'done', 10, 10), step('boot', 'join', 'done', 30, 20), step('boot', 'complete', 'done', 30, 90)], { state: 'ready', ready: true }),
      node('b', 'cpu', [step('boot', 'driver', 'skipped', 5, 5), step('boot', 'join', 'failed', 60, 55, { error: 'join <failed>' })], { state: 'failed' }),
      node('c', 'gpu', [step('boot', 'driver', 'done', 10, 10), step('boot', 'complete', 'done', 10, 100)], { state: 'ready', ready: true, gpu: true, timeToGpu: [{ step: 'gpu-allocatable', seconds: 70 }] }),
      node('d', 'gpu', [step('boot', 'driver', 'done', 10, 10), step('boot', 'complete', 'done', 10, 200)], { state: 'ready', ready: true }),
    ],
  };
}

interface Bar {
  node: string;
  step: string;
  status: string;
  x: number;
  width: number;
}

/** The bars as drawn: each rectangle of each row's paths, with the step its row's data-bars names for that place. */
function bars(page: string): Bar[] {
  const rows = [...page.matchAll(/<g data-node="([^"]+)" class="[^"]*" data-bars="([^"]*)">([\s\S]*?)<\/g>/g)];
  return rows.flatMap((row) => {
    const listed = (row[2] as string).split(';').map((b) => b.split(','));
    return [...(row[3] as string).matchAll(/<path class="([a-z]+)" d="([^"]+)"/g)].flatMap((path) =>
      [...(path[2] as string).matchAll(/M([\d.]+) [\d.]+h([\d.]+)v[\d.]+h-[\d.]+z/g)].map((rect) => {
        const x = Number(rect[1]);
        const width = Number(rect[2]);
        const entry = listed.find((f) => Number(f[3]) === x && Number(f[4]) === width && f[2] === path[1]);
        return { node: row[1] as string, status: path[1] as string, x, width, step: entry?.[0] ?? '?' };
      }),
    );
  });
}

test('timeline: one row per node, a bar per step placed by its reported end and duration, colour by status', (t) => {
  const page = renderFleetPage(fleet(), { refreshSeconds: 5 });
  const all = bars(page);
  const of = (n: string, s: string) => all.find((b) => b.node === n && b.step === s) as Bar;
  t.deepEqual([...new Set(all.map((b) => b.node))], ['a', 'b', 'c', 'd']);
  t.false(all.some((b) => b.step === 'complete'), "the run's completion spans the run: no bar");
  t.deepEqual([of('a', 'driver').status, of('b', 'driver').status, of('b', 'join').status], ['done', 'skipped', 'failed']);
  // Node a: 10 s from its phase's start, then 20 s; node b's boot is the longest, 60 s, and spans the axis.
  const start = of('a', 'driver').x;
  const unitsPerSecond = of('a', 'driver').width / 10;
  t.true(Math.abs(of('a', 'join').width - 20 * unitsPerSecond) < 0.2);
  t.true(Math.abs(of('a', 'join').x - (start + 10 * unitsPerSecond)) < 0.2);
  t.true(Math.abs(of('b', 'join').x + of('b', 'join').width - (start + 60 * unitsPerSecond)) < 0.2);
  t.is(of('c', 'driver').x, start, 'every row starts its phase at the same place');
  t.regex(page, /<path class="failed" d="[^"]+"><title>b · boot · join failed: 09:00:05 UTC → 09:01:00 UTC, 55\.0 s\njoin &lt;failed&gt;<\/title><\/path>/);
});

test('timeline: a running step is animated and reaches as far as the endpoint has seen time pass since it arrived', (t) => {
  const view: FleetView = {
    generatedAt: NOW,
    nodes: [node('r', 'cpu', [step('boot', 'driver', 'done', 10, 10), step('boot', 'join', 'started', 10, undefined, { receivedAt: '2026-12-06T09:59:30.000Z' })])],
  };
  const page = renderFleetPage(view, { refreshSeconds: 5 });
  const [driver, join] = bars(page) as [Bar, Bar];
  t.is(join.status, 'running');
  // Received 30 s before the page was made: 30 s of bar after the driver's 10 s.
  t.true(Math.abs(join.width / driver.width - 3) < 0.05, `${join.width} / ${driver.width}`);
  t.true(page.includes('.timeline path.running{animation:pulse'));
  t.true(page.includes('@media (prefers-reduced-motion:reduce){.timeline path.running{animation:none}}'));
});

test('aggregates: time to final and time to GPU as histograms of the nodes that got there, the slowest steps, counts by state', (t) => {
  const page = renderFleetPage(fleet(), { refreshSeconds: 5 });
  const bins = (id: string) =>
    [...(new RegExp(`<figure id="${id}">([\\s\\S]*?)</figure>`).exec(page)?.[1] ?? '').matchAll(/data-from-ms="(\d+)" data-to-ms="(\d+)" data-count="(\d+)"/g)].map((m) => `${Number(m[1]) / 1000}-${Number(m[2]) / 1000}:${m[3]}`);
  // 90 s, 100 s and 200 s in bins of a minute.
  t.deepEqual(bins('time-to-final'), ['0-60:0', '60-120:2', '120-180:0', '180-240:1']);
  t.deepEqual(bins('time-to-gpu'), ['0-15:0', '15-30:0', '30-45:0', '45-60:0', '60-75:1']);
  const slowest = [...page.matchAll(/<tr data-step="([^"]+)"><td>boot<\/td><td>[^<]+<\/td><td>([^<]+)<\/td><td>([^<]+) \(<a href="\/fleet\/nodes\/([^"]+)">/g)].map((m) => `${m[1]} median ${m[2]}, max ${m[3]} on ${m[4]}`);
  t.deepEqual(slowest, ['join median 37.5 s, max 55.0 s on b', 'driver median 10.0 s, max 10.0 s on a']);
  t.true(page.includes('<li class="ready" data-state="ready"><b>3</b> ready</li><li class="failed" data-state="failed"><b>1</b> failed</li>'));
});

test('filters: the page keeps only the nodes of the chosen pool, and its form offers every pool', (t) => {
  const page = renderFleetPage(fleet(), { refreshSeconds: 5, filters: { pool: 'gpu' } });
  t.deepEqual([...new Set(bars(page).map((b) => b.node))], ['c', 'd']);
  t.deepEqual([...page.matchAll(/<tr data-node="([^"]+)"/g)].map((m) => m[1]), ['c', 'd']);
  t.true(page.includes('<select name="pool"><option value="">all</option><option>cpu</option><option selected>gpu</option></select>'));
  t.true(page.includes('<p class="summary">Filtered: 2 nodes: 2 ready,'));
});
