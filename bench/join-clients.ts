// A share of bench/scale-out.ts's nodes, in a process of their own so that the clients can use more than one
// core: reads its orders as JSON from argv, loads, says "ready", waits for a line on stdin, then enrolls and
// reports all of its nodes at once and prints what it measured as one line of JSON.
import { once } from 'node:events';
import { enrollAndReport, type Sample } from './join-node';

export interface ClientOrders {
  url: string;
  caFingerprint: string;
  token: string;
  /** Node names are `${prefix}${i}` for i in [from, from + count). */
  prefix: string;
  from: number;
  count: number;
}

export interface ClientResults {
  /** Wall-clock times (Date.now()) of the first start and the last answer, comparable across processes. */
  startedAt: number;
  endedAt: number;
  samples: Sample[];
  errors: string[];
}

async function main(): Promise<void> {
  const orders = JSON.parse(process.argv[2] ?? '') as ClientOrders;
  console.log('ready');
  await once(process.stdin, 'data');
  const startedAt = Date.now();
  const settled = await Promise.allSettled(Array.from({ length: orders.count }, (_, i) => enrollAndReport(`${orders.prefix}${orders.from + i}`, orders.url, orders.caFingerprint, orders.token)));
  const results: ClientResults = {
    startedAt,
    endedAt: Date.now(),
    samples: settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])),
    errors: settled.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : [])),
  };
  console.log(JSON.stringify(results));
  process.exit(0);
}

void main();
