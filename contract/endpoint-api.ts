/**
 * The contract between the agent and the join endpoint (`labimg serve`), shared by both sides.
 *
 * Everything is JSON over HTTPS. The endpoint's certificate is issued by a CA it makes on first start; nodes
 * pin that CA by the sha256 of its DER bytes ("sha256:<hex>", carried in node.json), as kubeadm pins the
 * cluster CA by its public-key hash. Two kinds of bearer token exist:
 *
 *   enrollment token  one per pool (or several), made by `labimg pool create`, printed once, stored as a hash.
 *                     It only buys a node credential: POST /v1/enroll.
 *   node credential   one per node, stored as a hash. Everything else a node does. The node makes it and keeps it
 *                     (0600) before it enrolls, and presents it with the enrollment in the NODE_CREDENTIAL_HEADER:
 *                     the name is bound to it, so an enrollment that is retried after a lost answer, or after a
 *                     reboot, is the same machine's and is accepted, and one for a name someone else holds is
 *                     refused (409) until the operator releases the name (`labimg nodes forget`).
 *                     It expires (CredentialLifetime): the node replaces it with the next one it makes, past half
 *                     its lifetime, through POST /v1/nodes/:node/credential, the next one in the same header.
 *
 * The routes, who may call each (one of these tokens, or anyone) and what they carry: ./endpoint-routes.ts.
 */
import type { IdentityProvider, PhaseReport, Role } from './agent-config';
import type { GpuMilestoneTime } from './gpu-timing';

/**
 * Node names are Kubernetes node names: DNS-1123 subdomains. Pools are DNS-1123 labels. Kubernetes allows 253
 * characters; the endpoint takes 200, so a node's record fits one file name (255 bytes) in the file store.
 */
export const NODE_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
export const NODE_NAME_MAX = 200;
export const POOL_NAME_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
export const POOL_NAME_MAX = 63;

/** The file name under /v1/agent/: the bundle's sha256 in lowercase hex, then ".js". */
export const AGENT_BUNDLE_FILE_PATTERN = /^[a-f0-9]{64}\.js$/;

/** "sha256:" + 64 lowercase hex digits of the endpoint CA certificate's DER encoding. */
export const CA_FINGERPRINT_PATTERN = /^sha256:[a-f0-9]{64}$/;

/** The header that carries the node's own credential on POST /v1/enroll (Authorization carries the enrollment token). */
export const NODE_CREDENTIAL_HEADER = 'labimg-node-credential';

export interface EnrollRequest {
  node: string;
  role: Role;
  profile: string;
  gpu: boolean;
}

/**
 * An enrollment vouched for by the cloud instead of a token: the instance's signed identity document. The node
 * credential travels in NODE_CREDENTIAL_HEADER as with POST /v1/enroll; the node's name is its instance id.
 */
export interface IdentityEnrollRequest extends EnrollRequest {
  pool: string;
  provider: IdentityProvider;
  /** AWS: the `rsa2048` signature; Alibaba Cloud: the `pkcs7?audience=` one. Base64, as the metadata service serves it. */
  signature: string;
  /** Alibaba Cloud: the plain document as served, and the audience it was signed for (an IdentityNonce). */
  document?: string;
  audience?: string;
}

/** A one-use value for Alibaba Cloud's signed `audience`: proves the identity document was signed just now, for us. */
export interface IdentityNonce {
  nonce: string;
  expiresAt: string;
}

export interface EnrollResponse extends Partial<CredentialLifetime> {
  node: string;
  pool: string;
  /** The node credential: the one the node presented, or one made for a node that presented none. */
  credential: string;
}

/**
 * When the endpoint issued the node's current credential and when it stops accepting it, both by the endpoint's
 * clock (RFC 3339). The node renews at half the lifetime, measured from when it got the answer, so a node whose
 * clock is off by hours still renews in time. Absent in answers of endpoints whose credentials do not expire.
 */
export interface CredentialLifetime {
  credentialIssuedAt: string;
  credentialExpiresAt: string;
}

