/**
 * `labimg pool create | token-create | token-revoke | join-material-reset | identity | list`: pools, their
 * enrollment tokens and identity-document policies, on the endpoint's store. A token is shown once, alone on stdout
 * or in the --out file, and stored only as a hash.
 */
import { existsSync, fstatSync, readFileSync, statSync } from 'node:fs';
import { writePrivateFile } from '../../contract/private-file';
import type { IdentityProvider, Role } from '../../contract/agent-config';
import { POOL_NAME_MAX, POOL_NAME_PATTERN } from '../../contract/endpoint-api';
import { UserError } from '../../contract/errors';
import { renderUserData } from '../../builder/build';
import { compileAgentConfig } from '../../builder/compile';
import { loadProfile } from '../profile-cache';
import { buildInputs, requireCloudInit } from '../build-inputs';
import { withRegistry } from '../endpoint-store';
import { parseDuration } from '../inputs/duration';
import { checkEndpointUrl } from '../inputs/enrollment';
import { DEFAULT_LAUNCH_WINDOW_MS } from '../../endpoint/identity/policy';
import { grantedRole, type EnrollmentTokenRecord, type IdentityPolicy } from '../../endpoint/records';
import { writeFileAtomically } from '../output';

type StoreArgs = Parameters<typeof withRegistry>[0];

function checkPoolName(name: string): void {
  if (name.length > POOL_NAME_MAX || !new RegExp(POOL_NAME_PATTERN).test(name)) {
    throw new UserError(`pool name "${name}": expected a DNS label (lowercase letters, digits and "-", at most 63)`);
  }
}

export interface CreatePoolOptions {
  name: string;
  profile: string;
  profilesDir: string;
  ttl?: string;
  /** With userData: the URL nodes reach the endpoint at. */
  endpoint?: string;
  /** Also write this role's user-data for the pool to this file (0600: it holds the token). */
  userData?: string;
  role: Role;
  /** Write the token to this file (0600) instead of stdout. */
  out?: string;
}

export async function createPool(store: StoreArgs, options: CreatePoolOptions): Promise<void> {
  checkPoolName(options.name);
  checkOut(options.out);
  const ttlMs = options.ttl === undefined ? undefined : parseDuration(options.ttl, '--ttl');
  const { userData } = options;
  if (userData !== undefined && options.endpoint === undefined) throw new UserError('--user-data needs --endpoint: the URL nodes reach `labimg serve` at');
  const url = options.endpoint === undefined ? undefined : checkEndpointUrl(options.endpoint);
  // Checked before anything is stored, so a bad profile leaves no pool behind.
  const profile = loadProfile(options.profile, { dir: options.profilesDir });
  compileAgentConfig(profile);
  await withRegistry(store, async (registry, opened) => {
    const { caFingerprintOf, loadOrCreateCa } = await import('../../endpoint/pki');
    const { ca } = await loadOrCreateCa(opened);
    const caFingerprint = caFingerprintOf(ca.certPem);
    await registry.createPool(options.name, options.profile);
    const { record, token } = await registry.createToken(options.name, { role: 'worker', ttlMs });
    if (userData !== undefined && url !== undefined) {
      // A control plane's user-data gets a token of its own, for one enrollment: the worker token printed
      // below enrolls workers only.
      const roleToken = options.role === 'worker' ? token : (await registry.createToken(options.name, { role: 'control-plane', uses: 1, ttlMs })).token;
      const inputs = buildInputs(profile, { enrollment: { url, caFingerprint, pool: options.name, tokens: { [options.role]: roleToken } } });
      requireCloudInit(inputs);
      writeFileAtomically(userData, renderUserData(inputs, options.role).content, 0o600);
      process.stderr.write(`wrote ${userData} (${options.role}; mode 0600, it holds ${options.role === 'worker' ? 'the token' : 'a control-plane token good for one enrollment'})\n`);
    }
    process.stderr.write(`pool ${options.name} (profile ${options.profile}); worker enrollment token ${record.id}${record.expiresAt ? `, expires ${record.expiresAt}` : ''}\n`);
    process.stderr.write(`endpoint CA fingerprint ${caFingerprint}\n`);
    deliverToken(token, record.id, options.out);
  });
}

