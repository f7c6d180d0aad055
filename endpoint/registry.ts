/**
 * The endpoint's model on top of a Store: pools and their enrollment tokens, enrolled nodes, their reports,
 * the join material each pool's control plane publishes, and the audit trail. Shared by the server and the
 * `labimg pool` / `labimg nodes` commands, which work on the same store directly.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Role } from '../contract/agent-config';
import { UserError } from '../contract/errors';
import { LEAVING_STEP, RUN_COMPLETE_STEP } from '../contract/agent-config';
import type { CredentialLifetime, FleetNode, FleetStep, FleetView, ReportRequest } from '../contract/endpoint-api';
import { CLOCK_SKEW_FLAG_MS } from './report-time';
import { gpuMilestones } from '../contract/gpu-timing';
import { phaseDurations } from '../contract/phase-timing';
import { KEYS, type AuditEvent, type EnrollmentTokenRecord, type IdentityDocumentUse, type IdentityPolicy, type MachineInstallRecord, type NodeRecord, type PoolRecord, type StepSummary, type StoredJoinMaterial } from './records';
import { nodeState } from './fleet-page';
import { holdsReport, joinedReports, parseReportHistory, withReport, type ReportHistory, type StoredReport } from './node-reports';
import { GroupCommit } from './group-commit';
import type { Store } from './store/store';
import { newEnrollmentToken, parseEnrollmentToken, secretHashesMatch, secretMatches, sha256Hex } from './tokens';

/** A request the registry refuses as it stands (a name taken, a pool missing): the caller's to fix. */
export class RegistryError extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryError';
  }
}

/** Why an enrollment token was refused; the server turns each into its own 401/403 message. */
export type TokenRejection = 'malformed' | 'unknown' | 'revoked' | 'expired' | 'used-up';

/** What an enrollment token grants: a role, and optionally one node name, a number of uses, a lifetime. */
export interface TokenGrant {
  role: Role;
  node?: string;
  uses?: number;
  ttlMs?: number;
}

/**
 * How long a node credential is accepted, and how long the one a rotation replaced still is. Thirty days: a node's
 * refresh timer renews at half of it every 15 minutes, so only a machine that was off for more than two weeks
 * finds its credential expired, and it enrolls again with its token (a worker's pool token does that by itself).
 * Ten minutes of grace cover requests that were sent with the old credential while the rotation was answered.
 */
export interface CredentialPolicy {
  ttlMs: number;
  graceMs: number;
}

export const DEFAULT_CREDENTIAL_POLICY: CredentialPolicy = { ttlMs: 30 * 86_400_000, graceMs: 10 * 60_000 };

/** What a presented credential is to a node's record (credentialStanding). */
export type CredentialStanding = 'current' | 'previous' | 'expired' | 'revoked' | 'wrong';

/**
 * How much audit trail the store keeps: entries older than `maxAgeMs`, and the oldest beyond `maxEntries`, are
 * deleted (an entry is one event, or a burst's events recorded together). Some events can be caused without any
 * credential (a PXE config served, a refused identity document), so without a bound the trail would grow as long
 * as anyone keeps asking. A year covers a lab's yearly review; 50,000 entries of a few hundred bytes are some
 * 15 MB, a file each in the file store and far below etcd's default 2 GiB quota (etcd.io/docs/v3.6/dev-guide/limit,
 * read 2026-12-06). A process prunes on its first audit write and after every `pruneEvery` more.
 */
export interface AuditRetention {
  maxAgeMs: number;
  maxEntries: number;
  pruneEvery: number;
}

export const DEFAULT_AUDIT_RETENTION: AuditRetention = { maxAgeMs: 365 * 86_400_000, maxEntries: 50_000, pruneEvery: 256 };

export interface RegistryOptions {
  clock?: () => Date;
  credentials?: CredentialPolicy;
  audit?: Partial<AuditRetention>;
}

export class Registry {
  private readonly clock: () => Date;
  readonly credentialPolicy: CredentialPolicy;
  /**
   * 256 events of at most a few hundred bytes each stay far below etcd's largest request, 1.5 MiB by default
   * (etcd.io/docs/v3.6/dev-guide/limit, read 2026-12-05).
   */
  private readonly auditLog = new GroupCommit<AuditEvent>((events) => this.writeAudit(events), 256);
  /** Audit entries this registry has written, which orders those written in the same millisecond. */
  private auditEntries = 0;
  readonly auditRetention: AuditRetention;

  constructor(readonly store: Store, options: RegistryOptions = {}) {
    this.clock = options.clock ?? (() => new Date());
    this.credentialPolicy = options.credentials ?? DEFAULT_CREDENTIAL_POLICY;
    this.auditRetention = { ...DEFAULT_AUDIT_RETENTION, ...options.audit };
  }

