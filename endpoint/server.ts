/**
 * `labimg serve`: the join endpoint's HTTPS server. Routes are listed in contract/endpoint-api.ts.
 *
 * Every request is answered with JSON (or the fleet page / metrics), and every failure the client can cause
 * is a 4xx with a message; only a store that cannot be reached gives 503. Nothing a client sends is logged
 * beyond the route, the node name it claims and its address.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { AGENT_BUNDLE_FILE_PATTERN, NODE_NAME_MAX, NODE_NAME_PATTERN, type EnrollResponse, type JoinMaterial, type ReportResponse } from '../contract/endpoint-api';
import { renderFleetPage } from './fleet-page';
import { HttpError, readJson, sendError, sendImmutable, sendJson, sendText, type RouteRequest } from './http';
import type { EndpointLog } from './log';
import { countRequest, newCounters, renderMetrics, type EndpointCounters } from './metrics';
import type { ServerIdentity } from './pki';
import { FailureLimiter } from './rate-limit';
import type { NodeRecord } from './records';
import { MAC_SEGMENT, PxeRoutes, type PxeCatalog } from './pxe';
import { Registry, RegistryError, type TokenRejection } from './registry';
import { parseEnrollRequest, parsePublishRequest, parseReportRequest } from './schemas';
import { bearerToken, newNodeCredential, secretMatches } from './tokens';

export interface EndpointLimits {
  /** Largest request body accepted, in bytes. */
  bodyBytes: number;
  /** Failed authentications per source address per window before 429. */
  authFailures: number;
  authFailureWindowMs: number;
  /** Seconds a node is told to wait before asking again for join material not yet published. */
  joinRetryAfterSeconds: number;
}

export const DEFAULT_LIMITS: EndpointLimits = {
  bodyBytes: 32 * 1024,
  authFailures: 20,
  authFailureWindowMs: 60_000,
  joinRetryAfterSeconds: 5,
};

export interface EndpointOptions {
  registry: Registry;
  identity: ServerIdentity;
  log: EndpointLog;
  limits?: Partial<EndpointLimits>;
  fleetRefreshSeconds?: number;
  clock?: () => Date;
  /** The agent bundle this labimg ships, served by its sha256 to nodes whose stub user-data fetches it. */
  agentBundle?: Buffer;
  /** What /pxe/ serves; without it there are no PXE routes. */
  pxe?: PxeCatalog;
  /** The CA's fingerprint, which installed nodes pin: PXE configs carry it. */
  caFingerprint?: string;
}

/** Join material whose token expires within this margin is not handed out: the join would race the expiry. */
const TOKEN_EXPIRY_MARGIN_MS = 60_000;

const NODE_NAME = new RegExp(NODE_NAME_PATTERN);

type Request = RouteRequest;

type Handler = (request: Request) => Promise<void>;

interface Route {
  method: string;
  /** Path segments; ":node" matches one node name, ":mac" one MAC address, and a last "**" one or more names. */
  pattern: string[];
  name: string;
  handler: Handler;
  /** Also served on the plain-HTTP PXE listener. */
  pxe?: boolean;
}

export class EndpointServer {
  readonly counters: EndpointCounters = newCounters();
  private readonly server: https.Server;
  private pxeServer?: http.Server;
  private readonly limits: EndpointLimits;
  private readonly failures: FailureLimiter;
  private readonly routes: Route[];
  private readonly clock: () => Date;
  private readonly agentSha256?: string;