export interface CreateTokenOptions {
  ttl?: string;
  role: Role;
  /** How many enrollments it grants; a control-plane token grants one unless told otherwise. */
  uses?: number;
  /** The one node name it enrolls. */
  node?: string;
  /** Write the token to this file (0600) instead of stdout. */
  out?: string;
}

export async function createToken(store: StoreArgs, pool: string, options: CreateTokenOptions): Promise<void> {
  checkOut(options.out);
  const ttlMs = options.ttl === undefined ? undefined : parseDuration(options.ttl, '--ttl');
  const uses = options.uses ?? (options.role === 'control-plane' && options.node === undefined ? 1 : undefined);
  if (uses !== undefined && !(Number.isInteger(uses) && uses > 0)) throw new UserError(`--uses: expected a whole number above 0, got ${options.uses}`);
  await withRegistry(store, async (registry) => {
    const { record, token } = await registry.createToken(pool, { role: options.role, ttlMs, uses, node: options.node });
    process.stderr.write(`${describeToken(record)} for pool ${pool}${record.expiresAt ? `, expires ${record.expiresAt}` : ''}\n`);
    deliverToken(token, record.id, options.out);
  });
}

/** An --out that names a folder is refused before a token is made (one that fails later names the token to revoke). */
function checkOut(out: string | undefined): void {
  if (out !== undefined && existsSync(out) && statSync(out).isDirectory()) throw new UserError(`--out ${out} is a folder: name the file the token goes to`);
}

/**
 * A new token goes to `out` (0600 whatever the umask, replacing any file there: see ../../contract/private-file.ts)
 * or, alone, to stdout for scripts; either way it is not shown again. A shell redirect makes its file with the
 * umask's mode (0644 for most), so a stdout that is a file others can read gets a warning that names --out.
 */
function deliverToken(token: string, id: string, out: string | undefined): void {
  if (out !== undefined) {
    try {
      writePrivateFile(out, `${token}\n`);
    } catch (error) {
      throw new UserError(`--out ${out}: ${(error as Error).message}; the token ${id} was made but is written nowhere: revoke it (labimg pool token-revoke ${id})`);
    }
    process.stderr.write(`wrote the token to ${out} (mode 0600)\n`);
    return;
  }
  process.stdout.write(`${token}\n`);
  const shared = sharedFileMode(1);
  if (shared !== undefined) {
    process.stderr.write(`warning: stdout is a file other users may read (mode 0${shared.toString(8)}), and the token is in it: chmod 600 it, or use --out FILE, which writes it 0600\n`);
  }
}

/** The mode of the file behind `fd` when it is a regular file with any permission for group or others. */
function sharedFileMode(fd: number): number | undefined {
  try {
    const stat = fstatSync(fd);
    const mode = stat.mode & 0o777;
    return stat.isFile() && (mode & 0o077) !== 0 ? mode : undefined;
  } catch {
    return undefined;
  }
}

/** "control-plane enrollment token ID (1 enrollment left)": what the token grants, for the operator. */
function describeToken(record: Omit<EnrollmentTokenRecord, 'secretSha256'>): string {
  const limits = [
    record.node !== undefined ? `node ${record.node} only` : undefined,
    record.usesLeft !== undefined ? `${record.usesLeft} enrollment${record.usesLeft === 1 ? '' : 's'} left` : undefined,
  ].filter((text): text is string => text !== undefined);
  return `${grantedRole(record)} enrollment token ${record.id}${limits.length > 0 ? ` (${limits.join(', ')})` : ''}`;
}

export async function resetJoinMaterial(store: StoreArgs, pool: string): Promise<void> {
  await withRegistry(store, async (registry) => {
    const previous = await registry.resetJoinMaterial(pool);
    process.stdout.write(
      previous
        ? `forgot the join material of pool ${pool} (API server ${previous.apiServerEndpoint}, published by ${previous.publishedBy}); the next publication sets it\n`
        : `pool ${pool} had no join material; the next publication sets it\n`,
    );
  });
}

export interface PoolIdentityOptions {
  provider: IdentityProvider;
  /** Files holding the cloud's published signing certificates (PEM, one or more each). */
  certificates: string[];
  accounts: string[];
  regions?: string[];
  images?: string[];
  /** AWS: a duration ("1h"), how long after launch an instance's document is taken. */
  launchWindow?: string;
}

