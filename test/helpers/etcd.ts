/**
 * A real, single-member etcd for tests: /usr/bin/etcd (Debian's etcd-server, which CI installs) on free
 * loopback ports with a throwaway data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

export async function startEtcd(): Promise<RunningEtcd> {
  try {
    return await startOnce();
  } catch (first) {
    // An early exit is usually another process taking one of our free ports before etcd bound it; an etcd
    // that hangs would hang again.
    if (!(first instanceof EtcdDidNotStart && first.exited)) throw first;
    try {
      return await startOnce();
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

async function startOnce(): Promise<RunningEtcd> {
  const [clientPort, peerPort] = await freePorts(2);
  const url = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'labimg-etcd-'));
  const child = spawn(ETCD, [
    '--name', 'test',
    '--data-dir', dataDir,
    '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `test=${peerUrl}`,
    '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn',
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

  const problem = await Promise.race([waitHealthy(url), exited]);
  if (problem !== undefined) {
    const exitedByItself = (child.exitCode ?? 0) > 0; // read before stop() kills it; negative: spawn failed
    await stop();
    const tail = stderr.trim().split('\n').slice(-15).join('\n');
    throw new EtcdDidNotStart(`etcd did not start on ${url}: ${problem}\n--- etcd stderr (tail) ---\n${tail}`, exitedByItself);
  }
  return { url, pid: child.pid as number, stop };
}

/** Resolves undefined once etcd reports itself healthy, or a reason after START_TIMEOUT_MS. */
async function waitHealthy(url: string): Promise<string | undefined> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      const body = await response.text();
      // {"health":"true"} only once the member has a leader and can serve reads and writes.
      if (response.ok && /"health"\s*:\s*"true"/.test(body)) return undefined;
      last = `GET /health answered ${response.status} ${body}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return `not healthy after ${START_TIMEOUT_MS / 1000} s (last: ${last})`;
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