  constructor(private readonly options: EndpointOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.clock = options.clock ?? (() => new Date());
    if (options.agentBundle) this.agentSha256 = createHash('sha256').update(options.agentBundle).digest('hex');
    this.failures = new FailureLimiter({ maxFailures: this.limits.authFailures, windowMs: this.limits.authFailureWindowMs });
    this.routes = [
      { method: 'POST', pattern: ['v1', 'enroll'], name: 'POST /v1/enroll', handler: (r) => this.enroll(r) },
      { method: 'POST', pattern: ['v1', 'nodes', ':node', 'reports'], name: 'POST /v1/nodes/:node/reports', handler: (r) => this.report(r) },
      { method: 'GET', pattern: ['v1', 'nodes', ':node', 'join'], name: 'GET /v1/nodes/:node/join', handler: (r) => this.join(r) },
      { method: 'PUT', pattern: ['v1', 'nodes', ':node', 'join-material'], name: 'PUT /v1/nodes/:node/join-material', handler: (r) => this.publish(r) },
      { method: 'GET', pattern: ['v1', 'agent', ':bundle'], name: 'GET /v1/agent/:bundle', handler: (r) => this.agent(r) },
      { method: 'GET', pattern: ['v1', 'fleet'], name: 'GET /v1/fleet', handler: (r) => this.fleetJson(r) },
      { method: 'GET', pattern: ['fleet'], name: 'GET /fleet', handler: (r) => this.fleetPage(r) },
      { method: 'GET', pattern: [], name: 'GET /', handler: (r) => this.fleetPage(r) },
      { method: 'GET', pattern: ['metrics'], name: 'GET /metrics', handler: (r) => this.metrics(r) },
      { method: 'GET', pattern: ['healthz'], name: 'GET /healthz', pxe: true, handler: async ({ res }) => sendText(res, 200, 'text/plain; charset=utf-8', 'ok\n') },
      ...this.pxeRoutes(),
    ];
    this.server = https.createServer(
      {
        cert: options.identity.certChainPem,
        key: options.identity.keyPem,
        minVersion: 'TLSv1.2',
        // Slow or stuck clients must not hold sockets forever; an honest agent's request takes milliseconds.
        requestTimeout: 30_000,
        headersTimeout: 15_000,
        keepAliveTimeout: 5_000,
      },
      (req, res) => void this.handle(req, res),
    );
    this.server.on('secureConnection', () => (this.counters.tlsConnections += 1));
    this.server.on('clientError', (_error, socket) => answerClientError(socket));
  }

  private pxeRoutes(): Route[] {
    const { pxe, caFingerprint } = this.options;
    if (!pxe) return [];
    const routes = new PxeRoutes(pxe, this.options.registry, this.options.log, (host) => ({
      url: `https://${host}:${(this.server.address() as AddressInfo).port}`,
      caFingerprint: caFingerprint ?? '',
    }));
    return [
      { method: 'GET', pattern: ['pxe', 'boot.ipxe'], name: 'GET /pxe/boot.ipxe', pxe: true, handler: (r) => routes.chain(r) },
      { method: 'GET', pattern: ['pxe', 'nodes', ':mac', ':name'], name: 'GET /pxe/nodes/:mac/:file', pxe: true, handler: (r) => routes.nodeFile(r) },
      { method: 'GET', pattern: ['pxe', 'assets', '**'], name: 'GET /pxe/assets/:path', pxe: true, handler: (r) => routes.asset(r) },
    ];
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return listenOn(this.server, port, host);
  }

  /**
   * The plain-HTTP listener for PXE: iPXE in firmware has no TLS to our CA. It serves the PXE routes and
   * /healthz, nothing else, so no node credential or join material ever crosses it.
   */
  listenPxe(port: number, host: string): Promise<AddressInfo> {
    const server = http.createServer({ requestTimeout: 30_000, headersTimeout: 15_000, keepAliveTimeout: 5_000 }, (req, res) => void this.handle(req, res, true));
    server.on('clientError', (_error, socket) => answerClientError(socket));
    this.pxeServer = server;
    return listenOn(server, port, host);
  }

  close(): Promise<void> {
    const closing = [this.server, this.pxeServer].filter((s): s is https.Server | http.Server => s !== undefined);
    return Promise.all(
      closing.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    ).then(() => undefined);
  }

