/**
 * Random and mutated requests against every route of the join endpoint, as raw bytes over TLS: random
 * methods, request targets grown from the route templates with mutated segments, Authorization headers made
 * from real, mutated and random tokens, content types, Content-Length lies, and bodies that are valid ones
 * with fields removed, added and retyped, random JSON, random bytes and oversized strings.
 *
 * The server runs in a child process, so a crash fails the run with its stack trace and the request that
 * caused it. Every answer must be well-formed HTTP with a status under 500 (the only 5xx allowed is join's
 * documented "not yet" 503), errors must be JSON, and a 2xx must have been earned: an enrollment only with the
 * live token, a node route only with that node's own credential. After the run the server must still serve.
 *
 * The run is seeded; a failure prints the seed. LABIMG_FUZZ_SEED=N reruns one, LABIMG_FUZZ_RUNS=N changes its
 * length.
 */
import { createHash } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { NODE_NAME_MAX } from '../contract/endpoint-api';
import type { EndpointLimits } from '../endpoint/server';
import {
  enrollBody,
  filesUnder,
  headerOf,
  parseResponse,
  publishBody,
  rawExchange,
  rawRequest,
  reportBody,
  send,
  spawnEndpoint,
  IncompleteResponse,
  type ChildEndpoint,
  type ParsedResponse,
} from './helpers/https-client';

const SEED = Number(process.env.LABIMG_FUZZ_SEED ?? Math.floor(Math.random() * 0x7fffffff));
const RUNS = Number(process.env.LABIMG_FUZZ_RUNS ?? 1500);
/** The run stops early (and passes) when this is spent, so a slow machine cannot push the test past ~30 s. */
const TIME_BUDGET_MS = 18_000;
const BODY_LIMIT = 4096;
const LIMITS: Partial<EndpointLimits> = { bodyBytes: BODY_LIMIT, authFailures: 1_000_000 };

/** A warning that means the server took a failure for its store's: with a healthy store, always a bug. */
function isStoreError(warning: string): boolean {
  return warning.includes('store error');
}

// ── the world the requests are made in ──────────────────────────────────────────────────────────────────

const KNOWN_NODES = ['cp-1', 'w-1', 'w-2'] as const;
type SecretName = 'enroll' | 'revoked' | 'expired' | 'other-pool' | (typeof KNOWN_NODES)[number];
/** A secret as a request names it: "own" is the one that opens the target (see ownSecret). */
type SecretRef = SecretName | 'own';

/** The endpoint under test and every secret the fuzzer holds; node credentials change when it re-enrolls a node. */
class World {
  endpoint!: ChildEndpoint;
  readonly secrets = new Map<SecretName, string>();
  /** Every secret that has existed, for the "never on disk, never in the audit trail" checks. */
  readonly allSecrets = new Set<string>();
  /** Warnings of endpoints that died and were replaced. */
  readonly pastWarnings: string[] = [];
  /** The last request sent, to name the culprit when the server is found dead. */
  lastSent = '(none)';

  constructor(readonly dataDir: string) {}

  secret(name: SecretName): string {
    const value = this.secrets.get(name);
    if (value === undefined) throw new Error(`no secret ${name}`);
    return value;
  }

  remember(name: SecretName, value: string): void {
    this.secrets.set(name, value);
    this.allSecrets.add(value);
    if (name === 'enroll' || name === 'revoked' || name === 'expired' || name === 'other-pool') this.allSecrets.add(value.slice(value.indexOf('.') + 1));
  }

  warnings(): string[] {
    return [...this.pastWarnings, ...this.endpoint.warnings()];
  }

  /** The endpoint, started again on the same data when a crash took it down (shrinking needs a live one). */
  async live(): Promise<ChildEndpoint> {
    if (this.endpoint.exit() !== undefined) {
      const dead = this.endpoint;
      this.pastWarnings.push(...dead.warnings());
      this.endpoint = await spawnEndpoint({ dataDir: this.dataDir, limits: LIMITS, agentBundle: AGENT_BUNDLE });
      throw new Error(`the endpoint ${dead.exit() ?? 'died'} after the request ${this.lastSent}:\n${dead.output().slice(-3000)}`);
    }
    return this.endpoint;
  }
}

async function makeWorld(t: ExecutionContext): Promise<World> {
  const endpoint = await spawnEndpoint({ limits: LIMITS, agentBundle: AGENT_BUNDLE });
  const world = new World(endpoint.dataDir);
  world.endpoint = endpoint;
  t.teardown(async () => {
    await world.endpoint.close();
    rmSync(world.dataDir, { recursive: true, force: true });
  });
  const { registry } = endpoint;
  await registry.createPool('lab', 'ubuntu');
  await registry.createPool('other', 'ubuntu');
  world.remember('enroll', (await registry.createToken('lab', { role: 'worker' })).token);
  world.remember('other-pool', (await registry.createToken('other', { role: 'worker' })).token);
  world.remember('expired', (await registry.createToken('lab', { role: 'worker', ttlMs: 1 })).token);
  const revoked = await registry.createToken('lab', { role: 'worker' });
  await registry.revokeToken(revoked.record.id);
  world.remember('revoked', revoked.token);
  // cp-1's own token, for one enrollment: used up here, so the fuzzer holds nothing that enrolls a control plane.
  const controlPlaneToken = (await registry.createToken('lab', { role: 'control-plane', uses: 1 })).token;
  for (const node of KNOWN_NODES) {
    const token = node === 'cp-1' ? controlPlaneToken : world.secret('enroll');
    const answer = await send(endpoint.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody(node, node === 'cp-1' ? 'control-plane' : 'worker') });
    if (answer.status !== 200) throw new Error(`enrolling ${node}: ${answer.status} ${answer.text}`);
    world.remember(node, (answer.json as { credential: string }).credential);
  }
  const published = await send(endpoint.port, { method: 'PUT', path: '/v1/nodes/cp-1/join-material', token: world.secret('cp-1'), json: publishBody() });
  if (published.status !== 204) throw new Error(`publishing: ${published.status} ${published.text}`);
  return world;
}

