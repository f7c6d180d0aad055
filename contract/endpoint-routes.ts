/**
 * Every route of the join endpoint (`labimg serve`), for both sides: the agent builds its requests from this
 * table (routePath, routeMethod) and the server binds one handler to each of its keys (matchRoute), so a
 * route one side knows and the other does not is a compile error, not a 404 in a lab.
 *
 * A route's key is its method and path pattern, "POST /v1/nodes/:node/reports". It is also the route's name
 * in the endpoint's metrics and log: the pattern, never the path, or every node would start its own series.
 *
 * A pattern's parameters are named by their kind (ParamKind): `:node` a node name, `:mac` a MAC address as
 * iPXE spells a folder (52-54-00-12-34-56), `:file` a PXE file name, `:bundle` the agent bundle's file name,
 * and a last `**` the rest of the path, one or more plain names, as `params.rest` ("casper/vmlinuz").
 *
 * The agent bundles this file: keep the table plain data (no calls at the top level), so that esbuild drops
 * it from the agent, which needs only the functions that read a key.
 */
import {
  AGENT_BUNDLE_FILE_PATTERN,
  NODE_NAME_MAX,
  NODE_NAME_PATTERN,
  type CredentialLifetime,
  type EnrollRequest,
  type EnrollResponse,
  type IdentityEnrollRequest,
  type IdentityNonce,
  type FleetView,
  type JoinMaterial,
  type PublishedJoinMaterial,
  type ReportRequest,
  type ReportResponse,
} from './endpoint-api';

/** A MAC address as a PXE folder name: lowercase hex pairs joined by "-", as iPXE's ${netX/mac:hexhyp} gives. */
export const MAC_SEGMENT = /^[0-9a-f]{2}(-[0-9a-f]{2}){5}$/;
/** The longest file name under a machine's PXE folder. */
export const PXE_FILE_NAME_MAX = 64;

/** One path segment of plain characters, "." and ".." excepted: what the server lets through at all. */
const PLAIN_NAME = /^(?!\.\.?$)[A-Za-z0-9._-]+$/;
const NODE_NAME = new RegExp(NODE_NAME_PATTERN);

export type ParamKind = 'node' | 'mac' | 'file' | 'bundle' | 'rest';

const PARAM_KINDS: Record<ParamKind, (value: string) => boolean> = {
  node: (value) => value.length <= NODE_NAME_MAX && NODE_NAME.test(value),
  mac: (value) => MAC_SEGMENT.test(value),
  file: (value) => value.length <= PXE_FILE_NAME_MAX && PLAIN_NAME.test(value),
  bundle: (value) => AGENT_BUNDLE_FILE_PATTERN.test(value),
  rest: (value) => value.split('/').every((name) => PLAIN_NAME.test(name)),
};

/**
 * Who may call a route: anyone, the holder of an enrollment token, or a node with its own credential (the two
 * kinds of token are described in endpoint-api.ts), which for some routes must have enrolled as a control plane.
 * A `privilege` ends the refusal of other roles: "only control-plane nodes <privilege>".
 */
export type Access =
  | { who: 'anyone' }
  | { who: 'enrollment token' }
  /** A signed instance identity document in the body, which the route's handler checks. */
  | { who: 'identity document' }
  | {
      who: 'node';
      /** A query value that asks for what control-plane nodes alone get: join?controlPlane=true, the certificate key. */
      controlPlaneQuery?: { name: string; value: string; privilege: string };
    }
  | { who: 'control-plane node'; privilege: string };

/**
 * What a route answers when it succeeds: JSON of its response type, nothing (204), or text or bytes of one
 * content type, "immutable" when its URL names it by hash, so any cache may keep it. A refusal is an ApiError.
 */
export type Answer =
  | { kind: 'json'; status: 200 }
  | { kind: 'empty'; status: 204 }
  /** A stream of server-sent events (text/event-stream) held open until either side ends it. */
  | { kind: 'events'; status: 200 }
  | { kind: 'content'; status: 200; contentType: string; cache?: 'immutable' };

/**
 * A route's request body, response body and query as types, for the client's call and the server's handler.
 * It holds nothing at run time (`{}`): only its type arguments matter.
 */
