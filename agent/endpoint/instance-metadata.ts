/**
 * The cloud's instance metadata service, for what a node presents instead of an enrollment token: its signed
 * instance identity document (AWS EC2, Alibaba Cloud ECS).
 *
 * Always in the session-token mode (AWS IMDSv2, Alibaba's "security hardening mode"): a token from
 * `PUT /latest/api/token` first, sent back on every GET. That works whether or not the instance requires it, and
 * an instance set to require it refuses requests without one. Plain HTTP to a link-local address, as both
 * services are; the service may not answer in the first seconds of boot, so each request is retried with
 * backoff, for a bounded time, when the failure is one that waiting can fix.
 *
 * What each cloud documents, read 2026-12-05:
 * - AWS: the token flow and its TTL (1 to 21600 seconds), "How Instance Metadata Service Version 2 works",
 *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-v2-how-it-works.html; the answers
 *   (400 a bad PUT, 401 a GET with an invalid token: get a new one, 403 not allowed or turned off, 404, 503
 *   retry), "Access instance metadata for an EC2 instance",
 *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html; the document and its
 *   rsa2048 signature, https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-identity-documents.html and
 *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/verify-iid.html.
 * - Alibaba Cloud: the token flow (`X-aliyun-ecs-metadata-token-ttl-seconds`, 1 to 21600 seconds, else 400;
 *   401 for an invalid token; 403 for a request without one on an instance in hardened-only mode),
 *   https://help.aliyun.com/zh/ecs/user-guide/view-instance-metadata (English:
 *   https://www.alibabacloud.com/help/en/ecs/user-guide/view-instance-metadata); the document and
 *   `pkcs7?audience=`, https://www.alibabacloud.com/help/en/ecs/user-guide/use-instance-identities.
 *
 * Core modules only, like the rest of the agent.
 */
import { request as httpRequest } from 'http';
import { request as httpsRequest } from 'https';
import type { IdentityProvider, InstanceIdentitySource } from '../../contract/agent-config';
import { NODE_NAME_MAX, NODE_NAME_PATTERN } from '../../contract/endpoint-api';

/** Each cloud's own address of the service. */
export const METADATA_URLS: Readonly<Record<IdentityProvider, string>> = {
  aws: 'http://169.254.169.254',
  aliyun: 'http://100.100.100.200',
};

interface CloudApi {
  /** The header that carries the token on every GET; with `-ttl-seconds`, the one the token's PUT asks for its lifetime by. */
  tokenHeader: string;
  /** The document's field that holds the instance id. */
  instanceIdField: string;
  /** Where the signature labimg presents is. */
  signaturePath(audience?: string): string;
}

const TOKEN_PATH = '/latest/api/token';
const DOCUMENT_PATH = '/latest/dynamic/instance-identity/document';

const CLOUDS: Readonly<Record<IdentityProvider, CloudApi>> = {
  aws: {
    tokenHeader: 'X-aws-ec2-metadata-token',
    instanceIdField: 'instanceId',
    signaturePath(audience) {
      // AWS signs the document at launch, for no one in particular: there is nothing to put an audience in.
      if (audience !== undefined) throw new Error('an aws identity document is signed with no audience; none can be asked for');
      return '/latest/dynamic/instance-identity/rsa2048';
    },
  },
  aliyun: {
    tokenHeader: 'X-aliyun-ecs-metadata-token',
    instanceIdField: 'instance-id',
    signaturePath: (audience) => `/latest/dynamic/instance-identity/pkcs7${audience === undefined ? '' : `?audience=${encodeURIComponent(audience)}`}`,
  },
};

/** Long enough for the few requests of one enrollment; the service allows up to 21600. */
const TOKEN_TTL_SECONDS = 300;
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface MetadataOptions {
  /** One request's limit. */
  timeoutMs?: number;
  /** The first pause between tries; doubled each time up to maxDelayMs. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** No new try starts after this long. */
  deadlineMs?: number;
}

const DEFAULTS: Required<MetadataOptions> = { timeoutMs: 2_000, firstDelayMs: 500, maxDelayMs: 8_000, deadlineMs: 60_000 };

/** The metadata service refused, answered something unusable, or could not be reached; the message names the URL. */
export class InstanceMetadataError extends Error {
  constructor(message: string, readonly url: string, readonly status: number | undefined, readonly transient: boolean) {
    super(message);
    this.name = 'InstanceMetadataError';
  }
}

export interface InstanceIdentity {
  /** The instance id, lowercase (as both clouds write it): the node's name. */
  instanceId: string;
  /** The plain document, exactly as served. */
  document: string;
}

/** The instance's plain identity document and the instance id read from it. */
export async function instanceIdentity(source: InstanceIdentitySource, options: MetadataOptions = {}): Promise<InstanceIdentity> {
  const client = new MetadataClient(source, options);
  const document = await client.get(DOCUMENT_PATH);
  return { instanceId: instanceIdOf(source.provider, document, client.url(DOCUMENT_PATH)), document };
}

/**
 * The signature labimg presents, as the service serves it (base64 of a PKCS#7 SignedData): AWS's `rsa2048`;
 * Alibaba's `pkcs7`, signed for `audience` when one is given (the endpoint's nonce).
 */
