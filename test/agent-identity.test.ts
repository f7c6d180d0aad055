/**
 * Enrollment by the cloud's signed instance identity document, on the node's side: the metadata client against
 * a stand-in of each cloud's service (test/helpers/instance-metadata.ts), the session's request to the two
 * endpoint routes against a small HTTPS stand-in of them, the node's name, and one whole worker boot that
 * enrolls, reports and joins under its instance id with no secret on the machine.
 *
 * The stand-in's signatures are checked with the endpoint's own verifier (endpoint/identity), so what the agent
 * forwards is what the endpoint takes.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { validateNodeConfig, ConfigError } from '../agent/config/load';
import { InstanceMetadataError, instanceIdentity, signedIdentity, type MetadataOptions } from '../agent/endpoint/instance-metadata';
import { EndpointRefused, HttpsEndpointSession, NotYet, type NodeIdentity } from '../agent/endpoint/session';
import { RealHost } from '../agent/host/real-host';
import { caCertHash } from '../agent/kubeadm/ca-cert-hash';
import { joinDocuments } from '../agent/kubeadm/documents';
import { silentLogger } from '../agent/log';
import { withInstanceName } from '../agent/node-identity';
import { REDACTED, Redactor } from '../agent/redact';
import type { InstanceIdentitySource, NodeConfig, PhaseReport } from '../contract/agent-config';
import type { EnrollResponse, IdentityEnrollRequest, IdentityNonce, JoinMaterial } from '../contract/endpoint-api';
import { NODE_CREDENTIAL_HEADER } from '../contract/endpoint-api';
import { verifyInstanceIdentity } from '../endpoint/identity/documents';
import { caFingerprintOf, issueServerIdentity, loadOrCreateCa, type CertificateAuthority, type ServerIdentity } from '../endpoint/pki';
import { FileStore } from '../endpoint/store/file-store';
import { FakeMachine, profileConfig, seedCluster } from './helpers/agent-machine';
import { documentOfKind, kubeadmDocuments } from './helpers/agent-scenario';
import { repoRoot, tempDir } from './helpers/cli';
import { makeMetadataSigner, startMetadataService, type IdentityFields, type MetadataStandIn, type MetadataStandInOptions } from './helpers/instance-metadata';

const AWS_ID: IdentityFields = { instanceId: 'i-0abc1234def567890', accountId: '123456789012', region: 'eu-west-1', imageId: 'ami-0123456789abcdef0', pendingTime: '2026-12-05T08:00:00Z' };
const ALIYUN_ID: IdentityFields = { instanceId: 'i-bp67acfmxazb4ph0ab12', accountId: '1609123456789012', region: 'cn-hangzhou', imageId: 'aliyun_3_x64_20G_alibase_20250629.vhd' };
const awsSigner = makeMetadataSigner('Amazon Web Services LLC');
const aliyunSigner = makeMetadataSigner();
/** Short pauses, so the retry tests take milliseconds. */
// Short delays between tries, but patient with each answer and with the whole: a loaded test machine may take
// seconds to answer a loopback request (1 s and 2 s failed there under a full suite beside the VM tests).
const QUICK: MetadataOptions = { timeoutMs: 15_000, firstDelayMs: 10, maxDelayMs: 40, deadlineMs: 20_000 };
/** For sessions, whose tests include a service that never answers: giving up soon is what they wait for. */
const GIVING_UP: MetadataOptions = { ...QUICK, deadlineMs: 2_000 };

async function metadataService(t: ExecutionContext, options: Partial<MetadataStandInOptions> & Pick<MetadataStandInOptions, 'provider'>): Promise<MetadataStandIn> {
  const aws = options.provider === 'aws';
  const service = await startMetadataService({ signer: aws ? awsSigner : aliyunSigner, identity: aws ? AWS_ID : ALIYUN_ID, ...options });
  t.teardown(() => service.close());
  return service;
}

