/** What the join benches share: one node as the agent makes it, the floor's request, and how they are measured. */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PinnedHttpsClient } from '../agent/endpoint/pinned-https';
import type { PhaseReport } from '../contract/agent-config';
import type { EnrollResponse } from '../contract/endpoint-api';

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** User + system CPU seconds a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces, hence the last parenthesis); utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

export interface Sample {
  enrollMs: number;
  reportMs: number;
  totalMs: number;
}

/** One new node: the pinned handshake, its enrollment with the pool token, its first report with its credential. */
export async function enrollAndReport(name: string, url: string, caFingerprint: string, token: string): Promise<Sample> {
  const client = new PinnedHttpsClient(url, caFingerprint, 60_000);
  try {
    const start = performance.now();
    const enroll = await step('enroll', client.request('POST', '/v1/enroll', { token, body: { node: name, role: 'worker', profile: 'ubuntu', gpu: false } }));
    if (enroll.status !== 200) throw new Error(`enroll ${enroll.status}: ${JSON.stringify(enroll.body)}`);
    const enrolled = performance.now();
    const report: PhaseReport = { id: randomUUID(), node: name, profile: 'ubuntu', role: 'worker', phase: 'boot', step: 'gpu-switch', status: 'started', at: new Date().toISOString(), gpu: false };
    const sent = await step('report', client.request('POST', `/v1/nodes/${name}/reports`, { token: (enroll.body as EnrollResponse).credential, body: report }));
    if (sent.status !== 200) throw new Error(`report ${sent.status}: ${JSON.stringify(sent.body)}`);
    const done = performance.now();
    return { enrollMs: enrolled - start, reportMs: done - enrolled, totalMs: done - start };
  } finally {
    client.close();
  }
}

/** `request`, its failure named after the request that failed (the errors a bench prints say which). */
async function step<T>(what: string, request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (error) {
    throw new Error(`${what}: ${(error as Error).message}`);
  }
}

/** The floor's one request: the pinned handshake and a GET /healthz, which the endpoint answers with no store, token or body. */
export async function handshakeOnly(url: string, caFingerprint: string): Promise<number> {
  const client = new PinnedHttpsClient(url, caFingerprint, 60_000);
  try {
    const start = performance.now();
    const answer = await client.request('GET', '/healthz');
    if (answer.status !== 200) throw new Error(`healthz ${answer.status}`);
    return performance.now() - start;
  } finally {
    client.close();
  }
}
