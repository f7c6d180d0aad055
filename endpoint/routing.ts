/**
 * What a handler of a route of the table (contract/endpoint-routes.ts) gets and gives back, and how its answer
 * is sent. Handlers return their answer rather than write it, so the status and content type are the
 * table's, the same the agent reads.
 */
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AnswerOf, ParamsOf, RequestOf, ResponseOf, RouteKey, RouteSpec, WhoOf } from '../contract/endpoint-routes';
import { EventStreamReply } from './fleet-events';
import { sendJson } from './http';
import type { EnrollmentTokenRecord, NodeRecord } from './records';

/** Who the route's access rule let in: the node for node routes, the token's record for enrollment. */
export type CallerOf<K extends RouteKey> = WhoOf<K> extends 'node' | 'control-plane node' ? NodeRecord : WhoOf<K> extends 'enrollment token' ? EnrollmentTokenRecord : undefined;

/** One request as a route's handler gets it, after the router has matched and authenticated it. */
export interface RouteRequest<K extends RouteKey> {
  route: K;
  req: IncomingMessage;
  params: ParamsOf<K>;
  query: URLSearchParams;
  /** The client's address. */
  source: string;
  caller: CallerOf<K>;
  /** Whether the request asked for what only control-plane nodes get; the router has checked the role. */
  privileged: boolean;
  /** The JSON body, limited in size and schema-checked. Read only when asked, so a handler decides what comes first. */
  body(): Promise<RequestOf<K>>;
}

/** A file sent as it is read, for what is too large to hold in memory (an installer's initrd). */
export class FileContent {
  constructor(readonly path: string, readonly size: number) {}
}

/** The body of a route that answers text or bytes, sent with the table's content type. */
export type Content = string | Uint8Array | FileContent;

/** What a handler returns: its JSON response, nothing for a 204, or content. */
export type Reply<K extends RouteKey> = AnswerOf<K> extends { kind: 'json' } ? ResponseOf<K> : AnswerOf<K> extends { kind: 'empty' } ? void : AnswerOf<K> extends { kind: 'events' } ? EventStreamReply : Content;

export type Handler<K extends RouteKey> = (request: RouteRequest<K>) => Promise<Reply<K>>;

/** One handler for each route of the table: a route without one, or one without a route, does not compile. */
export type Handlers = { readonly [K in RouteKey]: Handler<K> };

/** Sends a handler's reply as the table says the route answers. */
export async function sendAnswer(res: ServerResponse, answer: RouteSpec['answer'], reply: unknown): Promise<void> {
  if (answer.kind === 'json') return sendJson(res, answer.status, reply);
  if (answer.kind === 'empty') {
    res.writeHead(answer.status, { 'cache-control': 'no-store' }).end();
    return;
  }
  if (answer.kind === 'events') {
    if (!(reply instanceof EventStreamReply)) throw new Error('the route answered no event stream');
    // No content-length: the stream is open-ended. "no" to X-Accel-Buffering keeps a proxy (nginx) from holding events back.
    res.writeHead(answer.status, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    reply.open(res);
    return;
  }
  if (!(typeof reply === 'string' || reply instanceof Uint8Array || reply instanceof FileContent)) throw new Error('the route answered no content');
  const size = reply instanceof FileContent ? reply.size : typeof reply === 'string' ? Buffer.byteLength(reply) : reply.length;
  res.writeHead(answer.status, {
    'content-type': answer.contentType,
    'content-length': String(size),
    'cache-control': answer.cache === 'immutable' ? 'public, max-age=31536000, immutable' : 'no-store',
  });
  if (!(reply instanceof FileContent)) {
    res.end(reply);
    return;
  }
  await new Promise<void>((resolve, reject) => {
    createReadStream(reply.path).on('error', reject).pipe(res).on('finish', resolve).on('error', reject);
  });
}
