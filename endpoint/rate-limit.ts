/**
 * Per-source-address limit on failed authentications: guessing tokens from one address gets slow quickly,
 * while a thousand honest nodes behind one NAT, which never fail, are never slowed. Fixed windows are
 * enough here; the point is a ceiling on guesses, not smooth traffic shaping.
 */
export interface FailureLimitOptions {
  /** Failures allowed per address per window before it gets 429. */
  maxFailures: number;
  windowMs: number;
  /** Addresses remembered at most; the oldest windows are forgotten first, so memory stays bounded. */
  maxAddresses?: number;
}

interface Window {
  startedMs: number;
  failures: number;
}

export class FailureLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly options: FailureLimitOptions, private readonly nowMs: () => number = Date.now) {}

  /** Seconds until `address` may try again, or 0 when it may now. */
  retryAfterSeconds(address: string): number {
    const window = this.current(address);
    if (!window || window.failures < this.options.maxFailures) return 0;
    return Math.max(1, Math.ceil((window.startedMs + this.options.windowMs - this.nowMs()) / 1000));
  }

  recordFailure(address: string): void {
    const now = this.nowMs();
    const window = this.current(address) ?? { startedMs: now, failures: 0 };
    window.failures += 1;
    this.windows.delete(address); // re-insert: Map order is then oldest-first
    this.windows.set(address, window);
    const max = this.options.maxAddresses ?? 100_000;
    while (this.windows.size > max) this.windows.delete(this.windows.keys().next().value as string);
  }

  private current(address: string): Window | undefined {
    const window = this.windows.get(address);
    if (window && this.nowMs() - window.startedMs >= this.options.windowMs) {
      this.windows.delete(address);
      return undefined;
    }
    return window;
  }
}
