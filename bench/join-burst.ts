// A pool scaling out at once: N nodes enroll with one `labimg serve` and send their first report, all
// concurrently, each over its own connection with the agent's own pinned client (so each makes the pinned
// TLS handshake a real node makes). Prints p50/p99 latencies and errors as a Markdown table, and the CPU time
// the endpoint process spent per node: under a burst, that bounds how fast one endpoint takes new nodes.
//   npm run bench:join-burst            (BURST=1000 by default, all at once; ROUNDS=5 of the floor then the burst)
//   RATE=50 npm run bench:join-burst    (the same nodes arriving 50 per second, as a pool that boots over time)
//   SERVE_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR' npm run bench:join-burst   (node flags for the endpoint: a profile)
//   SPLIT_CORES=0 npm run bench:join-burst   (the clients on the endpoint's cores too; by default the endpoint runs
//                                             alone on the last core, the clients on the others: taskset)
//   npm run bench:join-burst -- --readme   (also writes the table into README.md's join-burst block)
//   npm run bench:join-burst -- --silent 500   (and 500 silent connections held open from 127.0.0.2 throughout the rounds,
//                                               each reopened as soon as the endpoint closes it)
// The clients run in this one process on the same machine as the server, on cores of their own where there are
// two or more (SPLIT_CORES below); the latencies are still an upper bound on what the endpoint alone needs.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { tempDir } from '../test/helpers/cli';
import { createPool, startServe } from '../test/helpers/endpoint';
import { cpuSeconds, enrollAndReport, handshakeOnly, percentile, type Sample } from './join-node';
import { SilentConnections } from './silent-connections';
import { machineLine } from './machine.mjs';
import { writeReadmeBlocks } from './readme-blocks.mjs';

const BURST = Number(process.env.BURST ?? 1000);
/**
 * Rounds of the floor then the burst; the figures to quote are their medians. Five since 2026-12-07: one round's
 * ratio moves by ±0.1 for the same code on this machine (1.09-1.46× that day), as wide as the gap to the target,
 * and the median of three moved with it.
 */
const ROUNDS = Number(process.env.ROUNDS ?? 5);
/** Nodes that enroll and report before anything is measured. */
const WARM_UP = Number(process.env.WARM_UP ?? 200);
/** Silent connections held open during the rounds (`--silent N`); none when absent. */
const SILENT = Number(flagValue('--silent') ?? 0);
/** Arrivals per second; all at once when unset. */
const RATE = process.env.RATE ? Number(process.env.RATE) : undefined;
/**
 * With two cores or more the endpoint runs alone on the last core and this process (the clients) on the others,
 * so that the clients' handshakes do not take the endpoint's CPU and the ratio measures the endpoint, not the
 * bench: `taskset -a -p` (util-linux) sets the affinity of every thread of a running process. SPLIT_CORES=0 shares
 * the cores, as the bench did before 2026-12-06 (1.32× where split gives 1.19×, one run each that day).
 */
const SPLIT_CORES = process.env.SPLIT_CORES !== '0' && availableParallelism() >= 2;

function flagValue(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
}

function pinTo(pid: number, cores: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' });
}

