/**
 * JSON Schemas for every request body, checked with ajv before a route looks at it. A body that passes is
 * exactly the contract's type: no extra properties, bounded strings, so nothing oversized reaches the store.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { BOOTSTRAP_TOKEN, CA_CERT_HASH, CERTIFICATE_KEY } from '../contract/token-formats';
import { NODE_NAME_MAX, NODE_NAME_PATTERN, POOL_NAME_MAX, POOL_NAME_PATTERN, type EnrollRequest, type IdentityEnrollRequest, type PublishedJoinMaterial, type ReportRequest } from '../contract/endpoint-api';
import type { RequestOf, RouteKey } from '../contract/endpoint-routes';
import { HttpError } from './http';
import { REPORT_MAX_AHEAD_MS } from './report-time';

const ajv = new Ajv({ allErrors: false, strict: true });

const nodeName = { type: 'string', minLength: 1, maxLength: NODE_NAME_MAX, pattern: NODE_NAME_PATTERN };
const role = { enum: ['control-plane', 'worker'] };
const timestamp = { type: 'string', maxLength: 40, pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$' };
const hostPort = { type: 'string', maxLength: 300, pattern: '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):[0-9]{1,5}$' };

function strictObject(properties: Record<string, unknown>, required: string[]) {
  return { type: 'object', additionalProperties: false, properties, required };
}

const enrollSchema = strictObject(
  {
    node: nodeName,
    role,
    profile: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[a-z0-9][a-z0-9.-]*$' },
    gpu: { type: 'boolean' },
  },
  ['node', 'role', 'profile', 'gpu'],
);

/**
 * The signature is base64 of a PKCS#7 of about 2 KiB (AWS) and the document a few hundred bytes of JSON; the
 * bounds leave room for both and keep the body under the endpoint's 32 KiB. The audience is a nonce of ours.
 */
const identityEnrollSchema = strictObject(
  {
    ...enrollSchema.properties,
    pool: { type: 'string', minLength: 1, maxLength: POOL_NAME_MAX, pattern: POOL_NAME_PATTERN },
    provider: { enum: ['aws', 'aliyun'] },
    signature: { type: 'string', minLength: 1, maxLength: 16_384, pattern: '^[A-Za-z0-9+/\\r\\n]+={0,2}[\\r\\n]*$' },
    document: { type: 'string', minLength: 2, maxLength: 8_192 },
    audience: { type: 'string', minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9._~-]+$' },
  },
  [...enrollSchema.required, 'pool', 'provider', 'signature'],
);

const reportSchema = strictObject(
  {
    id: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' },
    node: nodeName,
    profile: { type: 'string', minLength: 1, maxLength: 100 },
    role,
    phase: { enum: ['bake', 'boot'] },
    step: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[a-z0-9][a-z0-9-]*$' },
    status: { enum: ['started', 'done', 'skipped', 'failed'] },
    at: timestamp,
    durationMs: { type: 'integer', minimum: 0, maximum: 7 * 24 * 3600 * 1000 },
    // A node up for ten years has rebooted by then; the bound keeps a broken uptime from reaching a histogram.
    sinceBootMs: { type: 'integer', minimum: 0, maximum: 10 * 365 * 24 * 3600 * 1000 },
    error: { type: 'string', maxLength: 8192 },
    gpu: { type: 'boolean' },
  },
  ['id', 'node', 'profile', 'role', 'phase', 'step', 'status', 'at', 'gpu'],
);

const publishSchema = strictObject(
  {
    apiServerEndpoint: hostPort,
    token: { type: 'string', pattern: BOOTSTRAP_TOKEN.source },
    caCertHashes: { type: 'array', minItems: 1, maxItems: 8, items: { type: 'string', pattern: CA_CERT_HASH.source } },
    certificateKey: { type: 'string', pattern: CERTIFICATE_KEY.source },
    tokenExpires: timestamp,
    certificateKeyExpires: timestamp,
  },
  ['apiServerEndpoint', 'token', 'caCertHashes', 'tokenExpires'],
);

