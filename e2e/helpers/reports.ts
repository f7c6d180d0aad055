/**
 * What an end-to-end node told the endpoint, read from the endpoint's store: its reports from the start of
 * its boot up to the run's completion (the refresh timer's later runs report too, and are left out).
 */
import type { PhaseReport } from '../../contract/agent-config';
import { RUN_COMPLETE_STEP } from '../../contract/agent-config';
import { phaseDurations } from '../../contract/phase-timing';
import { Registry } from '../../endpoint/registry';
import { FileStore } from '../../endpoint/store/file-store';

export async function bootReports(data: string, node: string): Promise<PhaseReport[]> {
  const reports = await new Registry(new FileStore(data)).reports(node);
  const complete = reports.findIndex((report) => report.step === RUN_COMPLETE_STEP);
  return complete === -1 ? reports : reports.slice(0, complete + 1);
}

/** Each step's statuses in the order reported, e.g. kubeadm-init → [started, done]. */
export function statusesByStep(reports: readonly PhaseReport[]): Map<string, string[]> {
  const steps = new Map<string, string[]>();
  for (const report of reports) steps.set(report.step, [...(steps.get(report.step) ?? []), report.status]);
  return steps;
}

export interface AgentTimes {
  /** Seconds the agent spent on each phase's steps, from the steps' own durations (done or skipped). */
  phases: Record<string, number>;
  /** The whole run, as its completion report gives it. */
  run: number | undefined;
}

export function agentTimes(reports: readonly PhaseReport[]): AgentTimes {
  const phases = Object.fromEntries([...phaseDurations(reports)].map(([phase, ms]) => [phase, ms / 1000]));
  const complete = reports.find((report) => report.step === RUN_COMPLETE_STEP);
  return { phases, run: complete ? (complete.durationMs ?? 0) / 1000 : undefined };
}
