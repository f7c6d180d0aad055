/**
 * How long a node spent in each phase, from its step reports: one rule for the endpoint's fleet view, its
 * metrics, `labimg nodes` and the VM tests' figures, so they can never sum the same reports differently.
 */
import type { Phase, PhaseReport } from './agent-config';
import { RUN_COMPLETE_STEP } from './agent-config';

/** What a phase total needs of a report: the endpoint's per-step summaries and the reports themselves fit. */
export type TimedStep = Pick<PhaseReport, 'step' | 'phase' | 'status' | 'durationMs'>;

/**
 * Milliseconds per phase: the durations of the steps that finished in it (done, skipped or failed). A
 * "started" report has no duration yet, and the run's own completion report is left out: its duration spans
 * both phases, so adding it to the phase it is filed under would count that whole run twice.
 */
export function phaseDurations(steps: Iterable<TimedStep>): Map<Phase, number> {
  const totals = new Map<Phase, number>();
  for (const { step, phase, status, durationMs } of steps) {
    if (step === RUN_COMPLETE_STEP || status === 'started' || durationMs === undefined) continue;
    totals.set(phase, (totals.get(phase) ?? 0) + durationMs);
  }
  return totals;
}
