/**
 * A stand-in for a cloud's instance metadata service, on 127.0.0.1, as far as labimg's agent uses it: the
 * session-token flow and the signed instance identity document. It behaves as the documentation says the real
 * services do, read 2026-12-05:
 *
 * AWS EC2 (IMDSv2, http://169.254.169.254):
 *   - "How Instance Metadata Service Version 2 works",
 *     https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-metadata-v2-how-it-works.html: a token from
 *     `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds` (1 to 21600), sent back in
 *     `X-aws-ec2-metadata-token`.
 *   - "Access instance metadata for an EC2 instance" (its "Responses and error messages"),
 *     https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html: 400 for a PUT that is
 *     not valid, 401 for a GET with an invalid token, 403 when not allowed, 404 for no such resource. An instance
 *     that requires IMDSv2 answers a GET without a token with 401, which is what this stand-in does by default.
 *   - "Instance identity documents", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instance-identity-documents.html:
 *     the document at `/latest/dynamic/instance-identity/document`, pretty-printed with `" : "` and nulls, and
 *     "Verify the instance identity document", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/verify-iid.html:
 *     `/latest/dynamic/instance-identity/rsa2048`, a SHA-256 RSA PKCS#7 SignedData with the document embedded,
 *     made when the instance launches (the stand-in: on first request) and served the same every time.
 *
 * Alibaba Cloud ECS (security hardening mode, http://100.100.100.200):
 *   - "实例元数据" / "Instance metadata", https://help.aliyun.com/zh/ecs/user-guide/view-instance-metadata
 *     (https://www.alibabacloud.com/help/en/ecs/user-guide/view-instance-metadata): a token from
 *     `PUT /latest/api/token` with `X-aliyun-ecs-metadata-token-ttl-seconds` (1 to 21600, else "400 - Missing or
 *     Invalid Parameters"), sent back in `X-aliyun-ecs-metadata-token`; an invalid token gets "401 - Unauthorized";
 *     an instance in hardened-only mode answers any request without a token "403 - Forbidden", which is what this
 *     stand-in does by default; a request with `X-Forwarded-For` gets 403.
 *   - "Use instance identities", https://www.alibabacloud.com/help/en/ecs/user-guide/use-instance-identities
 *     (Chinese edition https://help.aliyun.com/zh/ecs/user-guide/use-instance-identities): the document, compact
 *     JSON with `instance-id`, `owner-account-id`, `region-id`, `image-id`…, and `pkcs7?audience=`, signed over
 *     the document with `,"audience":"<audience>"` put before its closing `}` (the Chinese edition's script:
 *     `echo -n ${document%?}${audience_json}`); the stand-in embeds that content in the SignedData. Whether the real
 *     service embeds it or signs it detached is not documented (the facts file marks it unconfirmed). Signed
 *     afresh for every request.
 *
 * Signatures are made with the key and self-signed certificate the test gives (node-forge's
 * pkcs7.createSignedData, SHA-256, signed attributes contentType, messageDigest and signingTime, content
 * embedded, no certificates in it) and served as base64 wrapped at 64 characters: a PEM body without its armour,
 * which both clouds' verification scripts add themselves. The stand-in records every request it gets, so a test
 * can check what the agent sent.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import forge from 'node-forge';
import type { IdentityProvider } from '../../contract/agent-config';

export interface MetadataSigner {
  key: forge.pki.rsa.PrivateKey;
  certificate: forge.pki.Certificate;
  certPem: string;
}

/** A fresh RSA-2048 key and a self-signed certificate for it, standing in for the one the cloud publishes. */
export function makeMetadataSigner(commonName = 'Unknown'): MetadataSigner {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()) as forge.pki.rsa.PrivateKey;
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  certificate.serialNumber = `01${randomBytes(8).toString('hex')}`;
  certificate.validity.notBefore = new Date('2018-02-23T01:29:38Z');
  certificate.validity.notAfter = new Date('2038-02-18T01:29:38Z');
  const name = [{ name: 'commonName', value: commonName }];
  certificate.setSubject(name);
  certificate.setIssuer(name);
  certificate.sign(key, forge.md.sha256.create());
  return { key, certificate, certPem: forge.pki.certificateToPem(certificate) };
}