// ── requests, as data ────────────────────────────────────────────────────────────────────────────────────

type Mutation = { op: 'none' } | { op: 'flip'; at: number } | { op: 'truncate'; keep: number } | { op: 'append'; text: string } | { op: 'upper' } | { op: 'pad'; with: string };

type Authorization =
  | { kind: 'none' }
  /** One of the world's secrets, maybe mutated, after a scheme ("Bearer " most of the time). */
  | { kind: 'secret'; secret: SecretRef; mutation: Mutation; scheme: string }
  | { kind: 'literal'; value: string };

/**
 * How the body is framed. "length" and "chunked" are honest; the others lie: no length for a body, half the
 * length, a cut-short body (the client hangs up), or a length the parser must refuse.
 */
type Framing = 'length' | 'chunked' | 'none' | 'short' | 'cut-short' | 'bad-length' | 'two-lengths' | 'length-and-chunked';

interface FuzzRequest {
  method: string;
  target: string;
  authorization: Authorization;
  contentType?: string;
  headers: Array<[string, string]>;
  /** Latin-1, so any byte can be in it. */
  body: string;
  framing: Framing;
}

/** The request's bytes, with the world's secrets filled in. */
function serialize(request: FuzzRequest, world: World): { bytes: Buffer; authorization?: string } {
  const authorization = resolveAuthorization(request.authorization, request.target, world);
  const body = Buffer.from(request.body, 'latin1');
  const lines = [`${request.method} ${request.target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  if (authorization !== undefined) lines.push(`Authorization: ${authorization}`);
  if (request.contentType !== undefined) lines.push(`Content-Type: ${request.contentType}`);
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  let payload: Buffer = body;
  switch (request.framing) {
    case 'length':
      lines.push(`Content-Length: ${body.length}`);
      break;
    case 'chunked':
      lines.push('Transfer-Encoding: chunked');
      payload = chunked(body);
      break;
    case 'none':
      break;
    case 'short':
      lines.push(`Content-Length: ${Math.floor(body.length / 2)}`);
      break;
    case 'cut-short':
      lines.push(`Content-Length: ${body.length + 100}`);
      break;
    case 'bad-length':
      lines.push(`Content-Length: ${['abc', '-1', '1e3', '0x10', '12 3', ''][body.length % 6] ?? ''}`);
      break;
    case 'two-lengths':
      lines.push(`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`);
      break;
    case 'length-and-chunked':
      lines.push(`Content-Length: ${body.length}`, 'Transfer-Encoding: chunked');
      payload = chunked(body);
      break;
  }
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return { bytes: Buffer.concat([head, payload]), ...(authorization !== undefined ? { authorization } : {}) };
}

function chunked(body: Buffer): Buffer {
  const half = Math.ceil(body.length / 2);
  const parts = [body.subarray(0, half), body.subarray(half)].filter((part) => part.length > 0);
  return Buffer.concat([...parts.flatMap((part) => [Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from('\r\n')]), Buffer.from('0\r\n\r\n')]);
}

function resolveAuthorization(auth: Authorization, target: string, world: World): string | undefined {
  switch (auth.kind) {
    case 'none':
      return undefined;
    case 'literal':
      return auth.value;
    case 'secret':
      return `${auth.scheme}${mutate(world.secret(auth.secret === 'own' ? ownSecret(target) : auth.secret), auth.mutation)}`;
  }
}

/** The secret that opens `target`: the enrollment token for /v1/enroll, else the named node's credential. */
function ownSecret(target: string): SecretName {
  if (target.includes('/enroll')) return 'enroll';
  return KNOWN_NODES.find((node) => target.includes(`/nodes/${node}/`)) ?? 'w-1';
}

function mutate(secret: string, mutation: Mutation): string {
  switch (mutation.op) {
    case 'none':
      return secret;
    case 'flip': {
      const at = mutation.at % secret.length;
      const c = secret[at] ?? 'a';
      return `${secret.slice(0, at)}${c === 'a' ? 'b' : 'a'}${secret.slice(at + 1)}`;
    }
    case 'truncate':
      return secret.slice(0, mutation.keep % secret.length);
    case 'append':
      return `${secret}${mutation.text}`;
    case 'upper':
      return secret === secret.toUpperCase() ? secret.toLowerCase() : secret.toUpperCase();
    case 'pad':
      return `${secret}${mutation.with}`;
  }
}

/** Whether node's HTTP parser may refuse the request before any route sees it (answered by clientError). */
function parserRefuses(request: FuzzRequest, authorization: string | undefined): boolean {
  if (!KNOWN_METHODS.includes(request.method)) return true;
  if (!/^[\x21-\x7e]+$/.test(request.target)) return true;
  if (!(request.target.startsWith('/') || request.target === '*' || /^[a-z]+:\/\//i.test(request.target))) return true;
  const values = [authorization, request.contentType, ...request.headers.map(([, value]) => value)];
  if (values.some((value) => value !== undefined && /[\x00-\x08\x0a-\x1f\x7f]/.test(value))) return true;
  if (request.framing === 'bad-length' || request.framing === 'two-lengths' || request.framing === 'length-and-chunked') return true;
  if (request.framing === 'cut-short') return true; // the parser meets the end of the stream mid-body
  // Body bytes beyond the framing are parsed as the next request at once, and that garbage's 400 can come
  // before the (asynchronous) answer to the valid first request.
  return (request.framing === 'none' || request.framing === 'short') && request.body !== '';
}

/**
 * Whether the connection may close without a whole answer: CONNECT (node drops it), a client that hangs up,
 * and requests that leave bytes the server never reads (garbage past the framing, a body over the limit, a
 * refused request): the server closes with them unread, the kernel answers with a reset, and the reset can
 * overtake the answer.
 */
function mayGoUnanswered(request: FuzzRequest, authorization: string | undefined): boolean {
  if (request.method === 'CONNECT' || request.framing === 'cut-short') return true;
  return Buffer.byteLength(request.body, 'latin1') > BODY_LIMIT || parserRefuses(request, authorization);
}

// ── generators ───────────────────────────────────────────────────────────────────────────────────────────

const ROUTE_TEMPLATES: string[][] = [
  ['v1', 'enroll'],
  ['v1', 'nodes', ':node', 'reports'],
  ['v1', 'nodes', ':node', 'join'],
  ['v1', 'nodes', ':node', 'join-material'],
  ['v1', 'fleet'],
  ['fleet'],
  [],
  ['metrics'],
  ['healthz'],
  ['v1', 'agent', ':bundle'],
];
/** The method each template is served with, for choosing the right one most of the time. */
const ROUTE_METHODS = ['POST', 'POST', 'GET', 'PUT', 'GET', 'GET', 'GET', 'GET', 'GET', 'GET'];
const KNOWN_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'PURGE'];

const URLISH = [...'abcdefghijklmnopqrstuvwxyzABCZ0129-._~%/\\?#[]@!$&\'()*+,;=:"<>{}|^` '];

const validNodeName = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?){0,2}$/) },
  { weight: 1, arbitrary: fc.constantFrom(NODE_NAME_MAX - 1, NODE_NAME_MAX).map((n) => 'a'.repeat(n)) },
);
const nodeSegment = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('cp-1', 'w-1', 'w-2') },
  { weight: 2, arbitrary: fc.constant('ghost') },
  { weight: 3, arbitrary: validNodeName },
  // Too long, and the lengths that once broke the file store (see endpoint-security's regressions).
  { weight: 1, arbitrary: fc.constantFrom(NODE_NAME_MAX + 1, 233, 251, 253, 256, 300).map((n) => 'b'.repeat(n)) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...URLISH), maxLength: 12 }) },
);

