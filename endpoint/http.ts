/** The few HTTP plumbing pieces the endpoint's routes share: bodies with a size limit, JSON answers, errors. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiError } from '../contract/endpoint-api';

/** An answer other than 2xx, with the message the caller sees. Thrown by routes, turned into JSON by the server. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
  }
}

/**
 * The request body, refused with 413 past `limit` bytes without reading the rest into memory. A
 * Content-Length above the limit is refused before a byte is read.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  // The rest of an oversized body is never read, so the connection cannot be reused: say so, then close it.
  const tooLarge = () => new HttpError(413, `request body over ${limit} bytes`, { connection: 'close' });
  if (declared !== undefined && Number(declared) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limit) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    // The client hung up or sent a broken body: its fault, not the store's.
    throw new HttpError(400, `request body incomplete: ${(error as Error).message}`, { connection: 'close' });
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') throw new HttpError(415, 'expected Content-Type: application/json');
  const body = await readBody(req, limit);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (error) {
    throw new HttpError(400, `request body is not valid JSON: ${(error as Error).message}`);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: HttpError): void {
  sendJson(res, error.status, { error: error.message } satisfies ApiError, error.headers);
}