  // ── pools and tokens ────────────────────────────────────────────────────────────────────────────────

  async createPool(name: string, profile: string): Promise<PoolRecord> {
    const pool: PoolRecord = { name, profile, createdAt: this.now() };
    if (!(await this.store.create(KEYS.pool(name), JSON.stringify(pool)))) throw new RegistryError(`pool "${name}" already exists`);
    await this.audit({ action: 'pool-created', pool: name });
    return pool;
  }

  async pool(name: string): Promise<PoolRecord | undefined> {
    return parse<PoolRecord>(await this.store.get(KEYS.pool(name)));
  }

  async pools(): Promise<PoolRecord[]> {
    return (await this.store.list(KEYS.pools)).map((e) => JSON.parse(e.value) as PoolRecord);
  }

  /** A new enrollment token for `pool`, granting `grant`; the returned token string is the only copy of the secret. */
  async createToken(pool: string, grant: TokenGrant): Promise<{ record: EnrollmentTokenRecord; token: string }> {
    if (grant.uses !== undefined && !(Number.isInteger(grant.uses) && grant.uses > 0)) throw new RegistryError(`uses: expected a whole number above 0, got ${grant.uses}`);
    if (!(await this.pool(pool))) throw new RegistryError(`pool "${pool}" does not exist; create it with \`labimg pool create ${pool} --profile P\``);
    for (;;) {
      const made = newEnrollmentToken();
      const now = this.clock();
      const record: EnrollmentTokenRecord = {
        id: made.id,
        pool,
        secretSha256: made.secretSha256,
        createdAt: now.toISOString(),
        ...(grant.ttlMs !== undefined ? { expiresAt: new Date(now.getTime() + grant.ttlMs).toISOString() } : {}),
        role: grant.role,
        ...(grant.node !== undefined ? { node: grant.node } : {}),
        ...(grant.uses !== undefined ? { usesLeft: grant.uses } : {}),
      };
      // Ids are random; on the rare collision draw again rather than overwrite someone's token.
      if (await this.store.create(KEYS.token(made.id), JSON.stringify(record))) {
        await this.audit({ action: 'token-created', pool, tokenId: made.id });
        return { record, token: made.token };
      }
    }
  }

  /**
   * The token of one machine's install: it enrolls `node` into `pool` as `role`, once, and nothing else. Every
   * fetch of the machine's config gets the same token while it is live, however many arrive at once and on
   * whichever replica: its id and secret are an HMAC of the endpoint's token key and the install's generation (and nonce),
   * so nothing secret is stored and no two fetches can mint two tokens. A spent, revoked or expired token
   * starts the next generation, atomically (a compare-and-set on the install record).
   */
  async machineToken(pool: string, node: string, role: Role, ttlMs: number): Promise<{ record: EnrollmentTokenRecord; token: string }> {
    const key = await this.sharedKey(KEYS.machineTokenKey);
    for (;;) {
      const install = parse<MachineInstallRecord>(await this.store.get(KEYS.machineInstall(node)));
      if (install && install.pool === pool) {
        const derived = deriveMachineToken(key, install);
        const record: EnrollmentTokenRecord = {
          id: derived.id,
          pool,
          secretSha256: derived.secretSha256,
          createdAt: install.startedAt,
          expiresAt: new Date(Date.parse(install.startedAt) + ttlMs).toISOString(),
          role,
          node,
          usesLeft: 1,
        };
        // Every fetch of this generation derives the same record; the first one to find it missing stores it.
        let stored = parse<EnrollmentTokenRecord>(await this.store.get(KEYS.token(derived.id)));
        if (!stored) {
          if (await this.store.create(KEYS.token(derived.id), JSON.stringify(record))) await this.audit({ action: 'token-created', pool, node, tokenId: derived.id });
          stored = parse<EnrollmentTokenRecord>(await this.store.get(KEYS.token(derived.id)));
        }
        if (stored && tokenIsLive(stored, this.clock())) return { record: stored, token: derived.token };
      }
      const seen = install?.generation ?? 0;
      const next = JSON.stringify({ pool, node, generation: seen + 1, startedAt: this.now(), nonce: randomBytes(16).toString('hex') } satisfies MachineInstallRecord);
      const stored = await this.store.update(KEYS.machineInstall(node), (current) => {
        const now = parse<MachineInstallRecord>(current);
        if ((now?.generation ?? 0) !== seen) return undefined; // another fetch started it already
        return next;
      });
      if (install && stored === next) await this.dropUnusedMachineToken(key, install);
    }
  }