function sourceOf(service: MetadataStandIn, provider: InstanceIdentitySource['provider']): InstanceIdentitySource {
  return { provider, metadataUrl: service.url };
}

/** A plain GET, as a client that does not know about session tokens sends it. */
function tokenlessGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

// ---- the metadata client ----

test('aws: the document and its rsa2048 signature are read with an IMDSv2 session token, which the service requires', async (t) => {
  const service = await metadataService(t, { provider: 'aws' });
  const source = sourceOf(service, 'aws');
  t.is(await tokenlessGet(`${service.url}/latest/dynamic/instance-identity/document`), 401, 'the stand-in refuses a GET without a token, as an instance that requires IMDSv2 does');
  service.requests.length = 0;

  const identity = await instanceIdentity(source, QUICK);
  t.deepEqual(identity, { instanceId: AWS_ID.instanceId, document: service.document });
  const signature = await signedIdentity(source, undefined, QUICK);

  // Each call: a PUT for a token with a TTL in range, then the GET carrying that token.
  t.deepEqual(
    service.requests.map((r) => `${r.method} ${r.path} ${r.status}`),
    ['PUT /latest/api/token 200', 'GET /latest/dynamic/instance-identity/document 200', 'PUT /latest/api/token 200', 'GET /latest/dynamic/instance-identity/rsa2048 200'],
  );
  for (const put of service.requests.filter((r) => r.method === 'PUT')) {
    const ttl = Number(put.headers['x-aws-ec2-metadata-token-ttl-seconds']);
    t.true(ttl >= 1 && ttl <= 21600, `TTL ${ttl}`);
    t.is(put.headers['x-forwarded-for'], undefined);
  }
  for (const get of service.requests.filter((r) => r.method === 'GET')) t.true(service.tokens().includes(get.headers['x-aws-ec2-metadata-token'] as string));

  // What the agent forwards is what the endpoint verifies.
  const verified = verifyInstanceIdentity('aws', signature, [awsSigner.certPem]);
  t.like(verified, { provider: 'aws', instanceId: AWS_ID.instanceId, accountId: AWS_ID.accountId, region: AWS_ID.region, launchedAt: AWS_ID.pendingTime });
  await t.throwsAsync(signedIdentity(source, 'nonce', QUICK), { message: /aws identity document is signed with no audience/ });
});

test('aliyun: the pkcs7 signature is asked for the audience given, in hardened mode, and verifies against the plain document', async (t) => {
  const service = await metadataService(t, { provider: 'aliyun' });
  const source = sourceOf(service, 'aliyun');
  t.is(await tokenlessGet(`${service.url}/latest/dynamic/instance-identity/document`), 403, 'hardened-only mode refuses a GET without a token');
  service.requests.length = 0;

  const { instanceId, document } = await instanceIdentity(source, QUICK);
  t.is(instanceId, ALIYUN_ID.instanceId);
  t.is(document, service.document);
  const audience = 'n0nce_-.~abc';
  const signature = await signedIdentity(source, audience, QUICK);
  const gets = service.requests.filter((r) => r.method === 'GET');
  t.deepEqual(gets.map((r) => r.path), ['/latest/dynamic/instance-identity/document', `/latest/dynamic/instance-identity/pkcs7?audience=${audience}`]);
  for (const get of gets) t.true(service.tokens().includes(get.headers['x-aliyun-ecs-metadata-token'] as string));
  for (const put of service.requests.filter((r) => r.method === 'PUT')) t.truthy(put.headers['x-aliyun-ecs-metadata-token-ttl-seconds']);

  const verified = verifyInstanceIdentity('aliyun', signature, [aliyunSigner.certPem], { audience, document });
  t.like(verified, { provider: 'aliyun', instanceId: ALIYUN_ID.instanceId, accountId: ALIYUN_ID.accountId, region: ALIYUN_ID.region, audience });
  t.throws(() => verifyInstanceIdentity('aliyun', signature, [aliyunSigner.certPem], { audience: 'another', document }), undefined, 'signed for that audience only');
});

