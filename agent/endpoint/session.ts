/**
 * This node's conversation with the join endpoint: make its own credential and keep it (0600, under
 * /var/lib/labimg, never in an image) before it enrolls with its role's token, present it with the enrollment,
 * and use it for reports and join material.
 *
 * The endpoint binds the node's name to that credential. So an enrollment whose answer was lost, or that a
 * reboot interrupted, is simply sent again with the same credential and accepted; and a credential the
 * endpoint no longer accepts (its store was rebuilt) is enrolled again, once, as it is. A name someone else
 * holds is refused with 409, which needs the operator (`labimg nodes forget NAME`), not a retry.
 */
import { randomBytes } from 'node:crypto';
import { PATHS } from '../../contract/node-paths';
import type { NodeConfig, NodeSecrets, PhaseReport, Role } from '../../contract/agent-config';
import type { JoinMaterial, PublishedJoinMaterial, ReportResponse } from '../../contract/endpoint-api';
import { routeMethod, routePath, type NodeRouteKey, type ParamsOf, type QueryOf, type RequestOf, type ResponseOf, type RouteKey } from '../../contract/endpoint-routes';
import { NODE_CREDENTIAL_HEADER } from '../../contract/endpoint-api';
import type { Host } from '../host/host';
import type { Logger } from '../log';
import type { Redactor } from '../redact';
import { EndpointUnreachable, PinnedHttpsClient, type EndpointResponse } from './pinned-https';

const ENROLL = 'POST /v1/enroll';

interface StoredCredential {
  url: string;
  node: string;
  credential: string;
  /** False while the enrollment that presents it has not been answered yet. */
  enrolled: boolean;
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
}

export interface EndpointSession {
  readonly url: string;
  sendReport(report: PhaseReport): Promise<ReportResponse>;
  /** Join material as the endpoint has it now; NotYet when the control plane has not published it. */
  joinMaterial(controlPlane: boolean): Promise<JoinMaterial>;
  publishJoinMaterial(material: PublishedJoinMaterial): Promise<void>;
  close(): void;
}

export class HttpsEndpointSession implements EndpointSession {
  readonly url: string;
  private readonly client: PinnedHttpsClient;
  private credential?: string;
  /** The enrollment in flight: reports and the join step ask at once, and two enrollments would revoke each other. */
  private enrolling?: Promise<string>;

  constructor(
    endpoint: NonNullable<NodeConfig['endpoint']>,
    private readonly identity: NodeIdentity,
    private readonly secrets: NodeSecrets,
    private readonly host: Host,
    private readonly log: Logger,
    private readonly redactor: Redactor,
  ) {
    this.url = endpoint.url;
    this.client = new PinnedHttpsClient(endpoint.url, endpoint.caFingerprint);
  }

  async sendReport(report: PhaseReport): Promise<ReportResponse> {
    return this.authorized('POST /v1/nodes/:node/reports', this.ownNode(), report, 'sending a report');
  }

  async joinMaterial(controlPlane: boolean): Promise<JoinMaterial> {
    const material = await this.authorized('GET /v1/nodes/:node/join', this.ownNode(), undefined, 'asking for join material', controlPlane ? { controlPlane: 'true' } : undefined);
    this.redactor.add(material.token);
    this.redactor.add(material.certificateKey);
    return material;
  }

  async publishJoinMaterial(material: PublishedJoinMaterial): Promise<void> {
    await this.authorized('PUT /v1/nodes/:node/join-material', this.ownNode(), material, 'publishing join material');
  }

  close(): void {
    this.client.close();
  }

  /** The path parameters of this node's own routes. */
  private ownNode(): { node: string } {
    return { node: this.identity.name };
  }

