/**
 * The join endpoint (EndpointServer) over real TLS sockets, for the security and fuzz tests.
 *
 *   startEndpoint   the server in this process: the test reads its counters and log directly.
 *   spawnEndpoint   the same server in a child process, for requests that might crash it: a crash then fails
 *                   one test with the server's stack trace instead of taking the whole test worker down.
 *                   This file is that child's entry point (see the bottom).
 *   send            a well-formed request through node's https client.
 *   rawExchange     bytes written as they are over tls.connect, for requests node's client refuses to make.
 *   parseResponse   the first HTTP response in raw bytes, checked for well-formedness on the way.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import net from 'node:net';
import tls from 'node:tls';
import type { EndpointLog } from '../../endpoint/log';
import { caFingerprintOf, issueServerIdentity, loadOrCreateCa, type CertificateAuthority, type ServerIdentity } from '../../endpoint/pki';
import type { PxeCatalog } from '../../contract/pxe-catalog';
import { Registry, type CredentialPolicy } from '../../endpoint/registry';
import { EndpointServer, type EndpointLimits } from '../../endpoint/server';
import { FileStore } from '../../endpoint/store/file-store';
import type { NodeConfig, PhaseReport } from '../../contract/agent-config';
import type { PublishedJoinMaterial } from '../../contract/endpoint-api';
import { repoRoot, tempDir } from './cli';

// ── servers ──────────────────────────────────────────────────────────────────────────────────────────────

export interface EndpointSetup {
  /** A data directory; a fresh temp one when left out (the caller removes it). */
  dataDir?: string;
  limits?: Partial<EndpointLimits>;
  /** 0 (any free port) when left out. */
  port?: number;
  /**
   * "shared" (the default for startEndpoint): one CA and server certificate for every endpoint of this test
   * process, since RSA key generation dominates a test's time. "own": the data directory's CA, made on first
   * use as `labimg serve` does; for tests about telling two endpoints apart.
   */
  pki?: 'shared' | 'own';
  /** The certificate chain and key to serve instead of ones from the `pki` CA: for impostor tests. */
  identity?: ServerIdentity;
  /** How long node credentials live in this endpoint's registry. */
  credentials?: CredentialPolicy;
  /** Text served as the agent bundle under /v1/agent/ (text, so a child endpoint gets it through argv). */
  agentBundle?: string;
}

export interface LocalEndpoint {
  dataDir: string;
  store: FileStore;
  registry: Registry;
  ca: CertificateAuthority;
  server: EndpointServer;
  port: number;
  /** Every line the server logged at warn level. */
  warnings: string[];
  close(): Promise<void>;
}

/** What only an endpoint in this process can be given: a PXE catalog is code, which a child cannot get through argv. */
export interface LocalEndpointSetup extends EndpointSetup {
  pxe?: PxeCatalog;
}

export async function startEndpoint(setup: LocalEndpointSetup = {}): Promise<LocalEndpoint> {
  const dataDir = setup.dataDir ?? tempDir('labimg-endpoint-');
  const store = new FileStore(dataDir);
  const registry = new Registry(store, { credentials: setup.credentials });
  const pki = setup.pki === 'own' ? await ownPki(store) : await sharedPki();
  const { ca } = pki;
  const identity = setup.identity ?? pki.identity;
  const warnings: string[] = [];
  const log: EndpointLog = { info: () => {}, warn: (message) => warnings.push(message) };
  const pxe = setup.pxe === undefined ? {} : { pxe: setup.pxe, caFingerprint: caFingerprintOf(ca.certPem) };
  const server = new EndpointServer({ registry, identity, log, limits: setup.limits ?? {}, ...agentBundleOf(setup), ...pxe });
  const { port } = await server.listen(setup.port ?? 0, '127.0.0.1');
  return { dataDir, store, registry, ca, server, port, warnings, close: () => server.close() };
}

function agentBundleOf(setup: EndpointSetup): { agentBundle?: Buffer } {
  return setup.agentBundle === undefined ? {} : { agentBundle: Buffer.from(setup.agentBundle) };
}

