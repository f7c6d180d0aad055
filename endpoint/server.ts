/**
 * `labimg serve`: the join endpoint's HTTPS server. Its routes are the table in contract/endpoint-routes.ts;
 * this file binds a handler to each and checks who may call it as the table says.
 *
 * Every request is answered with JSON (or the fleet page / metrics), and every failure the client can cause
 * is a 4xx with a message; only a store that cannot be reached gives 503. Nothing a client sends is logged
 * beyond the route, the node name it claims and its address.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { capConnections, defaultConnectionLimits, type ConnectionLimits } from './connections';
import { NODE_CREDENTIAL_HEADER, type CredentialLifetime, type EnrollRequest, type EnrollResponse, type IdentityNonce, type FleetView, type JoinMaterial, type ReportResponse } from '../contract/endpoint-api';
import { NODE_CREDENTIAL } from '../contract/token-formats';
import { matchRoute, routeKeys, ROUTES, type Access, type ParamsOf, type RequestOf, type RouteKey } from '../contract/endpoint-routes';
import { filtersFrom } from './fleet-aggregates';
import { DEFAULT_EVENT_STREAM_LIMITS, FleetEvents, type EventStreamLimits, type EventStreamReply } from './fleet-events';
import { renderFleetPage } from './fleet-page';
import { nodeAuditEvents, renderNodePage } from './node-page';
import { HttpError, readJson, sendError } from './http';
import type { EndpointLog } from './log';
import { countRequest, newCounters, renderMetrics, type EndpointCounters } from './metrics';
import type { ServerIdentity } from './pki';
import { FailureLimiter } from './rate-limit';
import { LEAVING_STEP, type Role } from '../contract/agent-config';
import { IdentityRefused, verifyInstanceIdentity, type InstanceIdentity } from './identity/documents';
import { mintNonce, nonceRefusal } from './identity/nonces';
import { policyRefusal } from './identity/policy';
import { grantedRole, KEYS, type AuditEvent, type EnrollmentTokenRecord, type NodeRecord } from './records';
import type { PxeCatalog } from '../contract/pxe-catalog';
import { PxeRoutes } from './pxe';
import { credentialStanding, fleetNodeOf, isSameMachine, Registry, RegistryError, type TokenRejection } from './registry';
import { sendAnswer, type CallerOf, type Content, type Handlers, type RouteRequest } from './routing';
import { REQUEST_BODIES } from './schemas';
import { bearerToken, newNodeCredential, parseEnrollmentToken, secretMatches, sha256Hex } from './tokens';

export interface EndpointLimits extends ConnectionLimits, EventStreamLimits {
  /** Largest request body accepted, in bytes. */
  bodyBytes: number;
  /** Failed authentications per source address, and per token id or node name, per window before 429. */
  authFailures: number;
  authFailureWindowMs: number;
  /** Seconds a node is told to wait before asking again for join material not yet published. */
  joinRetryAfterSeconds: number;
}

