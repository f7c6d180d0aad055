import { readFileSync } from 'node:fs';
import { UserError } from '../../contract/errors';
import type { JoinMaterial } from '../../builder/build';
import { BOOTSTRAP_TOKEN, CA_CERT_HASH } from '../../contract/token-formats';

/**
 * --join-api-server, --join-ca-cert-hash, --join-token-file: a worker's join material as a person would paste
 * it from `kubeadm init`'s output. The token is read from a file, never from argv (argv shows in `ps` and in
 * shell history).
 */

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;

export interface JoinFlags {
  joinApiServer?: string;
  joinCaCertHash?: string[];
  joinTokenFile?: string;
}

/** Undefined when no join flag was given; an UserError naming the flag when the set is partial or malformed. */
export function readJoinMaterial(flags: JoinFlags): JoinMaterial | undefined {
  const given = [flags.joinApiServer, flags.joinCaCertHash?.length ? flags.joinCaCertHash : undefined, flags.joinTokenFile];
  if (given.every((value) => value === undefined)) return undefined;
  if (given.some((value) => value === undefined)) {
    throw new UserError('--join-api-server, --join-ca-cert-hash and --join-token-file go together: give all three, or none');
  }
  const apiServerEndpoint = flags.joinApiServer as string;
  const port = HOST_PORT.exec(apiServerEndpoint)?.[2];
  if (port === undefined || Number(port) < 1 || Number(port) > 65535) {
    throw new UserError(`--join-api-server: expected HOST:PORT such as 10.0.0.10:6443, got "${apiServerEndpoint}"`);
  }
  const caCertHashes = flags.joinCaCertHash as string[];
  for (const hash of caCertHashes) {
    if (!CA_CERT_HASH.test(hash)) {
      throw new UserError(`--join-ca-cert-hash: expected "sha256:" and 64 lowercase hex digits, as kubeadm prints, got "${hash}"`);
    }
  }
  const token = readTokenFile('--join-token-file', flags.joinTokenFile as string, BOOTSTRAP_TOKEN, 'a bootstrap token of the form [a-z0-9]{6}.[a-z0-9]{16}');
  return { apiServerEndpoint, caCertHashes, token };
}

/** A token from a file (never argv, which shows in `ps`), checked against `pattern`; errors never echo it. */
export function readTokenFile(flag: string, file: string, pattern: RegExp, expected: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new UserError(`${flag}: cannot read ${file}: ${(error as Error).message}`);
  }
  // Never echo the token itself: the message may end up in CI logs.
  if (!pattern.test(token)) throw new UserError(`${flag}: ${file} does not hold ${expected}`);
  return token;
}