test('instance ids are lowercased, and one that cannot be a node name is refused naming the URL', async (t) => {
  const upper = await metadataService(t, { provider: 'aws', identity: { ...AWS_ID, instanceId: 'i-0ABC1234DEF567890' } });
  t.is((await instanceIdentity(sourceOf(upper, 'aws'), QUICK)).instanceId, 'i-0abc1234def567890');
  const odd = await metadataService(t, { provider: 'aliyun', identity: { ...ALIYUN_ID, instanceId: 'i_not/a name' } });
  const error = await t.throwsAsync(instanceIdentity(sourceOf(odd, 'aliyun'), QUICK), { instanceOf: InstanceMetadataError });
  t.regex(error.message, new RegExp(`GET ${odd.url}/latest/dynamic/instance-identity/document: the instance id "i_not/a name" cannot be a node name`));
});

test('a service that is not up yet is asked again with backoff; a refusal is not, and names the URL and status', async (t) => {
  const late = await metadataService(t, { provider: 'aws', unavailableFirst: 3 });
  t.is((await instanceIdentity(sourceOf(late, 'aws'), QUICK)).instanceId, AWS_ID.instanceId);
  t.deepEqual(late.requests.slice(0, 3).map((r) => r.status), [503, 503, 503]);

  // The wrong cloud's header names: the stand-in refuses the PUT as AWS does a bad one, and that is final.
  const aws = await metadataService(t, { provider: 'aws' });
  const refused = await t.throwsAsync(instanceIdentity(sourceOf(aws, 'aliyun'), QUICK), { instanceOf: InstanceMetadataError });
  t.is(refused.message, `PUT ${aws.url}/latest/api/token: HTTP 400 (Missing or Invalid Parameters)`);
  t.is(refused.status, 400);
  t.false(refused.transient);
  t.is(aws.requests.length, 1, 'not retried');

  // Nothing listening: retried until the deadline, then the last failure, with the URL.
  const closed = await metadataService(t, { provider: 'aws' });
  await closed.close();
  const gone = await t.throwsAsync(instanceIdentity(sourceOf(closed, 'aws'), { ...QUICK, deadlineMs: 200 }), { instanceOf: InstanceMetadataError });
  t.regex(gone.message, new RegExp(`^PUT ${closed.url}/latest/api/token: .*ECONNREFUSED.*\\(gave up after \\d+ tries in \\d+ s\\)$`));
  t.true(gone.transient);
});

test('a token the service stops taking is replaced with a new one', async (t) => {
  const service = await metadataService(t, { provider: 'aws', forgetTokensOnce: true });
  t.is((await instanceIdentity(sourceOf(service, 'aws'), QUICK)).instanceId, AWS_ID.instanceId);
  t.deepEqual(
    service.requests.map((r) => `${r.method} ${r.status}`),
    ['PUT 200', 'GET 401', 'PUT 200', 'GET 200'],
  );
  const [, refused, , taken] = service.requests;
  t.not(refused?.headers['x-aws-ec2-metadata-token'], taken?.headers['x-aws-ec2-metadata-token']);
});

// ---- naming ----

