// A pool scaling out at once: N nodes enroll with one `labimg serve` and send their first report, all
// concurrently, each over its own connection with the agent's own pinned client (so each makes the pinned
// TLS handshake a real node makes). Prints p50/p99 latencies and errors as a Markdown table, and the CPU time
// the endpoint process spent per node: under a burst, that bounds how fast one endpoint takes new nodes.
//   npm run bench:join-burst            (BURST=1000 by default, all at once)
//   RATE=50 npm run bench:join-burst    (the same nodes arriving 50 per second, as a pool that boots over time)
// The clients run in this one process on the same machine as the server, so they compete for its cores:
// the latencies are an upper bound on what the endpoint alone needs.
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { PinnedHttpsClient } from '../agent/endpoint/pinned-https';
import type { PhaseReport } from '../contract/agent-config';
import type { EnrollResponse } from '../contract/endpoint-api';
import { tempDir } from '../test/helpers/cli';
import { createPool, startServe } from '../test/helpers/endpoint';

const BURST = Number(process.env.BURST ?? 1000);
/** Arrivals per second; all at once when unset. */
const RATE = process.env.RATE ? Number(process.env.RATE) : undefined;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** User + system CPU seconds a process has used so far, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces, hence the last parenthesis); utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

interface Sample {
  enrollMs: number;
  reportMs: number;
  totalMs: number;
}

async function node(i: number, url: string, caFingerprint: string, token: string): Promise<Sample> {
  const client = new PinnedHttpsClient(url, caFingerprint, 60_000);
  const name = `burst-${String(i).padStart(4, '0')}`;
  try {
    const start = performance.now();
    const enroll = await client.request('POST', '/v1/enroll', { token, body: { node: name, role: 'worker', profile: 'ubuntu', gpu: false } });
    if (enroll.status !== 200) throw new Error(`enroll ${enroll.status}: ${JSON.stringify(enroll.body)}`);
    const enrolled = performance.now();
    const report: PhaseReport = { id: randomUUID(), node: name, profile: 'ubuntu', role: 'worker', phase: 'boot', step: 'gpu-switch', status: 'started', at: new Date().toISOString(), gpu: false };
    const sent = await client.request('POST', `/v1/nodes/${name}/reports`, { token: (enroll.body as EnrollResponse).credential, body: report });
    if (sent.status !== 200) throw new Error(`report ${sent.status}: ${JSON.stringify(sent.body)}`);
    const done = performance.now();
    return { enrollMs: enrolled - start, reportMs: done - enrolled, totalMs: done - start };
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  const data = tempDir('labimg-burst-');
  const serve = await startServe({ data });
  try {
    const token = createPool({ data }, 'burst', 'ubuntu');
    const cpuBefore = cpuSeconds(serve.pid);
    const started = performance.now();
    const arrive = (i: number) => new Promise((resolve) => setTimeout(resolve, RATE ? (i * 1000) / RATE : 0));
    const results = await Promise.allSettled(Array.from({ length: BURST }, (_, i) => arrive(i).then(() => node(i, serve.url, serve.caFingerprint, token))));
    const wallMs = performance.now() - started;
    const serverCpuMs = (cpuSeconds(serve.pid) - cpuBefore) * 1000;
    const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
    const row = (label: string, pick: (s: Sample) => number) => {
      const sorted = ok.map(pick).sort((a, b) => a - b);
      return `| ${label} | ${percentile(sorted, 50).toFixed(0)} ms | ${percentile(sorted, 99).toFixed(0)} ms | ${sorted[sorted.length - 1]?.toFixed(0)} ms |`;
    };
    const arrival = RATE ? `arriving ${RATE}/s` : 'all at once';
    console.log(`${BURST} nodes ${arrival}, one labimg serve (file store), ${(wallMs / 1000).toFixed(1)} s wall, ${errors.length} errors\n`);
    console.log('| | p50 | p99 | max |\n|---|---|---|---|');
    console.log(row('enroll (pinned TLS handshake + POST /v1/enroll)', (s) => s.enrollMs));
    console.log(row('first report (POST /v1/nodes/N/reports)', (s) => s.reportMs));
    console.log(row('enroll + first report', (s) => s.totalMs));
    // Per node it is lowest under a burst, where the event loop and the file system batch work.
    console.log(`\nendpoint CPU (user + system, all its threads): ${(serverCpuMs / 1000).toFixed(1)} s, ${(serverCpuMs / BURST).toFixed(1)} ms per node`);
    if (errors.length > 0) console.log(`\nfirst errors:\n${[...new Set(errors)].slice(0, 5).join('\n')}`);

    // The floor under any endpoint work: the same nodes, arriving the same way, each only making its pinned
    // handshake and one GET /healthz (no token check, no store, no body). What this costs, enrolling cannot beat.
    const floorStarted = performance.now();
    const floor = await Promise.all(
      Array.from({ length: BURST }, (_, i) =>
        arrive(i).then(async () => {
          const client = new PinnedHttpsClient(serve.url, serve.caFingerprint, 60_000);
          try {
            const start = performance.now();
            const answer = await client.request('GET', '/healthz');
            if (answer.status !== 200) throw new Error(`healthz ${answer.status}`);
            return performance.now() - start;
          } finally {
            client.close();
          }
        }),
      ),
    );
    const sortedFloor = floor.sort((a, b) => a - b);
    console.log(
      `\nfloor: ${BURST} handshakes + GET /healthz ${arrival}: p50 ${percentile(sortedFloor, 50).toFixed(0)} ms, p99 ${percentile(sortedFloor, 99).toFixed(0)} ms, ` +
        `${((performance.now() - floorStarted) / 1000).toFixed(1)} s wall`,
    );
  } finally {
    await serve.kill();
    rmSync(data, { recursive: true, force: true });
  }
}

void main();
