/**
 * A reader of the endpoint's server-sent events (GET /v1/fleet/events) for tests: a real HTTPS connection,
 * pinned to the test CA, that parses the stream as a browser's EventSource would (events end at a blank line;
 * "event:" names one, "data:" lines are its data, ":" lines are comments).
 */
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';

export interface StreamEvent {
  event: string;
  data: string;
}

export interface OpenStream {
  status: number;
  headers: IncomingHttpHeaders;
  /** Every byte received so far, comments included. */
  raw(): string;
  events(): StreamEvent[];
  /** Resolves with the first event `match` accepts, waiting up to `timeoutMs`. */
  waitFor(match: (e: StreamEvent) => boolean, timeoutMs?: number): Promise<StreamEvent>;
  /** Resolves once the raw stream holds `text`, waiting up to `timeoutMs`. */
  waitForText(text: string, timeoutMs?: number): Promise<void>;
  /** Resolves once the server has closed the stream (or `timeoutMs` passed: false). */
  closedWithin(timeoutMs: number): Promise<boolean>;
  close(): void;
}

export function openEventStream(port: number, caPem: string, path = '/v1/fleet/events'): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path, ca: caPem, servername: 'localhost', agent: false }, (res) => {
      let raw = '';
      let closed = false;
      const waiters = new Set<() => void>();
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        for (const wake of waiters) wake();
      });
      res.on('close', () => {
        closed = true;
        for (const wake of waiters) wake();
      });
      res.on('error', () => undefined);
      const events = () => parseEvents(raw);
      const until = <T>(check: () => T | undefined, timeoutMs: number, onTimeout: () => T | Error): Promise<T> =>
        new Promise((done, fail) => {
          const wake = () => {
            const found = check();
            if (found === undefined) return;
            cleanup();
            done(found);
          };
          const timer = setTimeout(() => {
            cleanup();
            const outcome = onTimeout();
            if (outcome instanceof Error) fail(outcome);
            else done(outcome);
          }, timeoutMs);
          const cleanup = () => {
            clearTimeout(timer);
            waiters.delete(wake);
          };
          waiters.add(wake);
          wake();
        });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        raw: () => raw,
        events,
        waitFor: (match, timeoutMs = 30_000) => until(() => events().find(match), timeoutMs, () => new Error(`no such event within ${timeoutMs} ms; the stream so far:\n${raw}`)),
        waitForText: (text, timeoutMs = 30_000) => until(() => (raw.includes(text) ? true : undefined), timeoutMs, () => new Error(`no ${JSON.stringify(text)} within ${timeoutMs} ms; the stream so far:\n${raw}`)).then(() => undefined),
        closedWithin: (timeoutMs) => until(() => (closed ? true : undefined), timeoutMs, () => false),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}

function parseEvents(raw: string): StreamEvent[] {
  const blocks = raw.split('\n\n').slice(0, -1);
  return blocks.flatMap((block) => {
    const lines = block.split('\n').filter((l) => !l.startsWith(':'));
    const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, ''));
    if (data.length === 0) return [];
    const event = lines.find((l) => l.startsWith('event:'))?.slice(6).trim() ?? 'message';
    return [{ event, data: data.join('\n') }];
  });
}