test('a node with an identity source and no nodeName is named after its instance id; kubeadm registers it so', async (t) => {
  const service = await metadataService(t, { provider: 'aws' });
  const node: NodeConfig = { apiVersion: 'labimg.dev/v1', kind: 'NodeConfig', role: 'worker', pool: 'lab', endpoint: { url: 'https://10.0.0.5:8443', caFingerprint: `sha256:${'c'.repeat(64)}`, identity: sourceOf(service, 'aws') } };
  const named = await withInstanceName(node, silentLogger, new RealHost(tempDir(), silentLogger), (source) => instanceIdentity(source, QUICK));
  t.is(named.nodeName, AWS_ID.instanceId);
  const join: JoinMaterial = { apiServerEndpoint: '10.0.0.10:6443', token: 'abcdef.0123456789abcdef', caCertHashes: [`sha256:${'1'.repeat(64)}`] };
  const registration = documentOfKind(joinDocuments(profileConfig('ubuntu'), named, join, { labels: {}, taints: [] }) as unknown as Array<Record<string, any>>, 'JoinConfiguration').nodeRegistration;
  t.is(registration.name, AWS_ID.instanceId);

  // A name given wins, and a node without an identity source asks no metadata service.
  const asked = service.requests.length;
  t.is((await withInstanceName({ ...node, nodeName: 'gpu-7' }, silentLogger, new RealHost(tempDir(), silentLogger))).nodeName, 'gpu-7');
  const { identity: _identity, ...plainEndpoint } = node.endpoint!;
  t.is((await withInstanceName({ ...node, endpoint: plainEndpoint }, silentLogger, new RealHost(tempDir(), silentLogger))).nodeName, undefined);
  t.is(service.requests.length, asked);
});

test('node.json: endpoint.identity is checked, the error naming the file and the field', (t) => {
  const base = { apiVersion: 'labimg.dev/v1', kind: 'NodeConfig', role: 'worker', endpoint: { url: 'https://10.0.0.5:8443', caFingerprint: `sha256:${'c'.repeat(64)}` } };
  const withIdentity = (identity: unknown) => ({ ...base, endpoint: { ...base.endpoint, identity } });
  t.notThrows(() => validateNodeConfig(withIdentity({ provider: 'aws' }), '/etc/labimg/node.json'));
  t.notThrows(() => validateNodeConfig(withIdentity({ provider: 'aliyun', metadataUrl: 'http://127.0.0.1:8080' }), '/etc/labimg/node.json'));
  const cases: Array<[unknown, RegExp]> = [
    ['aws', /^\/etc\/labimg\/node\.json: endpoint\.identity must be an object such as \{"provider": "aws"\}, got "aws"$/],
    [{ provider: 'gcp' }, /^\/etc\/labimg\/node\.json: endpoint\.identity\.provider must be "aws" or "aliyun", got "gcp"$/],
    [{ provider: 'aws', metadataUrl: 'ftp://169.254.169.254' }, /^\/etc\/labimg\/node\.json: endpoint\.identity\.metadataUrl must be an http or https URL .*got "ftp:\/\/169\.254\.169\.254"$/],
    [{ provider: 'aws', metadataUrl: 'not a url' }, /endpoint\.identity\.metadataUrl must be an http or https URL/],
    [{ provider: 'aws', metadataUrl: 42 }, /endpoint\.identity\.metadataUrl must be an http or https URL .*got 42$/],
  ];
  for (const [identity, message] of cases) t.throws(() => validateNodeConfig(withIdentity(identity), '/etc/labimg/node.json'), { instanceOf: ConfigError, message });
});

// ---- the session's enrollment, against a stand-in of the endpoint's routes ----

interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

interface EndpointStandIn {
  url: string;
  caFingerprint: string;
  requests: Recorded[];
  nonces: string[];
  close(): Promise<void>;
}

let pki: Promise<{ ca: CertificateAuthority; identity: ServerIdentity }> | undefined;

