/**
 * Reports wait in /var/lib/labimg/outbox/<seq>.json until the endpoint has stored them (endpoint/outbox-sender.ts
 * sends them). Sequence numbers are zero-padded so the directory lists in order.
 */
import { randomUUID } from 'crypto';
import { PATHS } from '../contract/node-paths';
import type { Phase, PhaseReport } from '../contract/agent-config';
import type { NodeIdentity } from './endpoint/session';
import type { Host } from './host/host';

/** A report of one step by `who`, stamped now: the fields every report carries, for the runner and `leave` alike. */
export function newReport(
  who: NodeIdentity,
  step: { id: string; phase: Phase },
  status: PhaseReport['status'],
  more?: Partial<PhaseReport>,
): PhaseReport {
  return {
    id: randomUUID(),
    node: who.name,
    profile: who.profile,
    role: who.role,
    phase: step.phase,
    step: step.id,
    status,
    at: new Date().toISOString(),
    gpu: who.gpu,
    ...more,
  };
}

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