/** The bundle the fuzzed endpoint serves, and the file name it answers to. */
const AGENT_BUNDLE = '// the agent, as far as this test is concerned\n';
const AGENT_FILE = `${createHash('sha256').update(AGENT_BUNDLE).digest('hex')}.js`;
const bundleSegment = fc.oneof(
  { weight: 4, arbitrary: fc.constant(AGENT_FILE) },
  { weight: 2, arbitrary: fc.constantFrom(`${'0'.repeat(64)}.js`, AGENT_FILE.toUpperCase(), AGENT_FILE.replace('.js', ''), `${AGENT_FILE}.js`, `../${AGENT_FILE}`) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...URLISH), maxLength: 70 }) },
);

const segmentMutation = fc.oneof(
  { weight: 20, arbitrary: fc.constant<(s: string) => string>((s) => s) },
  { weight: 1, arbitrary: fc.constantFrom<(s: string) => string>(() => '..', () => '.', () => '', () => '%2e%2e', (s) => s.toUpperCase(), (s) => `${s}/..`, (s) => `${s}%2F..`, (s) => `${s}\\..`, (s) => `${s}\u0000`, (s) => `${s}\u00e9`, (s) => encodeURIComponent(s).replace(/-/g, '%2D'), (s) => `${s}${s}`, (s) => `./${s}`) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...URLISH), maxLength: 8 }).map((text) => () => text) },
);