/**
 * Lets a pool's workers enroll with their cloud's signed instance identity document, so their user-data holds no
 * token. Every certificate is read and checked before anything is stored.
 */
export async function setPoolIdentity(store: StoreArgs, pool: string, options: PoolIdentityOptions): Promise<void> {
  const certificatesPem = options.certificates.flatMap((file) => pemBlocksOf(file));
  const { parseTrustedCertificates } = await import('../../endpoint/identity/pkcs7');
  parseTrustedCertificates(certificatesPem, options.provider);
  for (const [flag, values] of [['--account', options.accounts], ['--region', options.regions ?? []], ['--image', options.images ?? []]] as const) {
    const bad = values.find((value) => !IDENTITY_VALUE.test(value));
    if (bad !== undefined) throw new UserError(`${flag} "${bad}": expected an id of letters, digits and "-" as the cloud writes it`);
  }
  if (options.accounts.length === 0) throw new UserError('--account: name at least one account whose instances may enroll');
  const launchWindowMs = options.launchWindow === undefined ? DEFAULT_LAUNCH_WINDOW_MS : parseDuration(options.launchWindow, '--launch-window');
  const policy: IdentityPolicy = {
    provider: options.provider,
    certificatesPem,
    accounts: options.accounts,
    ...(options.regions?.length ? { regions: options.regions } : {}),
    ...(options.images?.length ? { images: options.images } : {}),
    launchWindowMs,
  };
  await withRegistry(store, async (registry) => {
    await registry.setPoolIdentity(pool, policy);
    process.stdout.write(`pool ${pool} takes ${options.provider} instance identity documents of account ${options.accounts.join(', ')} for workers (${certificatesPem.length} certificate${certificatesPem.length === 1 ? '' : 's'})\n`);
  });
}

/** Account, region and image ids of both clouds: "123456789012", "cn-hangzhou", "ami-0abc", "m-bp1…". */
const IDENTITY_VALUE = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;

/** Every "-----BEGIN CERTIFICATE-----" block of a file, as the clouds publish them (one or several to a file). */
function pemBlocksOf(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(`--certificate ${file}: ${(error as Error).message}`);
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new UserError(`--certificate ${file}: no "-----BEGIN CERTIFICATE-----" block in it`);
  return blocks.map((block) => `${block}\n`);
}

export async function revokeToken(store: StoreArgs, id: string): Promise<void> {
  await withRegistry(store, async (registry) => {
    const record = await registry.revokeToken(id);
    process.stdout.write(`revoked enrollment token ${record.id} of pool ${record.pool}\n`);
  });
}

export async function listPools(store: StoreArgs, options: { json: boolean }): Promise<void> {
  await withRegistry(store, async (registry) => {
    const tokens = await registry.tokens();
    const rows = (await registry.pools()).map((p) => ({
      ...p,
      tokens: tokens.filter((t) => t.pool === p.name).map(({ secretSha256: _hash, ...shown }) => shown),
    }));
    if (options.json) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return;
    }
    if (rows.length === 0) process.stdout.write('no pools yet; `labimg pool create NAME --profile P` makes one\n');
    const now = Date.now();
    for (const p of rows) {
      process.stdout.write(`${p.name}  profile ${p.profile}  created ${p.createdAt}\n`);
      if (p.identity) process.stdout.write(`  workers by ${p.identity.provider} identity document: account ${p.identity.accounts.join(', ')}${p.identity.regions ? `, region ${p.identity.regions.join(', ')}` : ''}${p.identity.images ? `, image ${p.identity.images.join(', ')}` : ''}\n`);
      for (const t of p.tokens) {
        const state = t.revokedAt
          ? `revoked ${t.revokedAt}`
          : t.expiresAt && Date.parse(t.expiresAt) <= now
            ? `expired ${t.expiresAt}`
            : t.expiresAt
              ? `valid until ${t.expiresAt}`
              : 'valid, no expiry';
        process.stdout.write(`  ${describeToken(t)}  ${state}\n`);
      }
    }
  }, { readOnly: true });
}
