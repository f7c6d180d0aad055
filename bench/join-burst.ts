// A pool scaling out at once: N nodes enroll with one `labimg serve` and send their first report, all
// concurrently, each over its own connection with the agent's own pinned client (so each makes the pinned
// TLS handshake a real node makes). Prints p50/p99 latencies and errors as a Markdown table, and the CPU time
// the endpoint process spent per node: under a burst, that bounds how fast one endpoint takes new nodes.
//   npm run bench:join-burst            (BURST=1000 by default, all at once; ROUNDS=3 of the floor then the burst)
//   RATE=50 npm run bench:join-burst    (the same nodes arriving 50 per second, as a pool that boots over time)
//   SERVE_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR' npm run bench:join-burst   (node flags for the endpoint: a profile)
//   npm run bench:join-burst -- --readme   (also writes the table into README.md's join-burst block)
// The clients run in this one process on the same machine as the server, so they compete for its cores:
// the latencies are an upper bound on what the endpoint alone needs.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../test/helpers/cli';
import { createPool, startServe } from '../test/helpers/endpoint';
import { cpuSeconds, enrollAndReport, handshakeOnly, percentile, type Sample } from './join-node';
import { machineLine } from './machine.mjs';
import { writeReadmeBlocks } from './readme-blocks.mjs';

const BURST = Number(process.env.BURST ?? 1000);
/** Rounds of the floor then the burst; the figures to quote are their medians. */
const ROUNDS = Number(process.env.ROUNDS ?? 3);
/** Nodes that enroll and report before anything is measured. */
const WARM_UP = Number(process.env.WARM_UP ?? 200);
/** Arrivals per second; all at once when unset. */
const RATE = process.env.RATE ? Number(process.env.RATE) : undefined;
/** Flags for the endpoint's node, split on spaces: --cpu-prof for a profile Chrome's DevTools open, --perf-basic-prof for perf. */
const SERVE_NODE_ARGS = (process.env.SERVE_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** Runs `work` for BURST arrivals (at once, or RATE per second) and measures the endpoint's CPU over it. */
async function wave<T>(pid: number, count: number, work: (i: number) => Promise<T>): Promise<{ results: PromiseSettledResult<T>[]; wallMs: number; serverCpuMs: number }> {
  const arrive = (i: number) => new Promise((resolve) => setTimeout(resolve, RATE ? (i * 1000) / RATE : 0));
  const cpuBefore = cpuSeconds(pid);
  const started = performance.now();
  const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => arrive(i).then(() => work(i))));
  return { results, wallMs: performance.now() - started, serverCpuMs: (cpuSeconds(pid) - cpuBefore) * 1000 };
}

function fulfilled<T>(results: PromiseSettledResult<T>[]): T[] {
  return results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
}

function rejections<T>(results: PromiseSettledResult<T>[]): string[] {
  return results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
}

async function main(): Promise<void> {
  const data = tempDir('labimg-burst-');
  const serve = await startServe({ data, nodeArgs: SERVE_NODE_ARGS });
  try {
    const token = createPool({ data }, 'burst', 'ubuntu');
    const { url, caFingerprint, pid } = serve;
    // Nodes first, not counted, so that no measured wave pays for the endpoint's first calls (V8 compiling its
    // hot paths, the store's folders being made): the endpoint is measured as it runs, not as it starts.
    await wave(pid, WARM_UP, (i) => handshakeOnly(url, caFingerprint).then(() => enrollAndReport(`warm-${i}`, url, caFingerprint, token)));

    const arrival = RATE ? `arriving ${RATE}/s` : 'all at once';
    const lines: string[] = [];
    const print = (line: string) => {
      lines.push(line);
      console.log(line);
    };
    print(`Measured ${machineLine()}: ${BURST} nodes ${arrival}, one labimg serve (file store), ${ROUNDS} rounds of the floor then the burst, after ${WARM_UP} nodes of warm-up; the clients on the same cores.`);
    print('');
    print('| round | floor p50 / p99 | enroll p50 / p99 | first report p50 / p99 | enroll + report p50 / p99 | p99 / floor p99 | endpoint CPU per node: floor / burst |');
    print('|---|---:|---:|---:|---:|---:|---:|');
    const ratios: number[] = [];
    const beyond: number[] = [];
    const errors: string[] = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      // The floor under any endpoint work: the same nodes, arriving the same way, each only making its pinned
      // handshake and one GET /healthz (no token check, no store, no body). What this costs, enrolling cannot beat.
      // The two alternate, so that whatever else the machine does weighs on both alike.
      const floor = await wave(pid, BURST, () => handshakeOnly(url, caFingerprint));
      const burst = await wave(pid, BURST, (i) => enrollAndReport(`r${round}-${String(i).padStart(4, '0')}`, url, caFingerprint, token));
      errors.push(...rejections(floor.results), ...rejections(burst.results));
      const ok = fulfilled(burst.results);
      const floorSorted = fulfilled(floor.results).sort((a, b) => a - b);
      const sortedBy = (pick: (s: Sample) => number) => ok.map(pick).sort((a, b) => a - b);
      const cells = (sorted: number[]) => `${percentile(sorted, 50).toFixed(0)} / ${percentile(sorted, 99).toFixed(0)} ms`;
      const total = sortedBy((s) => s.totalMs);
      const ratio = percentile(total, 99) / percentile(floorSorted, 99);
      const cpuFloor = floor.serverCpuMs / BURST;
      const cpuBurst = burst.serverCpuMs / BURST;
      ratios.push(ratio);
      beyond.push(cpuBurst - cpuFloor);
      print(
        `| ${round} | ${cells(floorSorted)} | ${cells(sortedBy((s) => s.enrollMs))} | ${cells(sortedBy((s) => s.reportMs))} | ${cells(total)} | ${ratio.toFixed(2)}× | ${cpuFloor.toFixed(1)} / ${cpuBurst.toFixed(1)} ms |`,
      );
    }
    // CPU is user + system of the endpoint process, all its threads (the file system's pool and V8's included).
    print('');
    print(`Median of ${ROUNDS} rounds: enroll + first report p99 / floor p99 ${median(ratios).toFixed(2)}× (target ≤ 1.15×); endpoint CPU per node beyond the floor's ${median(beyond).toFixed(1)} ms; ${errors.length} errors.`);
    if (errors.length > 0) console.log(`first errors:\n${[...new Set(errors)].slice(0, 5).join('\n')}`);
    if (process.argv.includes('--readme') && !RATE && errors.length === 0) writeReadmeBlocks(path.join(__dirname, '..'), { 'join-burst': `${lines.join('\n')}\n` });
  } finally {
    await serve.kill();
    rmSync(data, { recursive: true, force: true });
  }
}

void main();