const targetArbitrary = (template: string[]) =>
  fc
    .record({
      node: nodeSegment,
      bundle: bundleSegment,
      mutations: fc.array(segmentMutation, { minLength: template.length, maxLength: template.length }),
      prefix: fc.oneof({ weight: 30, arbitrary: fc.constant('/') }, { weight: 1, arbitrary: fc.constantFrom('//', '', 'https://127.0.0.1/', '\\', '/./', '/v1/../') }),
      suffix: fc.oneof(
        { weight: 12, arbitrary: fc.constant('') },
        { weight: 2, arbitrary: fc.constantFrom('/', '?controlPlane=true', '?controlPlane=false', '?controlPlane=true&controlPlane=false', '?controlPlane=TRUE', '#x', '?a=%zz') },
        { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...URLISH), maxLength: 20 }).map((q) => `?${q}`) },
        { weight: 1, arbitrary: fc.integer({ min: 1000, max: 1100 }).map((n) => `?${'q'.repeat(n)}`) },
      ),
      extra: fc.oneof({ weight: 12, arbitrary: fc.constant<'keep' | 'drop' | 'add'>('keep') }, { weight: 1, arbitrary: fc.constantFrom<'drop' | 'add'>('drop', 'add') }),
    })
    .map(({ node, bundle, mutations, prefix, suffix, extra }) => {
      let segments = template.map((s, i) => (mutations[i] ?? ((x: string) => x))(s === ':node' ? node : s === ':bundle' ? bundle : s));
      if (extra === 'drop') segments = segments.slice(0, -1);
      if (extra === 'add') segments = [...segments, 'extra'];
      return `${prefix}${segments.join('/')}${suffix}`;
    });

/**
 * Any ASCII but CR and LF: control characters the parser must refuse, without smuggling in a header of our
 * own (a Content-Length there would leave the server waiting for a body that never comes).
 */
function controlBytes(maxLength: number): fc.Arbitrary<string> {
  return fc.string({ unit: 'binary-ascii', maxLength }).map((s) => s.replace(/[\r\n]/g, '\u0001'));
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Mutation>({ op: 'none' }) },
  { weight: 1, arbitrary: fc.nat().map((at): Mutation => ({ op: 'flip', at })) },
  { weight: 1, arbitrary: fc.nat().map((keep): Mutation => ({ op: 'truncate', keep })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 4 }).map((text): Mutation => ({ op: 'append', text })) },
  { weight: 1, arbitrary: fc.constant<Mutation>({ op: 'upper' }) },
  { weight: 1, arbitrary: fc.constantFrom(' ', '\t', '  \t').map((ws): Mutation => ({ op: 'pad', with: ws })) },
);

const authorization: fc.Arbitrary<Authorization> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<Authorization>({ kind: 'none' }) },
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('secret' as const),
      secret: fc.oneof({ weight: 6, arbitrary: fc.constant<SecretRef>('own') }, { weight: 3, arbitrary: fc.constant<SecretRef>('enroll') }, { weight: 4, arbitrary: fc.constantFrom<SecretRef>('cp-1', 'w-1', 'w-2', 'revoked', 'expired', 'other-pool') }),
      mutation,
      scheme: fc.oneof({ weight: 10, arbitrary: fc.constant('Bearer ') }, { weight: 1, arbitrary: fc.constantFrom('bearer ', 'Basic ', 'Bearer  ', '', 'Bearer\t', 'Token ') }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
      fc.string({ maxLength: 60 }),
      fc.integer({ min: 500, max: 700 }).map((n) => `Bearer ${'t'.repeat(n)}`),
      fc.stringMatching(/^[a-z0-9]{8}\.[A-Za-z0-9_-]{43}$/).map((s) => `Bearer ${s}`),
      controlBytes(10).map((s) => `Bearer ${s}`),
    ).map((value): Authorization => ({ kind: 'literal', value })),
  },
);

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  { weight: 2, arbitrary: fc.constant(undefined) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('application/json; charset=utf-8', 'Application/JSON', 'application/json ;', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'json', '', ';application/json'),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);

const RESERVED_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'authorization', 'content-type', 'expect', 'upgrade', 'te', 'trailer', 'keep-alive', 'proxy-connection']);
const extraHeaders = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/).filter((name) => !RESERVED_HEADERS.has(name)), fc.string({ maxLength: 40 })) },
    { weight: 1, arbitrary: fc.constantFrom<[string, string]>(['Expect', '100-continue'], ['X-Forwarded-For', '10.9.8.7'], ['Accept', 'application/json'], ['Cookie', 'a=b']) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('X-Bad', 'X-Ctl'), controlBytes(8)) },
  ),
  { maxLength: 3 },
);

const uuid = fc.oneof(fc.uuid().map((u) => u.toLowerCase()), fc.constantFrom('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'));
const isoTime = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(-3_600_000, -1_000, 0, 30_000, 59_000, 61_000, 600_000, 7_200_000).map((offset) => new Date(Date.now() + offset).toISOString()) },
  { weight: 1, arbitrary: fc.constantFrom('2030-01-01T25:00:00Z', '1970-01-01T00:00:00Z', '2030-01-01T00:00:00+01:00', 'yesterday', '') },
);

