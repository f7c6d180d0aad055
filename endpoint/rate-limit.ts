/**
 * Failed authentications per key (a source address, a token id, a node name) in fixed windows. The server asks
 * only about requests that already failed (endpoint/server.ts, guessFailure), so a key past its limit turns
 * failures into 429s and never refuses a right secret: a thousand honest nodes behind one NAT with one broken
 * neighbour are never slowed. Fixed windows are enough; the point is a ceiling, not smooth traffic shaping.
 */
export interface FailureLimitOptions {
  /** Failures allowed per key per window; past them, 429. */
  maxFailures: number;
  windowMs: number;
  /** Keys remembered at most; the least recently failing are forgotten first, so memory stays bounded. */
  maxKeys?: number;
}

interface Window {
  startedMs: number;
  failures: number;
}

export class FailureLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly options: FailureLimitOptions, private readonly nowMs: () => number = Date.now) {}

  /** Seconds until failures under `key` are answered again rather than refused, or 0 when they are now. */
  retryAfterSeconds(key: string): number {
    const window = this.current(key);
    if (!window || window.failures < this.options.maxFailures) return 0;
    return Math.max(1, Math.ceil((window.startedMs + this.options.windowMs - this.nowMs()) / 1000));
  }

  recordFailure(key: string): void {
    const now = this.nowMs();
    const window = this.current(key) ?? { startedMs: now, failures: 0 };
    window.failures += 1;
    this.windows.delete(key); // re-insert: Map order is then oldest-first
    this.windows.set(key, window);
    const max = this.options.maxKeys ?? 100_000;
    while (this.windows.size > max) this.windows.delete(this.windows.keys().next().value as string);
  }

  private current(key: string): Window | undefined {
    const window = this.windows.get(key);
    if (window && this.nowMs() - window.startedMs >= this.options.windowMs) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }
}
