/**
 * This node's conversation with the join endpoint: make its own credential and keep it (0600, under
 * /var/lib/labimg, never in an image) before it enrolls, present it with the enrollment, and use it for reports
 * and join material.
 *
 * An enrollment is vouched for in one of two ways: by its role's enrollment token (secrets.json), or, where
 * node.json's endpoint names an `identity` source, by the cloud's signed instance identity document, which the
 * node reads from the metadata service just before it enrolls. Alibaba Cloud signs an `audience` into it: the
 * endpoint's one-use nonce, asked for first. Everything else about the enrollment is the same either way.
 *
 * The endpoint binds the node's name to that credential. So an enrollment whose answer was lost, or that a
 * reboot interrupted, is simply sent again with the same credential and accepted; and a credential the
 * endpoint no longer accepts (its store was rebuilt, or it expired) is enrolled again, once, as it is. A name
 * someone else holds is refused with 409, which needs the operator (`labimg nodes forget NAME`), not a retry.
 *
 * The credential expires. Past half its lifetime, the next request first replaces it with a new one the node
 * makes: the next credential is kept (as `next`) before it is sent, and until the endpoint's answer is kept too,
 * every run finishes that rotation before anything else, so a crash or a lost answer never leaves the node
 * holding a credential the endpoint no longer takes while it takes one the node has forgotten.
 */
import { randomBytes } from 'node:crypto';
import { PATHS } from '../../contract/node-paths';
import type { InstanceIdentitySource, NodeConfig, NodeSecrets, PhaseReport, Role } from '../../contract/agent-config';
import type { CredentialLifetime, EnrollRequest, IdentityEnrollRequest, JoinMaterial, PublishedJoinMaterial, ReportResponse } from '../../contract/endpoint-api';
import { routeMethod, routePath, type NodeRouteKey, type ParamsOf, type QueryOf, type RequestOf, type ResponseOf, type RouteKey } from '../../contract/endpoint-routes';
import { NODE_CREDENTIAL_HEADER } from '../../contract/endpoint-api';
import type { Host } from '../host/host';
import type { Logger } from '../log';
import type { Redactor } from '../redact';
import { InstanceMetadataError, instanceIdentity, signedIdentity, type MetadataOptions } from './instance-metadata';
import { EndpointUnreachable, PinnedHttpsClient, type EndpointResponse, type RequestOptions } from './pinned-https';
import { answerProblem, optional, shapeProblem, text } from './responses';

const ENROLL = 'POST /v1/enroll';
const ENROLL_BY_IDENTITY = 'POST /v1/enroll/identity';
const IDENTITY_NONCE = 'GET /v1/identity/nonce';
const ROTATE = 'POST /v1/nodes/:node/credential';

interface StoredCredential {
  url: string;
  node: string;
  credential: string;
  /** False while the enrollment that presents it has not been answered yet. */
  enrolled: boolean;
  /** When to replace it, by this node's clock (half its lifetime after the answer came); never when absent. */
  renewAfter?: string;
  /** The credential a rotation under way replaces it with: sent, but not yet answered. */
  next?: string;
}

/** The endpoint said no, for a reason retrying will not fix (bad token, refused role, invalid body). */
export class EndpointRefused extends Error {
  constructor(readonly status: number, what: string, reason: string) {
    super(`${what}: the endpoint answered ${status}: ${reason}`);
    this.name = 'EndpointRefused';
  }
}

/** The endpoint is up but has nothing for us yet (503 with Retry-After), or is down: ask again later. */
export class NotYet extends Error {
  constructor(message: string, readonly retryAfterMs?: number) {
    super(message);
    this.name = 'NotYet';
  }
}

export interface NodeIdentity {
  name: string;
  role: Role;
  profile: string;
  gpu: boolean;
  /** node.json's pool: what an enrollment by identity document names (a token names its pool itself). */
  pool?: string;
}

/** One enrollment as sent: the route, the body, and the token when a token vouches for it. */
type Enrollment =
  | { route: typeof ENROLL; token: string; body: EnrollRequest; by: string }
  | { route: typeof ENROLL_BY_IDENTITY; token?: undefined; body: IdentityEnrollRequest; by: string };

export interface EndpointSession {
  readonly url: string;
  sendReport(report: PhaseReport): Promise<ReportResponse>;
  /** Join material as the endpoint has it now; NotYet when the control plane has not published it. */
  joinMaterial(controlPlane: boolean): Promise<JoinMaterial>;
  publishJoinMaterial(material: PublishedJoinMaterial): Promise<void>;
  /** Replaces the node's credential when it is past half its lifetime (or a rotation was cut short). */
  renewCredentialIfDue(): Promise<void>;
  close(): void;
}

