import { CA_FINGERPRINT_PATTERN, POOL_NAME_PATTERN } from '../../contract/endpoint-api';
import { ENROLLMENT_TOKEN } from '../../contract/token-formats';
import { UserError } from '../../contract/errors';
import type { Enrollment } from '../../builder/build';
import type { IdentityProvider, Role } from '../../contract/agent-config';
import { readTokenFile } from './join';


export interface EnrollmentFlags {
  endpoint?: string;
  endpointCaFingerprint?: string;
  pool?: string;
  /** The pool's worker token (`labimg pool create` prints it). */
  enrollmentTokenFile?: string;
  /** A control-plane token (`labimg pool token-create POOL --role control-plane`); without it no control plane is built. */
  controlPlaneTokenFile?: string;
  /** Workers enroll by this cloud's signed instance identity document instead of the worker token. */
  identity?: string;
}

const IDENTITY_PROVIDERS: readonly IdentityProvider[] = ['aws', 'aliyun'];


/** Checks an endpoint URL as nodes will use it: https, a host, no credentials or query in it. */
export function checkEndpointUrl(value: string, flag = '--endpoint'): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UserError(`${flag}: expected a URL such as https://10.0.0.5:8443, got "${value}"`);
  }
  if (url.protocol !== 'https:') throw new UserError(`${flag}: the endpoint is HTTPS only, got "${value}"`);
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    throw new UserError(`${flag}: give only scheme, host and port (https://HOST:PORT), got "${value}"`);
  }
  return url.origin;
}

/** Undefined when no enrollment flag was given; an UserError naming the flag when the set is partial or malformed. */
export function readEnrollment(flags: EnrollmentFlags): Enrollment | undefined {
  if (flags.identity !== undefined && flags.enrollmentTokenFile !== undefined) {
    throw new UserError("--identity and --enrollment-token-file exclude each other: workers enroll either by their cloud's identity document or by the pool's worker token");
  }
  const given = [flags.endpoint, flags.endpointCaFingerprint, flags.pool, flags.enrollmentTokenFile ?? flags.identity];
  if (given.every((value) => value === undefined)) {
    if (flags.controlPlaneTokenFile === undefined) return undefined;
    throw new UserError('--control-plane-token-file goes with --endpoint, --endpoint-ca-fingerprint, --pool and --enrollment-token-file (or --identity)');
  }
  if (given.some((value) => value === undefined)) {
    throw new UserError('--endpoint, --endpoint-ca-fingerprint, --pool and --enrollment-token-file (or --identity) go together: give all four, or none');
  }
  const url = checkEndpointUrl(flags.endpoint as string);
  const caFingerprint = flags.endpointCaFingerprint as string;
  if (!CA_FINGERPRINT_PATTERN.test(caFingerprint)) {
    throw new UserError(`--endpoint-ca-fingerprint: expected "sha256:" and 64 lowercase hex digits, as \`labimg serve\` prints, got "${caFingerprint}"`);
  }
  const pool = flags.pool as string;
  if (!new RegExp(POOL_NAME_PATTERN).test(pool) || pool.length > 63) {
    throw new UserError(`--pool: expected a DNS label (lowercase letters, digits, "-"), got "${pool}"`);
  }
  const identity = flags.identity === undefined ? undefined : identityProviderOf(flags.identity);
  const worker =
    flags.enrollmentTokenFile === undefined
      ? undefined
      : readTokenFile('--enrollment-token-file', flags.enrollmentTokenFile, ENROLLMENT_TOKEN, 'an enrollment token as `labimg pool create` prints it');
  const tokens: Enrollment['tokens'] = worker === undefined ? {} : { worker };
  if (flags.controlPlaneTokenFile !== undefined) {
    const controlPlane = readTokenFile(
      '--control-plane-token-file',
      flags.controlPlaneTokenFile,
      ENROLLMENT_TOKEN,
      'a control-plane enrollment token as `labimg pool token-create POOL --role control-plane` prints it',
    );
    if (controlPlane === worker) throw new UserError('--control-plane-token-file holds the same token as --enrollment-token-file: a worker must not carry what enrolls a control plane');
    tokens['control-plane'] = controlPlane;
  }
  return { url, caFingerprint, pool, tokens, ...(identity ? { identity } : {}) };
}

function identityProviderOf(value: string): IdentityProvider {
  const provider = IDENTITY_PROVIDERS.find((known) => known === value);
  if (provider === undefined) throw new UserError(`--identity: expected ${IDENTITY_PROVIDERS.join(' or ')}, the cloud whose signed instance identity document the workers present, got "${value}"`);
  return provider;
}

/** The token of `role`, or a UserError saying how to get one. */
export function enrollmentTokenOf(enrollment: Enrollment, role: Role): string {
  const token = enrollment.tokens[role];
  if (token !== undefined) return token;
  throw new UserError(
    `a ${role} of pool ${enrollment.pool} needs its own enrollment token: \`labimg pool token-create ${enrollment.pool} --role control-plane\` prints one; give it with --control-plane-token-file`,
  );
}
