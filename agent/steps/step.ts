/**
 * What every step is: a small, named piece of the lab with a check that inspects the machine's real state
 * and an apply that makes the check true. The runner calls check first and apply only when needed, so a
 * step must be safe to apply again after a crash halfway through.
 */
import type { AgentConfig, NodeConfig, NodeSecrets, Phase } from '../../contract/agent-config';
import type { EndpointSession } from '../endpoint/session';
import type { Host } from '../host/host';
import type { Logger } from '../log';

export interface StepContext {
  host: Host;
  config: AgentConfig;
  /** Absent during the bake phase: an image is baked before any instance exists. */
  node?: NodeConfig;
  secrets: NodeSecrets;
  log: Logger;
  /** The join endpoint, when node.json names one. */
  endpoint?: EndpointSession;
}

export interface Step {
  id: string;
  phase: Phase;
  title: string;
  /** Whether the step belongs on this node at all (family, role, profile options). Pure: reads only config. */
  applies(ctx: StepContext): boolean;
  /**
   * For a step only the machine can tell is moot (no verified GPU to wait for): false, and it is neither run nor
   * reported, as if it did not apply. Read-only.
   */
  appliesNow?(ctx: StepContext): Promise<boolean>;
  /** True when the machine is already as the step wants it. Must not change anything. */
  check(ctx: StepContext): Promise<boolean>;
  apply(ctx: StepContext): Promise<void>;
}

/** Boot steps need to know what this instance is; bake steps must not ask. */
export function nodeOf(ctx: StepContext): NodeConfig {
  if (!ctx.node) throw new Error('this step needs /etc/labimg/node.json, which only an instance has');
  return ctx.node;
}

export function isControlPlane(ctx: StepContext): boolean {
  return ctx.node?.role === 'control-plane';
}

export function isWorker(ctx: StepContext): boolean {
  return ctx.node?.role === 'worker';
}