export interface Exchange<Request = undefined, Response = undefined, Query extends Record<string, string> = never> {
  readonly request?: Request;
  readonly response?: Response;
  readonly query?: Query;
}

export type RouteSpec = Access & {
  /** The plain-HTTP PXE listener (`--pxe-listen`) serves only routes marked for it; HTTPS serves them all. */
  listeners: 'https' | 'https and pxe';
  /** Served only by an endpoint started with a PXE catalog (`--pxe-groups`); without one the path is a 404. */
  pxeCatalog?: true;
  answer: Answer;
  exchange: Exchange<unknown, unknown, Record<string, string>>;
};

const JSON_ANSWER = { kind: 'json', status: 200 } as const;
const TEXT = 'text/plain; charset=utf-8';
const IPXE_ANSWER = { kind: 'content', status: 200, contentType: TEXT } as const;

export const ROUTES = {
  'POST /v1/enroll': { who: 'enrollment token', listeners: 'https', answer: JSON_ANSWER, exchange: {} as Exchange<EnrollRequest, EnrollResponse> },
  /**
   * Enrollment by a signed instance identity document (IdentityEnrollRequest) into a pool set up for it; the
   * document is the caller's proof, checked by the handler against the pool's policy, so the route's access rule
   * only applies the failed-authentication limit.
   */
  'POST /v1/enroll/identity': { who: 'identity document', listeners: 'https', answer: JSON_ANSWER, exchange: {} as Exchange<IdentityEnrollRequest, EnrollResponse> },
  /** A one-use nonce for the `audience` of an Alibaba Cloud identity document; made without storing anything. */
  'GET /v1/identity/nonce': { who: 'anyone', listeners: 'https', answer: JSON_ANSWER, exchange: {} as Exchange<undefined, IdentityNonce> },
  /**
   * Replaces the node's credential with the next one, which the node made and sends in NODE_CREDENTIAL_HEADER
   * (never in a body). Idempotent: sent again with the same next credential (an answer was lost), it answers the
   * same lifetime. The replaced credential is accepted for a short grace, for requests already under way.
   */
  'POST /v1/nodes/:node/credential': { who: 'node', listeners: 'https', answer: JSON_ANSWER, exchange: {} as Exchange<undefined, CredentialLifetime> },
  /** Idempotent by the report's id. */
  'POST /v1/nodes/:node/reports': { who: 'node', listeners: 'https', answer: JSON_ANSWER, exchange: {} as Exchange<ReportRequest, ReportResponse> },
  /** 503 with Retry-After until the pool's control plane has published join material. */
  'GET /v1/nodes/:node/join': {
    who: 'node',
    controlPlaneQuery: { name: 'controlPlane', value: 'true', privilege: 'get the certificate key' },
    listeners: 'https',
    answer: JSON_ANSWER,
    exchange: {} as Exchange<undefined, JoinMaterial, { controlPlane: 'true' }>,
  },
  /** For the node's own pool. */
  'PUT /v1/nodes/:node/join-material': {
    who: 'control-plane node',
    privilege: 'publish join material',
    listeners: 'https',
    answer: { kind: 'empty', status: 204 },
    exchange: {} as Exchange<PublishedJoinMaterial, undefined>,
  },
  /** The agent bundle with that sha256, for stub user-data; public, as it is in every image anyway. */
  'GET /v1/agent/:bundle': {
    who: 'anyone',
    listeners: 'https',
    answer: { kind: 'content', status: 200, contentType: 'text/javascript; charset=utf-8', cache: 'immutable' },
    exchange: {} as Exchange<undefined, string>,
  },
  /** No secrets. */
  'GET /v1/fleet': { who: 'anyone', listeners: 'https', answer: JSON_ANSWER, exchange: {} as Exchange<undefined, FleetView> },
  /** The fleet page; ?pool=, ?role=, ?profile= keep only the nodes with that value. */
  'GET /fleet': { who: 'anyone', listeners: 'https', answer: { kind: 'content', status: 200, contentType: 'text/html; charset=utf-8' }, exchange: {} as Exchange<undefined, string, { pool?: string; role?: string; profile?: string }> },
  /** One node's page: its reports and its enrollment and join events from the audit trail. No secrets, as /fleet. */
  'GET /fleet/nodes/:node': { who: 'anyone', listeners: 'https', answer: { kind: 'content', status: 200, contentType: 'text/html; charset=utf-8' }, exchange: {} as Exchange<undefined, string> },
  /** Server-sent events: `node`, the node's FleetNode, whenever a report or enrollment changes it. No secrets. */
  'GET /v1/fleet/events': { who: 'anyone', listeners: 'https', answer: { kind: 'events', status: 200 }, exchange: {} as Exchange<undefined, string> },
  'GET /': { who: 'anyone', listeners: 'https', answer: { kind: 'content', status: 200, contentType: 'text/html; charset=utf-8' }, exchange: {} as Exchange<undefined, string> },
  /** Prometheus text exposition 0.0.4. */
  'GET /metrics': { who: 'anyone', listeners: 'https', answer: { kind: 'content', status: 200, contentType: 'text/plain; version=0.0.4; charset=utf-8' }, exchange: {} as Exchange<undefined, string> },
  'GET /healthz': { who: 'anyone', listeners: 'https and pxe', answer: { kind: 'content', status: 200, contentType: TEXT }, exchange: {} as Exchange<undefined, string> },
  /** The chain script DHCP points iPXE at. */
  'GET /pxe/boot.ipxe': { who: 'anyone', listeners: 'https and pxe', pxeCatalog: true, answer: IPXE_ANSWER, exchange: {} as Exchange<undefined, string> },
  /** boot.ipxe, kickstart.cfg, user-data, meta-data of the machine with that MAC (endpoint/pxe.ts). */
  'GET /pxe/nodes/:mac/:file': { who: 'anyone', listeners: 'https and pxe', pxeCatalog: true, answer: IPXE_ANSWER, exchange: {} as Exchange<undefined, string> },
  /**
   * The installer of the machine with that MAC has finished: from now on its boot.ipxe boots the disk, before
   * its agent enrolls (else a machine whose firmware boots the network first would install again at every
   * reboot). Only its installer can say so: the bearer is the token its install config carries, which this
   * takes no use of.
   */
  'POST /pxe/nodes/:mac/installed': { who: 'enrollment token', listeners: 'https and pxe', pxeCatalog: true, answer: { kind: 'empty', status: 204 }, exchange: {} as Exchange<undefined, undefined> },
  /** A file from --pxe-assets: an ISO's installer kernel and initrd. */
  'GET /pxe/assets/**': {
    who: 'anyone',
    listeners: 'https and pxe',
    pxeCatalog: true,
    answer: { kind: 'content', status: 200, contentType: 'application/octet-stream' },
    exchange: {} as Exchange<undefined, Uint8Array>,
  },
} as const satisfies Record<string, RouteSpec>;

