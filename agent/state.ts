/**
 * /var/lib/labimg/state.json: what the agent did, step by step, saved atomically after every step. After a
 * crash or reboot the runner reads it to say what was interrupted; whether a step still needs doing is
 * always decided by its check against the machine, never by this file.
 */
import { PATHS } from '../contract/node-paths';
import { Phase } from '../contract/agent-config';
import type { Host } from './host/host';

export type StepStatus = 'running' | 'done' | 'skipped' | 'failed';

export interface StepRecord {
  phase: Phase;
  status: StepStatus;
  at: string;
  /** How many times apply ran for this step, over the node's whole life. */
  applied: number;
  durationMs?: number;
  error?: string;
}

export interface AgentState {
  version: 1;
  profile: string;
  updatedAt: string;
  /** Last outbox sequence number used. */
  outboxSeq: number;
  steps: Record<string, StepRecord>;
}

export function emptyState(profile: string): AgentState {
  return { version: 1, profile, updatedAt: new Date(0).toISOString(), outboxSeq: 0, steps: {} };
}

export async function loadState(host: Host, profile: string): Promise<AgentState> {
  const text = await host.readFile(PATHS.stateFile);
  if (text === undefined) return emptyState(profile);
  try {
    const parsed = JSON.parse(text) as AgentState;
    if (parsed.version === 1 && typeof parsed.steps === 'object') return { ...parsed, profile };
  } catch {
    /* a torn or foreign file: start over, the checks will find what is already done */
  }
  return emptyState(profile);
}

export async function saveState(host: Host, state: AgentState): Promise<void> {
  state.updatedAt = new Date().toISOString();
  await host.writeFile(PATHS.stateFile, `${JSON.stringify(state, null, 2)}\n`, 0o600, { bookkeeping: true });
}

/** Steps a previous run started but never finished: the machine stopped in the middle of them. */
export function interruptedSteps(state: AgentState): string[] {
  return Object.entries(state.steps)
    .filter(([, record]) => record.status === 'running')
    .map(([id]) => id);
}