/**
 * Compiled on first use, not at import: the CLI loads this module for every command, and compiling costs
 * about 90 ms that `labimg build` would otherwise pay for an endpoint it does not run.
 */
function lazily<T>(schema: object): () => ValidateFunction<T> {
  let validate: ValidateFunction<T> | undefined;
  return () => (validate ??= ajv.compile<T>(schema));
}

const validators = {
  enroll: lazily<EnrollRequest>(enrollSchema),
  identityEnroll: lazily<IdentityEnrollRequest>(identityEnrollSchema),
  report: lazily<ReportRequest>(reportSchema),
  publish: lazily<PublishedJoinMaterial>(publishSchema),
};

function check<T>(validate: ValidateFunction<T>, body: unknown, what: string, timestamps: string[] = []): T {
  if (!validate(body)) throw new HttpError(400, `invalid ${what}: ${describe(validate.errors?.[0])}`);
  // The pattern checks the shape only; "2030-01-01T25:00:00Z" has it and is no time at all.
  for (const field of timestamps) {
    const value = (body as Record<string, unknown>)[field];
    if (typeof value === 'string' && Number.isNaN(Date.parse(value))) throw new HttpError(400, `invalid ${what}: ${field}: "${value}" is not a real time`);
  }
  return body;
}

/** One error, in the words a person fixing the client needs: where, and what was expected. */
function describe(error: ErrorObject | undefined | null): string {
  if (!error) return 'does not match the schema';
  const where = error.instancePath ? error.instancePath.slice(1).replace(/\//g, '.') : 'body';
  switch (error.keyword) {
    case 'additionalProperties':
      return `${where}: unknown field "${String(error.params.additionalProperty)}"`;
    case 'required':
      return `${where}: missing field "${String(error.params.missingProperty)}"`;
    case 'enum':
      return `${where}: expected one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${where}: ${error.message ?? 'is invalid'}`;
  }
}

export const parseEnrollRequest = (body: unknown) => check(validators.enroll(), body, 'enrollment request');
export const parseIdentityEnrollRequest = (body: unknown) => check(validators.identityEnroll(), body, 'identity enrollment');
/**
 * A report, refused when its time is more than REPORT_MAX_AHEAD_MS ahead of `receivedAt` (the endpoint's clock):
 * a report cannot be made after it arrives, and a time years ahead would read as the node's latest forever.
 */
export function parseReportRequest(body: unknown, receivedAt: Date = new Date()): ReportRequest {
  const report = check(validators.report(), body, 'report', ['at']);
  const aheadMs = Date.parse(report.at) - receivedAt.getTime();
  if (aheadMs > REPORT_MAX_AHEAD_MS) {
    throw new HttpError(
      400,
      `invalid report: at: ${report.at} is ${Math.round(aheadMs / 3_600_000)} h ahead of the endpoint's clock (${receivedAt.toISOString()}); ` +
        `reports more than ${REPORT_MAX_AHEAD_MS / 3_600_000} h ahead are refused; set the node's clock (NTP)`,
    );
  }
  return report;
}
export const parsePublishRequest = (body: unknown) => check(validators.publish(), body, 'join material', ['tokenExpires', 'certificateKeyExpires']);

/** The routes of the table that take a body. */
export type BodyRouteKey = { [K in RouteKey]: RequestOf<K> extends undefined ? never : K }[RouteKey];

/** The check of each route's body, as the table's request type: a route with a body and no check does not compile. */
export const REQUEST_BODIES: { readonly [K in BodyRouteKey]: (body: unknown) => RequestOf<K> } = {
  'POST /v1/enroll': parseEnrollRequest,
  'POST /v1/enroll/identity': parseIdentityEnrollRequest,
  'POST /v1/nodes/:node/reports': (body) => parseReportRequest(body),
  'PUT /v1/nodes/:node/join-material': parsePublishRequest,
};