  /**
   * Deletes the token record of an install that a new one replaced, when its token expired unused: anyone can start
   * a machine's next install by fetching its config once the token has expired (every 4 hours), and the record
   * would otherwise stay for ever. A spent or revoked token's record stays, as the audit of what it did. Deleting is
   * safe because no later install derives the same token: each install's nonce goes into its derivation.
   */
  private async dropUnusedMachineToken(key: Buffer, replaced: MachineInstallRecord): Promise<void> {
    const { id } = deriveMachineToken(key, replaced);
    const record = parse<EnrollmentTokenRecord>(await this.store.get(KEYS.token(id)));
    const expired = record?.expiresAt !== undefined && Date.parse(record.expiresAt) <= this.clock().getTime();
    if (record && expired && !record.revokedAt && record.usesLeft === 1) await this.store.delete(KEYS.token(id));
  }

  /**
   * Records that the installer of `node`'s current install has finished, when `tokenId` is that install's token:
   * only the installer, which holds the token, can end it. False when it is not (another generation's token,
   * another pool's) or when there is no install; finishing twice changes nothing.
   */
  async finishMachineInstall(pool: string, node: string, tokenId: string): Promise<boolean> {
    const key = await this.sharedKey(KEYS.machineTokenKey);
    let finished = false;
    await this.store.update(KEYS.machineInstall(node), (current) => {
      const install = parse<MachineInstallRecord>(current);
      finished = install !== undefined && install.pool === pool && deriveMachineToken(key, install).id === tokenId;
      if (!finished || !install || install.finishedAt !== undefined) return undefined;
      return JSON.stringify({ ...install, finishedAt: this.now() } satisfies MachineInstallRecord);
    });
    return finished;
  }

  /** The machine's current network install, if it has one. */
  async machineInstall(node: string): Promise<MachineInstallRecord | undefined> {
    return parse<MachineInstallRecord>(await this.store.get(KEYS.machineInstall(node)));
  }

  /** A random 32-byte key kept under `storeKey`, made on first use; every replica reads the one stored first. */
  async sharedKey(storeKey: string): Promise<Buffer> {
    const existing = parse<{ key: string }>(await this.store.get(storeKey));
    if (!existing) await this.store.create(storeKey, JSON.stringify({ key: randomBytes(32).toString('base64') }));
    const stored = existing ?? parse<{ key: string }>(await this.store.get(storeKey));
    if (!stored) throw new Error(`the key ${storeKey} is missing from the store`);
    return Buffer.from(stored.key, 'base64');
  }

  /** Lets `pool`'s workers enroll with signed instance identity documents that `policy` accepts. */
  async setPoolIdentity(pool: string, policy: IdentityPolicy): Promise<PoolRecord> {
    const updated = await this.store.update(KEYS.pool(pool), (current) => {
      const record = parse<PoolRecord>(current);
      return record ? JSON.stringify({ ...record, identity: policy } satisfies PoolRecord) : undefined;
    });
    if (updated === undefined) throw new RegistryError(`pool "${pool}" does not exist; create it with \`labimg pool create ${pool} --profile P\``);
    await this.audit({ action: 'pool-identity-set', pool, instance: `${policy.provider} ${policy.accounts.join(',')}` });
    return JSON.parse(updated) as PoolRecord;
  }

  /**
   * Records the use of a signed identity document, atomically: true for its first use, and for the same node
   * presenting the same credential again (a retry whose answer was lost); false when anyone else presents it.
   */
  async takeIdentityDocument(signatureSha256: string, node: string, credentialSha256: string): Promise<boolean> {
    const use: IdentityDocumentUse = { node, credentialSha256, at: this.now() };
    if (await this.store.create(KEYS.identityUse(signatureSha256), JSON.stringify(use))) return true;
    const first = parse<IdentityDocumentUse>(await this.store.get(KEYS.identityUse(signatureSha256)));
    return first !== undefined && first.node === node && secretHashesMatch(first.credentialSha256, credentialSha256);
  }

  async tokens(pool?: string): Promise<EnrollmentTokenRecord[]> {
    const all = (await this.store.list(KEYS.tokens)).map((e) => JSON.parse(e.value) as EnrollmentTokenRecord);
    return pool === undefined ? all : all.filter((t) => t.pool === pool);
  }

  async revokeToken(id: string): Promise<EnrollmentTokenRecord> {
    const at = this.now();
    const updated = await this.store.update(KEYS.token(id), (current) => {
      if (current === undefined) return undefined;
      const record = JSON.parse(current) as EnrollmentTokenRecord;
      return record.revokedAt ? undefined : JSON.stringify({ ...record, revokedAt: at });
    });
    if (updated === undefined) throw new RegistryError(`no enrollment token with id "${id}"; \`labimg pool list\` lists them`);
    const record = JSON.parse(updated) as EnrollmentTokenRecord;
    await this.audit({ action: 'token-revoked', pool: record.pool, tokenId: id });
    return record;
  }

