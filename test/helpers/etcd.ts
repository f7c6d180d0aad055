/**
 * A real, single-member etcd for tests: /usr/bin/etcd (Debian's etcd-server, which CI installs) on free
 * loopback ports with a throwaway data directory; with `tls`, its client port speaks TLS only (https://).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

const ETCD = '/usr/bin/etcd';
const START_TIMEOUT_MS = 20_000;

export interface RunningEtcd {
  /** Client URL, e.g. http://127.0.0.1:41234. */
  url: string;
  /** Its process id (a bench reads its CPU time). */
  pid: number;
  stop(): Promise<void>;
}

/**
 * etcd's client TLS (etcd --help, etcd 3.4.23 here, 2026-12-06): --cert-file/--key-file are the server's
 * certificate, --trusted-ca-file the CA client certificates must chain to, --client-cert-auth makes one required.
 */
export interface EtcdTls {
  certFile: string;
  keyFile: string;
  caFile: string;
  /** Refuse clients without a certificate from caFile. */
  clientCertAuth: boolean;
}

export async function startEtcd(options: { tls?: EtcdTls } = {}): Promise<RunningEtcd> {
  try {
    return await startOnce(options.tls);
  } catch (first) {
    // An early exit is usually another process taking one of our free ports before etcd bound it; an etcd
    // that hangs would hang again.
    if (!(first instanceof EtcdDidNotStart && first.exited)) throw first;
    try {
      return await startOnce(options.tls);
    } catch (second) {
      throw new Error(`${(second as Error).message}\n(an earlier attempt failed too: ${(first as Error).message})`);
    }
  }
}

class EtcdDidNotStart extends Error {
  constructor(
    message: string,
    readonly exited: boolean,
  ) {
    super(message);
  }
}

async function startOnce(tls: EtcdTls | undefined): Promise<RunningEtcd> {
  const [clientPort, peerPort] = await freePorts(2);
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'labimg-etcd-'));
  const child = spawn(ETCD, [
    '--name', 'test',
    '--data-dir', dataDir,
    '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `test=${peerUrl}`,
    '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn',
    ...(tls ? ['--cert-file', tls.certFile, '--key-file', tls.keyFile, '--trusted-ca-file', tls.caFile, `--client-cert-auth=${tls.clientCertAuth}`] : []),
  ], { stdio: ['ignore', 'ignore', 'pipe'] });

  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const exited = new Promise<string>((resolve) => {
    child.once('error', (error) => resolve(`could not run ${ETCD}: ${error.message}`));
    child.once('exit', (code, signal) => resolve(`etcd exited (${signal ?? `code ${code}`})`));
  });
  // An ava worker that dies mid-run must not leave etcd behind.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    await terminate(child, exited);
    rmSync(dataDir, { recursive: true, force: true });
  };

  const problem = await Promise.race([waitHealthy(url, tls), exited]);
  if (problem !== undefined) {
    const exitedByItself = (child.exitCode ?? 0) > 0; // read before stop() kills it; negative: spawn failed
    await stop();
    const tail = stderr.trim().split('\n').slice(-15).join('\n');
    throw new EtcdDidNotStart(`etcd did not start on ${url}: ${problem}\n--- etcd stderr (tail) ---\n${tail}`, exitedByItself);
  }
  return { url, pid: child.pid as number, stop };
}

/** Resolves undefined once etcd reports itself healthy, or a reason after START_TIMEOUT_MS. */
async function waitHealthy(url: string, tls: EtcdTls | undefined): Promise<string | undefined> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const { status, body } = tls ? await httpsGet(`${url}/health`, tls) : await plainGet(`${url}/health`);
      // {"health":"true"} only once the member has a leader and can serve reads and writes.
      if (status === 200 && /"health"\s*:\s*"true"/.test(body)) return undefined;
      last = `GET /health answered ${status} ${body}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return `not healthy after ${START_TIMEOUT_MS / 1000} s (last: ${last})`;
}

async function plainGet(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
  return { status: response.status, body: await response.text() };
}

/** GET over TLS with the server's own certificate as the client's: it chains to the CA the server trusts. */
function httpsGet(url: string, tls: EtcdTls): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(tls.caFile), cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), timeout: 1000 }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** The PEM files of a CA, made with openssl, and of certificates it signs. */
export interface TestCa {
  certFile: string;
  keyFile: string;
}

const openssl = (args: string[], cwd: string): void => void execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });

/** A self-signed P-256 CA in `dir` (NAME.crt, NAME.key). */
export function makeTestCa(dir: string, name: string): TestCa {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`], dir);
  return { certFile: path.join(dir, `${name}.crt`), keyFile: path.join(dir, `${name}.key`) };
}

/**
 * A P-256 certificate NAME.crt/NAME.key signed by `ca`, for a server at 127.0.0.1 and for TLS clients alike
 * (etcd checks a client certificate's extended key usage: clientAuth).
 */
export function issueTestCertificate(dir: string, ca: TestCa, name: string): TestCa {
  const extensions = path.join(dir, `${name}.ext`);
  writeFileSync(extensions, 'subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth, clientAuth\nkeyUsage = digitalSignature\n');
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-days', '2', '-extfile', extensions, '-out', `${name}.crt`], dir);
  return { certFile: path.join(dir, `${name}.crt`), keyFile: path.join(dir, `${name}.key`) };
}

async function terminate(child: ChildProcess, exited: Promise<string>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Ports the kernel just handed out; all are held open together so that they are distinct. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      return server;
    }),
  );
  const ports = servers.map((server) => (server.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