async function ownPki(store: FileStore): Promise<{ ca: CertificateAuthority; identity: ServerIdentity }> {
  const { ca } = await loadOrCreateCa(store);
  return { ca, identity: issueServerIdentity(ca, ['127.0.0.1', 'localhost']) };
}

let shared: Promise<{ ca: CertificateAuthority; identity: ServerIdentity }> | undefined;

function sharedPki(): Promise<{ ca: CertificateAuthority; identity: ServerIdentity }> {
  shared ??= (async () => {
    const dir = tempDir('labimg-pki-');
    try {
      return await ownPki(new FileStore(dir));
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  })();
  return shared;
}

/**
 * A local endpoint with pool "lab" (profile `profile`) and a worker enrollment token for it, closed and removed
 * when the test ends: what most tests of an enrolling node start from.
 */
export async function labPoolEndpoint(t: { teardown(fn: () => unknown): void }, setup: LocalEndpointSetup = {}, profile = 'ubuntu'): Promise<{ e: LocalEndpoint; token: string }> {
  const e = await startEndpoint(setup);
  t.teardown(async () => {
    await e.close();
    await fs.rm(e.dataDir, { recursive: true, force: true });
  });
  await e.registry.createPool('lab', profile);
  const { token } = await e.registry.createToken('lab', { role: 'worker' });
  return { e, token };
}

/** node.json of a worker of pool "lab" named `nodeName`, pinned to `e`'s CA. */
export function labWorker(e: LocalEndpoint, nodeName = 'w-1'): NodeConfig {
  return {
    apiVersion: 'labimg.dev/v1',
    kind: 'NodeConfig',
    role: 'worker',
    pool: 'lab',
    nodeName,
    endpoint: { url: `https://127.0.0.1:${e.port}`, caFingerprint: caFingerprintOf(e.ca.certPem) },
  };
}

export interface ChildEndpoint {
  dataDir: string;
  /** A registry of this process over the child's data directory, for setting up pools and checking results. */
  registry: Registry;
  ca: CertificateAuthority;
  port: number;
  /** Warn-level lines the child logged so far. */
  warnings(): string[];
  /** Everything else it printed (a crash's stack trace lands here). */
  output(): string;
  /** How the child ended, or undefined while it runs. */
  exit(): string | undefined;
  close(): Promise<void>;
}

export async function spawnEndpoint(setup: EndpointSetup = {}): Promise<ChildEndpoint> {
  const dataDir = setup.dataDir ?? tempDir('labimg-endpoint-');
  const store = new FileStore(dataDir);
  // Made here first, so both processes agree on the CA without asking the child.
  const { ca } = await loadOrCreateCa(store);
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, JSON.stringify({ ...setup, dataDir })], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const warnings: string[] = [];
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = `exited with ${signal ?? code}`;
      resolve();
    }),
  );
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith(WARN_PREFIX)) warnings.push(line.slice(WARN_PREFIX.length));
      else output += `${line}\n`;
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`endpoint child did not start within 30 s:\n${output}`)), 30_000);
    const look = () => {
      const match = new RegExp(`${LISTENING_PREFIX}(\\d+)`).exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on('data', look);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`endpoint child ${exit ?? 'exited'} before listening:\n${output}`));
    });
  });
  return {
    dataDir,
    registry: new Registry(store),
    ca,
    port,
    warnings: () => warnings,
    output: () => output,
    exit: () => exit,
    async close() {
      if (exit === undefined) child.kill('SIGKILL');
      await exited;
    },
  };
}

const WARN_PREFIX = 'WARN ';
const LISTENING_PREFIX = 'LISTENING ';

/** The child's side of spawnEndpoint: serve until killed, one line per warning on stdout. */
async function serveAsChild(setup: Required<Pick<EndpointSetup, 'dataDir'>> & EndpointSetup): Promise<void> {
  const store = new FileStore(setup.dataDir);
  const { ca } = await loadOrCreateCa(store);
  const log: EndpointLog = { info: () => {}, warn: (message) => process.stdout.write(`${WARN_PREFIX}${message.replace(/\n/g, ' ')}\n`) };
  const server = new EndpointServer({ registry: new Registry(store), identity: issueServerIdentity(ca, ['127.0.0.1', 'localhost']), log, limits: setup.limits ?? {}, ...agentBundleOf(setup) });
  const { port } = await server.listen(setup.port ?? 0, '127.0.0.1');
  process.stdout.write(`${LISTENING_PREFIX}${port}\n`);
}