export const DEFAULT_LIMITS: EndpointLimits = {
  ...defaultConnectionLimits(),
  ...DEFAULT_EVENT_STREAM_LIMITS,
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

/** How long the node pages share one read of the audit trail (recentAuditTrail). */
const AUDIT_SNAPSHOT_MS = 5_000;

/** Join material whose token expires within this margin is not handed out: the join would race the expiry. */
const TOKEN_EXPIRY_MARGIN_MS = 60_000;

export class EndpointServer {
  readonly counters: EndpointCounters = newCounters();
  private readonly server: https.Server;
  private pxeServer?: http.Server;
  private readonly limits: EndpointLimits;
  private readonly failures: FailureLimiter;
  /** The routes of the table this endpoint serves on HTTPS, and the few of them its PXE listener serves. */
  private readonly httpsRoutes: RouteKey[];
  private readonly pxeListenerRoutes: RouteKey[];
  private readonly handlers: Handlers;
  private readonly pxe?: PxeRoutes;
  private readonly clock: () => Date;
  private readonly agentSha256?: string;
  private readonly events: FleetEvents;
  /** The audit trail as the node pages last read it, and when (see nodePage). */
  private auditSnapshot?: { readAt: number; trail: Promise<AuditEvent[]> };

  constructor(private readonly options: EndpointOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.events = new FleetEvents(this.limits);
    this.clock = options.clock ?? (() => new Date());
    if (options.agentBundle) this.agentSha256 = createHash('sha256').update(options.agentBundle).digest('hex');
    this.failures = new FailureLimiter({ maxFailures: this.limits.authFailures, windowMs: this.limits.authFailureWindowMs });
    if (options.pxe) {
      const { caFingerprint } = options;
      this.pxe = new PxeRoutes(options.pxe, options.registry, options.log, (host) => ({
        url: `https://${host}:${(this.server.address() as AddressInfo).port}`,
        caFingerprint: caFingerprint ?? '',
      }));
    }
    // Without a catalog the PXE paths are no routes at all (404), as if this endpoint had never heard of PXE.
    this.httpsRoutes = routeKeys().filter((route) => this.pxe !== undefined || !('pxeCatalog' in ROUTES[route]));
    this.pxeListenerRoutes = this.httpsRoutes.filter((route) => ROUTES[route].listeners === 'https and pxe');
    this.handlers = {
      'POST /v1/enroll': (r) => this.enroll(r),
      'POST /v1/enroll/identity': (r) => this.enrollByIdentity(r),
      'GET /v1/identity/nonce': () => this.identityNonce(),
      'POST /v1/nodes/:node/credential': (r) => this.rotateCredential(r),
      'POST /v1/nodes/:node/reports': (r) => this.report(r),
      'GET /v1/nodes/:node/join': (r) => this.join(r),
      'PUT /v1/nodes/:node/join-material': (r) => this.publish(r),
      'GET /v1/agent/:bundle': (r) => this.agent(r),
      'GET /v1/fleet': () => this.fleetJson(),
      'GET /fleet': (r) => this.fleetPage(r.query),
      'GET /fleet/nodes/:node': (r) => this.nodePage(r.params.node),
      'GET /v1/fleet/events': (r) => this.fleetEvents(r.source),
      'GET /': (r) => this.fleetPage(r.query),
      'GET /metrics': () => this.metrics(),
      'GET /healthz': async () => 'ok\n',
      'GET /pxe/boot.ipxe': (r) => this.pxeRoutes().chain(r),
      'GET /pxe/nodes/:mac/:file': (r) => this.pxeRoutes().nodeFile(r),
      'POST /pxe/nodes/:mac/installed': (r) => this.pxeRoutes().installFinished(r),
      'GET /pxe/assets/**': (r) => this.pxeRoutes().asset(r),
    };
    const limits = this.limits;
    this.server = https.createServer(
      {
        cert: options.identity.certChainPem,
        key: options.identity.keyPem,
        minVersion: 'TLSv1.2',
        // A client that never finishes its handshake (silent, or stopped inside a TLS record) is cut off here;
        // the HTTP timeouts below start only once it is done (endpoint/connections.ts).
        handshakeTimeout: limits.handshakeTimeoutMs,
        ...httpTimeouts(limits),
      },
      (req, res) => void this.handle(req, res),
    );
    this.guard(this.server);
    this.server.on('secureConnection', () => (this.counters.tlsConnections += 1));
  }

  /** Timeouts and caps on every socket of `server`, and its answer to what node's parser refuses. */
  private guard(server: http.Server | https.Server): void {
    server.timeout = this.limits.idleTimeoutMs;
    capConnections(server, this.limits, (reason) => {
      const refused = (this.counters.connectionsRefused += 1);
      // One line at the 1st, 10th, 100th… refusal: a flood of connections must not become a flood of log lines.
      if (Number.isInteger(Math.log10(refused))) this.options.log.warn(`${refused} connection(s) refused so far; latest: ` + (reason === 'total' ? `${this.limits.maxConnections} connections open in all` : `${this.limits.maxConnectionsPerAddress} connections open from one address`));
    });
    server.on('clientError', (error: NodeJS.ErrnoException, socket) => answerClientError(error, socket));
  }

  /** PXE routes are served only with a catalog, so their handlers run only when there is one. */
  private pxeRoutes(): PxeRoutes {
    if (!this.pxe) throw new HttpError(404, NO_SUCH_ROUTE);
    return this.pxe;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return listenOn(this.server, port, host);
  }

  /**
   * The plain-HTTP listener for PXE: iPXE in firmware has no TLS to our CA. It serves the PXE routes and
   * /healthz, nothing else, so no node credential or join material ever crosses it.
   */
  listenPxe(port: number, host: string): Promise<AddressInfo> {
    const server = http.createServer(httpTimeouts(this.limits), (req, res) => void this.handle(req, res, true));
    this.guard(server);
    this.pxeServer = server;
    return listenOn(server, port, host);
  }

  close(): Promise<void> {
    this.events.closeAll();
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
      const match = matchRoute(req.method ?? '', segments, pxeListener ? this.pxeListenerRoutes : this.httpsRoutes);
      if ('allow' in match) {
        if (match.allow.length === 0) throw new HttpError(404, NO_SUCH_ROUTE);
        throw new HttpError(405, `method ${req.method ?? '?'} not allowed here`, { allow: match.allow.join(', ') });
      }
      routeName = match.route;
      await this.dispatch(match, req, res, query, source);
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

  /** Authenticates the request as the route's access rule says, then runs its handler and sends what it returns. */
  private async dispatch<K extends RouteKey>(match: { route: K; params: ParamsOf<K> }, req: IncomingMessage, res: ServerResponse, query: URLSearchParams, source: string): Promise<void> {
    const { route, params } = match;
    const { caller, privileged } = await this.admit(ROUTES[route], params, req, query, source);
    const request: RouteRequest<K> = {
      route,
      req,
      params,
      query,
      source,
      // admit() authenticated exactly what the route's `who` asks for: a node, an enrollment token, or nobody.
      caller: caller as CallerOf<K>,
      privileged,
      body: () => this.requestBody(route, req),
    };
    const handler = this.handlers[route];
    await sendAnswer(res, ROUTES[route].answer, await handler(request));
  }

  private async requestBody<K extends RouteKey>(route: K, req: IncomingMessage): Promise<RequestOf<K>> {
    const parsers: Partial<Record<RouteKey, (body: unknown) => unknown>> = REQUEST_BODIES;
    const parse = parsers[route];
    if (!parse) throw new Error(`${route} takes no request body`);
    // REQUEST_BODIES holds, for each route with a body, the check that yields the table's type for it.
    return parse(await readJson(req, this.limits.bodyBytes)) as RequestOf<K>;
  }

  private asHttpError(error: unknown, route: string, source: string): HttpError {
    if (error instanceof HttpError) {
      if (worthAWarning(error.status)) this.options.log.warn(`${route} from ${source}: ${error.status} ${error.message}`);
      return error;
    }
    // Anything else is the store failing (etcd unreachable, disk full): the client should come back later.
    this.options.log.warn(`${route} from ${source}: store error: ${(error as Error).message}`);
    return new HttpError(503, 'the endpoint cannot reach its store right now; try again shortly', { 'retry-after': '5' });
  }

  // ── authentication ───────────────────────────────────────────────────────────────────────────────────

  /**
   * A request whose secret did not prove anything (missing, malformed, wrong; an identity document that does not
   * verify or that the pool's policy refuses), counted against its source address and, when it named one, the token
   * id or node name it tried. Once either is past the limit the answer is 429, with no log line or audit entry, so
   * a client that keeps failing can flood neither. Only failures are ever limited: a request whose secret is right
   * never reaches here, so neither a failing neighbour behind the same NAT nor anyone spamming a token's id with
   * wrong secrets can lock a valid credential out. (It does not ration guesses: each is still checked. The
   * secrets are 256 random bits, so guessing is hopeless anyway; endpoint/tokens.ts.)
   */
  private guessFailure(source: string, id: string | undefined, status: 401 | 403, message: string, audit?: () => Promise<void>): Promise<HttpError> {
    const keys = [`from ${source}`, ...(id === undefined ? [] : [id])];
    const wait = Math.max(...keys.map((key) => this.failures.retryAfterSeconds(key)));
    for (const key of keys) this.failures.recordFailure(key);
    if (wait > 0) {
      this.counters.rateLimited += 1;
      const what = keys.find((key) => this.failures.retryAfterSeconds(key) > 0) ?? keys[0];
      return Promise.resolve(new HttpError(429, `too many failed authentications ${what}; wait ${wait} s`, { 'retry-after': String(wait) }));
    }
    return this.refusal(source, status, message, audit);
  }

  /** A refusal that is no guess: the secret was right, but revoked, expired, spent, or not good for what was asked. Never limited. */
  private async refusal(source: string, status: 401 | 403, message: string, audit?: () => Promise<void>): Promise<HttpError> {
    await audit?.();
    this.counters.authFailures += 1;
    this.options.log.warn(`authentication failed from ${source}: ${message}`);
    return new HttpError(status, message, status === 401 ? { 'www-authenticate': 'Bearer' } : {});
  }

  /**
   * Who the request is, as far as the route's access rule cares, and whether it asked for what only
   * control-plane nodes get; a caller the rule does not admit is refused here, before the handler runs.
   */
  private async admit(
    access: Access,
    params: Partial<Record<string, string>>,
    req: IncomingMessage,
    query: URLSearchParams,
    source: string,
  ): Promise<{ caller: NodeRecord | EnrollmentTokenRecord | undefined; privileged: boolean }> {
    if (access.who === 'anyone') return { caller: undefined, privileged: false };
    // The handler checks the document in the body (guessFailure limits the failures).
    if (access.who === 'identity document') return { caller: undefined, privileged: false };
    if (access.who === 'enrollment token') return { caller: await this.authenticateEnrollment(req, source), privileged: false };
    const node = await this.authenticateNode(params.node ?? '', req, source);
    const privilege = controlPlanePrivilege(access, query);
    if (privilege !== undefined && node.role !== 'control-plane') throw new HttpError(403, `node "${node.name}" enrolled as a ${node.role}; only control-plane nodes ${privilege}`);
    return { caller: node, privileged: privilege !== undefined };
  }

  /** The live enrollment token the request carries. */
  private async authenticateEnrollment(req: IncomingMessage, source: string): Promise<EnrollmentTokenRecord> {
    const token = bearerToken(req.headers.authorization);
    if (!token) throw await this.guessFailure(source, undefined, 401, 'missing "Authorization: Bearer <enrollment token>"');
    const check = await this.options.registry.checkEnrollmentToken(token);
    if (!check.ok) {
      const id = parseEnrollmentToken(token)?.id;
      if (check.reason === 'malformed' || check.reason === 'unknown') throw await this.guessFailure(source, id === undefined ? undefined : `for token id ${id}`, 401, TOKEN_REJECTIONS[check.reason]);
      throw await this.refusal(source, 403, TOKEN_REJECTIONS[check.reason]);
    }
    return check.record;
  }

  /** The node named in the path, when the request carries that node's credential. */
  private async authenticateNode(name: string, req: IncomingMessage, source: string): Promise<NodeRecord> {
    const credential = bearerToken(req.headers.authorization);
    if (!credential) throw await this.guessFailure(source, undefined, 401, 'missing "Authorization: Bearer <node credential>"; a node gets its credential by enrolling');
    // Read from the store on every request, so a revocation holds at once on every replica.
    const node = await this.options.registry.node(name);
    const standing = node ? credentialStanding(node, sha256Hex(credential), this.clock()) : 'wrong';
    if (!node || standing === 'wrong') throw await this.guessFailure(source, `for node ${name}`, 401, `the credential is not valid for node "${name}"; enroll again with the pool's token`);
    if (standing === 'revoked') throw await this.refusal(source, 401, `the credential of node "${name}" was revoked at ${node.revokedAt}; the operator releases the name with \`labimg nodes forget ${name}\``);
    if (standing === 'expired') throw await this.refusal(source, 401, `the credential of node "${name}" has expired; the node enrolls again with its role's token`);
    return node;
  }

  // ── routes ───────────────────────────────────────────────────────────────────────────────────────────

  private async enroll(request: RouteRequest<'POST /v1/enroll'>): Promise<EnrollResponse> {
    const { caller: token, source } = request;
    // The token first (admit checked it): a caller without a live one learns nothing about what a valid body looks like.
    const body = await request.body();
    const pool = token.pool;
    // The role is the token's to grant: a worker's user-data, readable by any process on the instance, must
    // not enroll a control plane, which gets the certificate key and publishes the pool's join material.
    const role = grantedRole(token);
    // The token is valid: its refusals say why and are never rate-limited.
    const refuse = this.enrollmentRefuser(pool, body.node, source, { tokenId: token.id }, 'refusal');
    if (body.role !== role) {
      throw await refuse(403, `this enrollment token grants the ${role} role, not ${body.role}${role === 'worker' ? `; a control plane enrolls with its own token (\`labimg pool token-create ${pool} --role control-plane\`)` : ''}`);
    }
    if (token.node !== undefined && token.node !== body.node) {
      throw await refuse(403, `this enrollment token was issued for ${role} node "${token.node}" alone, not for "${body.node}"`);
    }
    // A retry from the same machine takes no use of its token (a one-use PXE token has been spent by then).
    // A token issued without a number of uses (a pool's worker token) never gets one, so it needs no second read.
    return this.completeEnrollment(request.req, { pool, role, body, source, vouched: { tokenId: token.id }, refuse }, async () =>
      token.usesLeft === undefined || (await this.options.registry.takeTokenUse(token.id)) ? undefined : TOKEN_REJECTIONS['used-up'],
    );
  }

  /**
   * Enrollment vouched for by the cloud: the instance's signed identity document, verified against the pool's
   * configured certificates and policy. It enrolls workers only, each under its instance id, and each document
   * (for Alibaba Cloud, each nonce) once.
   */
  private async enrollByIdentity(request: RouteRequest<'POST /v1/enroll/identity'>): Promise<EnrollResponse> {
    const { source } = request;
    const body = await request.body();
    const registry = this.options.registry;
    const policy = (await registry.pool(body.pool))?.identity;
    // Until the document verifies and the pool's policy takes it, a refusal is a failed authentication.
    const refuse = this.enrollmentRefuser(body.pool, body.node, source, {}, 'guess');
    if (!policy) throw await refuse(403, `pool "${body.pool}" takes no instance identity documents (\`labimg pool identity ${body.pool}\` sets that up)`);
    if (body.role !== 'worker') throw await refuse(403, 'an instance identity document enrolls workers only; a control plane enrolls with its own token');
    if (body.provider === 'aws' && (body.audience !== undefined || body.document !== undefined)) {
      throw new HttpError(400, 'an aws identity document is signed with its content and at launch: it takes no audience or separate document');
    }
    let identity: InstanceIdentity;
    try {
      if (body.provider === 'aliyun') {
        const stale = nonceRefusal(await registry.sharedKey(KEYS.identityNonceKey), body.audience ?? '', this.clock());
        if (stale !== undefined) throw new IdentityRefused(stale);
      }
      const evidence = body.provider === 'aliyun' ? { audience: body.audience ?? '', ...(body.document !== undefined ? { document: body.document } : {}) } : undefined;
      identity = verifyInstanceIdentity(body.provider, body.signature, policy.certificatesPem, evidence);
    } catch (error) {
      if (error instanceof IdentityRefused) throw await refuse(401, error.message);
      throw error;
    }
    const instance = `${identity.provider} ${identity.accountId}/${identity.region}/${identity.instanceId}`;
    const refuseInstance = this.enrollmentRefuser(body.pool, body.node, source, { instance }, 'guess');
    const refusal = policyRefusal(body.pool, policy, identity, body.node, this.clock());
    if (refusal !== undefined) throw await refuseInstance(403, refusal);
    // One use per signed content, never per signature text: the parts of a PKCS#7 outside the signature
    // (lengths, certificates) can be encoded anew without breaking it. AWS signs a document once per launch;
    // Alibaba Cloud signs each nonce this endpoint made into its audience.
    const use = sha256Hex(identity.provider === 'aws' ? `aws\n${identity.accountId}\n${identity.instanceId}\n${identity.launchedAt ?? ''}` : `aliyun\n${identity.audience ?? ''}`);
    return this.completeEnrollment(request.req, { pool: body.pool, role: 'worker', body, source, vouched: { instance }, refuse: refuseInstance }, async (credentialSha256) =>
      (await registry.takeIdentityDocument(use, body.node, credentialSha256)) ? undefined : 'this identity document was used already: a document (an audience) enrolls one machine once',
    );
  }

  /** A refusal of an enrollment, audited with whatever vouched for it; a 'guess' is limited as guessFailure says. */
  private enrollmentRefuser(pool: string, node: string, source: string, vouched: { tokenId?: string; instance?: string }, kind: 'guess' | 'refusal') {
    return (status: 401 | 403, message: string): Promise<HttpError> => {
      const audit = () => this.options.registry.audit({ action: 'enrollment-refused', pool, node, ...vouched, source, reason: message });
      return kind === 'guess' ? this.guessFailure(source, undefined, status, message, audit) : this.refusal(source, status, message, audit);
    };
  }

  /**
   * What both kinds of enrollment share once the caller is let in: the node's own credential (its header) binds
   * the name to it, so the same machine enrolling again (a retry, a reboot) keeps its record and uses up nothing,
   * while a new machine takes what vouched for it (`takeUse` answers why not, when nothing is left).
   */
  private async completeEnrollment(
    req: IncomingMessage,
    e: { pool: string; role: Role; body: EnrollRequest; source: string; vouched: { tokenId?: string; instance?: string }; refuse: (status: 401 | 403, message: string) => Promise<HttpError> },
    takeUse: (credentialSha256: string) => Promise<string | undefined>,
  ): Promise<EnrollResponse> {
    const { pool, role, body, source, vouched } = e;
    const presented = req.headers[NODE_CREDENTIAL_HEADER];
    if (presented !== undefined && (typeof presented !== 'string' || !NODE_CREDENTIAL.test(presented))) {
      throw new HttpError(400, `${NODE_CREDENTIAL_HEADER}: expected the node's credential, 32 random bytes as unpadded base64url`);
    }
    const { credential, sha256 } = presented === undefined ? newNodeCredential() : { credential: presented, sha256: sha256Hex(presented) };
    const registry = this.options.registry;
    if (!isSameMachine(await registry.node(body.node), pool, sha256, this.clock())) {
      const spent = await takeUse(sha256);
      if (spent !== undefined) throw await e.refuse(403, spent);
    }
    let record: NodeRecord;
    try {
      record = await registry.enroll({ name: body.node, pool, role, profile: body.profile, gpu: body.gpu, credentialSha256: sha256 });
    } catch (error) {
      if (error instanceof RegistryError) {
        await registry.audit({ action: 'enrollment-refused', pool, node: body.node, ...vouched, source, reason: error.message });
        throw new HttpError(409, error.message);
      }
      throw error;
    }
    await registry.audit({ action: 'node-enrolled', pool, node: body.node, ...vouched, source });
    this.counters.enrollments += 1;
    await this.publishNode(body.node);
    this.options.log.info(`enrolled ${role} ${body.node} into pool ${pool} from ${source}${vouched.instance ? ` (${vouched.instance})` : ''}`);
    return { node: body.node, pool, credential, ...lifetimeOf(record) };
  }

  /** A nonce for an Alibaba Cloud identity document's audience. */
  private async identityNonce(): Promise<IdentityNonce> {
    return mintNonce(await this.options.registry.sharedKey(KEYS.identityNonceKey), this.clock());
  }

  /** The node's next credential, made by the node, replaces the one this request is authenticated with. */
  private async rotateCredential(request: RouteRequest<'POST /v1/nodes/:node/credential'>): Promise<CredentialLifetime> {
    const { caller: node, source } = request;
    const next = request.req.headers[NODE_CREDENTIAL_HEADER];
    if (typeof next !== 'string' || !NODE_CREDENTIAL.test(next)) {
      throw new HttpError(400, `${NODE_CREDENTIAL_HEADER}: expected the node's next credential, 32 random bytes as unpadded base64url`);
    }
    const presented = bearerToken(request.req.headers.authorization) ?? '';
    try {
      return await this.options.registry.rotateCredential(node.name, sha256Hex(presented), sha256Hex(next));
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      await this.options.registry.audit({ action: 'enrollment-refused', pool: node.pool, node: node.name, source, reason: error.message });
      throw new HttpError(409, error.message);
    }
  }

  private async report(request: RouteRequest<'POST /v1/nodes/:node/reports'>): Promise<ReportResponse> {
    const node = request.caller;
    const report = await request.body();
    if (report.node !== node.name) throw new HttpError(400, `report is about node "${report.node}" but was sent for "${node.name}"`);
    const stored = await this.options.registry.addReport(node.name, report);
    this.counters[stored ? 'reportsStored' : 'reportsDuplicate'] += 1;
    if (report.status === 'failed') this.options.log.warn(`${node.name}: step ${report.step} failed`);
    if (stored && report.step === LEAVING_STEP && report.status === 'done') this.options.log.info(`${node.name} left pool ${node.pool}: its machine powered off on purpose`);
    if (stored) await this.publishNode(node.name);
    return { stored };
  }

  /** With ?controlPlane=true (`privileged`, a control-plane node: admit checked) the certificate key too. */
  private async join(request: RouteRequest<'GET /v1/nodes/:node/join'>): Promise<JoinMaterial> {
    const { caller: node, privileged: wantsKey } = request;
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
    return material;
  }

  private async publish(request: RouteRequest<'PUT /v1/nodes/:node/join-material'>): Promise<void> {
    const node = request.caller;
    const material = await request.body();
    if (Date.parse(material.tokenExpires) <= this.clock().getTime()) throw new HttpError(400, `tokenExpires ${material.tokenExpires} is in the past`);
    try {
      await this.options.registry.publishJoinMaterial(node.pool, { ...material, publishedBy: node.name, publishedAt: this.clock().toISOString() });
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      await this.options.registry.audit({ action: 'join-material-refused', pool: node.pool, node: node.name, source: request.source, reason: error.message });
      this.options.log.warn(`${node.name} (pool ${node.pool}): ${error.message}`);
      throw new HttpError(409, error.message);
    }
    await this.options.registry.audit({ action: 'join-material-published', pool: node.pool, node: node.name, source: request.source });
    this.options.log.info(`${node.name} published join material for pool ${node.pool} (token valid until ${material.tokenExpires})`);
  }

  /**
   * Public on purpose: the bundle holds no secret (it is in every image), and the node asking has no
   * credential yet. The hash in the URL says exactly which bundle the user-data was made for.
   */
  private async agent({ params }: RouteRequest<'GET /v1/agent/:bundle'>): Promise<Content> {
    const wanted = params.bundle.slice(0, -'.js'.length);
    if (this.agentSha256 === undefined || this.options.agentBundle === undefined) throw new HttpError(404, 'this endpoint serves no agent bundle');
    if (wanted !== this.agentSha256) {
      throw new HttpError(404, `this endpoint serves agent ${this.agentSha256}, not ${wanted}: rebuild the user-data with the labimg that runs this endpoint, or serve that agent at a URL given to --agent-url`);
    }
    return this.options.agentBundle;
  }

  private async fleetJson(): Promise<FleetView> {
    return this.options.registry.fleet();
  }

  private async fleetPage(query: URLSearchParams): Promise<Content> {
    return renderFleetPage(await this.options.registry.fleet(), { refreshSeconds: this.refreshSeconds(), filters: filtersFrom(query) });
  }

  private refreshSeconds(): number {
    return this.options.fleetRefreshSeconds ?? 5;
  }

  private async nodePage(name: string): Promise<Content> {
    const registry = this.options.registry;
    const record = await registry.node(name);
    if (!record) throw new HttpError(404, `no node "${name}" has enrolled`);
    const [history, trail] = await Promise.all([registry.reportHistory(name), this.recentAuditTrail()]);
    return renderNodePage({ node: fleetNodeOf(record), generatedAt: this.clock().toISOString(), reports: history.reports, droppedReports: history.dropped, audit: nodeAuditEvents(trail, name), refreshSeconds: this.refreshSeconds() });
  }

  /**
   * The audit trail, read at most once per AUDIT_SNAPSHOT_MS for all node pages together: the page is public and
   * the trail holds up to 50,000 entries, so a client asking for node pages in a loop must not make the endpoint
   * read it each time. A page may miss an event of the last few seconds; its next load shows it.
   */
  private recentAuditTrail(): Promise<AuditEvent[]> {
    const now = this.clock().getTime();
    const snapshot = this.auditSnapshot;
    if (snapshot && now - snapshot.readAt < AUDIT_SNAPSHOT_MS && now >= snapshot.readAt) return snapshot.trail;
    const trail = this.options.registry.auditTrail();
    this.auditSnapshot = { readAt: now, trail };
    // A read that failed is not kept: the next page asks the store again.
    trail.catch(() => {
      if (this.auditSnapshot?.trail === trail) this.auditSnapshot = undefined;
    });
    return trail;
  }

  private async fleetEvents(source: string): Promise<EventStreamReply> {
    return this.events.admit(source);
  }

  /**
   * Tells the open event streams how the node stands now. Only what this process stored is sent: a replica's
   * pages learn of reports sent to another replica at their next reload or reconnection. A store that fails here
   * fails no report: the report is stored already.
   */
  private async publishNode(name: string): Promise<void> {
    if (this.events.listeners === 0) return;
    const record = await this.options.registry.node(name).catch(() => undefined);
    if (record) this.events.publishNode(fleetNodeOf(record));
  }

  private async metrics(): Promise<Content> {
    return renderMetrics(await this.options.registry.fleet(), this.counters, this.clock());
  }
}

/** The lifetime of a node's current credential, when its record has one (records from before expiry do not). */
function lifetimeOf(record: NodeRecord): Partial<CredentialLifetime> {
  const { credentialIssuedAt, credentialExpiresAt } = record;
  return credentialIssuedAt && credentialExpiresAt ? { credentialIssuedAt, credentialExpiresAt } : {};
}

const NO_SUCH_ROUTE = 'no such route; the API is described in contract/endpoint-routes.ts';

/** What the request asks for that control-plane nodes alone get ("publish join material"), if anything. */
function controlPlanePrivilege(access: Extract<Access, { who: 'node' | 'control-plane node' }>, query: URLSearchParams): string | undefined {
  if (access.who === 'control-plane node') return access.privilege;
  const asked = access.controlPlaneQuery;
  return asked !== undefined && query.get(asked.name) === asked.value ? asked.privilege : undefined;
}

/**
 * Which refusals get a warning, one line each: those an operator should look at. A 409 is two machines
 * claiming one node name, or a pool token trying to change a node's role. Failed authentications have their
 * line already (authFailure). A 503 "not published yet" is the normal answer to a waiting worker and 404s are
 * mostly scanners: a line for each would drown the rest. Other refusals (a bad body, a wrong method or role)
 * are for the client, whose agent logs the message it is answered.
 */
function worthAWarning(status: number): boolean {
  return status === 409;
}

const TOKEN_REJECTIONS: Record<TokenRejection, string> = {
  malformed: 'the enrollment token is not of the form <id>.<secret> that `labimg pool create` prints',
  unknown: 'the enrollment token is not known to this endpoint',
  revoked: 'the enrollment token was revoked; ask for a new one (`labimg pool token-create POOL`)',
  expired: 'the enrollment token has expired; ask for a new one (`labimg pool token-create POOL`)',
  'used-up': 'the enrollment token has enrolled as many nodes as it was issued for; ask for a new one (`labimg pool token-create POOL --role control-plane`)',
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

/** Node's HTTP timeouts, from the endpoint's limits (their defaults and meaning: endpoint/connections.ts). */
function httpTimeouts(limits: ConnectionLimits): http.ServerOptions {
  return {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
  };
}

/**
 * What node's parser refused (a bad request line or headers: a bare 400) or timed out (408), then the connection
 * closes. Anything else is a socket with no HTTP on it yet: a TLS handshake that failed or timed out. Writing an
 * HTTP answer there would wait behind a handshake that never finishes, holding the socket forever; it is
 * destroyed instead (the https.Server leaves that to a 'clientError' listener: endpoint/connections.ts).
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const code = error.code ?? '';
  const status = code.startsWith('HPE_') ? '400 Bad Request' : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : undefined;
  if (status === undefined || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  // A client that never closes its side is not waited for.
  (socket as Socket).setTimeout?.(5_000, () => socket.destroy());
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

