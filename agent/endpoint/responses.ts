/**
 * The shapes of the endpoint's answers, as the contract has them (contract/endpoint-api.ts), checked before the
 * agent keeps or uses anything from one. A proxy's HTML page, an empty object, a list of no CA hashes or a body
 * cut short is not join material: the caller treats it as an endpoint that is not ready yet and asks again later,
 * rather than crashing on it or handing it to kubeadm.
 *
 * Small hand-written checks with the contract's own patterns, not a schema library: the agent is size-budgeted.
 */
import type { RouteKey } from '../../contract/endpoint-routes';
import { BOOTSTRAP_TOKEN, CA_CERT_HASH, CERTIFICATE_KEY, NODE_CREDENTIAL } from '../../contract/token-formats';

/** Field name → whether a value is one. */
export type Shape = Record<string, (value: unknown) => boolean>;

/** A string that `pattern` matches. */
export const text = (pattern: RegExp) => (value: unknown) => typeof value == 'string' && pattern.test(value);
/** Absent, or what `field` takes. */
export const optional = (field: (value: unknown) => boolean) => (value: unknown) => value === undefined || field(value);
/** A list of at least one string that `pattern` matches. */
const list = (pattern: RegExp) => (value: unknown) => Array.isArray(value) && value.length > 0 && value.every(text(pattern));

// RFC 3339 as the endpoint writes every time (Date.toISOString); Date.parse reads the rest.
const TIME = text(/^\d{4}-\d\d-\d\dT/);
// Node names are DNS-1123 subdomains and pools DNS-1123 labels (contract/endpoint-api.ts NODE_NAME_PATTERN).
const NAME = text(/^[a-z\d.-]+$/);

// The fields the agent keeps or logs (it knows its own name).
const ENROLLED: Shape = { pool: NAME, credential: text(NODE_CREDENTIAL), credentialIssuedAt: optional(TIME), credentialExpiresAt: optional(TIME) };

/** The answers the agent reads; a route it reads nothing from (204) has none. */
const ANSWERS: Partial<Record<RouteKey, Shape>> = {
  'POST /v1/enroll': ENROLLED,
  'POST /v1/enroll/identity': ENROLLED,
  // The nonce goes into the metadata service's URL as the audience: the endpoint's own audience pattern.
  'GET /v1/identity/nonce': { nonce: text(/^[\w.~-]{1,256}$/), expiresAt: TIME },
  'POST /v1/nodes/:node/credential': { credentialIssuedAt: TIME, credentialExpiresAt: TIME },
  'POST /v1/nodes/:node/reports': { stored: (value) => value === !!value }, // a boolean
  'GET /v1/nodes/:node/join': {
    // host:port, the host a name, an IPv4 or a bracketed IPv6 address (endpoint/schemas.ts takes no other when published).
    apiServerEndpoint: text(/^[\w.:[\]-]+:\d+$/),
    token: text(BOOTSTRAP_TOKEN),
    caCertHashes: list(CA_CERT_HASH),
    certificateKey: optional(text(CERTIFICATE_KEY)),
  },
};

/**
 * What is wrong with `body` as `route`'s answer; undefined when nothing is, or when the agent reads nothing from
 * it: a route that answers with no body (publishing join material: 204) has no shape to check.
 */
export const answerProblem = (route: RouteKey, body: unknown) => (ANSWERS[route] ? shapeProblem(body, ANSWERS[route]!) : undefined);

/** What is wrong with `value` as `shape`, naming the field (never its value: it may be a secret); undefined when nothing is. */
export function shapeProblem(value: unknown, shape: Shape): string | undefined {
  // A list is an object too, whose fields are all missing.
  if (!value || typeof value != 'object') return 'is not a JSON object';
  for (const name in shape) if (!shape[name]!((value as Record<string, unknown>)[name])) return `has no valid ${name}`;
}
