/**
 * The fleet's event stream, GET /v1/fleet/events: server-sent events (HTML Living Standard, "Server-sent events",
 * https://html.spec.whatwg.org/multipage/server-sent-events.html, read 2026-12-06), one `node` event with the
 * node's FleetNode each time a report or enrollment changes it on this process. FleetNode holds no secret.
 *
 * A stream is a connection held open, so it is bounded like every connection (endpoint/connections.ts) and more:
 * - a comment line every `heartbeatMs` keeps bytes moving, so the idle timeout (30 s) never closes a stream whose
 *   reader reads, and does close one whose reader stopped: its writes then stop completing;
 * - at most `maxStreams` open at once, and `maxStreamsPerAddress` from one address; past them the request is
 *   answered 503 with Retry-After, and the fleet page falls back to reloading itself;
 * - a stream whose reader lets more than `maxBufferedBytes` pile up unread is closed: a slow reader costs memory
 *   only up to that;
 * - a stream ends after `maxAgeMs`; the browser's EventSource reconnects by itself (after `retry`), and a fresh
 *   connection is admitted again, so a stream can never be held for good.
 */
import type { ServerResponse } from 'node:http';
import type { FleetNode } from '../contract/endpoint-api';
import { HttpError } from './http';

export interface EventStreamLimits {
  maxStreams: number;
  maxStreamsPerAddress: number;
  heartbeatMs: number;
  maxBufferedBytes: number;
  maxAgeMs: number;
}

export const DEFAULT_EVENT_STREAM_LIMITS: EventStreamLimits = {
  maxStreams: 64,
  maxStreamsPerAddress: 8,
  heartbeatMs: 15_000,
  maxBufferedBytes: 1024 * 1024,
  maxAgeMs: 30 * 60_000,
};

/** What the browser waits before reconnecting a stream that dropped, in ms (the stream's `retry` field). */
const RECONNECT_MS = 5_000;

/** An admitted stream, for the router to open once it has written the answer's headers. */
export class EventStreamReply {
  constructor(readonly open: (res: ServerResponse) => void) {}
}

export class FleetEvents {
  private readonly streams = new Set<ServerResponse>();
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly limits: EventStreamLimits) {}

  /** How many streams are open: the server skips making events nobody would read. */
  get listeners(): number {
    return this.streams.size;
  }

  /** A stream for `source`, or a 503 when the caps are reached. */
  admit(source: string): EventStreamReply {
    const fromSource = this.perAddress.get(source) ?? 0;
    if (this.streams.size >= this.limits.maxStreams || fromSource >= this.limits.maxStreamsPerAddress) {
      const which = this.streams.size >= this.limits.maxStreams ? `${this.limits.maxStreams} in all` : `${this.limits.maxStreamsPerAddress} from one address`;
      throw new HttpError(503, `too many fleet event streams open (${which}); the fleet page reloads itself instead`, { 'retry-after': '30' });
    }
    this.perAddress.set(source, fromSource + 1);
    return new EventStreamReply((res) => this.open(res, source));
  }

  private open(res: ServerResponse, source: string): void {
    this.streams.add(res);
    res.write(`retry: ${RECONNECT_MS}\n: labimg fleet events\n\n`);
    const heartbeat = setInterval(() => this.send(res, ': keep-alive\n\n'), this.limits.heartbeatMs);
    const ageLimit = setTimeout(() => res.end(), this.limits.maxAgeMs);
    res.once('close', () => {
      clearInterval(heartbeat);
      clearTimeout(ageLimit);
      this.streams.delete(res);
      const left = (this.perAddress.get(source) ?? 1) - 1;
      if (left > 0) this.perAddress.set(source, left);
      else this.perAddress.delete(source);
    });
  }

  /** Sends the node as it stands now to every open stream. */
  publishNode(node: FleetNode): void {
    // JSON.stringify writes no line breaks, so the whole object is one data line.
    const event = `event: node\ndata: ${JSON.stringify(node)}\n\n`;
    for (const res of this.streams) this.send(res, event);
  }

  private send(res: ServerResponse, text: string): void {
    if (res.writableLength > this.limits.maxBufferedBytes) {
      res.destroy();
      return;
    }
    res.write(text);
  }

  /** Ends every stream (the server is closing). */
  closeAll(): void {
    for (const res of this.streams) res.end();
  }
}