  private async handle(req: IncomingMessage, res: ServerResponse, pxeListener = false): Promise<void> {
    // Kept now: once a streamed body is refused, node detaches req.socket before the answer has gone out.
    const socket = req.socket;
    const source = socket.remoteAddress ?? 'unknown';
    let routeName = 'unmatched';
    try {
      const { segments, query } = parseTarget(req.url ?? '');
      const matching = this.routes.filter((route) => (!pxeListener || route.pxe) && matches(route.pattern, segments));
      const route = matching.find((r) => r.method === req.method);
      if (!route) {
        if (matching.length === 0) throw new HttpError(404, 'no such route; the API is described at the top of contract/endpoint-api.ts');
        throw new HttpError(405, `method ${req.method ?? '?'} not allowed here`, { allow: matching.map((r) => r.method).join(', ') });
      }
      routeName = route.name;
      await route.handler({ req, res, segments, query, source });
    } catch (error) {
      const failure = this.asHttpError(error, routeName, source);
      if (!res.headersSent) sendError(res, failure);
      else res.destroy();
      // Drain what is left of the body so the connection can be reused, but never read an oversized one.
      if (failure.status !== 413) req.resume();
      else res.once('finish', () => socket.destroy());
    } finally {
      countRequest(this.counters, routeName, res.statusCode);
    }
  }

  private asHttpError(error: unknown, route: string, source: string): HttpError {
    if (error instanceof HttpError) {
      // 503 "not published yet" is the normal answer to a waiting worker; logging each would drown the log.
      if (error.status === 409) this.options.log.warn(`${route} from ${source}: ${error.status} ${error.message}`);
      return error;
    }
    // Anything else is the store failing (etcd unreachable, disk full): the client should come back later.
    this.options.log.warn(`${route} from ${source}: store error: ${(error as Error).message}`);
    return new HttpError(503, 'the endpoint cannot reach its store right now; try again shortly', { 'retry-after': '5' });
  }

  // ── authentication ───────────────────────────────────────────────────────────────────────────────────

  private refuseIfLimited(source: string): void {
    const wait = this.failures.retryAfterSeconds(source);
    if (wait > 0) {
      this.counters.rateLimited += 1;
      throw new HttpError(429, `too many failed authentications from ${source}; wait ${wait} s`, { 'retry-after': String(wait) });
    }
  }

  private authFailure(source: string, status: 401 | 403, message: string): HttpError {
    this.failures.recordFailure(source);
    this.counters.authFailures += 1;
    this.options.log.warn(`authentication failed from ${source}: ${message}`);
    return new HttpError(status, message, status === 401 ? { 'www-authenticate': 'Bearer' } : {});
  }

  /** The node named in the path, when the request carries that node's credential. */
  private async authenticateNode({ req, segments, source }: Request): Promise<NodeRecord> {
    this.refuseIfLimited(source);
    const name = segments[2] ?? '';
    const credential = bearerToken(req.headers.authorization);
    if (!credential) throw this.authFailure(source, 401, 'missing "Authorization: Bearer <node credential>"; a node gets its credential by enrolling');
    const node = await this.options.registry.node(name);
    if (!node || !secretMatches(credential, node.credentialSha256)) {
      throw this.authFailure(source, 401, `the credential is not valid for node "${name}"; enroll again with the pool's token`);
    }
    return node;
  }

  // ── routes ───────────────────────────────────────────────────────────────────────────────────────────

