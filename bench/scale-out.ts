// Scale-out: how many new nodes a second 1, 2 and 4 `labimg serve` replicas on one etcd take when they sit behind
// one address. Each round starts a real etcd's worth of replicas (`labimg serve --etcd`, each with its own server
// certificate from the one CA in etcd), a TCP round-robin proxy in front of them (bench/tcp-round-robin.ts), and
// sends NODES nodes at once through the proxy, each enrolling and sending its first report over its own pinned
// connection. Prints a Markdown table: throughput (nodes enrolled and reported per second of wall time), p50/p99
// of enroll + report, and the CPU the replicas, etcd and the proxy spent per node.
//   npm run bench:scale-out                  (NODES=1000, REPLICAS=1,2,4)
//   NODES=4000 REPLICAS=1,2,4,8 CLIENTS=4 npm run bench:scale-out
// Everything runs on this one machine: the clients, the proxy, etcd and the replicas share its cores, so the
// figures say what this machine allows, and more replicas than cores only share the same cores.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { tempDir } from '../test/helpers/cli';
import { createPool, startServe, type RunningServe } from '../test/helpers/endpoint';
import { startEtcd } from '../test/helpers/etcd';
import type { ClientOrders, ClientResults } from './join-clients';
import { cpuSeconds, enrollAndReport, percentile } from './join-node';

const NODES = Number(process.env.NODES ?? 1000);
const REPLICAS = (process.env.REPLICAS ?? '1,2,4').split(',').map(Number);
const CORES = cpus().length;
/** Client processes: a TLS client costs about what a server does, so on many cores one process would be the limit. */
const CLIENTS = Number(process.env.CLIENTS ?? Math.max(1, Math.floor(CORES / 4)));
/** Nodes per replica through the proxy before each round is measured, so that no replica is measured compiling its hot paths. */
const WARM_UP = Number(process.env.WARM_UP ?? 100);

const here = __dirname;

/** A child Node process running one of this folder's scripts, and its stdout line by line. */
function script(file: string, args: string[]): { child: ChildProcess; lines: AsyncIterableIterator<string> } {
  const child = spawn(process.execPath, ['--import=tsx', path.join(here, file), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  return { child, lines };
}

async function nextLine(lines: AsyncIterableIterator<string>, what: string): Promise<string> {
  const line = await lines.next();
  if (line.done) throw new Error(`${what} exited without a word`);
  return line.value;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

interface Row {
  replicas: number;
  wallMs: number;
  totals: number[];
  errors: string[];
  replicaCpuMs: number;
  etcdCpuMs: number;
  proxyCpuMs: number;
}

async function round(etcd: { url: string; pid: number }, replicas: number): Promise<Row> {
  const data = tempDir('labimg-scale-');
  const store = { data, etcd: etcd.url, etcdPrefix: `scale-${replicas}-${Date.now()}/` };
  const serves: RunningServe[] = [];
  let proxy: ChildProcess | undefined;
  const clients: ChildProcess[] = [];
  try {
    // The first replica makes the CA in etcd; the others load it, so all present certificates from one CA.
    serves.push(await startServe(store));
    serves.push(...(await Promise.all(Array.from({ length: replicas - 1 }, () => startServe(store)))));
    const token = createPool(store, 'scale', 'ubuntu');
    const front = script('tcp-round-robin.ts', serves.map((s) => String(s.port)));
    proxy = front.child;
    const port = /^listening (\d+)$/.exec(await nextLine(front.lines, 'the proxy'))?.[1];
    const url = `https://127.0.0.1:${port}`;
    const caFingerprint = serves[0]?.caFingerprint ?? '';
    await Promise.all(Array.from({ length: WARM_UP * replicas }, (_, i) => enrollAndReport(`warm-${i}`, url, caFingerprint, token)));

    // The client processes load first and start together on one word, so that no process start is measured.
    const share = Math.ceil(NODES / CLIENTS);
    const started = Array.from({ length: CLIENTS }, (_, c) => {
      const orders: ClientOrders = { url, caFingerprint, token, prefix: 'node-', from: c * share, count: Math.max(0, Math.min(share, NODES - c * share)) };
      return script('join-clients.ts', [JSON.stringify(orders)]);
    });
    clients.push(...started.map((s) => s.child));
    for (const s of started) if ((await nextLine(s.lines, 'a client process')) !== 'ready') throw new Error('a client process did not start');

    const cpu = () => ({ replicas: serves.reduce((sum, s) => sum + cpuSeconds(s.pid), 0), etcd: cpuSeconds(etcd.pid), proxy: cpuSeconds(proxy?.pid as number) });
    const before = cpu();
    for (const s of started) s.child.stdin?.write('go\n');
    const results = await Promise.all(started.map(async (s) => JSON.parse(await nextLine(s.lines, 'a client process')) as ClientResults));
    const after = cpu();
    return {
      replicas,
      wallMs: Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt)),
      totals: results.flatMap((r) => r.samples.map((s) => s.totalMs)).sort((a, b) => a - b),
      errors: results.flatMap((r) => r.errors),
      replicaCpuMs: (after.replicas - before.replicas) * 1000,
      etcdCpuMs: (after.etcd - before.etcd) * 1000,
      proxyCpuMs: (after.proxy - before.proxy) * 1000,
    };
  } finally {
    await Promise.all(clients.map(stop));
    if (proxy) await stop(proxy);
    await Promise.all(serves.map((s) => s.kill()));
    rmSync(data, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const etcd = await startEtcd();
  const rows: Row[] = [];
  try {
    for (const replicas of REPLICAS) rows.push(await round(etcd, replicas));
  } finally {
    await etcd.stop();
  }
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  console.log(`${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${CORES} cores (${model})`);
  console.log(
    `${NODES} nodes at once per row, each enrolling and sending its first report over its own pinned TLS connection, from ${CLIENTS} client process(es); ` +
      'the replicas share one etcd (one member, on this machine) and are fronted by a TCP round-robin proxy (bench/tcp-round-robin.ts, one Node process, a replica per connection); ' +
      `clients, proxy, etcd and replicas all share these ${CORES} cores\n`,
  );
  console.log('| replicas | nodes/s | vs 1 replica | enroll + report p50 / p99 | errors | CPU per node: replicas / etcd / proxy |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  const base = rows[0];
  for (const row of rows) {
    const ok = row.totals.length;
    const rate = ok / (row.wallMs / 1000);
    const baseRate = base ? base.totals.length / (base.wallMs / 1000) : rate;
    const perNode = (ms: number) => (ms / NODES).toFixed(1);
    console.log(
      `| ${row.replicas} | ${rate.toFixed(0)} | ${(rate / baseRate).toFixed(2)}× | ${percentile(row.totals, 50).toFixed(0)} / ${percentile(row.totals, 99).toFixed(0)} ms | ${row.errors.length} | ` +
        `${perNode(row.replicaCpuMs)} / ${perNode(row.etcdCpuMs)} / ${perNode(row.proxyCpuMs)} ms |`,
    );
  }
  const errors = rows.flatMap((r) => r.errors);
  if (errors.length > 0) console.log(`\nfirst errors:\n${[...new Set(errors)].slice(0, 5).join('\n')}`);
}

void main();