  /** A route about this node, with its credential, enrolling first (or again) when it needs one. */
  private async authorized<K extends NodeRouteKey>(route: K, params: ParamsOf<K>, body: RequestOf<K>, what: string, query?: QueryOf<K>): Promise<ResponseOf<K>> {
    const path = routePath(route, params, query);
    for (let attempt = 1; ; attempt += 1) {
      const credential = await this.nodeCredential();
      const response = await this.client.request(routeMethod(route), path, { token: credential, body });
      if (response.status === 401 && attempt === 1) {
        // Only the first caller to see this credential fail enrolls it again; the others wait for that.
        if (this.credential === credential) {
          this.log.warn(`the endpoint does not accept this node's credential; enrolling it again`);
          this.credential = undefined;
          await this.saveCredential({ url: this.url, node: this.identity.name, credential, enrolled: false });
        }
        continue;
      }
      return answerOf<K>(response, what);
    }
  }

  private async nodeCredential(): Promise<string> {
    if (this.credential) return this.credential;
    const stored = parseCredential(await this.host.readFile(PATHS.credential));
    if (this.credential) return this.credential; // another caller finished enrolling while we read
    const ours = stored && stored.url === this.url && stored.node === this.identity.name ? stored : undefined;
    if (ours) this.redactor.add(ours.credential);
    if (ours?.enrolled) {
      this.credential = ours.credential;
      return ours.credential;
    }
    this.enrolling ??= this.enroll(ours?.credential).finally(() => {
      this.enrolling = undefined;
    });
    return this.enrolling;
  }

  /** Enrolls with `credential` (this node's, from an enrollment that was not answered) or a new one of its own. */
  private async enroll(credential = randomBytes(32).toString('base64url')): Promise<string> {
    const token = this.secrets.enrollmentToken;
    if (!token) throw new EndpointRefused(0, 'enrolling', 'secrets.json has no enrollmentToken; the user-data from `labimg pool create` or `labimg build --pool` carries one');
    this.redactor.add(credential);
    const { name, role, profile, gpu } = this.identity;
    // Kept before it is sent: whatever happens to the answer, the next try presents the same credential.
    await this.saveCredential({ url: this.url, node: name, credential, enrolled: false });
    const enrollment: RequestOf<typeof ENROLL> = { node: name, role, profile, gpu };
    const response = await this.client.request(routeMethod(ENROLL), routePath(ENROLL, {}), { token, body: enrollment, headers: { [NODE_CREDENTIAL_HEADER]: credential } });
    const answer = answerOf<typeof ENROLL>(response, 'enrolling');
    // An endpoint from before node-made credentials answers one of its own: that is the one it knows.
    this.redactor.add(answer.credential);
    await this.saveCredential({ url: this.url, node: name, credential: answer.credential, enrolled: true });
    this.log.info(`enrolled with ${this.url} as ${role} ${name} in pool ${answer.pool}`);
    this.credential = answer.credential;
    return answer.credential;
  }

  private async saveCredential(stored: StoredCredential): Promise<void> {
    await this.host.writeFile(PATHS.credential, `${JSON.stringify(stored)}\n`, 0o600, { bookkeeping: true });
  }
}

/** The body of a 2xx answer, as the route's response type: the endpoint at the pinned CA is trusted to keep the contract. */
function answerOf<K extends RouteKey>(response: EndpointResponse, what: string): ResponseOf<K> {
  return expectOk(response, what).body as ResponseOf<K>;
}

function expectOk(response: EndpointResponse, what: string): EndpointResponse {
  if (response.status >= 200 && response.status < 300) return response;
  const reason = (response.body as { error?: unknown } | undefined)?.error;
  const message = typeof reason === 'string' ? reason : `HTTP ${response.status}`;
  if (response.status === 503 || response.status === 429 || response.status >= 500) {
    const retryAfter = Number(response.headers['retry-after']);
    throw new NotYet(`${what}: ${message}`, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
  }
  throw new EndpointRefused(response.status, what, message);
}

function parseCredential(text: string | undefined): StoredCredential | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<StoredCredential>;
    if (typeof value.url !== 'string' || typeof value.node !== 'string' || typeof value.credential !== 'string') return undefined;
    // A credential stored before enrollments carried one was the endpoint's answer: enrolled.
    return { url: value.url, node: value.node, credential: value.credential, enrolled: value.enrolled ?? true };
  } catch {
    return undefined;
  }
}

/** Whether an error means "try again later" rather than "this will never work". */
export function isTransient(error: unknown): boolean {
  return error instanceof NotYet || error instanceof EndpointUnreachable;
}