// ── requests ─────────────────────────────────────────────────────────────────────────────────────────────

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface RequestSpec {
  method?: string;
  path: string;
  /** Sent as "Authorization: Bearer TOKEN". */
  token?: string;
  headers?: Record<string, string>;
  /** Sent as JSON with "Content-Type: application/json" (unless headers say otherwise). */
  json?: unknown;
  /** Sent as it is. */
  body?: string | Buffer;
  /** Send the body in several writes without Content-Length, i.e. Transfer-Encoding: chunked. */
  chunked?: boolean;
  /** Defaults to a fresh connection per request. */
  agent?: https.Agent | false;
}

export function send(port: number, spec: RequestSpec): Promise<Answer> {
  const payload = spec.json !== undefined ? Buffer.from(JSON.stringify(spec.json)) : spec.body === undefined ? undefined : Buffer.from(spec.body);
  const headers: Record<string, string> = {
    ...(spec.json !== undefined ? { 'content-type': 'application/json' } : {}),
    ...(spec.token !== undefined ? { authorization: `Bearer ${spec.token}` } : {}),
    ...(payload && !spec.chunked ? { 'content-length': String(payload.length) } : {}),
    ...spec.headers,
  };
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, method: spec.method ?? 'GET', path: spec.path, headers, rejectUnauthorized: false, agent: spec.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    if (payload && spec.chunked) {
      const step = Math.max(1, Math.ceil(payload.length / 4));
      for (let at = 0; at < payload.length; at += step) req.write(payload.subarray(at, at + step));
    } else if (payload) {
      req.write(payload);
    }
    req.end();
  });
}

/** The `error` message of a JSON error body; throws when the body is not one. */
export function errorOf(answer: Pick<Answer, 'json' | 'text' | 'status'>): string {
  const error = (answer.json as { error?: unknown } | undefined)?.error;
  if (typeof error !== 'string' || error === '') throw new Error(`HTTP ${answer.status} without a JSON error body: ${JSON.stringify(answer.text.slice(0, 300))}`);
  return error;
}

/** An HTTP/1.1 request as bytes, with Connection: close and, for a body, its Content-Length. */
export function rawRequest(method: string, target: string, headers: Record<string, string> = {}, body = ''): string {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  if (body !== '') lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

export interface RawExchange {
  /** Everything the server sent back. */
  bytes: Buffer;
  /** How the connection ended: the server closed it, it reset it, or it was still open when we gave up. */
  ending: 'closed' | 'reset' | 'timeout';
  /** The socket error, when there was one. */
  error?: string;
}

/**
 * Writes `request` as it is over a fresh TLS connection (plain TCP with `plain`, as the PXE listener takes it)
 * and collects the answer until the server closes. `endAfterWrite` closes our side right after writing, as a
 * client that gives up mid-request does.
 */
export function rawExchange(port: number, request: string | Buffer, options: { timeoutMs?: number; endAfterWrite?: boolean; plain?: boolean } = {}): Promise<RawExchange> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | undefined;
    let done = false;
    const finish = (ending: RawExchange['ending']) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), ending, ...(error ? { error } : {}) });
    };
    const write = () => {
      socket.write(request);
      if (options.endAfterWrite) socket.end();
    };
    const socket = options.plain ? net.connect({ host: '127.0.0.1', port }, write) : tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, write);
    const timer = setTimeout(() => finish('timeout'), options.timeoutMs ?? 5_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    socket.on('close', () => finish(error ? 'reset' : 'closed'));
  });
}

export interface ParsedResponse {
  status: number;
  /** Lowercased names; a repeated header keeps every value. */
  headers: Map<string, string[]>;
  body: Buffer;
}