/** The document's fields a test sets; the rest get plausible values. */
export interface IdentityFields {
  instanceId: string;
  accountId: string;
  region: string;
  imageId: string;
  /** AWS only: when the instance was launched (ISO 8601, UTC). */
  pendingTime?: string;
}

export interface MetadataStandInOptions {
  provider: IdentityProvider;
  signer: MetadataSigner;
  identity: IdentityFields;
  /**
   * Refuse requests without a session token, as an instance that requires one does (AWS: 401; Alibaba's
   * hardened-only mode: 403). The default; false answers them, as an instance that allows both modes does.
   */
  requireToken?: boolean;
  /** Answer this many requests with 503 first, as a service that is not up yet might. */
  unavailableFirst?: number;
  /** Forget every token at the first GET that carries one (answered 401), as a restarted service would. */
  forgetTokensOnce?: boolean;
}

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  /** What the stand-in answered. */
  status: number;
}

export interface MetadataStandIn {
  /** The base URL, for node.json's endpoint.identity.metadataUrl. */
  url: string;
  /** The plain document as served. */
  document: string;
  /** Every request so far, in order. */
  requests: RecordedRequest[];
  /** The tokens it issued. */
  tokens(): string[];
  close(): Promise<void>;
}

interface CloudNames {
  ttlHeader: string;
  tokenHeader: string;
  /** Status for a GET without a token when one is required. */
  missingTokenStatus: number;
}

const NAMES: Record<IdentityProvider, CloudNames> = {
  aws: { ttlHeader: 'x-aws-ec2-metadata-token-ttl-seconds', tokenHeader: 'x-aws-ec2-metadata-token', missingTokenStatus: 401 },
  aliyun: { ttlHeader: 'x-aliyun-ecs-metadata-token-ttl-seconds', tokenHeader: 'x-aliyun-ecs-metadata-token', missingTokenStatus: 403 },
};

const IDENTITY = '/latest/dynamic/instance-identity';

/** AWS's layout: pretty-printed, `" : "` between name and value, absent values as null. */
export function awsDocument(fields: IdentityFields): string {
  const values: Array<[string, unknown]> = [
    ['accountId', fields.accountId],
    ['architecture', 'x86_64'],
    ['availabilityZone', `${fields.region}a`],
    ['billingProducts', null],
    ['devpayProductCodes', null],
    ['marketplaceProductCodes', null],
    ['imageId', fields.imageId],
    ['instanceId', fields.instanceId],
    ['instanceType', 't3.medium'],
    ['kernelId', null],
    ['pendingTime', fields.pendingTime ?? '2026-12-05T08:00:00Z'],
    ['privateIp', '10.0.1.23'],
    ['ramdiskId', null],
    ['region', fields.region],
    ['version', '2017-09-30'],
  ];
  return `{\n${values.map(([name, value]) => `  ${JSON.stringify(name)} : ${JSON.stringify(value)}`).join(',\n')}\n}`;
}

/** Alibaba's layout: compact JSON, the current field names. */
export function aliyunDocument(fields: IdentityFields): string {
  return JSON.stringify({
    'zone-id': `${fields.region}-b`,
    'serial-number': '4acd2b47-b328-4762-852f-998a1b2c3d4e',
    'instance-id': fields.instanceId,
    'region-id': fields.region,
    'private-ipv4': '192.168.1.23',
    'owner-account-id': fields.accountId,
    mac: '00:16:3e:0f:12:34',
    'image-id': fields.imageId,
    'instance-type': 'ecs.g7.large',
  });
}

/** The bytes Alibaba signs for `audience`: the document with `,"audience":"<audience>"` before its closing brace. */
export function aliyunSignedBytes(document: string, audience: string): Buffer {
  const trimmed = document.replace(/[\r\n]+$/, '');
  return Buffer.from(`${trimmed.slice(0, -1)},"audience":"${audience}"}`, 'utf8');
}

