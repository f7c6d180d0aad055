/**
 * Waiting for something that is not there yet (the control plane, an endpoint that is restarting):
 * exponential backoff with full jitter, so a pool of nodes that booted together does not retry in lockstep.
 */
import type { Logger } from '../log';
import { isTransient, NotYet } from './session';

export interface BackoffOptions {
  firstDelayMs: number;
  maxDelayMs: number;
  /** Give up after this long in total. */
  deadlineMs: number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

// A 10 s ceiling: a thousand nodes waiting on one control plane then ask about 200 times a second in all.
export const DEFAULT_BACKOFF: BackoffOptions = { firstDelayMs: 1_000, maxDelayMs: 10_000, deadlineMs: 30 * 60_000 };

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A delay in [0, min(max, first·2^attempt)); a server's Retry-After is a floor. */
export function backoffDelay(attempt: number, options: BackoffOptions, retryAfterMs?: number): number {
  const ceiling = Math.min(options.maxDelayMs, options.firstDelayMs * 2 ** attempt);
  const jittered = Math.floor((options.random ?? Math.random)() * ceiling);
  return retryAfterMs === undefined ? jittered : Math.max(retryAfterMs, jittered);
}

/** Calls `attempt` until it resolves or fails for a reason that is not transient, or the deadline passes. */
export async function retryUntil<T>(what: string, attempt: () => Promise<T>, log: Logger, options: BackoffOptions = DEFAULT_BACKOFF): Promise<T> {
  const started = Date.now();
  const wait = options.sleep ?? sleep;
  for (let n = 0; ; n += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (!isTransient(error)) throw error;
      const delay = backoffDelay(n, options, error instanceof NotYet ? error.retryAfterMs : undefined);
      if (Date.now() - started + delay > options.deadlineMs) {
        throw new Error(`${what}: gave up after ${Math.round((Date.now() - started) / 1000)} s: ${(error as Error).message}`);
      }
      log.info(`${what}: ${(error as Error).message}; trying again in ${(delay / 1000).toFixed(1)} s`);
      await wait(delay);
    }
  }
}