function sharedPki(): Promise<{ ca: CertificateAuthority; identity: ServerIdentity }> {
  pki ??= (async () => {
    const dir = tempDir('labimg-identity-pki-');
    try {
      const { ca } = await loadOrCreateCa(new FileStore(dir));
      return { ca, identity: issueServerIdentity(ca, ['127.0.0.1', 'localhost']) };
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  })();
  return pki;
}

/**
 * The two identity routes, a node's report and join routes, and nothing else: GET /v1/identity/nonce answers a
 * fresh nonce; POST /v1/enroll/identity takes the credential in NODE_CREDENTIAL_HEADER and answers an
 * EnrollResponse; the node's routes take that credential as its bearer token.
 */
async function identityEndpoint(t: ExecutionContext, join?: JoinMaterial): Promise<EndpointStandIn> {
  const { ca, identity } = await sharedPki();
  const requests: Recorded[] = [];
  const nonces: string[] = [];
  const credentials = new Map<string, string>();
  const server = https.createServer({ cert: identity.certChainPem, key: identity.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text ? (JSON.parse(text) as unknown) : undefined;
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const send = (status: number, value: unknown) => {
        const json = JSON.stringify(value);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(json)) });
        res.end(json);
      };
      const route = `${req.method} ${(req.url ?? '').replace(/^\/v1\/nodes\/[^/]+\//, '/v1/nodes/:node/')}`;
      const node = /^\/v1\/nodes\/([^/]+)\//.exec(req.url ?? '')?.[1];
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      switch (route) {
        case 'GET /v1/identity/nonce': {
          const nonce: IdentityNonce = { nonce: randomBytes(24).toString('base64url'), expiresAt: new Date(Date.now() + 300_000).toISOString() };
          nonces.push(nonce.nonce);
          return send(200, nonce);
        }
        case 'POST /v1/enroll/identity': {
          const enrollment = body as IdentityEnrollRequest;
          const credential = req.headers[NODE_CREDENTIAL_HEADER] as string;
          credentials.set(enrollment.node, credential);
          const answer: EnrollResponse = { node: enrollment.node, pool: enrollment.pool, credential };
          return send(200, answer);
        }
        case 'POST /v1/nodes/:node/reports':
        case 'GET /v1/nodes/:node/join': {
          if (node === undefined || bearer === undefined || credentials.get(node) !== bearer) return send(401, { error: 'unknown credential' });
          return route.startsWith('POST') ? send(200, { stored: true }) : join ? send(200, join) : send(503, { error: 'no join material yet' });
        }
        default:
          return send(404, { error: `no route ${route}` });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stand: EndpointStandIn = {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    caFingerprint: caFingerprintOf(ca.certPem),
    requests,
    nonces,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  t.teardown(() => stand.close());
  return stand;
}

function report(node: string): PhaseReport {
  return { id: randomBytes(16).toString('hex'), node, profile: 'ubuntu', role: 'worker', phase: 'boot', step: 'swap-off', status: 'done', at: new Date().toISOString(), gpu: false };
}

function session(t: ExecutionContext, endpoint: EndpointStandIn, source: InstanceIdentitySource, identity: Partial<NodeIdentity> = {}) {
  const root = tempDir('labimg-identity-node-');
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const host = new RealHost(root, silentLogger);
  const redactor = new Redactor();
  const client = new HttpsEndpointSession(
    { url: endpoint.url, caFingerprint: endpoint.caFingerprint, identity: source },
    { name: AWS_ID.instanceId, role: 'worker', profile: 'ubuntu', gpu: false, pool: 'lab', ...identity },
    {},
    host,
    silentLogger,
    redactor,
    GIVING_UP,
  );
  t.teardown(() => client.close());
  return { client, host, root, redactor };
}

const CREDENTIAL_FILE = '/var/lib/labimg/credential.json';

test('aws: the session enrolls through POST /v1/enroll/identity with the rsa2048 signature and its own credential, no token', async (t) => {
  const endpoint = await identityEndpoint(t);
  const metadata = await metadataService(t, { provider: 'aws' });
  const { client, host, redactor } = session(t, endpoint, sourceOf(metadata, 'aws'));
  await client.sendReport(report(AWS_ID.instanceId));

  t.deepEqual(endpoint.requests.map((r) => `${r.method} ${r.path}`), ['POST /v1/enroll/identity', `POST /v1/nodes/${AWS_ID.instanceId}/reports`]);
  const [enroll, sent] = endpoint.requests as [Recorded, Recorded];
  const body = enroll.body as IdentityEnrollRequest;
  t.deepEqual(Object.keys(body).sort(), ['gpu', 'node', 'pool', 'profile', 'provider', 'role', 'signature']);
  t.like(body, { node: AWS_ID.instanceId, role: 'worker', profile: 'ubuntu', gpu: false, pool: 'lab', provider: 'aws' });
  t.like(verifyInstanceIdentity('aws', body.signature, [awsSigner.certPem]), { instanceId: AWS_ID.instanceId, accountId: AWS_ID.accountId });
  t.true(metadata.requests.some((r) => r.path === '/latest/dynamic/instance-identity/rsa2048' && r.status === 200 && metadata.tokens().includes(r.headers['x-aws-ec2-metadata-token'] as string)));

  t.is(enroll.headers.authorization, undefined, 'no token vouches for it');
  const credential = enroll.headers[NODE_CREDENTIAL_HEADER] as string;
  t.regex(credential, /^[A-Za-z0-9_-]{43}$/);
  t.is(sent.headers.authorization, `Bearer ${credential}`);
  t.like(JSON.parse((await host.readFile(CREDENTIAL_FILE)) ?? '{}'), { url: endpoint.url, node: AWS_ID.instanceId, credential, enrolled: true });
  t.is(await host.fileMode(CREDENTIAL_FILE), 0o600);
  t.is(redactor.redact(`sent ${body.signature}`), `sent ${REDACTED}`, 'the signature is a bearer proof: never logged');
});

test('aliyun: the session asks the endpoint for a nonce, and sends the pkcs7 signed for it with the plain document', async (t) => {
  const endpoint = await identityEndpoint(t);
  const metadata = await metadataService(t, { provider: 'aliyun' });
  const { client } = session(t, endpoint, sourceOf(metadata, 'aliyun'), { name: ALIYUN_ID.instanceId });
  await client.sendReport(report(ALIYUN_ID.instanceId));

  t.deepEqual(endpoint.requests.map((r) => `${r.method} ${r.path}`), ['GET /v1/identity/nonce', 'POST /v1/enroll/identity', `POST /v1/nodes/${ALIYUN_ID.instanceId}/reports`]);
  t.is(endpoint.requests[0]?.headers.authorization, undefined);
  const enroll = endpoint.requests[1] as Recorded;
  const body = enroll.body as IdentityEnrollRequest;
  const [nonce] = endpoint.nonces;
  t.like(body, { node: ALIYUN_ID.instanceId, role: 'worker', pool: 'lab', provider: 'aliyun', audience: nonce, document: metadata.document });
  t.true(metadata.requests.some((r) => r.path === `/latest/dynamic/instance-identity/pkcs7?audience=${nonce}` && r.status === 200));
  t.like(verifyInstanceIdentity('aliyun', body.signature, [aliyunSigner.certPem], { audience: nonce as string, document: body.document }), { instanceId: ALIYUN_ID.instanceId, audience: nonce });
  t.is(enroll.headers.authorization, undefined);
  t.truthy(enroll.headers[NODE_CREDENTIAL_HEADER]);
});

test('without a pool in node.json the identity enrollment is refused before anything is sent', async (t) => {
  const endpoint = await identityEndpoint(t);
  const metadata = await metadataService(t, { provider: 'aws' });
  const { client, host } = session(t, endpoint, sourceOf(metadata, 'aws'), { pool: undefined });
  const error = await t.throwsAsync(client.sendReport(report(AWS_ID.instanceId)), { instanceOf: EndpointRefused });
  t.regex(error.message, /^enrolling: .*endpoint\.identity.*but no pool/);
  t.deepEqual(endpoint.requests, []);
  t.deepEqual(metadata.requests, []);
  t.is(await host.readFile(CREDENTIAL_FILE), undefined, 'no credential kept for an enrollment that cannot be sent');
});

test('a metadata service that does not answer makes the enrollment a NotYet, tried again later with the same credential', async (t) => {
  const endpoint = await identityEndpoint(t);
  const metadata = await metadataService(t, { provider: 'aws', unavailableFirst: 1_000 });
  const { client, host } = session(t, endpoint, sourceOf(metadata, 'aws'));
  const error = await t.throwsAsync(client.sendReport(report(AWS_ID.instanceId)), { instanceOf: NotYet });
  t.regex(error.message, new RegExp(`^enrolling: PUT ${metadata.url}/latest/api/token: HTTP 503 \\(Service Unavailable\\) \\(gave up after \\d+ tries in \\d+ s\\)$`));
  const kept = JSON.parse((await host.readFile(CREDENTIAL_FILE)) ?? '{}') as { enrolled: boolean; credential: string };
  t.false(kept.enrolled, 'the credential is kept, not yet enrolled, for the next try');
  t.deepEqual(endpoint.requests, [], 'nothing reached the endpoint');

  // The service comes up: the next try enrolls with the credential kept.
  const up = await metadataService(t, { provider: 'aws' });
  const again = session(t, endpoint, sourceOf(up, 'aws'));
  await again.host.writeFile(CREDENTIAL_FILE, `${JSON.stringify(kept)}\n`, 0o600);
  await again.client.sendReport(report(AWS_ID.instanceId));
  t.is(endpoint.requests[0]?.headers[NODE_CREDENTIAL_HEADER], kept.credential);
});

// ---- a whole worker boot ----

test('a worker with an identity source boots with no secret: enrolls, reports and joins as its instance id', async (t) => {
  const bootstrapToken = 'idtest.0123456789abcdef';
  const clusterCa = readFileSync(path.join(repoRoot, 'test/fixtures/cluster-ca.crt'), 'utf8');
  const endpoint = await identityEndpoint(t, { apiServerEndpoint: '10.0.0.10:6443', token: bootstrapToken, caCertHashes: [caCertHash(clusterCa)] });
  const metadata = await metadataService(t, { provider: 'aws' });
  const node: NodeConfig = {
    apiVersion: 'labimg.dev/v1',
    kind: 'NodeConfig',
    role: 'worker',
    pool: 'lab',
    endpoint: { url: endpoint.url, caFingerprint: endpoint.caFingerprint, identity: { provider: 'aws', metadataUrl: metadata.url } },
  };
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu'), node });
  t.teardown(() => machine.dispose());
  seedCluster(machine.cluster, [bootstrapToken]);

  const run = await machine.runAgent(['run']);
  t.is(run.code, 0, run.stdout + run.stderr);
  t.regex(run.stdout, new RegExp(`this node is named ${AWS_ID.instanceId}, its instance id in its aws identity document`));
  t.regex(run.stdout, new RegExp(`enrolled with ${endpoint.url} as worker ${AWS_ID.instanceId} in pool lab by its aws instance identity document`));
  t.false(machine.exists('/etc/labimg/secrets.json'));

  const enrollments = endpoint.requests.filter((r) => r.path === '/v1/enroll/identity');
  t.is(enrollments.length, 1);
  t.like(enrollments[0]?.body, { node: AWS_ID.instanceId, pool: 'lab', provider: 'aws' });
  const reports = endpoint.requests.filter((r) => r.path.endsWith('/reports')).map((r) => r.body as PhaseReport);
  t.true(reports.length > 0);
  t.deepEqual([...new Set(reports.map((r) => r.node))], [AWS_ID.instanceId]);
  t.deepEqual([...new Set(endpoint.requests.filter((r) => r.path.startsWith('/v1/nodes/')).map((r) => r.path.split('/')[3]))], [AWS_ID.instanceId]);
  const join = documentOfKind(kubeadmDocuments(machine, 'join'), 'JoinConfiguration');
  t.is(join.nodeRegistration.name, AWS_ID.instanceId);
  const signature = (enrollments[0]?.body as IdentityEnrollRequest).signature;
  t.false(run.stdout.includes(signature.split('\n')[0] as string), 'the signature is never logged');
});
