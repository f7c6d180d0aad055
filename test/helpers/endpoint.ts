/**
 * A real `labimg serve` for tests: the built CLI in its own process on a loopback port, so a test can kill it
 * with SIGKILL and start it again on the same port and data, as an outage would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { cliPath, labimg, tempDir } from './cli';

export interface ServeOptions {
  data: string;
  port?: number;
  etcd?: string;
  etcdPrefix?: string;
  /** More `labimg serve` flags (--pxe-groups …). */
  extraArgs?: string[];
  /** Flags for node itself, before the CLI's path (a bench's --cpu-prof). */
  nodeArgs?: string[];
}

export interface RunningServe {
  url: string;
  port: number;
  /** The plain-HTTP PXE listener's port, with --pxe-groups (`--pxe-listen 127.0.0.1:0` lets it choose). */
  pxePort?: number;
  caFingerprint: string;
  pid: number;
  /** Everything it printed so far. */
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export function storeArgs(options: Pick<ServeOptions, 'data' | 'etcd' | 'etcdPrefix'>): string[] {
  return ['--data', options.data, ...(options.etcd ? ['--etcd', options.etcd] : []), ...(options.etcdPrefix ? ['--etcd-prefix', options.etcdPrefix] : [])];
}

export async function startServe(options: ServeOptions): Promise<RunningServe> {
  // Port 0 unless asked: the endpoint binds a free port itself and says which, so no two tests can race for one.
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeArgs ?? []), cliPath, 'serve', '--listen', `127.0.0.1:${options.port ?? 0}`, ...storeArgs(options), ...(options.extraArgs ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const caFingerprint = await new Promise<string>((resolve, reject) => {
    // A serve that never says it is ready is killed, not left running beside the tests that follow.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`labimg serve did not start within 20 s:\n${output}`));
    }, 20_000);
    const look = () => {
      const match = /CA fingerprint (sha256:[a-f0-9]{64})/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', look);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`labimg serve exited with ${code} before it was ready:\n${output}`));
    });
  });
  const port = Number(/labimg endpoint listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
  const pxePort = /PXE on http:\/\/[^\s/]+:(\d+)\/pxe/.exec(output)?.[1];
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    ...(pxePort !== undefined ? { pxePort: Number(pxePort) } : {}),
    caFingerprint,
    pid: child.pid as number,
    output: () => output,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** `labimg pool create` against the same store; returns the (worker) enrollment token it prints. */
export function createPool(store: Pick<ServeOptions, 'data' | 'etcd' | 'etcdPrefix'>, pool: string, profile: string, extra: string[] = []): string {
  const result = labimg(['pool', 'create', pool, '--profile', profile, ...storeArgs(store), ...extra]);
  if (result.code !== 0) throw new Error(`labimg pool create failed (${result.code}):\n${result.stderr}`);
  return result.stdout.trim();
}

/** `labimg pool token-create POOL ...` against the same store; returns the token it prints. */
export function createPoolToken(store: Pick<ServeOptions, 'data' | 'etcd' | 'etcdPrefix'>, pool: string, extra: string[] = []): string {
  const result = labimg(['pool', 'token-create', pool, ...storeArgs(store), ...extra]);
  if (result.code !== 0) throw new Error(`labimg pool token-create failed (${result.code}):\n${result.stderr}`);
  return result.stdout.trim();
}

export interface PlainHttpAnswer {
  status: number;
  type: string;
  text: string;
}

/** A plain-HTTP GET on 127.0.0.1, as iPXE and the installers make it of the PXE listener. */
export function plainGet(port: number, target: string): Promise<PlainHttpAnswer> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: target }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text }));
      })
      .on('error', reject);
  });
}

export interface PxeServe {
  serve: RunningServe;
  /** The plain-HTTP PXE listener's port. */
  pxePort: number;
  /** The worker enrollment token `pool create` printed. */
  poolToken: string;
}

/**
 * `labimg serve` with the PXE group file `groups` and a plain PXE listener on a free port, after `labimg pool
 * create POOL --profile PROFILE` on the same store; stopped when the test ends.
 */
export async function servePxe(
  t: { teardown(fn: () => Promise<void>): void },
  options: { store: Pick<ServeOptions, 'data' | 'etcd' | 'etcdPrefix'>; groups: string; pool: string; profile: string; extraArgs?: string[] },
): Promise<PxeServe> {
  const poolToken = createPool(options.store, options.pool, options.profile);
  const groupFile = path.join(tempDir('labimg-pxe-groups-'), 'groups.yaml');
  writeFileSync(groupFile, options.groups);
  const serve = await startServe({ ...options.store, extraArgs: ['--pxe-groups', groupFile, '--pxe-listen', '127.0.0.1:0', ...(options.extraArgs ?? [])] });
  t.teardown(() => serve.kill());
  return { serve, pxePort: serve.pxePort ?? 0, poolToken };
}
