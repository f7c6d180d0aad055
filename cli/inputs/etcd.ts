/**
 * --etcd and the flags that secure it: TLS (--etcd-cacert, --etcd-cert, --etcd-key) and etcd's own users
 * (--etcd-user, --etcd-password-file). etcd holds the endpoint's CA private key and every pool's join material,
 * so the rules lean to refusing:
 *
 * - every URL is http:// or https://, all of one kind (etcd3 gives every host the same channel credentials:
 *   ConnectionPool.buildAuthentication in node_modules/etcd3/lib/connection-pool.js, 1.1.2, read 2026-12-06);
 * - https:// needs --etcd-cacert: without one, etcd3 would trust every CA of the system (see etcd-store.ts);
 * - the TLS flags need https:// and --etcd-cert and --etcd-key go together;
 * - a password only over https://, where it and the token etcd trades it for are encrypted, and only from a file
 *   (argv shows in `ps` and in shell history);
 * - no etcd flag without --etcd.
 *
 * Files are read and checked here, before anything connects, so a wrong path or a PEM of the wrong kind is named.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { UserError } from '../../contract/errors';
import type { StoreOptions } from '../../endpoint/store/open';

export interface EtcdFlags {
  etcd?: string[];
  etcdCacert?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdUser?: string;
  etcdPasswordFile?: string;
}

/** The longest password file read: etcd's passwords are short; a larger file is the wrong file. */
export const ETCD_PASSWORD_FILE_MAX_BYTES = 4096;

export function readEtcdConnection(flags: EtcdFlags): Pick<StoreOptions, 'etcdTls' | 'etcdAuth'> {
  const urls = flags.etcd ?? [];
  const named = (
    [
      ['--etcd-cacert', flags.etcdCacert],
      ['--etcd-cert', flags.etcdCert],
      ['--etcd-key', flags.etcdKey],
      ['--etcd-user', flags.etcdUser],
      ['--etcd-password-file', flags.etcdPasswordFile],
    ] as const
  ).filter(([, value]) => value !== undefined);
  if (urls.length === 0) {
    if (named.length > 0) throw new UserError(`${named.map(([flag]) => flag).join(', ')}: only with --etcd URL`);
    return {};
  }
  const schemes = new Set(urls.map(schemeOf));
  if (schemes.size > 1) throw new UserError(`--etcd: give every URL as https:// or every one as http://, not both (${urls.join(', ')})`);
  const tls = schemes.has('https');

  if (tls && flags.etcdCacert === undefined) {
    throw new UserError(`--etcd ${urls.join(', ')} is https:// and needs --etcd-cacert FILE: the CA that signed etcd's server certificate (the system's CAs are not trusted for etcd)`);
  }
  if (!tls) {
    const tlsFlag = named.find(([flag]) => flag === '--etcd-cacert' || flag === '--etcd-cert' || flag === '--etcd-key');
    if (tlsFlag) throw new UserError(`${tlsFlag[0]} is for TLS: give the etcd URLs as https://`);
    if (flags.etcdUser !== undefined || flags.etcdPasswordFile !== undefined) {
      throw new UserError('--etcd-user and --etcd-password-file need https:// etcd URLs: over http:// the password, and the token etcd trades it for, cross the network in clear');
    }
  }
  if ((flags.etcdCert === undefined) !== (flags.etcdKey === undefined)) throw new UserError('--etcd-cert and --etcd-key go together: the client certificate and its private key');
  if ((flags.etcdUser === undefined) !== (flags.etcdPasswordFile === undefined)) {
    throw new UserError('--etcd-user and --etcd-password-file go together (the password comes from a file, never the command line)');
  }

  return {
    ...(tls
      ? {
          etcdTls: {
            ca: readCertificates('--etcd-cacert', flags.etcdCacert as string),
            ...(flags.etcdCert !== undefined ? { cert: readCertificates('--etcd-cert', flags.etcdCert), key: readPrivateKey('--etcd-key', flags.etcdKey as string) } : {}),
          },
        }
      : {}),
    ...(flags.etcdUser !== undefined ? { etcdAuth: { username: checkUser(flags.etcdUser), password: readPassword(flags.etcdPasswordFile as string) } } : {}),
  };
}

function schemeOf(url: string): 'http' | 'https' {
  const scheme = /^(https?):\/\/[^/]+\/?$/i.exec(url)?.[1]?.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') throw new UserError(`--etcd "${url}": expected a client URL such as https://10.0.0.5:2379 (http:// or https://, host and port)`);
  return scheme;
}

function readFile(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UserError(`${flag}: cannot read ${file}: ${(error as Error).message}`);
  }
}

/** PEM certificates (a CA bundle, or a certificate and its chain), each one parsed so a wrong file is named now. */
function readCertificates(flag: string, file: string): Buffer {
  const pem = readFile(flag, file);
  const blocks = pem.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new UserError(`${flag} ${file}: no "-----BEGIN CERTIFICATE-----" block in it`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new UserError(`${flag} ${file}: not a readable X.509 certificate: ${(error as Error).message}`);
    }
  }
  return pem;
}

/** An unencrypted PEM private key (grpc takes no passphrase); errors never echo the file's content. */
function readPrivateKey(flag: string, file: string): Buffer {
  const pem = readFile(flag, file);
  try {
    createPrivateKey(pem);
  } catch {
    throw new UserError(`${flag} ${file}: not an unencrypted PEM private key`);
  }
  return pem;
}

function checkUser(user: string): string {
  if (user === '' || /[\s:]/.test(user)) throw new UserError(`--etcd-user "${user}": expected an etcd user name (no spaces or ":")`);
  return user;
}

/** The file's first line, without its line ending; never echoed in an error. */
function readPassword(file: string): string {
  const content = readFile('--etcd-password-file', file);
  if (content.length > ETCD_PASSWORD_FILE_MAX_BYTES) throw new UserError(`--etcd-password-file ${file}: ${content.length} bytes, more than a password file holds (at most ${ETCD_PASSWORD_FILE_MAX_BYTES})`);
  const password = content.toString('utf8').split(/\r?\n/)[0] ?? '';
  if (password === '') throw new UserError(`--etcd-password-file ${file}: its first line is empty`);
  return password;
}