export async function signedIdentity(source: InstanceIdentitySource, audience?: string, options: MetadataOptions = {}): Promise<string> {
  const client = new MetadataClient(source, options);
  const path = CLOUDS[source.provider].signaturePath(audience);
  const signature = await client.get(path);
  if (signature.trim() === '') throw new InstanceMetadataError(`GET ${client.url(path)}: the answer is empty`, client.url(path), 200, false);
  return signature;
}

/** The instance id from a document as served, checked to be usable as a node name. */
export function instanceIdOf(provider: IdentityProvider, document: string, url: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch (error) {
    throw new InstanceMetadataError(`GET ${url}: the identity document is not JSON (${(error as Error).message})`, url, 200, false);
  }
  const field = CLOUDS[provider].instanceIdField;
  const value = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)[field] : undefined;
  if (typeof value !== 'string' || value === '') throw new InstanceMetadataError(`GET ${url}: the identity document has no "${field}"`, url, 200, false);
  const id = value.toLowerCase();
  if (id.length > NODE_NAME_MAX || !new RegExp(NODE_NAME_PATTERN).test(id)) {
    throw new InstanceMetadataError(`GET ${url}: the instance id ${JSON.stringify(value)} cannot be a node name (a DNS-1123 subdomain)`, url, 200, false);
  }
  return id;
}

function baseOf(source: InstanceIdentitySource): string {
  return source.metadataUrl ?? METADATA_URLS[source.provider];
}

interface Answer {
  status: number;
  body: string;
}

/** One conversation with the service: a session token, reused until the service stops taking it. */
class MetadataClient {
  readonly #base: URL;
  readonly #api: CloudApi;
  readonly #options: Required<MetadataOptions>;
  #token?: string;

  constructor(source: InstanceIdentitySource, options: MetadataOptions) {
    this.#base = new URL(baseOf(source));
    this.#api = CLOUDS[source.provider];
    this.#options = { ...DEFAULTS, ...options };
  }

  url(path: string): string {
    return new URL(path, this.#base).href;
  }

  /** The body of GET `path`, with a session token; retried while the failure is one that time can fix. */
  async get(path: string): Promise<string> {
    const started = Date.now();
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.#tryGet(path);
      } catch (error) {
        if (!(error instanceof InstanceMetadataError) || !error.transient) throw error;
        const delay = Math.min(this.#options.maxDelayMs, this.#options.firstDelayMs * 2 ** attempt);
        if (Date.now() - started + delay > this.#options.deadlineMs) {
          throw new InstanceMetadataError(`${error.message} (gave up after ${attempt + 1} tries in ${Math.round((Date.now() - started) / 1000)} s)`, error.url, error.status, true);
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  async #tryGet(path: string): Promise<string> {
    const token = (this.#token ??= await this.#sessionToken());
    const url = this.url(path);
    const answer = await this.#request('GET', url, { [this.#api.tokenHeader]: token });
    if (answer.status === 401) {
      // The token expired or the service restarted: the documented remedy is a new token.
      this.#token = undefined;
      throw new InstanceMetadataError(`GET ${url}: HTTP 401, the session token was not accepted`, url, 401, true);
    }
    return expectOk('GET', url, answer);
  }

  async #sessionToken(): Promise<string> {
    const url = this.url(TOKEN_PATH);
    const token = expectOk('PUT', url, await this.#request('PUT', url, { [`${this.#api.tokenHeader}-ttl-seconds`]: String(TOKEN_TTL_SECONDS) })).trim();
    // It goes back in a header: a value that cannot be one is no token.
    if (token === '' || !/^[\x21-\x7e]+$/.test(token)) throw new InstanceMetadataError(`PUT ${url}: the answer is not a session token`, url, 200, false);
    return token;
  }

  #request(method: 'GET' | 'PUT', url: string, headers: Record<string, string>): Promise<Answer> {
    return new Promise((resolve, reject) => {
      let tooLarge = false;
      // Unreachable or cut short: the service may not be up yet. An answer too large for any document is no such thing.
      const fail = (cause: string) => reject(new InstanceMetadataError(`${method} ${url}: ${cause}`, url, undefined, !tooLarge));
      const sent = method === 'PUT' ? { ...headers, 'content-length': '0' } : headers;
      // Plain HTTP, as both clouds serve it; https only where a metadataUrl (a proxy, a test) says so.
      const send = this.#base.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, { method, headers: sent, timeout: this.#options.timeoutMs, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_RESPONSE_BYTES) return void chunks.push(chunk);
          tooLarge = true;
          req.destroy(new Error(`the answer is over ${MAX_RESPONSE_BYTES} bytes`));
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (error) => fail(error.message));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#options.timeoutMs} ms`)));
      req.on('error', (error) => fail(error.message));
      req.end();
    });
  }
}

/** The body of a 200; otherwise an error naming the URL and status, transient where both clouds say to retry. */
function expectOk(method: string, url: string, answer: Answer): string {
  if (answer.status === 200) return answer.body;
  const transient = answer.status === 429 || answer.status >= 500;
  const detail = answer.body.trim().split('\n')[0]?.slice(0, 200);
  throw new InstanceMetadataError(`${method} ${url}: HTTP ${answer.status}${detail ? ` (${detail})` : ''}`, url, answer.status, transient);
}