/** A valid body for the route the template names (a report about `node`), as an object to mutate. */
function baseBody(templateIndex: number, node?: string): fc.Arbitrary<Record<string, unknown>> {
  switch (templateIndex) {
    case 0:
      return fc.record({
        node: fc.oneof({ weight: 9, arbitrary: validNodeName }, { weight: 1, arbitrary: fc.constantFrom('cp-1', 'w-1', 'w-2') }),
        role: fc.constantFrom('worker', 'control-plane'),
        profile: fc.constantFrom('ubuntu', 'centos'),
        gpu: fc.boolean(),
      });
    case 1:
      return fc
        .record({
          node: node === undefined ? fc.constantFrom('cp-1', 'w-1', 'w-2') : fc.constant(node),
          id: uuid,
          status: fc.constantFrom('started', 'done', 'skipped', 'failed'),
          at: isoTime,
          step: fc.constantFrom('kubeadm-join', 'complete', 'constructor', 'containerd'),
          error: fc.option(fc.string({ maxLength: 50 }), { nil: undefined }),
          durationMs: fc.option(fc.nat(), { nil: undefined }),
        })
        .map(({ error, durationMs, ...report }) => ({ ...reportBody(report.node, report), ...(error !== undefined ? { error } : {}), ...(durationMs !== undefined ? { durationMs } : {}) }));
    case 3:
      return fc.record({ expires: isoTime, key: fc.boolean() }).map(({ expires, key }) => {
        const { certificateKey, certificateKeyExpires, ...material } = { ...publishBody(), tokenExpires: expires };
        return key ? { ...material, certificateKey, certificateKeyExpires } : material;
      });
    default:
      return fc.constant({});
  }
}

/** Strings around the body limit and well past it. */
const huge = fc.constantFrom(300, BODY_LIMIT - 100, BODY_LIMIT, BODY_LIMIT + 1, 5_000, 20_000).map((n) => 'h'.repeat(n));