/** The bytes end before a whole final response: the connection closed (or reset) mid-answer or before it. */
export class IncompleteResponse extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncompleteResponse';
  }
}

/**
 * The first final (non-1xx) response in `bytes`. Throws, saying what is wrong, when it is not well-formed
 * HTTP/1.1 (a bad status line or header line), or IncompleteResponse when the bytes stop short of one.
 */
export function parseResponse(bytes: Buffer, options: { head?: boolean } = {}): ParsedResponse {
  let rest = bytes;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new IncompleteResponse(`no complete response head in ${JSON.stringify(rest.toString('latin1').slice(0, 200))}`);
    const [statusLine = '', ...lines] = rest.subarray(0, end).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.[01] ([1-5][0-9]{2})(?: [\x20-\x7e]*)?$/.exec(statusLine);
    if (!status?.[1]) throw new Error(`malformed status line ${JSON.stringify(statusLine)}`);
    const headers = new Map<string, string[]>();
    for (const line of lines) {
      const header = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(line);
      if (!header?.[1] || header[2] === undefined || /[\x00-\x08\x0a-\x1f\x7f]/.test(header[2])) throw new Error(`malformed header line ${JSON.stringify(line)}`);
      const name = header[1].toLowerCase();
      headers.set(name, [...(headers.get(name) ?? []), header[2]]);
    }
    rest = rest.subarray(end + 4);
    const code = Number(status[1]);
    if (code < 200) continue; // 100 Continue and friends come before the answer
    const lengths = headers.get('content-length');
    if (headers.has('transfer-encoding')) throw new Error('chunked responses are not expected from this server');
    if (lengths && (lengths.length !== 1 || !/^[0-9]+$/.test(lengths[0] ?? ''))) throw new Error(`bad Content-Length ${JSON.stringify(lengths)}`);
    const length = options.head || code === 204 || code === 304 ? 0 : lengths ? Number(lengths[0]) : rest.length;
    if (rest.length < length) throw new IncompleteResponse(`body of ${rest.length} bytes, Content-Length says ${length}`);
    return { status: code, headers, body: rest.subarray(0, length) };
  }
}

/** One header of a parsed response, or undefined; repeated headers are joined as HTTP allows. */
export function headerOf(response: ParsedResponse, name: string): string | undefined {
  return response.headers.get(name)?.join(', ');
}

// ── fixtures ─────────────────────────────────────────────────────────────────────────────────────────────

export function enrollBody(node: string, role: PhaseReport['role'] = 'worker'): { node: string; role: PhaseReport['role']; profile: string; gpu: boolean } {
  return { node, role, profile: 'ubuntu', gpu: false };
}

export function reportBody(node: string, overrides: Partial<PhaseReport> = {}): PhaseReport {
  return { id: randomUUID(), node, profile: 'ubuntu', role: 'worker', phase: 'boot', step: 'kubeadm-join', status: 'done', at: new Date().toISOString(), gpu: false, ...overrides };
}

/** Join material as a control plane publishes it, token and certificate key valid for `validForMs`. */
export function publishBody(validForMs = 3_600_000): Required<PublishedJoinMaterial> {
  const expires = new Date(Date.now() + validForMs).toISOString();
  return {
    apiServerEndpoint: '10.0.0.10:6443',
    token: 'abcdef.0123456789abcdef',
    caCertHashes: [`sha256:${'1'.repeat(64)}`],
    certificateKey: 'c'.repeat(64),
    certificateKeyExpires: expires,
    tokenExpires: expires,
  };
}

/** Every file under `dir` with its text: what actually reached the disk. */
export async function filesUnder(dir: string): Promise<Array<{ file: string; text: string }>> {
  const found: Array<{ file: string; text: string }> = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await filesUnder(file)));
    else if (entry.isFile()) found.push({ file, text: await fs.readFile(file, 'latin1') });
  }
  return found;
}

if (require.main === module) {
  serveAsChild(JSON.parse(process.argv[2] ?? '{}') as Required<Pick<EndpointSetup, 'dataDir'>> & EndpointSetup).catch((error: unknown) => {
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