export type RouteKey = keyof typeof ROUTES;

type SpecOf<K extends RouteKey> = (typeof ROUTES)[K];
type ExchangeOf<K extends RouteKey> = SpecOf<K>['exchange'];

export type RequestOf<K extends RouteKey> = ExchangeOf<K> extends Exchange<infer Request, unknown, Record<string, string>> ? Request : never;
export type ResponseOf<K extends RouteKey> = ExchangeOf<K> extends Exchange<unknown, infer Response, Record<string, string>> ? Response : never;
export type QueryOf<K extends RouteKey> = ExchangeOf<K> extends Exchange<unknown, unknown, infer Query> ? Query : never;
export type AnswerOf<K extends RouteKey> = SpecOf<K>['answer'];
export type WhoOf<K extends RouteKey> = SpecOf<K>['who'];

type PatternOf<K extends string> = K extends `${string} ${infer Pattern}` ? Pattern : never;
type SegmentOf<Pattern extends string> = Pattern extends `/${infer Segment}/${infer Rest}` ? Segment | SegmentOf<`/${Rest}`> : Pattern extends `/${infer Segment}` ? Segment : never;
type ParamNameOf<Segment extends string> = Segment extends `:${infer Name}` ? Name : Segment extends '**' ? 'rest' : never;

/** A route's parameters by name, e.g. { node: string } for "POST /v1/nodes/:node/reports". */
export type ParamsOf<K extends RouteKey> = { readonly [Name in ParamNameOf<SegmentOf<PatternOf<K>>>]: string };