  /** The token's record when `token` is a live enrollment token, else why not. */
  async checkEnrollmentToken(token: string): Promise<{ ok: true; record: EnrollmentTokenRecord } | { ok: false; reason: TokenRejection }> {
    const parts = parseEnrollmentToken(token);
    if (!parts) return { ok: false, reason: 'malformed' };
    const record = parse<EnrollmentTokenRecord>(await this.store.get(KEYS.token(parts.id)));
    if (!record || !secretMatches(parts.secret, record.secretSha256)) return { ok: false, reason: 'unknown' };
    if (record.revokedAt) return { ok: false, reason: 'revoked' };
    if (record.expiresAt && Date.parse(record.expiresAt) <= this.clock().getTime()) return { ok: false, reason: 'expired' };
    // A spent token still authenticates: the machine it enrolled may present its credential again (a retry),
    // which takes no use. Any other enrollment takes one and is refused there (takeTokenUse).
    return { ok: true, record };
  }

  /**
   * Takes one use of a token that grants a number of them, atomically: of two enrollments racing for its last
   * use, one gets it. True when a use was taken (or the token has no limit).
   */
  async takeTokenUse(id: string): Promise<boolean> {
    let taken = false;
    await this.store.update(KEYS.token(id), (current) => {
      taken = false;
      const record = parse<EnrollmentTokenRecord>(current);
      if (!record) return undefined;
      if (record.usesLeft === undefined) {
        taken = true;
        return undefined;
      }
      if (record.usesLeft <= 0) return undefined;
      taken = true;
      return JSON.stringify({ ...record, usesLeft: record.usesLeft - 1 });
    });
    return taken;
  }

  // ── nodes ───────────────────────────────────────────────────────────────────────────────────────────

  async node(name: string): Promise<NodeRecord | undefined> {
    return parse<NodeRecord>(await this.store.get(KEYS.node(name)));
  }

  async nodes(): Promise<NodeRecord[]> {
    return (await this.store.list(KEYS.nodes)).map((e) => JSON.parse(e.value) as NodeRecord);
  }

  /**
   * Enrolls `node.name` into the token's pool with its credential. A name is bound to the credential it first
   * enrolled with: the same machine enrolling again (a retry after a lost answer, a reboot) presents the same
   * credential and keeps its record; anyone else is refused until the operator forgets the name. A name of
   * another pool is refused too, so one pool's token cannot take over another pool's nodes.
   */
  async enroll(node: Omit<NodeRecord, 'enrolledAt' | 'steps' | keyof CredentialLifetime | 'previousCredential'>): Promise<NodeRecord> {
    let conflict: string | undefined;
    const enrolledAt = this.now();
    const lifetime = this.newLifetime();
    const stored = await this.store.update(KEYS.node(node.name), (current) => {
      conflict = undefined;
      const previous = parse<NodeRecord>(current);
      if (previous && previous.pool !== node.pool) {
        conflict = `is already enrolled in pool "${previous.pool}"`;
        return undefined;
      }
      // A re-enrollment keeps the node's role: a worker's name must not come back as a control plane,
      // which would get the certificate key.
      if (previous && previous.role !== node.role) {
        conflict = `is enrolled as a ${previous.role}, not a ${node.role}`;
        return undefined;
      }
      if (previous?.revokedAt) {
        conflict = `had its credential revoked at ${previous.revokedAt}; \`labimg nodes forget ${node.name}\` releases the name`;
        return undefined;
      }
      if (previous && !secretHashesMatch(previous.credentialSha256, node.credentialSha256)) {
        conflict = `is enrolled already, bound to the credential it enrolled with; a machine that lost it is let in again once the operator releases the name (\`labimg nodes forget ${node.name}\`)`;
        return undefined;
      }
      // The same machine again: its record stands. Its credential starts a new lifetime only when it had
      // expired, and then the server has taken a use of the token it came with (a re-enrollment proper).
      if (previous) return credentialExpired(previous, this.clock()) ? JSON.stringify({ ...previous, ...lifetime }) : undefined;
      return JSON.stringify({ ...node, ...lifetime, enrolledAt, steps: {} } satisfies NodeRecord);
    });
    if (conflict !== undefined) throw new RegistryError(`node "${node.name}" ${conflict}`);
    return JSON.parse(stored as string) as NodeRecord;
  }