  private async enroll(request: Request): Promise<void> {
    const { req, res, source } = request;
    this.refuseIfLimited(source);
    const token = bearerToken(req.headers.authorization);
    if (!token) throw this.authFailure(source, 401, 'missing "Authorization: Bearer <enrollment token>"');
    // The token first: a caller without a live one learns nothing about what a valid body looks like.
    const check = await this.options.registry.checkEnrollmentToken(token);
    if (!check.ok) throw this.authFailure(source, check.reason === 'malformed' || check.reason === 'unknown' ? 401 : 403, TOKEN_REJECTIONS[check.reason]);
    const body = parseEnrollRequest(await readJson(req, this.limits.bodyBytes));
    const scoped = check.record;
    if ((scoped.node !== undefined && scoped.node !== body.node) || (scoped.role !== undefined && scoped.role !== body.role)) {
      throw this.authFailure(source, 403, `this enrollment token was issued for ${scoped.role ?? 'a'} node "${scoped.node ?? '?'}" alone, not for ${body.role} "${body.node}"`);
    }

    const pool = check.record.pool;
    const { credential, sha256 } = newNodeCredential();
    try {
      await this.options.registry.enroll({ name: body.node, pool, role: body.role, profile: body.profile, gpu: body.gpu, credentialSha256: sha256 });
    } catch (error) {
      if (error instanceof RegistryError) throw new HttpError(409, error.message);
      throw error;
    }
    await this.options.registry.audit({ action: 'node-enrolled', pool, node: body.node, tokenId: check.record.id, source });
    this.counters.enrollments += 1;
    this.options.log.info(`enrolled ${body.role} ${body.node} into pool ${pool} from ${source}`);
    sendJson(res, 200, { node: body.node, pool, credential } satisfies EnrollResponse);
  }

  private async report(request: Request): Promise<void> {
    const node = await this.authenticateNode(request);
    const report = parseReportRequest(await readJson(request.req, this.limits.bodyBytes));
    if (report.node !== node.name) throw new HttpError(400, `report is about node "${report.node}" but was sent for "${node.name}"`);
    const stored = await this.options.registry.addReport(node.name, report);
    this.counters[stored ? 'reportsStored' : 'reportsDuplicate'] += 1;
    if (report.status === 'failed') this.options.log.warn(`${node.name}: step ${report.step} failed`);
    sendJson(request.res, 200, { stored } satisfies ReportResponse);
  }

  private async join(request: Request): Promise<void> {
    const node = await this.authenticateNode(request);
    const wantsKey = request.query.get('controlPlane') === 'true';
    if (wantsKey && node.role !== 'control-plane') {
      throw new HttpError(403, `node "${node.name}" enrolled as a ${node.role}; only control-plane nodes get the certificate key`);
    }
    const published = await this.options.registry.joinMaterial(node.pool);
    const now = this.clock().getTime();
    const notYet = (why: string) => new HttpError(503, why, { 'retry-after': String(this.limits.joinRetryAfterSeconds) });
    if (!published) throw notYet(`the control plane of pool "${node.pool}" has not published join material yet`);
    if (Date.parse(published.tokenExpires) - now < TOKEN_EXPIRY_MARGIN_MS) {
      throw notYet(`the bootstrap token of pool "${node.pool}" expires at ${published.tokenExpires}; waiting for the control plane to refresh it`);
    }
    const material: JoinMaterial = { apiServerEndpoint: published.apiServerEndpoint, token: published.token, caCertHashes: published.caCertHashes };
    if (wantsKey) {
      if (!published.certificateKey || (published.certificateKeyExpires && Date.parse(published.certificateKeyExpires) - now < TOKEN_EXPIRY_MARGIN_MS)) {
        throw notYet(`the control plane of pool "${node.pool}" has not published a current certificate key`);
      }
      material.certificateKey = published.certificateKey;
    }
    await this.options.registry.audit({ action: 'join-material-issued', pool: node.pool, node: node.name, source: request.source, certificateKey: wantsKey });
    this.counters.joinMaterialIssued += 1;
    sendJson(request.res, 200, material);
  }

  private async publish(request: Request): Promise<void> {
    const node = await this.authenticateNode(request);
    if (node.role !== 'control-plane') throw new HttpError(403, `node "${node.name}" enrolled as a ${node.role}; only control-plane nodes publish join material`);
    const material = parsePublishRequest(await readJson(request.req, this.limits.bodyBytes));
    if (Date.parse(material.tokenExpires) <= this.clock().getTime()) throw new HttpError(400, `tokenExpires ${material.tokenExpires} is in the past`);
    await this.options.registry.publishJoinMaterial(node.pool, { ...material, publishedBy: node.name, publishedAt: this.clock().toISOString() });
    await this.options.registry.audit({ action: 'join-material-published', pool: node.pool, node: node.name, source: request.source });
    this.options.log.info(`${node.name} published join material for pool ${node.pool} (token valid until ${material.tokenExpires})`);
    request.res.writeHead(204, { 'cache-control': 'no-store' }).end();
  }