export class HttpsEndpointSession implements EndpointSession {
  readonly url: string;
  readonly #client: PinnedHttpsClient;
  /** Where the signed identity document comes from, when that (not a token) vouches for the enrollment. */
  readonly #instance?: InstanceIdentitySource;
  #credential?: string;
  /** The enrollment in flight: reports and the join step ask at once, and two enrollments would revoke each other. */
  #enrolling?: Promise<string>;
  /** The rotation in flight, for the same reason. */
  #rotating?: Promise<void>;

  readonly #identity: NodeIdentity;
  readonly #secrets: NodeSecrets;
  readonly #host: Host;
  readonly #log: Logger;
  readonly #redactor: Redactor;
  /** How patiently the metadata service is asked (its client's defaults when absent). */
  readonly #metadataOptions: MetadataOptions;

  constructor(endpoint: NonNullable<NodeConfig['endpoint']>, identity: NodeIdentity, secrets: NodeSecrets, host: Host, log: Logger, redactor: Redactor, metadataOptions: MetadataOptions = {}) {
    this.url = endpoint.url;
    this.#client = new PinnedHttpsClient(endpoint.url, endpoint.caFingerprint);
    this.#instance = endpoint.identity;
    this.#identity = identity;
    this.#secrets = secrets;
    this.#host = host;
    this.#log = log;
    this.#redactor = redactor;
    this.#metadataOptions = metadataOptions;
  }

  async sendReport(report: PhaseReport): Promise<ReportResponse> {
    return this.#authorized('POST /v1/nodes/:node/reports', this.#ownNode(), report, 'sending a report');
  }

  async joinMaterial(controlPlane: boolean): Promise<JoinMaterial> {
    const material = await this.#authorized('GET /v1/nodes/:node/join', this.#ownNode(), undefined, 'asking for join material', controlPlane ? { controlPlane: 'true' } : undefined);
    this.#redactor.add(material.token);
    this.#redactor.add(material.certificateKey);
    return material;
  }

  async publishJoinMaterial(material: PublishedJoinMaterial): Promise<void> {
    await this.#authorized('PUT /v1/nodes/:node/join-material', this.#ownNode(), material, 'publishing join material');
  }