  /**
   * Replaces the node's credential, presented as `presentedSha256`, with `nextSha256`, atomically. The node
   * sends the same next credential again when an answer was lost: from the previous credential (still in its
   * grace) or from the next one itself, that answers the lifetime the rotation gave. Any other rotation from the
   * previous credential is refused, so a copy of a replaced credential cannot take the name back.
   */
  async rotateCredential(name: string, presentedSha256: string, nextSha256: string): Promise<CredentialLifetime> {
    let refusal: string | undefined;
    let rotated = false;
    const updated = await this.store.update(KEYS.node(name), (current) => {
      refusal = undefined;
      rotated = false;
      const record = parse<NodeRecord>(current);
      if (!record) {
        refusal = `no node "${name}"`;
        return undefined;
      }
      const standing = credentialStanding(record, presentedSha256, this.clock());
      if (secretHashesMatch(record.credentialSha256, nextSha256) && (standing === 'current' || standing === 'previous')) return undefined; // done already
      if (standing !== 'current') {
        refusal = standing === 'previous' ? 'this credential was replaced already; only the current one rotates' : `the presented credential is ${standing}`;
        return undefined;
      }
      const now = this.clock();
      const graceEnds = Math.min(now.getTime() + this.credentialPolicy.graceMs, record.credentialExpiresAt ? Date.parse(record.credentialExpiresAt) : Infinity);
      const next: NodeRecord = {
        ...record,
        credentialSha256: nextSha256,
        ...this.newLifetime(),
        previousCredential: { sha256: record.credentialSha256, acceptedUntil: new Date(graceEnds).toISOString() },
      };
      rotated = true;
      return JSON.stringify(next);
    });
    if (refusal !== undefined) throw new RegistryError(`node "${name}": ${refusal}`);
    const record = JSON.parse(updated as string) as NodeRecord;
    if (!record.credentialIssuedAt || !record.credentialExpiresAt) throw new Error(`node "${name}" has no credential lifetime after its rotation`);
    if (rotated) await this.audit({ action: 'credential-rotated', pool: record.pool, node: name });
    return { credentialIssuedAt: record.credentialIssuedAt, credentialExpiresAt: record.credentialExpiresAt };
  }

  /** A credential lifetime that starts now. */
  private newLifetime(): CredentialLifetime {
    const now = this.clock();
    return { credentialIssuedAt: now.toISOString(), credentialExpiresAt: new Date(now.getTime() + this.credentialPolicy.ttlMs).toISOString() };
  }

  /** Refuses the node's credential from now on (every replica reads the record per request); the name stays taken. */
  async revokeNode(name: string): Promise<NodeRecord> {
    const at = this.now();
    const updated = await this.store.update(KEYS.node(name), (current) => {
      const record = parse<NodeRecord>(current);
      return record && !record.revokedAt ? JSON.stringify({ ...record, revokedAt: at }) : undefined;
    });
    const record = parse<NodeRecord>(updated);
    if (!record) throw new RegistryError(`no node "${name}"; \`labimg nodes\` lists them`);
    await this.audit({ action: 'node-revoked', pool: record.pool, node: name });
    return record;
  }

  /** Deletes the node's record and reports: its name is free for a new enrollment. */
  async forgetNode(name: string): Promise<NodeRecord | MachineInstallRecord> {
    const record = (await this.node(name)) ?? (await this.machineInstall(name));
    if (!record) throw new RegistryError(`no node "${name}"; \`labimg nodes\` lists them`);
    await this.store.delete(KEYS.nodeReports(name));
    for (const key of await this.store.keys(KEYS.legacyReports(name))) await this.store.delete(key);
    await this.store.delete(KEYS.node(name));
    // Its network install too: a machine that installed but never enrolled boots from its disk until forgotten.
    // The install's token goes with it, so the disk that holds it cannot enroll after all.
    const install = await this.machineInstall(name);
    if (install) {
      const { id } = deriveMachineToken(await this.sharedKey(KEYS.machineTokenKey), install);
      await this.store.update(KEYS.token(id), (current) => {
        const token = parse<EnrollmentTokenRecord>(current);
        return token && !token.revokedAt ? JSON.stringify({ ...token, revokedAt: this.now() }) : undefined;
      });
      await this.store.delete(KEYS.machineInstall(name));
    }
    await this.audit({ action: 'node-forgotten', pool: record.pool, node: name });
    return record;
  }

