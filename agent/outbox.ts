/**
 * Reports wait in /var/lib/labimg/outbox/<seq>.json until the endpoint has stored them (endpoint/outbox-sender.ts
 * sends them). Sequence numbers are zero-padded so the directory lists in order.
 */
import { PATHS } from '../contract/node-paths';
import { PhaseReport } from '../contract/agent-config';
import type { Host } from './host/host';

export function outboxPath(seq: number): string {
  return `${PATHS.outbox}/${String(seq).padStart(8, '0')}.json`;
}

/** The next free sequence number, also past any file left by a run whose state was lost. */
/** The names of the reports waiting in the outbox, oldest first. */
export async function outboxReports(host: Pick<Host, 'listDir'>): Promise<string[]> {
  return (await host.listDir(PATHS.outbox)).filter((name) => name.endsWith('.json')).sort();
}

export async function nextOutboxSeq(host: Host, lastKnown: number): Promise<number> {
  let highest = lastKnown;
  for (const name of await host.listDir(PATHS.outbox)) {
    const seq = Number.parseInt(name, 10);
    if (Number.isFinite(seq) && seq > highest) highest = seq;
  }
  return highest + 1;
}

export async function writeReport(host: Host, seq: number, report: PhaseReport): Promise<void> {
  await host.writeFile(outboxPath(seq), `${JSON.stringify(report)}\n`, 0o600, { bookkeeping: true });
}