/** A PhaseReport as the outbox holds it; its id makes resending harmless. */
export type ReportRequest = PhaseReport;

export interface ReportResponse {
  /** False when a report with this id was already stored (a resend after a lost answer). */
  stored: boolean;
}

/** What a node needs to `kubeadm join`. */
export interface JoinMaterial {
  apiServerEndpoint: string;
  token: string;
  caCertHashes: string[];
  /** Only for control-plane joins that asked for it. */
  certificateKey?: string;
}

/** What the control plane publishes after `kubeadm init` and again before the token expires. */
export interface PublishedJoinMaterial extends JoinMaterial {
  /** RFC 3339; the endpoint stops handing the token out after this. */
  tokenExpires: string;
  certificateKeyExpires?: string;
}

export interface NodePhaseTime {
  phase: string;
  durationMs: number;
}

/**
 * Where a node stands, by its latest report: the one the endpoint received last (a node's clock can be hours off
 * before NTP sets it, so its times order nothing):
 *   departed            it reported LEAVING_STEP done: its machine powered off on purpose; a later report ends it
 *   failed              its latest report failed
 *   ready               it reported the last step of its role done (since it last left, if it ever did)
 *   in-progress         it has reported, and none of the above
 *   enrolled-no-report  it enrolled and has not reported yet
 */
export type NodeState = 'ready' | 'failed' | 'in-progress' | 'enrolled-no-report' | 'departed';

/** One node as the fleet view shows it. */
export interface FleetNode {
  node: string;
  pool: string;
  role: Role;
  profile: string;
  gpu: boolean;
  enrolledAt: string;
  /** The latest step and its status, e.g. "kubeadm-join done". */
  step?: string;
  status?: PhaseReport['status'];
  /** The latest report's time by the node's clock, as the node sent it. */
  lastReportAt?: string;
  /** When the endpoint received the latest report, by its own clock. */
  lastReceivedAt?: string;
  /**
   * Set only when the latest report's time was more than 5 minutes (endpoint/report-time.ts) ahead of when the
   * endpoint received it: how far the node's clock runs ahead, in milliseconds. A report cannot arrive before it is
   * made, so that is the node's clock for sure. A time behind the receipt is not flagged: it reads the same as a
   * report that waited in the node's outbox while the endpoint could not be reached, which is no fault of the node.
   */
  clockSkewMs?: number;
  /** Total time spent in each phase (bake, boot), from the reports' durations. */
  phases: NodePhaseTime[];
  /**
   * The latest report of each step, in the order the endpoint received them: what the fleet page's timeline and
   * `labimg nodes --watch` draw. The run's own completion report (RUN_COMPLETE_STEP) is among them: its duration is
   * the run's, the node's time to final.
   */
  steps?: FleetStep[];
  /**
   * Time to GPU: the seconds after boot at which a GPU node reached each milestone in its latest boot
   * (contract/gpu-timing.ts), in milestone order; absent on a node without a GPU and before the first milestone.
   */
  timeToGpu?: GpuMilestoneTime[];
  /** The last failure's message, when the latest status is "failed". */
  error?: string;
  /**
   * True when the node reported the last step of its role as done, after its latest leaving report if it has
   * one: a node that left is not ready, nor is one that came back, until its new run completes.
   */
  ready: boolean;
  /** When the node left (its leaving report's time, by its clock); present only while it is departed. */
  departedAt?: string;
  state: NodeState;
}

/** One step of a node as its latest report about it says: when it ended (or started, while running) and how long it took. */
export interface FleetStep {
  step: string;
  phase: PhaseReport['phase'];
  status: PhaseReport['status'];
  /** The report's time by the node's clock: a step's end, or its start while it is "started". */
  at: string;
  durationMs?: number;
  /** When the endpoint received the report, by its own clock. */
  receivedAt?: string;
  /** The failure's message, on a failed step. */
  error?: string;
}

export interface FleetView {
  generatedAt: string;
  nodes: FleetNode[];
}

/** Every non-2xx answer has this body. `error` is meant for the person reading the agent's log. */
export interface ApiError {
  error: string;
}