  /**
   * Stores a report once. A step keeps the report the endpoint received last, whatever its time says: an agent
   * sends its outbox in the order it wrote it, one report at a time (agent/endpoint/outbox-sender.ts), so arrival
   * is the node's own order, while its clock may have jumped by hours between two reports (NTP setting it after
   * boot). A report already stored is a resend and changes nothing. The summary is written before the history,
   * and carries the report's id, so a crash between the two writes and the agent's resend still count it once.
   */
  async addReport(node: string, report: ReportRequest): Promise<boolean> {
    if (holdsReport(parseReportHistory(await this.store.get(KEYS.nodeReports(node))), report.id)) return false;
    const receivedAt = this.now();
    let enrolled = false;
    await this.store.update(KEYS.node(node), (current) => {
      const record = parse<NodeRecord>(current);
      enrolled = record !== undefined;
      if (!record) return undefined;
      if (record.steps[report.step]?.id === report.id) return undefined;
      const summary: StepSummary = {
        phase: report.phase,
        status: report.status,
        at: report.at,
        ...(report.durationMs !== undefined ? { durationMs: report.durationMs } : {}),
        ...(report.sinceBootMs !== undefined ? { sinceBootMs: report.sinceBootMs } : {}),
        received: Math.max(0, ...Object.values(record.steps).map((s) => s.received ?? 0)) + 1,
        receivedAt,
        id: report.id,
        ...(report.error !== undefined ? { error: report.error } : {}),
      };
      return JSON.stringify({ ...record, gpu: report.gpu, steps: { ...record.steps, [report.step]: summary } });
    });
    // A node forgotten while its report was on its way keeps no history: a new node of its name starts with none.
    if (!enrolled) return false;
    // update may call its change again when another replica wrote first: whether this call added the report is
    // what its last call said.
    let added = false;
    await this.store.update(KEYS.nodeReports(node), (current) => {
      const next = withReport(current, { ...report, receivedAt });
      added = next !== undefined;
      return next;
    });
    return added;
  }

  /** A node's reports in the order the node made them (its clock), arrival breaking ties. */
  async reports(node: string): Promise<StoredReport[]> {
    return (await this.reportHistory(node)).reports;
  }

  /** A node's reports as `reports` orders them, and how many older ones its history dropped. */
  async reportHistory(node: string): Promise<ReportHistory> {
    const [history, legacy] = await Promise.all([this.store.get(KEYS.nodeReports(node)), this.store.list(KEYS.legacyReports(node))]);
    const held = parseReportHistory(history);
    return { reports: joinedReports(held, legacy.map((e) => JSON.parse(e.value) as StoredReport)), dropped: held.dropped };
  }

  // ── join material ───────────────────────────────────────────────────────────────────────────────────

  /**
   * Stores what a control plane publishes for its pool: a fresh bootstrap token, certificate key, and the same
   * API server endpoint and CA pins as before. A publication that changes the endpoint or the CA would send
   * every worker that joins next to another cluster, so it is refused until the operator resets the pool's
   * material (`labimg pool join-material-reset`).
   */
  async publishJoinMaterial(pool: string, material: StoredJoinMaterial): Promise<void> {
    let conflict: string | undefined;
    await this.store.update(KEYS.joinMaterial(pool), (current) => {
      conflict = undefined;
      const previous = parse<StoredJoinMaterial>(current);
      if (previous && previous.apiServerEndpoint !== material.apiServerEndpoint) {
        conflict = `would move pool "${pool}" from API server ${previous.apiServerEndpoint} (published by ${previous.publishedBy}) to ${material.apiServerEndpoint}`;
        return undefined;
      }
      if (previous && [...previous.caCertHashes].sort().join(',') !== [...material.caCertHashes].sort().join(',')) {
        conflict = `would change the cluster CA that pool "${pool}" joins (published by ${previous.publishedBy})`;
        return undefined;
      }
      return JSON.stringify(material);
    });
    if (conflict !== undefined) {
      throw new RegistryError(`this join material ${conflict}; if the cluster really moved, the operator resets it: \`labimg pool join-material-reset ${pool}\``);
    }
  }

  /** Forgets a pool's join material, so its next publication sets a new API server endpoint and CA. */
  async resetJoinMaterial(pool: string): Promise<StoredJoinMaterial | undefined> {
    const previous = await this.joinMaterial(pool);
    await this.store.delete(KEYS.joinMaterial(pool));
    await this.audit({ action: 'join-material-reset', pool });
    return previous;
  }

  async joinMaterial(pool: string): Promise<StoredJoinMaterial | undefined> {
    return parse<StoredJoinMaterial>(await this.store.get(KEYS.joinMaterial(pool)));
  }

  // ── audit ───────────────────────────────────────────────────────────────────────────────────────────

  /** Resolves once the event is durable in the store, as the action it records is. */
  async audit(event: Omit<AuditEvent, 'at'>): Promise<void> {
    await this.auditLog.add({ at: this.now(), ...event });
  }