  async renewCredentialIfDue(): Promise<void> {
    const stored = this.#ownStored(parseCredential(await this.#host.readFile(PATHS.credential)));
    if (!stored?.enrolled || !(stored.next !== undefined || (stored.renewAfter !== undefined && Date.parse(stored.renewAfter) <= Date.now()))) return;
    this.#rotating ??= this.#rotate(stored).finally(() => {
      this.#rotating = undefined;
    });
    await this.#rotating;
  }

  close(): void {
    this.#client.close();
  }

  /** The path parameters of this node's own routes. */
  #ownNode(): { node: string } {
    return { node: this.#identity.name };
  }

  /** A route about this node, with its credential, enrolling first (or again) when it needs one. */
  async #authorized<K extends NodeRouteKey>(route: K, params: ParamsOf<K>, body: RequestOf<K>, what: string, query?: QueryOf<K>): Promise<ResponseOf<K>> {
    await this.#renewQuietly();
    for (let attempt = 1; ; attempt += 1) {
      const credential = await this.#nodeCredential();
      const response = await this.#send(route, params, { token: credential, body }, query);
      if (response.status === 401 && attempt === 1) {
        // Only the first caller to see this credential fail enrolls it again; the others wait for that.
        if (this.#credential === credential) {
          this.#log.warn(`the endpoint does not accept this node's credential; enrolling it again`);
          this.#credential = undefined;
          await this.#saveCredential(credential, false);
        }
        continue;
      }
      return answerOf(response, route, what);
    }
  }

  /** One request of `route`, its path filled in from `params` and `query`. */
  #send<K extends RouteKey>(route: K, params: ParamsOf<K>, options?: RequestOptions, query?: QueryOf<K>): Promise<EndpointResponse> {
    return this.#client.request(routeMethod(route), routePath(route, params, query), options);
  }

  /**
   * Renewal before a request, when due: a refusal or an unreachable endpoint leaves the current credential in
   * use (it is valid for the second half of its lifetime), and the next request tries again.
   */
  async #renewQuietly(): Promise<void> {
    try {
      await this.renewCredentialIfDue();
    } catch (error) {
      if (!(error instanceof EndpointRefused) && !isTransient(error)) throw error;
      this.#log.warn(`renewing this node's credential: ${(error as Error).message}; the current one stays in use`);
    }
  }

  /**
   * Replaces `stored.credential` with `stored.next`, or a new credential. Sent from the current credential; when
   * that gets 401, the endpoint may have taken the rotation already and let the grace of the old one pass (an
   * answer lost before a long outage), so it is sent again from the next credential, which the endpoint then
   * knows as current and answers the same.
   */
  async #rotate(stored: StoredCredential): Promise<void> {
    const next = stored.next ?? newCredential();
    this.#redactor.add(next);
    await this.#saveCredential(stored.credential, true, { renewAfter: stored.renewAfter, next });
    const send = (bearer: string) => this.#send(ROTATE, this.#ownNode(), { token: bearer, headers: { [NODE_CREDENTIAL_HEADER]: next } });
    let response = await send(stored.credential);
    if (response.status === 401) response = await send(next);
    if (response.status === 401) {
      // Neither is taken: the credential expired or was forgotten. It is enrolled again now, as a refused request
      // would have it, so the refresh timer (which may send nothing else) brings back a node that was off.
      this.#log.warn(`the endpoint takes neither this node's credential nor the next one; enrolling it again`);
      await this.#saveCredential(stored.credential, false);
      this.#credential = undefined;
      await this.#nodeCredential();
      return;
    }
    let lifetime: CredentialLifetime;
    try {
      lifetime = answerOf(response, ROTATE, 'renewing the node credential');
    } catch (error) {
      // Refused for good (409): this next credential will never be taken, so it is not kept for a retry.
      if (error instanceof EndpointRefused) await this.#saveCredential(stored.credential, true);
      throw error;
    }
    await this.#saveCredential(next, true, renewalOf(lifetime));
    this.#credential = next;
    this.#log.info(`renewed this node's credential; the endpoint takes it until ${lifetime.credentialExpiresAt}`);
  }

  /** The stored credential when it is this node's at this endpoint; the redactor learns it. */
  #ownStored(stored: StoredCredential | undefined): StoredCredential | undefined {
    const ours = stored && stored.url === this.url && stored.node === this.#identity.name ? stored : undefined;
    if (ours) this.#redactor.add(ours.credential);
    if (ours?.next) this.#redactor.add(ours.next);
    return ours;
  }

  async #nodeCredential(): Promise<string> {
    if (this.#credential) return this.#credential;
    const stored = parseCredential(await this.#host.readFile(PATHS.credential));
    if (this.#credential) return this.#credential; // another caller finished enrolling while we read
    const ours = this.#ownStored(stored);
    if (ours?.enrolled) {
      this.#credential = ours.credential;
      return ours.credential;
    }
    this.#enrolling ??= this.#enroll(ours?.credential).finally(() => {
      this.#enrolling = undefined;
    });
    return this.#enrolling;
  }

  /** Enrolls with `credential` (this node's, from an enrollment that was not answered) or a new one of its own. */
  async #enroll(credential = newCredential()): Promise<string> {
    // What vouches for it is checked first: without it nothing is kept or sent.
    const vouch = this.#voucher();
    this.#redactor.add(credential);
    const { name, role, profile, gpu } = this.#identity;
    // Kept before it is sent: whatever happens to the answer, the next try presents the same credential.
    await this.#saveCredential(credential, false);
    const { route, token, body, by } = await vouch({ node: name, role, profile, gpu });
    const answer = answerOf(await this.#send(route, {}, { token, body, headers: { [NODE_CREDENTIAL_HEADER]: credential } }), route, 'enrolling');
    // An endpoint from before node-made credentials answers one of its own: that is the one it knows.
    this.#redactor.add(answer.credential);
    await this.#saveCredential(answer.credential, true, renewalOf(answer));
    this.#log.info(`enrolled with ${this.url} as ${role} ${name} in pool ${answer.pool}${by}`);
    this.#credential = answer.credential;
    return answer.credential;
  }

  /**
   * What vouches for this node's enrollment: the cloud's signed identity document where node.json names a
   * source for it, else its role's enrollment token. Refused (thrown) now when the node has neither.
   */
  #voucher(): (enrollment: EnrollRequest) => Promise<Enrollment> {
    const instance = this.#instance;
    if (instance) {
      const pool = this.#identity.pool;
      if (!pool) {
        throw new EndpointRefused(0, 'enrolling', 'node.json names an identity source (endpoint.identity) but no pool, which an enrollment by identity document names; `labimg build --pool NAME --identity PROVIDER` writes both');
      }
      return (enrollment) => this.#identityEnrollment(instance, pool, enrollment);
    }
    const token = this.#secrets.enrollmentToken;
    if (!token) throw new EndpointRefused(0, 'enrolling', 'secrets.json has no enrollmentToken, which the user-data of a pool (`labimg build --pool`) carries');
    return async (body) => ({ route: ENROLL, token, body, by: '' });
  }

  /**
   * The enrollment with this instance's signed identity document, read just now. AWS signs its document at
   * launch, for no audience; Alibaba signs it for the audience asked for, here the endpoint's nonce, with the
   * plain document sent beside it. A metadata service that does not answer yet is a NotYet, like an endpoint
   * that does not: the caller tries again later.
   */
  async #identityEnrollment(instance: InstanceIdentitySource, pool: string, enrollment: EnrollRequest): Promise<Enrollment> {
    const by = ` by its ${instance.provider} instance identity document`;
    try {
      let aliyun: { document: string; audience: string } | undefined;
      if (instance.provider === 'aliyun') {
        const { document } = await instanceIdentity(instance, this.#metadataOptions);
        const { nonce } = answerOf(await this.#send(IDENTITY_NONCE, {}), IDENTITY_NONCE, 'asking for an identity nonce');
        aliyun = { document, audience: nonce };
      }
      const signature = await signedIdentity(instance, aliyun?.audience, this.#metadataOptions);
      // Not a secret, but a bearer proof for as long as the document is valid (AWS's, until the instance stops):
      // kept out of logs whole, without its line breaks, and line by line.
      for (const form of [signature, signature.replace(/\s+/g, ''), ...signature.split(/\s+/)]) this.#redactor.add(form);
      return { route: ENROLL_BY_IDENTITY, body: { ...enrollment, pool, provider: instance.provider, signature, ...aliyun }, by };
    } catch (error) {
      if (error instanceof InstanceMetadataError && error.transient) throw new NotYet(`enrolling: ${error.message}`);
      throw error;
    }
  }

  /** Keeps `credential` as this node's at this endpoint; `enrolled` once an enrollment presenting it was answered. */
  async #saveCredential(credential: string, enrolled: boolean, more: Pick<StoredCredential, 'renewAfter' | 'next'> = {}): Promise<void> {
    const stored: StoredCredential = { url: this.url, node: this.#identity.name, credential, enrolled, ...more };
    await this.#host.writeFile(PATHS.credential, `${JSON.stringify(stored)}\n`, 0o600, { bookkeeping: true });
  }
}

/** A node credential of its own (contract/token-formats.ts NODE_CREDENTIAL): 32 random bytes, base64url. */
const newCredential = () => randomBytes(32).toString('base64url');

/** When to renew a credential of `lifetime`: half of it from now, by this node's clock. */
function renewalOf(lifetime: Partial<CredentialLifetime>): Pick<StoredCredential, 'renewAfter'> {
  // Date.parse of an absent time is NaN, and NaN is never greater.
  const issued = Date.parse(lifetime.credentialIssuedAt!);
  const expires = Date.parse(lifetime.credentialExpiresAt!);
  if (!(expires > issued)) return {};
  return { renewAfter: new Date(Date.now() + (expires - issued) / 2).toISOString() };
}

/**
 * The body of a 2xx answer, as the route's response type once it has that shape (./responses.ts). One that does
 * not (a proxy's page, a body cut short, a field missing) is not used: it is a NotYet, asked again later, as an
 * endpoint that is not ready yet would be.
 */
function answerOf<K extends RouteKey>(response: EndpointResponse, route: K, what: string): ResponseOf<K> {
  const { status, body } = response;
  if (status < 300 && status > 199) {
    const problem = answerProblem(route, body);
    if (problem) throw new NotYet(`${what} (${route}): the endpoint's answer ${problem}`);
    return body as ResponseOf<K>;
  }
  const reason = (body as { error?: unknown } | undefined)?.error;
  const message = typeof reason === 'string' ? reason : `HTTP ${status}`;
  if (status === 429 || status >= 500) {
    const retryAfter = Number(response.headers['retry-after']);
    throw new NotYet(`${what}: ${message}`, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
  }
  throw new EndpointRefused(status, what, message);
}

/**
 * The name this node enrolled under at the endpoint at `url`, from its stored credential; undefined when it never
 * finished enrolling there. What a run settled and the endpoint knows, without asking a metadata service again.
 */
export async function enrolledName(host: Pick<Host, 'readFile'>, url: string): Promise<string | undefined> {
  const stored = parseCredential(await host.readFile(PATHS.credential));
  return stored?.enrolled && stored.url === url ? stored.node : undefined;
}

/** The stored credential; undefined when there is none or it is not one (a file cut short by a crash). */
function parseCredential(stored: string | undefined): StoredCredential | undefined {
  try {
    const value = JSON.parse(stored!) as StoredCredential;
    const string = text(/^/);
    // A credential stored before enrollments carried one was the endpoint's answer: enrolled.
    if (!shapeProblem(value, { url: string, node: string, credential: string, renewAfter: optional(string), next: optional(string) })) return { ...value, enrolled: value.enrolled ?? true };
  } catch {}
}

/** Whether an error means "try again later" rather than "this will never work". */
export function isTransient(error: unknown): boolean {
  return error instanceof NotYet || error instanceof EndpointUnreachable;
}