  /**
   * Public on purpose: the bundle holds no secret (it is in every image), and the node asking has no
   * credential yet. The hash in the URL says exactly which bundle the user-data was made for.
   */
  private async agent({ res, segments }: Request): Promise<void> {
    const wanted = (segments[2] ?? '').slice(0, -'.js'.length);
    if (this.agentSha256 === undefined) throw new HttpError(404, 'this endpoint serves no agent bundle');
    if (wanted !== this.agentSha256) {
      throw new HttpError(404, `this endpoint serves agent ${this.agentSha256}, not ${wanted}: rebuild the user-data with the labimg that runs this endpoint, or serve that agent at a URL given to --agent-url`);
    }
    sendImmutable(res, 'text/javascript; charset=utf-8', this.options.agentBundle as Buffer);
  }

  private async fleetJson({ res }: Request): Promise<void> {
    sendJson(res, 200, await this.options.registry.fleet());
  }

  private async fleetPage({ res }: Request): Promise<void> {
    const page = renderFleetPage(await this.options.registry.fleet(), { refreshSeconds: this.options.fleetRefreshSeconds ?? 5 });
    sendText(res, 200, 'text/html; charset=utf-8', page);
  }

  private async metrics({ res }: Request): Promise<void> {
    const text = renderMetrics(await this.options.registry.fleet(), this.counters, this.clock());
    sendText(res, 200, 'text/plain; version=0.0.4; charset=utf-8', text);
  }
}

const TOKEN_REJECTIONS: Record<TokenRejection, string> = {
  malformed: 'the enrollment token is not of the form <id>.<secret> that `labimg pool create` prints',
  unknown: 'the enrollment token is not known to this endpoint',
  revoked: 'the enrollment token was revoked; ask for a new one (`labimg pool token create`)',
  expired: 'the enrollment token has expired; ask for a new one (`labimg pool token create`)',
};

/**
 * The request target as path segments, refusing anything but plain names: no percent-encoding, no empty,
 * "." or ".." segments. Node names never need encoding, so refusing it closes every path trick at once.
 */
function parseTarget(target: string): { segments: string[]; query: URLSearchParams } {
  const [path, query = ''] = splitOnce(target, '?');
  if (!path.startsWith('/')) throw new HttpError(400, 'request target must be an absolute path');
  if (path.length > 1024) throw new HttpError(400, 'request path longer than 1024 characters');
  if (/[^A-Za-z0-9._\-/]/.test(path)) throw new HttpError(400, 'request path may only hold letters, digits, ".", "_", "-" and "/"');
  const segments = path === '/' ? [] : path.slice(1).replace(/\/$/, '').split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) throw new HttpError(400, 'request path has an empty, "." or ".." segment');
  if (query.length > 1024) throw new HttpError(400, 'query string too long');
  return { segments, query: new URLSearchParams(query) };
}

function matches(pattern: string[], segments: string[]): boolean {
  const rest = pattern[pattern.length - 1] === '**';
  if (rest ? segments.length < pattern.length : pattern.length !== segments.length) return false;
  return pattern.every((p, i) => {
    const segment = segments[i] ?? '';
    if (p === '**') return true;
    if (p === ':node') return segment.length <= NODE_NAME_MAX && NODE_NAME.test(segment);
    if (p === ':mac') return MAC_SEGMENT.test(segment);
    if (p === ':name') return segment.length <= 64;
    if (p === ':bundle') return AGENT_BUNDLE_FILE_PATTERN.test(segment);
    return p === segment;
  });
}

/** A request node's parser refused (bad request line, bad headers): a bare 400, then the connection closes. */
function answerClientError(socket: Duplex): void {
  if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  else socket.destroy();
}

function listenOn(server: http.Server | https.Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

function splitOnce(text: string, separator: string): [string, string?] {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + 1)];
}