function body(templateIndex: number): fc.Arbitrary<string> {
  const base = baseBody(templateIndex);
  const asJson = (value: unknown) => JSON.stringify(value) ?? '';
  const utf8AsLatin1 = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
  return fc.oneof(
    { weight: 6, arbitrary: base.map(asJson) },
    { weight: 2, arbitrary: fc.tuple(base, fc.nat()).map(([b, i]) => { const keys = Object.keys(b); const copy = { ...b }; delete copy[keys[i % Math.max(1, keys.length)] ?? '']; return asJson(copy); }) },
    { weight: 2, arbitrary: fc.tuple(base, fc.string({ maxLength: 10 }), fc.jsonValue()).map(([b, key, value]) => asJson({ ...b, [key]: value })) },
    { weight: 3, arbitrary: fc.tuple(base, fc.nat(), fc.jsonValue()).map(([b, i, value]) => { const keys = Object.keys(b); return asJson({ ...b, [keys[i % Math.max(1, keys.length)] ?? 'x']: value }); }) },
    { weight: 2, arbitrary: fc.tuple(base, fc.nat(), huge).map(([b, i, value]) => { const keys = Object.keys(b); return asJson({ ...b, [keys[i % Math.max(1, keys.length)] ?? 'x']: value }); }) },
    { weight: 1, arbitrary: fc.jsonValue().map(asJson) },
    { weight: 1, arbitrary: fc.string({ maxLength: 100 }).map(utf8AsLatin1) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('latin1')) },
    { weight: 2, arbitrary: huge },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 2_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`) },
    { weight: 1, arbitrary: base.map((b) => `{"__proto__":{"role":"control-plane"},${asJson(b).slice(1)}`) },
    { weight: 1, arbitrary: base.map((b) => `${asJson(b).slice(0, -1)},"node":"cp-1"}`) },
    { weight: 1, arbitrary: fc.constantFrom('', 'null', '[]', '{}', '"x"', '1e999', '{"node":', utf8AsLatin1('{"node":"\u00e9\u0000"}')) },
  );
}

const framing: fc.Arbitrary<Framing> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Framing>('length') },
  { weight: 3, arbitrary: fc.constant<Framing>('chunked') },
  { weight: 2, arbitrary: fc.constantFrom<Framing>('none', 'short', 'cut-short', 'bad-length', 'two-lengths', 'length-and-chunked') },
);

const method = (templateIndex: number) =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constant(ROUTE_METHODS[templateIndex] ?? 'GET') },
    { weight: 2, arbitrary: fc.constantFrom(...KNOWN_METHODS) },
    { weight: 1, arbitrary: fc.constantFrom('get', 'FOO', 'CONNECT', 'G ET', 'GET\u0000', 'PRI') },
  );

/** The parts of a request the generator mutates; the rest of a request stays as an honest agent sends it. */
const PARTS = ['method', 'target', 'authorization', 'contentType', 'headers', 'body', 'framing'] as const;

/** The request an honest client sends to the route, for `node` where the route names one. */
function honest(index: number, node: (typeof KNOWN_NODES)[number]) {
  const template = ROUTE_TEMPLATES[index] ?? [];
  const path = `/${template.map((s) => (s === ':node' ? node : s)).join('/')}`;
  const withBody = index <= 1 || index === 3;
  return {
    method: fc.constant(ROUTE_METHODS[index] ?? 'GET'),
    target: index === 2 ? fc.constantFrom(path, `${path}?controlPlane=true`) : fc.constant(path),
    authorization: fc.constant<Authorization>({ kind: 'secret', secret: 'own', mutation: { op: 'none' }, scheme: 'Bearer ' }),
    contentType: fc.constant(withBody ? 'application/json' : undefined),
    headers: fc.constant<Array<[string, string]>>([]),
    body: withBody ? baseBody(index, node).map((b) => JSON.stringify(b)) : fc.constant(''),
    // Both are honest: an agent behind a proxy may well stream its body.
    framing: fc.constantFrom<Framing>('length', 'chunked'),
  };
}

/** Anything at all for each part (which may still come out honest). */
function wild(index: number) {
  return {
    method: method(index),
    target: fc.oneof({ weight: 15, arbitrary: targetArbitrary(ROUTE_TEMPLATES[index] ?? []) }, { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...URLISH), maxLength: 40 }) }),
    authorization,
    contentType,
    headers: extraHeaders,
    body: fc.oneof({ weight: 4, arbitrary: body(index) }, { weight: 1, arbitrary: fc.constant('') }),
    framing,
  };
}

/**
 * Mostly an honest request with one or two parts gone wild, which reaches deep into the routes (a mutated
 * body behind a valid credential); now and then every part wild at once. Unbiased: fast-check's lean towards
 * small values and first choices would starve the edge cases the generators above list on purpose.
 */
const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.noBias(
  fc
    .record({
      index: fc.integer({ min: 0, max: ROUTE_TEMPLATES.length - 1 }),
      node: fc.constantFrom(...KNOWN_NODES),
      wildParts: fc.oneof({ weight: 3, arbitrary: fc.subarray([...PARTS], { maxLength: 2 }) }, { weight: 1, arbitrary: fc.constant([...PARTS]) }),
    })
    .chain(({ index, node, wildParts }) => {
      const tame = honest(index, node);
      const untamed = wild(index);
      const pick = <K extends (typeof PARTS)[number]>(part: K) => (wildParts.includes(part) ? untamed[part] : tame[part]);
      return fc.record({
        method: pick('method'),
        target: pick('target'),
        authorization: pick('authorization') as fc.Arbitrary<Authorization>,
        contentType: pick('contentType') as fc.Arbitrary<string | undefined>,
        headers: pick('headers'),
        body: pick('body'),
        framing: pick('framing') as fc.Arbitrary<Framing>,
      });
    })
    .map((request) => {
      const fixed: FuzzRequest = { ...request, contentType: request.contentType };
      if (request.contentType === undefined) delete fixed.contentType;
      return Object.assign(fixed, { [fc.toStringMethod]: () => describe(fixed) });
    }),
);

function describe(request: FuzzRequest): string {
  const clip = (text: string) => (text.length > 160 ? `${text.slice(0, 160)}…(${text.length} chars)` : text);
  return JSON.stringify({ ...request, target: clip(request.target), body: clip(request.body) });
}

// ── the oracle ───────────────────────────────────────────────────────────────────────────────────────────

/** Where the request would land if the server routed it: the node path segment and the query, or undefined. */
function routeOf(target: string): { segments: string[]; query: URLSearchParams } | undefined {
  const at = target.indexOf('?');
  const path = at < 0 ? target : target.slice(0, at);
  if (!/^\/[A-Za-z0-9._\-/]*$/.test(path)) return undefined;
  return { segments: path.slice(1).replace(/\/$/, '').split('/'), query: new URLSearchParams(at < 0 ? '' : target.slice(at + 1)) };
}

const DOCUMENTED_503 = /has not published join material yet|expires at .* waiting for the control plane|has not published a current certificate key/;

/** Everything wrong with how the server answered `request`; empty when all is well. */
async function judge(request: FuzzRequest, authorization: string | undefined, response: ParsedResponse, world: World): Promise<string[]> {
  const problems: string[] = [];
  const status = response.status;
  const contentType = headerOf(response, 'content-type') ?? '';
  const text = response.body.toString('utf8');
  const fromParser = status === 400 && headerOf(response, 'content-length') === '0' && !contentType;
  if (fromParser) {
    if (!parserRefuses(request, authorization)) problems.push('a bare 400 from the HTTP parser for a request it should accept');
    return problems;
  }
  if (status >= 500 && !(status === 503 && DOCUMENTED_503.test(text) && headerOf(response, 'retry-after'))) problems.push(`status ${status}: ${text.slice(0, 300)}`);
  if (status < 200 || status >= 300) {
    if (!contentType.startsWith('application/json')) problems.push(`error answer with Content-Type ${JSON.stringify(contentType)}`);
    if (request.method !== 'HEAD') {
      let error: unknown;
      try {
        error = (JSON.parse(text) as { error?: unknown }).error;
      } catch {
        error = undefined;
      }
      if (typeof error !== 'string' || error === '') problems.push(`error answer without a JSON error message: ${JSON.stringify(text.slice(0, 200))}`);
    }
    if (status === 401 && headerOf(response, 'www-authenticate') !== 'Bearer') problems.push('401 without WWW-Authenticate: Bearer');
    if (status === 405 && !headerOf(response, 'allow')) problems.push('405 without Allow');
    if ((status === 429 || status === 503) && !headerOf(response, 'retry-after')) problems.push(`${status} without Retry-After`);
    const presented = authorization?.replace(/^\S+\s+/, '').trim() ?? '';
    if (presented.length >= 16 && text.includes(presented)) problems.push('the error answer echoes the presented secret');
    return problems;
  }
  // A 2xx must have been earned. (node's parser forgives spaces around the target, so the route sees it trimmed.)
  const route = routeOf(request.target.replace(/^[ \t]+|[ \t]+$/g, ''));
  const bearer = authorization?.replace(/^[ \t]+|[ \t]+$/g, '');
  if (!route) problems.push(`2xx for a target the router should refuse: ${request.target}`);
  else if (route.segments[0] === 'v1' && route.segments[1] === 'agent') {
    if (route.segments[2] !== AGENT_FILE) problems.push(`2xx for agent file ${JSON.stringify(route.segments[2])}, not the bundle's hash`);
    else if (request.method !== 'HEAD' && text !== AGENT_BUNDLE) problems.push('the agent route answered other bytes than the bundle');
  } else if (route.segments[0] === 'v1' && route.segments[1] === 'enroll') {
    const answer = JSON.parse(text) as { node?: unknown; pool?: unknown; credential?: unknown };
    const live = answer.pool === 'lab' ? world.secret('enroll') : answer.pool === 'other' ? world.secret('other-pool') : undefined;
    if (live === undefined || bearer !== `Bearer ${live}`) problems.push(`enrolled into pool ${String(answer.pool)} with Authorization ${JSON.stringify(bearer)}, not its live token`);
    // Every token the fuzzer holds grants the worker role: whatever the body asked, a worker is what it got.
    const enrolled = typeof answer.node === 'string' ? await world.endpoint.registry.node(answer.node) : undefined;
    if (enrolled?.role !== 'worker') problems.push(`a worker token enrolled ${String(answer.node)} as a ${enrolled?.role ?? 'missing node'}`);
    const node = KNOWN_NODES.find((n) => n === answer.node);
    if (node && typeof answer.credential === 'string') world.remember(node, answer.credential);
  } else if (route.segments[0] === 'v1' && route.segments[1] === 'nodes') {
    const node = KNOWN_NODES.find((n) => n === route.segments[2]);
    if (!node) problems.push(`2xx for node ${JSON.stringify(route.segments[2])}, whose credential nobody has`);
    else if (bearer !== `Bearer ${world.secret(node)}`) problems.push(`2xx for ${node} with Authorization ${JSON.stringify(bearer)}, not its credential`);
    const record = node ? await world.endpoint.registry.node(node) : undefined;
    if (route.segments[3] === 'join-material' && record?.role !== 'control-plane') problems.push(`join material published by ${node ?? '?'}, a ${record?.role ?? 'missing node'}`);
    if (route.segments[3] === 'join' && request.method !== 'HEAD') {
      const material = JSON.parse(text) as { certificateKey?: unknown };
      const asked = route.query.get('controlPlane') === 'true';
      if (material.certificateKey !== undefined && !(asked && record?.role === 'control-plane')) problems.push(`certificate key handed to ${node ?? '?'} (asked: ${asked}, role: ${record?.role ?? '?'})`);
    }
  }
  return problems;
}