/** A SignedData over `content`, content embedded, as base64 wrapped at 64 characters. */
export function signContent(signer: MetadataSigner, content: Buffer): string {
  const p7 = forge.pkcs7.createSignedData();
  p7.content = forge.util.createBuffer(content.toString('binary'));
  p7.addSigner({
    key: signer.key,
    certificate: signer.certificate,
    digestAlgorithm: forge.pki.oids.sha256 as string,
    authenticatedAttributes: [
      { type: forge.pki.oids.contentType as string, value: forge.pki.oids.data as string },
      { type: forge.pki.oids.messageDigest as string },
      // forge takes a Date here, though its types say string.
      { type: forge.pki.oids.signingTime as string, value: new Date() as unknown as string },
    ],
  });
  p7.sign({ detached: false });
  const base64 = Buffer.from(forge.asn1.toDer(p7.toAsn1()).getBytes(), 'binary').toString('base64');
  return base64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
}

export async function startMetadataService(options: MetadataStandInOptions): Promise<MetadataStandIn> {
  const names = NAMES[options.provider];
  const document = options.provider === 'aws' ? awsDocument(options.identity) : aliyunDocument(options.identity);
  const issued = new Map<string, number>();
  const requests: RecordedRequest[] = [];
  let unavailable = options.unavailableFirst ?? 0;
  let forget = options.forgetTokensOnce === true;
  // AWS signs the document when the instance launches and serves that same signature until it stops.
  let awsSignature: string | undefined;

  const answer = (req: http.IncomingMessage): { status: number; body: string; headers?: Record<string, string> } => {
    if (unavailable > 0) {
      unavailable -= 1;
      return { status: 503, body: 'Service Unavailable' };
    }
    if (req.headers['x-forwarded-for'] !== undefined) return { status: 403, body: 'Forbidden' };
    const url = new URL(req.url ?? '/', 'http://metadata');
    if (url.pathname === '/latest/api/token') {
      if (req.method !== 'PUT') return { status: 405, body: 'Method Not Allowed' };
      const ttl = req.headers[names.ttlHeader];
      const seconds = typeof ttl === 'string' && /^[0-9]+$/.test(ttl) ? Number(ttl) : NaN;
      if (!(seconds >= 1 && seconds <= 21600)) return { status: 400, body: 'Missing or Invalid Parameters' };
      const token = randomBytes(32).toString('base64');
      issued.set(token, Date.now() + seconds * 1000);
      return { status: 200, body: token, headers: { [names.ttlHeader]: String(seconds) } };
    }
    if (req.method !== 'GET') return { status: 405, body: 'Method Not Allowed' };
    const token = req.headers[names.tokenHeader];
    if (token === undefined) {
      if (options.requireToken !== false) return { status: names.missingTokenStatus, body: names.missingTokenStatus === 401 ? 'Unauthorized' : 'Forbidden' };
    } else if (forget || typeof token !== 'string' || !((issued.get(token) ?? 0) > Date.now())) {
      if (forget) issued.clear();
      forget = false;
      return { status: 401, body: 'Unauthorized' };
    }
    if (url.pathname === `${IDENTITY}/document`) return { status: 200, body: document };
    if (options.provider === 'aws' && url.pathname === `${IDENTITY}/rsa2048`) return { status: 200, body: (awsSignature ??= signContent(options.signer, Buffer.from(document))) };
    if (options.provider === 'aliyun' && url.pathname === `${IDENTITY}/pkcs7`) {
      const audience = url.searchParams.get('audience');
      const content = audience === null ? Buffer.from(document) : aliyunSignedBytes(document, audience);
      return { status: 200, body: signContent(options.signer, content) };
    }
    return { status: 404, body: 'Not Found' };
  };

  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const { status, body, headers } = answer(req);
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, status });
      res.writeHead(status, { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(body)), ...headers });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    document,
    requests,
    tokens: () => [...issued.keys()],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