/** Flags for the endpoint's node, split on spaces: --cpu-prof for a profile Chrome's DevTools open, --perf-basic-prof for perf. */
const SERVE_NODE_ARGS = (process.env.SERVE_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** Runs `work` for BURST arrivals (at once, or RATE per second) and measures the endpoint's CPU over it. */
async function wave<T>(pid: number, count: number, work: (i: number) => Promise<T>): Promise<{ results: PromiseSettledResult<T>[]; wallMs: number; serverCpuMs: number; clientCpuMs: number }> {
  const arrive = (i: number) => new Promise((resolve) => setTimeout(resolve, RATE ? (i * 1000) / RATE : 0));
  const cpuBefore = cpuSeconds(pid);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const results = await Promise.allSettled(Array.from({ length: count }, (_, i) => arrive(i).then(() => work(i))));
  const client = process.cpuUsage(clientBefore);
  return { results, wallMs: performance.now() - started, serverCpuMs: (cpuSeconds(pid) - cpuBefore) * 1000, clientCpuMs: (client.user + client.system) / 1000 };
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
    const last = availableParallelism() - 1;
    if (SPLIT_CORES) {
      pinTo(pid, String(last));
      pinTo(process.pid, last === 1 ? '0' : `0-${last - 1}`);
    }
    // Nodes first, not counted, so that no measured wave pays for the endpoint's first calls (V8 compiling its
    // hot paths, the store's folders being made): the endpoint is measured as it runs, not as it starts.
    await wave(pid, WARM_UP, (i) => handshakeOnly(url, caFingerprint).then(() => enrollAndReport(`warm-${i}`, url, caFingerprint, token)));
    const silent = new SilentConnections(serve.port, SILENT);
    await silent.start();

    const arrival = RATE ? `arriving ${RATE}/s` : 'all at once';
    const lines: string[] = [];
    const print = (line: string) => {
      lines.push(line);
      console.log(line);
    };
    const cores = SPLIT_CORES ? `the endpoint alone on core ${last}, the clients on the others` : 'the clients on the same cores';
    const held = SILENT > 0 ? `; ${SILENT} silent connections held open from 127.0.0.2 throughout` : '';
    print(`Measured ${machineLine()}: ${BURST} nodes ${arrival}, one labimg serve (file store), ${ROUNDS} rounds of the floor then the burst, after ${WARM_UP} nodes of warm-up; ${cores}${held}.`);
    print('');
    print('| round | floor p50 / p99 | enroll p50 / p99 | first report p50 / p99 | enroll + report p50 / p99 | p99 / floor p99 | endpoint CPU per node: floor / burst | clients\' CPU per node: floor / burst |');
    print('|---|---:|---:|---:|---:|---:|---:|---:|');
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
      const clientCpu = `${(floor.clientCpuMs / BURST).toFixed(1)} / ${(burst.clientCpuMs / BURST).toFixed(1)} ms`;
      ratios.push(ratio);
      beyond.push(cpuBurst - cpuFloor);
      print(
        `| ${round} | ${cells(floorSorted)} | ${cells(sortedBy((s) => s.enrollMs))} | ${cells(sortedBy((s) => s.reportMs))} | ${cells(total)} | ${ratio.toFixed(2)}× | ${cpuFloor.toFixed(1)} / ${cpuBurst.toFixed(1)} ms | ${clientCpu} |`,
      );
    }
    const stillOpen = silent.open;
    silent.stop();
    // CPU is user + system of the endpoint process, all its threads (the file system's pool and V8's included).
    print('');
    if (SILENT > 0) print(`Silent connections: ${stillOpen} of ${SILENT} open at the end; the endpoint closed ${silent.closedByEndpoint} (its handshake timeout), each reopened at once.`);
    print(`Median of ${ROUNDS} rounds: enroll + first report p99 / floor p99 ${median(ratios).toFixed(2)}× (target ≤ 1.15×); endpoint CPU per node beyond the floor's ${median(beyond).toFixed(1)} ms; ${errors.length} errors.`);
    if (errors.length > 0) {
      console.log(`first errors:\n${[...new Set(errors)].slice(0, 5).join('\n')}`);
      console.log(`the endpoint's warnings:\n${serve.output().split('\n').filter((line) => line.includes(' warn ')).slice(-5).join('\n')}`);
    }
    if (process.argv.includes('--readme') && !RATE && SILENT === 0 && errors.length === 0) writeReadmeBlocks(path.join(__dirname, '..'), { 'join-burst': `${lines.join('\n')}\n` });
  } finally {
    await serve.kill();
    rmSync(data, { recursive: true, force: true });
  }
}

void main();