// ── the runs ─────────────────────────────────────────────────────────────────────────────────────────────

test('random and mutated requests never crash the endpoint, never get a 5xx, never get a 2xx they did not earn', async (t) => {
  t.timeout(90_000);
  t.log(`fuzz seed ${SEED} (rerun with LABIMG_FUZZ_SEED=${SEED})`);
  const world = await makeWorld(t);
  let sent = 0;
  /** "STATUS ROUTE" → count, logged to show what the run reached. */
  const answers = new Map<string, number>();
  const property = fc.asyncProperty(fuzzRequest, async (request) => {
    const endpoint = await world.live();
    const warned = endpoint.warnings().length;
    const { bytes, authorization } = serialize(request, world);
    const previous = world.lastSent;
    world.lastSent = describe(request);
    sent += 1;
    const exchange = await rawExchange(endpoint.port, bytes, { timeoutMs: 10_000, endAfterWrite: request.framing === 'cut-short' });
    let response: ParsedResponse;
    try {
      response = parseResponse(exchange.bytes, { head: request.method === 'HEAD' });
    } catch (error) {
      if (!(error instanceof IncompleteResponse)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
      await world.live();
      if (!mayGoUnanswered(request, authorization)) throw new Error(`no whole answer (${exchange.ending}${exchange.error ? `, ${exchange.error}` : ''}): ${error.message}`);
      return;
    }
    const route = routeOf(request.target.trim())?.segments.map((s, i) => (i === 2 && s !== '' ? ':node' : s)).join('/') ?? '(unroutable)';
    const key = `${response.status} ${route}`;
    answers.set(key, (answers.get(key) ?? 0) + 1);
    const problems = await judge(request, authorization, response, world);
    await new Promise((resolve) => setImmediate(resolve));
    const storeErrors = endpoint.warnings().slice(warned).filter(isStoreError);
    if (storeErrors.length > 0) problems.push(`the server logged ${storeErrors.join('; ')} (if not for this request, for the one before: ${previous})`);
    if (problems.length > 0) throw new Error(`${problems.join('\n')}\nanswer: ${exchange.bytes.toString('latin1').slice(0, 500)}`);
  });
  const started = Date.now();
  try {
    await fc.assert(property, { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: TIME_BUDGET_MS, markInterruptAsFailure: false, includeErrorInReport: true });
  } catch (error) {
    t.fail(`fuzz run failed; rerun with LABIMG_FUZZ_SEED=${SEED}\n${(error as Error).message}`);
    return;
  }
  t.log(`${sent} requests in ${Date.now() - started} ms`);
  t.log([...answers].sort((a, b) => b[1] - a[1]).map(([key, count]) => `${count} × ${key}`).join('\n'));

  // Still serving, still enrolling, still keeping secrets.
  const endpoint = await world.live();
  t.deepEqual(world.warnings().filter(isStoreError), []);
  const health = await send(endpoint.port, { path: '/healthz' });
  t.deepEqual([health.status, health.text], [200, 'ok\n']);
  const enrolled = await send(endpoint.port, { method: 'POST', path: '/v1/enroll', token: world.secret('enroll'), json: enrollBody('after-the-storm') });
  t.is(enrolled.status, 200, enrolled.text);
  const credential = (enrolled.json as { credential: string }).credential;
  const join = await send(endpoint.port, { path: '/v1/nodes/after-the-storm/join', token: credential });
  t.true(join.status === 200 || (join.status === 503 && DOCUMENTED_503.test(join.text)), join.text);
  world.allSecrets.add(credential);

  const audit = JSON.stringify(await endpoint.registry.auditTrail());
  const files = await filesUnder(world.dataDir);
  for (const secret of world.allSecrets) {
    t.false(audit.includes(secret), 'a secret in the audit trail');
    t.deepEqual(files.filter((f) => f.text.includes(secret)).map((f) => f.file), [], 'a secret on disk');
  }
});

/** Requests no HTTP client would make, each answered with 400 or a closed connection. */
const MALFORMED: Array<{ title: string; bytes: string | Buffer; transport?: 'tcp' }> = [
  { title: 'a garbage request line', bytes: 'HELLO WORLD\r\n\r\n' },
  { title: 'a request line with no target', bytes: 'GET\r\n\r\n' },
  { title: 'an unknown HTTP version', bytes: 'GET /healthz HTTP/9.9\r\n\r\n' },
  { title: 'a header line without a colon', bytes: 'GET /healthz HTTP/1.1\r\nHost: x\r\nFoo bar\r\n\r\n' },
  { title: 'a header name with a space', bytes: 'GET /healthz HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n' },
  { title: 'a NUL in a header value', bytes: 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n' },
  { title: 'an obsolete folded header', bytes: 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n' },
  { title: 'a 100 kB header', bytes: `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n` },
  { title: 'a 100 kB request target', bytes: `GET /${'a'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n` },
  { title: 'two different Content-Lengths', bytes: 'POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}' },
  { title: 'Content-Length and chunked together', bytes: 'POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' },
  { title: 'a chunk size that is not hex', bytes: 'POST /v1/enroll HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n' },
  { title: 'an absurd chunk size', bytes: 'POST /v1/enroll HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n{}\r\n' },
  { title: 'a negative Content-Length', bytes: 'POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n' },
  { title: 'the HTTP/2 preface', bytes: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' },
  { title: 'random bytes', bytes: Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 131 + 7) % 256)) },
  { title: 'plain HTTP to the TLS port', bytes: 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', transport: 'tcp' },
  { title: 'garbage instead of a TLS handshake', bytes: Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37 + 1) % 256)), transport: 'tcp' },
];