  /** Events recorded together (a burst) share one entry, an array in the order they happened; alone, one event. */
  private async writeAudit(events: AuditEvent[]): Promise<void> {
    const first = events[0];
    if (!first) return;
    // Time first so the listing is chronological; this process's count orders its entries of one millisecond (a
    // burst's batches), and the random tail keeps apart those of other processes.
    this.auditEntries += 1;
    const key = `${KEYS.audit}${auditKeyTime(first.at)}-${String(this.auditEntries).padStart(12, '0')}-${randomBytes(4).toString('hex')}`;
    await this.store.put(key, JSON.stringify(events.length === 1 ? first : events));
    if ((this.auditEntries - 1) % this.auditRetention.pruneEvery === 0) {
      // The events are stored: a prune that fails (the store went away) must not report them lost. The next one
      // catches up.
      await this.pruneAudit().catch(() => undefined);
    }
  }

  /**
   * Deletes the audit entries past the retention (auditRetention): older than its age, and the oldest beyond its
   * count. Keys start with their time, so the oldest come first. Resolves to the number deleted.
   */
  async pruneAudit(): Promise<number> {
    const keys = await this.store.keys(KEYS.audit);
    const cutoff = auditKeyTime(new Date(this.clock().getTime() - this.auditRetention.maxAgeMs).toISOString());
    let drop = Math.max(0, keys.length - this.auditRetention.maxEntries);
    while (drop < keys.length && (keys[drop] as string).slice(KEYS.audit.length, KEYS.audit.length + cutoff.length) < cutoff) drop += 1;
    // A few deletes at a time: the first prune of a trail kept before it had a bound may have thousands to do.
    for (let i = 0; i < drop; i += 32) await Promise.all(keys.slice(i, Math.min(drop, i + 32)).map((key) => this.store.delete(key)));
    return drop;
  }

  async auditTrail(): Promise<AuditEvent[]> {
    return (await this.store.list(KEYS.audit)).flatMap((e) => {
      const stored = JSON.parse(e.value) as AuditEvent | AuditEvent[];
      return Array.isArray(stored) ? stored : [stored];
    });
  }

  // ── fleet view ──────────────────────────────────────────────────────────────────────────────────────

  async fleet(): Promise<FleetView> {
    const nodes = (await this.nodes()).map(fleetNodeOf).sort((a, b) => a.pool.localeCompare(b.pool) || a.node.localeCompare(b.node));
    return { generatedAt: this.now(), nodes };
  }

  private now(): string {
    return this.clock().toISOString();
  }
}

/**
 * Whether an enrollment presenting `credentialSha256` is a retry of the machine `record`'s name is bound to: its
 * pool, its current credential, neither revoked nor expired. Such a retry keeps the record and takes no use of its
 * token; an expired credential enrolls again only with a use of a token that grants it, as a new machine would.
 */
export function isSameMachine(record: NodeRecord | undefined, pool: string, credentialSha256: string, now: Date): boolean {
  return record !== undefined && record.pool === pool && credentialStanding(record, credentialSha256, now) === 'current';
}

/**
 * What `presentedSha256` is to the node's record: its current credential, the one the last rotation replaced
 * (still within its grace), one that was current but has expired or was revoked, or none of its own.
 */
export function credentialStanding(record: NodeRecord, presentedSha256: string, now: Date): CredentialStanding {
  const previous = record.previousCredential;
  const current = secretHashesMatch(record.credentialSha256, presentedSha256);
  const replaced = !current && previous !== undefined && secretHashesMatch(previous.sha256, presentedSha256);
  if (!current && !replaced) return 'wrong';
  if (record.revokedAt) return 'revoked';
  if (current) return credentialExpired(record, now) ? 'expired' : 'current';
  return Date.parse(previous?.acceptedUntil ?? '') > now.getTime() ? 'previous' : 'expired';
}

function credentialExpired(record: NodeRecord, now: Date): boolean {
  return record.credentialExpiresAt !== undefined && Date.parse(record.credentialExpiresAt) <= now.getTime();
}