/** The routes a node calls with its own credential, for itself: each names the node (checked below). */
export type NodeRouteKey = { [K in RouteKey]: WhoOf<K> extends 'node' | 'control-plane node' ? K : never }[RouteKey];

/** Compile-time checks of the table: a failing one makes its alias an error ("Type 'false' does not satisfy…"). */
type Holds<Check extends true> = Check;
type ParamNames = { [K in RouteKey]: keyof ParamsOf<K> }[RouteKey];
/** Every parameter has a kind to check it by. */
export type EveryParamHasAKind = Holds<[Exclude<ParamNames, ParamKind>] extends [never] ? true : false>;
/** A node's credential is checked against the node its route names. */
export type EveryNodeRouteNamesItsNode = Holds<{ [K in NodeRouteKey]: 'node' extends keyof ParamsOf<K> ? true : false }[NodeRouteKey]>;

export function routeMethod(route: RouteKey): string {
  return route.slice(0, route.indexOf(' '));
}

/** The pattern's segments: "/v1/nodes/:node/join" → ["v1", "nodes", ":node", "join"]; "/" → []. */
function patternSegments(route: RouteKey): string[] {
  const pattern = route.slice(route.indexOf(' ') + 1);
  return pattern === '/' ? [] : pattern.slice(1).split('/');
}

function paramKindOf(segment: string): ParamKind | undefined {
  if (segment === '**') return 'rest';
  return segment.startsWith(':') ? (segment.slice(1) as ParamKind) : undefined;
}

/**
 * The request target for `route`: its pattern with `params` filled in. A parameter not of its kind is refused
 * (thrown), as it would make a request for another route, or for none.
 */
export function routePath<K extends RouteKey>(route: K, params: ParamsOf<K>, query?: QueryOf<K>): string {
  const values: Partial<Record<string, string>> = params;
  const path = patternSegments(route).map((segment) => {
    const kind = paramKindOf(segment);
    if (kind === undefined) return segment;
    const value = values[kind] ?? '';
    if (!PARAM_KINDS[kind](value)) throw new Error(`${route}: ${JSON.stringify(value)} is not a ${kind} for the path`);
    return value;
  });
  const fields: Record<string, string> = query ?? {};
  const search = new URLSearchParams(fields).toString();
  return `/${path.join('/')}${search ? `?${search}` : ''}`;
}

/** A route with the named parameters a request's path gave it. */
export type RouteMatch = { [K in RouteKey]: { route: K; params: ParamsOf<K> } }[RouteKey];

export function routeKeys(): RouteKey[] {
  return Object.keys(ROUTES) as RouteKey[];
}

/**
 * The route among `routes` that answers `method` on the path `segments`, with its parameters; else the
 * methods that path allows (none: no such route, a 404; some: a 405 with Allow).
 */
export function matchRoute(method: string, segments: readonly string[], routes: readonly RouteKey[]): RouteMatch | { allow: string[] } {
  const allow: string[] = [];
  for (const route of routes) {
    const params = paramsFrom(patternSegments(route), segments);
    if (params === undefined) continue;
    // The pattern walk gave exactly the pattern's parameter names, each checked against its kind.
    if (routeMethod(route) === method) return { route, params } as RouteMatch;
    allow.push(routeMethod(route));
  }
  return { allow };
}

function paramsFrom(pattern: string[], segments: readonly string[]): Record<string, string> | undefined {
  const rest = pattern[pattern.length - 1] === '**';
  if (rest ? segments.length < pattern.length : segments.length !== pattern.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, part] of pattern.entries()) {
    const kind = paramKindOf(part);
    const value = kind === 'rest' ? segments.slice(i).join('/') : (segments[i] ?? '');
    if (kind === undefined ? part !== value : !PARAM_KINDS[kind](value)) return undefined;
    if (kind !== undefined) params[kind] = value;
  }
  return params;
}