test('malformed HTTP is answered with 400 or a closed connection, and the endpoint keeps serving', async (t) => {
  const endpoint = await spawnEndpoint({ limits: LIMITS });
  t.teardown(async () => {
    await endpoint.close();
    rmSync(endpoint.dataDir, { recursive: true, force: true });
  });
  for (const c of MALFORMED) {
    const exchange = c.transport === 'tcp' ? await tcpExchange(endpoint.port, c.bytes) : await rawExchange(endpoint.port, c.bytes);
    t.not(exchange.ending, 'timeout', `${c.title}: the server neither answered nor closed`);
    if (c.transport !== 'tcp' && exchange.bytes.length > 0) {
      const response = parseResponse(exchange.bytes);
      t.is(response.status, 400, `${c.title}: ${exchange.bytes.toString('latin1').slice(0, 200)}`);
    }
    t.is(endpoint.exit(), undefined, `${c.title} killed the endpoint:\n${endpoint.output()}`);
  }
  const health = await rawExchange(endpoint.port, rawRequest('GET', '/healthz'));
  t.is(parseResponse(health.bytes).status, 200);
  t.deepEqual(endpoint.warnings().filter(isStoreError), []);
});

/** Bytes over plain TCP: what the server does with a client that does not speak TLS. */
function tcpExchange(port: number, bytes: string | Buffer): Promise<{ ending: 'closed' | 'timeout'; bytes: Buffer }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ending: 'timeout', bytes: Buffer.concat(chunks) });
    }, 5_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ending: 'closed', bytes: Buffer.concat(chunks) });
    });
  });
}