export function fleetNodeOf(record: NodeRecord): FleetNode {
  const steps = Object.entries(record.steps);
  const latest = steps.reduce<[string, StepSummary] | undefined>((best, entry) => (!best || arrivedLater(entry[1], best[1]) ? entry : best), undefined);
  const phaseMs = phaseDurations(steps.map(([step, summary]) => ({ step, ...summary })));
  // Only a GPU node has a time to GPU; a CPU node's kubelet registers too, but that is no GPU milestone.
  const timeToGpu = record.gpu ? gpuMilestones(steps.map(([step, summary]) => ({ step, ...summary }))) : [];
  // Departed while the report it left with is its latest; any later report (it was started again) ends that.
  const departedAt = latest?.[0] === LEAVING_STEP && latest[1].status === 'done' ? latest[1].at : undefined;
  // Ready by a completion received after it last left: the run before it left says nothing about the machine now.
  const left = record.steps[LEAVING_STEP];
  const complete = record.steps[RUN_COMPLETE_STEP];
  const ready = departedAt === undefined && complete?.status === 'done' && !(left?.status === 'done' && !arrivedLater(complete, left));
  const status = latest?.[1].status;
  const skew = latest ? clockSkewMs(latest[1]) : undefined;
  return {
    node: record.name,
    pool: record.pool,
    role: record.role,
    profile: record.profile,
    gpu: record.gpu,
    enrolledAt: record.enrolledAt,
    ...(latest ? { step: latest[0], status: latest[1].status, lastReportAt: latest[1].at } : {}),
    ...(latest?.[1].receivedAt !== undefined ? { lastReceivedAt: latest[1].receivedAt } : {}),
    ...(skew !== undefined && skew > CLOCK_SKEW_FLAG_MS ? { clockSkewMs: skew } : {}),
    phases: [...phaseMs].map(([phase, durationMs]) => ({ phase, durationMs })),
    steps: fleetSteps(steps),
    ...(timeToGpu.length > 0 ? { timeToGpu } : {}),
    ...(latest?.[1].status === 'failed' && latest[1].error ? { error: latest[1].error } : {}),
    ready,
    ...(departedAt !== undefined ? { departedAt } : {}),
    state: nodeState({ status, ready, departedAt }),
  };
}

/**
 * Whether summary `a` was received after `b`: by the node's arrival counter, which every summary stored since it
 * was kept has (unique per node, so no two tie). Summaries stored before have none and count as received before
 * all that have one; among themselves only the node's clock can order them.
 */
function arrivedLater(a: StepSummary, b: StepSummary): boolean {
  const byArrival = (a.received ?? 0) - (b.received ?? 0);
  return byArrival !== 0 ? byArrival > 0 : a.at > b.at;
}

/** Each step's latest report as the timeline draws it, in arrival order. */
function fleetSteps(steps: Array<[string, StepSummary]>): FleetStep[] {
  return [...steps]
    .sort(([, a], [, b]) => (arrivedLater(a, b) ? 1 : arrivedLater(b, a) ? -1 : 0))
    .map(([step, s]) => ({
      step,
      phase: s.phase,
      status: s.status,
      at: s.at,
      ...(s.durationMs !== undefined ? { durationMs: s.durationMs } : {}),
      ...(s.receivedAt !== undefined ? { receivedAt: s.receivedAt } : {}),
      ...(s.status === 'failed' && s.error !== undefined ? { error: s.error } : {}),
    }));
}

/** The report's time by the node's clock minus its receipt by ours; undefined for summaries without a receipt time. */
function clockSkewMs(summary: StepSummary): number | undefined {
  if (summary.receivedAt === undefined) return undefined;
  const skew = Date.parse(summary.at) - Date.parse(summary.receivedAt);
  return Number.isFinite(skew) ? skew : undefined;
}

/** An RFC 3339 time as the digits audit keys start with: "2026-12-06T10:36:14.123Z" → "20261206103614123". */
function auditKeyTime(iso: string): string {
  return iso.replace(/[^0-9]/g, '');
}

function parse<T>(value: string | undefined): T | undefined {
  return value === undefined ? undefined : (JSON.parse(value) as T);
}


/** Whether a token can still enroll someone: not revoked, not expired, a use left. */
function tokenIsLive(record: EnrollmentTokenRecord, now: Date): boolean {
  if (record.revokedAt) return false;
  if (record.expiresAt && Date.parse(record.expiresAt) <= now.getTime()) return false;
  return record.usesLeft === undefined || record.usesLeft > 0;
}

const TOKEN_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A machine install's token: "<id>.<secret>" in the enrollment token format, from HMAC-SHA256 of the key. */
function deriveMachineToken(key: Buffer, install: MachineInstallRecord): { id: string; token: string; secretSha256: string } {
  // Installs started before they had a nonce derive as they always did, so their tokens stay valid.
  const nonce = install.nonce === undefined ? '' : `\n${install.nonce}`;
  const mac = (purpose: string) => createHmac('sha256', key).update(`${purpose}\n${install.pool}\n${install.node}\n${install.generation}${nonce}`).digest();
  const id = [...mac('id').subarray(0, 8)].map((byte) => TOKEN_ID_ALPHABET[byte % TOKEN_ID_ALPHABET.length]).join('');
  const secret = mac('secret').toString('base64url');
  return { id, token: `${id}.${secret}`, secretSha256: sha256Hex(secret) };
}
