/**
 * The dry run: the real steps, applied to a simulated fresh host of the profile's OS (see fresh-host.ts),
 * with every action recorded instead of done. The builder's CLI shows this to users before they build.
 */
import type { AgentConfig, NodeConfig, Phase } from '../contract/agent-config';
import { DryRunHost, PlannedAction } from './host/dry-run-host';
import { formatMode } from './host/mode';
import { freshHostAnswers, freshHostFiles } from './fresh-host';
import { silentLogger } from './log';
import { selectSteps } from './runner';
import { STEPS } from './steps/index';
import type { StepContext } from './steps/step';

export type { PlannedAction } from './host/dry-run-host';

export interface PlannedStep {
  id: string;
  phase: Phase;
  title: string;
  actions: PlannedAction[];
}

export interface PlanOptions {
  /** Simulate an NVIDIA GPU on the PCI bus. */
  gpu: boolean;
}

/** Stands in for the bootstrap token, which a plan never contains; it has a token's shape so kubeadm's format is shown. */
export const PLAN_TOKEN_PLACEHOLDER = 'xxxxxx.xxxxxxxxxxxxxxxx';
/** Join material of a worker planned before the control plane exists. */
const PLAN_JOIN_PLACEHOLDER = { apiServerEndpoint: 'CONTROL-PLANE-ADDRESS:6443', caCertHashes: [`sha256:${'0'.repeat(64)}`] };

export async function planAgent(config: AgentConfig, node: NodeConfig, options: PlanOptions): Promise<PlannedStep[]> {
  const host = new DryRunHost(freshHostFiles(config, node, options.gpu), freshHostAnswers(config));
  // A plan talks to no endpoint: the steps that would (publishing join material, its refresh timer) are left
  // out, and a worker is planned with placeholder join material as if pasted into node.json.
  const { endpoint: _offline, ...withoutEndpoint } = node;
  const plannedNode: NodeConfig = node.role === 'worker' && !node.join ? { ...withoutEndpoint, join: PLAN_JOIN_PLACEHOLDER } : withoutEndpoint;
  const ctx: StepContext = { host, config, node: plannedNode, secrets: { bootstrapToken: PLAN_TOKEN_PLACEHOLDER }, log: silentLogger };
  const planned: PlannedStep[] = [];
  for (const step of selectSteps(STEPS, ['bake', 'boot'], ctx)) {
    if (step.appliesNow && !(await step.appliesNow(ctx))) continue;
    host.takeActions();
    await step.apply(ctx);
    planned.push({ id: step.id, phase: step.phase, title: step.title, actions: host.takeActions() });
  }
  return planned;
}

export function formatPlan(steps: PlannedStep[]): string {
  const out: string[] = [];
  for (const step of steps) {
    out.push(`[${step.phase}] ${step.id}: ${step.title}`);
    if (step.actions.length === 0) out.push('    (nothing to do on a fresh host)');
    for (const action of step.actions) out.push(...formatAction(action));
    out.push('');
  }
  const actions = steps.reduce((n, s) => n + s.actions.length, 0);
  out.push(`${steps.length} steps, ${actions} actions.`);
  return `${out.join('\n')}\n`;
}

function formatAction(action: PlannedAction): string[] {
  switch (action.kind) {
    case 'run':
      return [`    run    ${action.argv.map(shellQuote).join(' ')}`];
    case 'remove':
      return [`    remove ${action.path}`];
    case 'write': {
      const body = action.content.endsWith('\n') ? action.content.slice(0, -1) : action.content;
      return [`    write  ${action.path} (mode ${formatMode(action.mode)})`, ...body.split('\n').map((line) => `           |${line ? ` ${line}` : ''}`)];
    }
  }
}

/** For display only (commands never go through a shell): quote what a reader would otherwise misread. */
function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
