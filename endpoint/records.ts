/** What the endpoint stores, by key. Secrets appear only as SHA-256 hashes, except the join material itself. */
import type { IdentityProvider, PhaseReport, Role } from '../contract/agent-config';
import type { PublishedJoinMaterial } from '../contract/endpoint-api';

export interface PoolRecord {
  name: string;
  /** The profile the pool's nodes are built from; shown in the fleet view and used for the pool's user-data. */
  profile: string;
  createdAt: string;
  /** Set by `labimg pool identity`: workers may enroll with this cloud's signed instance identity document. */
  identity?: IdentityPolicy;
}

/**
 * Which signed instance identity documents a pool takes, in place of a worker token: the cloud's published
 * certificates to verify them with, and what the document must say. A document enrolls workers only, named
 * after their instance id.
 */
export interface IdentityPolicy {
  provider: IdentityProvider;
  /** The cloud's published signing certificates (PEM), as the operator configured them. */
  certificatesPem: string[];
  /** The account ids whose instances may enroll; at least one. */
  accounts: string[];
  /** When set, only instances in these regions, or made from these images. */
  regions?: string[];
  images?: string[];
  /**
   * AWS: how long after its launch (the document's pendingTime) an instance's first enrollment is taken. AWS
   * signs the document at launch and never again until a stop and start, so this is its only freshness.
   */
  launchWindowMs: number;
}

/** One use of a signed identity document, kept so the same document enrolls no one else. */
export interface IdentityDocumentUse {
  node: string;
  credentialSha256: string;
  at: string;
}

export interface EnrollmentTokenRecord {
  id: string;
  pool: string;
  secretSha256: string;
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  /**
   * The role the token grants: a node enrolls as what its token says, never as what it asks for. Tokens
   * stored before roles were granted have none and enroll workers only.
   */
  role?: Role;
  /** A token for one machine (a PXE install, a named control plane): it enrolls only this node name. */
  node?: string;
  /** How many more enrollments it grants; unlimited when absent (a pool's worker token). */
  usesLeft?: number;
}

/** The role `token` grants. */
export function grantedRole(token: Pick<EnrollmentTokenRecord, 'role'>): Role {
  return token.role ?? 'worker';
}

/**
 * One machine's network install: its generation numbers the installs, and its enrollment token is derived from
 * the endpoint's token key, that generation and its nonce (see Registry.machineToken), so it is never stored.
 */
export interface MachineInstallRecord {
  pool: string;
  node: string;
  generation: number;
  startedAt: string;
  /**
   * Random, new for every install, and part of its token's derivation: after `labimg nodes forget` the numbering
   * starts again, and without it generation 1 would derive the first install's token once more. Installs started
   * before it was kept have none.
   */
  nonce?: string;
  /**
   * When the installer said it had finished (POST /pxe/nodes/MAC/installed, with this generation's token): from
   * then on the machine boots from its disk, before its agent has enrolled.
   */
  finishedAt?: string;
}

/**
 * The latest report of one step, by arrival at the endpoint: a node's summary keeps one per step, and resending the
 * report it keeps changes nothing.
 */
export interface StepSummary {
  phase: PhaseReport['phase'];
  status: PhaseReport['status'];
  at: string;
  durationMs?: number;
  /** The report's time since boot, when the agent sent one: the milestones of time to GPU are read from it. */
  sinceBootMs?: number;
  /**
   * Which of the node's summaries the endpoint stored last: one more than the highest of them when stored. It
   * orders the steps as the node made them even where its wall clock jumped (contract/gpu-timing.ts), and it
   * decides which report is a node's latest (fleetNodeOf); summaries stored before it was kept have none.
   */
  received?: number;
  /** When the endpoint received the report, by the endpoint's clock; `at` is the node's. Absent on older summaries. */
  receivedAt?: string;
  /** The report's id: a resend of the report a step keeps changes nothing. Absent on older summaries. */
  id?: string;
  error?: string;
}

export interface NodeRecord {
  name: string;
  pool: string;
  role: Role;
  profile: string;
  gpu: boolean;
  enrolledAt: string;
  credentialSha256: string;
  /** When the current credential was issued and stops being accepted; records from before expiry have neither. */
  credentialIssuedAt?: string;
  credentialExpiresAt?: string;
  /**
   * The credential the last rotation replaced, accepted until `acceptedUntil` for requests that were under way
   * with it; it cannot rotate again, so a copy of an old credential never takes the name back.
   */
  previousCredential?: { sha256: string; acceptedUntil: string };
  /** Set by `labimg nodes revoke`: the credential is refused from then on, and the name stays taken until forgotten. */
  revokedAt?: string;
  steps: Record<string, StepSummary>;
}

export interface StoredJoinMaterial extends PublishedJoinMaterial {
  publishedBy: string;
  publishedAt: string;
}

export type AuditAction =
  | 'pool-created'
  | 'pool-identity-set'
  | 'token-created'
  | 'token-revoked'
  | 'node-enrolled'
  | 'enrollment-refused'
  | 'credential-rotated'
  | 'node-revoked'
  | 'node-forgotten'
  | 'join-material-published'
  | 'join-material-refused'
  | 'join-material-reset'
  | 'join-material-issued'
  | 'pxe-config-served'
  | 'pxe-install-finished'
  | 'ca-replaced';

/** Who did what, from where. Never a secret: tokens appear by id only. */
export interface AuditEvent {
  at: string;
  action: AuditAction;
  pool?: string;
  node?: string;
  tokenId?: string;
  source?: string;
  /** For issued join material: whether the certificate key went with it. */
  certificateKey?: boolean;
  /** For a PXE config: the MAC address it was served for. */
  mac?: string;
  /**
   * For a PXE config: how many times this endpoint process served the machine's config since its previous record
   * without a record of their own (one record per machine per hour: endpoint/pxe.ts, PXE_AUDIT_WINDOW_MS).
   */
  repeats?: number;
  /** For a refusal: why, as the caller was told; for a replaced CA, which by which. */
  reason?: string;
  /** For an enrollment by identity document: the cloud, account and instance it vouched for ("aws 1234/i-0abc"). */
  instance?: string;
}

export const KEYS = {
  pool: (name: string) => `pools/${name}`,
  pools: 'pools/',
  token: (id: string) => `enrollment-tokens/${id}`,
  tokens: 'enrollment-tokens/',
  node: (name: string) => `nodes/${name}`,
  nodes: 'nodes/',
  /** A node's report history, one entry for all its reports (endpoint/node-reports.ts). */
  nodeReports: (node: string) => `node-reports/${node}`,
  /**
   * Where data directories made before the history kept a node's reports, one entry each: read beside the
   * history and deleted with the node, never written.
   */
  legacyReports: (node: string) => `reports/${node}/`,
  joinMaterial: (pool: string) => `join-material/${pool}`,
  machineInstall: (node: string) => `machine-installs/${node}`,
  /** The key machine tokens are derived from: 32 random bytes, made once, shared by every replica. */
  machineTokenKey: 'keys/machine-tokens',
  /** The key identity nonces are made with (endpoint/identity/nonces.ts), made like the machine-token key. */
  identityNonceKey: 'keys/identity-nonces',
  /** A used identity document, by the SHA-256 of its signature. */
  identityUse: (signatureSha256: string) => `identity-uses/${signatureSha256}`,
  /** Under it, one event per entry, or an array of the events a burst recorded together (Registry.audit). */
  audit: 'audit/',
} as const;
