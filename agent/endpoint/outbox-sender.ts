/**
 * Delivers the outbox, oldest first, and deletes each report only once the endpoint has answered that it is
 * stored. A crash, a reboot or an endpoint outage therefore loses nothing; a report that was stored but whose
 * answer was lost is sent again, and the endpoint keeps it once (reports carry an id).
 *
 * Sending never holds up the node's work: while the endpoint is unreachable the sender waits out a growing
 * pause before trying again, and the steps carry on writing to the outbox meanwhile.
 */
import { PATHS } from '../../contract/node-paths';
import { type PhaseReport } from '../../contract/agent-config';
import type { Host } from '../host/host';
import type { Logger } from '../log';
import { outboxReports } from '../outbox';
import { backoffDelay, sleep } from './backoff';
import { isTransient, type EndpointSession } from './session';

const PAUSE = { firstDelayMs: 1_000, maxDelayMs: 10_000, deadlineMs: Infinity };

export class OutboxSender {
  #failures = 0;
  #pausedUntil = 0;
  #sending?: Promise<boolean>;

  readonly #host: Host;
  readonly #session: EndpointSession;
  readonly #log: Logger;

  constructor(host: Host, session: EndpointSession, log: Logger) {
    this.#host = host;
    this.#session = session;
    this.#log = log;
  }

  /**
   * One pass over the outbox unless the sender is pausing after a failure. Resolves true when the outbox is
   * empty afterwards. Concurrent calls share the pass in progress.
   */
  flush(): Promise<boolean> {
    if (Date.now() < this.#pausedUntil) return Promise.resolve(false);
    this.#sending ??= this.#sendAll().finally(() => {
      this.#sending = undefined;
    });
    return this.#sending;
  }

  /** Keeps flushing until the outbox is empty or `deadlineMs` has passed; true when everything was delivered. */
  async drain(deadlineMs: number): Promise<boolean> {
    const until = Date.now() + deadlineMs;
    for (;;) {
      // A pass already under way may have listed the outbox before the latest report was written: only an
      // empty outbox counts as drained.
      if ((await this.flush()) && (await this.pending()) === 0) return true;
      const wait = Math.max(this.#pausedUntil - Date.now(), 200);
      if (Date.now() + wait > until) return false;
      await sleep(wait);
    }
  }

  async pending(): Promise<number> {
    return (await outboxReports(this.#host)).length;
  }

  async #sendAll(): Promise<boolean> {
    for (const name of await outboxReports(this.#host)) {
      const path = `${PATHS.outbox}/${name}`;
      const text = await this.#host.readFile(path);
      if (text === undefined) continue; // delivered by a concurrent run
      let report: PhaseReport;
      try {
        report = JSON.parse(text) as PhaseReport;
      } catch {
        await this.#reject(name, text, 'not valid JSON (torn write?)');
        continue;
      }
      try {
        await this.#session.sendReport(report);
      } catch (error) {
        if (!isTransient(error)) {
          await this.#reject(name, text, (error as Error).message);
          continue;
        }
        this.#pausedUntil = Date.now() + backoffDelay(this.#failures, PAUSE) + PAUSE.firstDelayMs;
        if (this.#failures === 0) this.#log.warn(`reports wait in the outbox: ${(error as Error).message}`);
        this.#failures += 1;
        return false;
      }
      if (this.#failures > 0) this.#log.info(`the endpoint is back; delivering the outbox`);
      this.#failures = 0;
      await this.#host.remove(path, { bookkeeping: true });
    }
    return true;
  }

  async #reject(name: string, text: string, reason: string): Promise<void> {
    this.#log.warn(`the endpoint refused report ${name}; kept in ${PATHS.outboxRejected}: ${reason}`);
    await this.#host.writeFile(`${PATHS.outboxRejected}/${name}`, text, 0o600, { bookkeeping: true });
    await this.#host.remove(`${PATHS.outbox}/${name}`, { bookkeeping: true });
  }
}
