/**
 * Applies the steps of the requested phases in order: check → skip when satisfied; otherwise apply, then
 * check again and fail if the machine still is not as the step wants it. Progress goes to state.json after
 * every step and a PhaseReport to the outbox on every change, so a crash or reboot loses nothing and the next
 * run carries on from the machine's real state.
 */
import type { Phase, PhaseReport } from '../contract/agent-config';
import { RUN_COMPLETE_STEP } from '../contract/agent-config';
import { sinceBootMs } from './host/facts';
import { nodeIdentity } from './node-identity';
import { newReport, nextOutboxSeq, writeReport } from './outbox';
import type { Redactor } from './redact';
import { AgentState, interruptedSteps, loadState, saveState, StepStatus } from './state';
import { STEPS } from './steps/index';
import type { Step, StepContext } from './steps/step';

/**
 * Test hook: the id of a step after whose apply the agent kills itself with SIGKILL — before the re-check and
 * before state.json records the step as done — to prove that a run interrupted at the worst moment converges.
 */
export const CRASH_AFTER_ENV = 'LABIMG_AGENT_CRASH_AFTER';

export interface RunOptions {
  phases: Phase[];
  redactor: Redactor;
  /** See CRASH_AFTER_ENV. */
  crashAfter?: string;
  steps?: readonly Step[];
  /** Called after each report lands in the outbox (the sender delivers it); must not throw or block long. */
  afterReport?: () => void;
}

export interface RunSummary {
  applied: string[];
  skipped: string[];
}

export class StepFailed extends Error {
  constructor(readonly stepId: string, readonly cause: unknown, message: string) {
    super(`step ${stepId} failed: ${message}`);
    this.name = 'StepFailed';
  }
}

export function selectSteps(steps: readonly Step[], phases: Phase[], ctx: StepContext): Step[] {
  // Bake before boot whatever order the phases were asked in: boot steps build on what bake installed.
  const order: Phase[] = ['bake', 'boot'];
  return order.filter((p) => phases.includes(p)).flatMap((phase) => steps.filter((s) => s.phase === phase && s.applies(ctx)));
}

export async function runAgent(ctx: StepContext, options: RunOptions): Promise<RunSummary> {
  const { host, log, config } = ctx;
  const state = await loadState(host, config.profile);
  for (const id of interruptedSteps(state)) log.warn(`the previous run stopped during step ${id}; checking it again`);

  const reporter = await createReporter(ctx, state, options.redactor, options.afterReport);
  const summary: RunSummary = { applied: [], skipped: [] };
  const steps = selectSteps(options.steps ?? STEPS, options.phases, ctx);
  log.info(`profile ${config.profile}: ${steps.length} steps in phase ${options.phases.join('+')}`);

  const runStarted = Date.now();
  for (const step of steps) {
    const outcome = await runStep(step, ctx, { state, reporter, ...options });
    summary[outcome].push(step.id);
  }
  // The last word of a boot run: the node is ready. Fleet views key "ready" off this report.
  if (options.phases.includes('boot') && options.steps === undefined) {
    await reporter({ id: RUN_COMPLETE_STEP, phase: 'boot' }, 'done', runStarted);
    await saveState(host, state);
  }
  log.info(`done: ${summary.applied.length} applied, ${summary.skipped.length} already in place`);
  return summary;
}

type Reporter = (step: Pick<Step, 'id' | 'phase'>, status: PhaseReport['status'], startedMs: number, error?: string) => Promise<void>;

interface StepRun extends RunOptions {
  state: AgentState;
  reporter: Reporter;
}

/** One step: check, and only if needed apply and check again. Records and reports every status change. */
async function runStep(step: Step, ctx: StepContext, run: StepRun): Promise<keyof RunSummary> {
  const { host, log } = ctx;
  const { state, reporter } = run;
  const started = Date.now();
  const record = async (status: StepStatus, error?: string) => {
    const previous = state.steps[step.id];
    state.steps[step.id] = {
      phase: step.phase,
      status,
      at: new Date().toISOString(),
      applied: (previous?.applied ?? 0) + (status === 'done' ? 1 : 0),
      ...(status === 'running' ? {} : { durationMs: Date.now() - started }),
      ...(error ? { error } : {}),
    };
    await reporter(step, status === 'running' ? 'started' : status, started, error);
    await saveState(host, state);
  };

  try {
    if (step.appliesNow && !(await step.appliesNow(ctx))) return 'skipped';
    if (await step.check(ctx)) {
      log.info(`${step.id}: already done — ${step.title}`);
      await record('skipped');
      return 'skipped';
    }
    log.info(`${step.id}: ${step.title}`);
    await record('running');
    await step.apply(ctx);
    if (run.crashAfter === step.id) {
      log.warn(`${CRASH_AFTER_ENV}=${step.id}: killing the agent now (test hook)`);
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => {}); // never continue past the kill
    }
    if (!(await step.check(ctx))) throw new Error('applied, but its check still fails: the machine is not as the step wants it');
    await record('done');
    return 'applied';
  } catch (err) {
    const message = run.redactor.redact(err instanceof Error ? err.message : String(err));
    await record('failed', message);
    throw new StepFailed(step.id, err, message);
  }
}

/**
 * Reports are about an instance; during an image bake there is none (no node.json), and reports baked into
 * an image would be sent by every machine made from it, so none are written then.
 */
async function createReporter(ctx: StepContext, state: AgentState, redactor: Redactor, afterReport?: () => void): Promise<Reporter> {
  const node = ctx.node;
  if (!node) return async () => {};
  const who = await nodeIdentity(ctx.host, ctx.config, node);
  // Looked up once per run: the outbox can hold many undelivered reports, and listing it per report adds up.
  let seq = (await nextOutboxSeq(ctx.host, state.outboxSeq)) - 1;
  return async (step, status, startedMs, error) => {
    seq += 1;
    const uptime = await sinceBootMs(ctx.host);
    const report = newReport(who, step, status, {
      ...(status === 'started' ? {} : { durationMs: Date.now() - startedMs }),
      ...(uptime === undefined ? {} : { sinceBootMs: uptime }),
      ...(error ? { error: redactor.redact(error) } : {}),
    });
    await writeReport(ctx.host, seq, report);
    // Saved with the step's record by the caller; a report written just before a crash is still found on disk.
    state.outboxSeq = seq;
    afterReport?.();
  };
}
