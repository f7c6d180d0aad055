/**
 * HTTPS to the join endpoint, trusting exactly one CA: the one whose sha256 node.json pins.
 *
 * The node has no copy of the CA certificate, only its fingerprint (as kubeadm's discovery has only the CA's
 * public-key hash). So, like kubeadm, it first learns the CA: a handshake in which the server presents its
 * chain and nothing is sent; the certificate in that chain whose DER hashes to the pin is the CA. Every real
 * request then runs over a TLS connection verified against that CA alone, so a token is never sent to a
 * server that cannot prove it holds a certificate from the pinned CA.
 *
 * The host name is not checked against the certificate: the pinned CA exists only for this endpoint, and
 * nodes reach it by addresses (a NAT, 10.0.2.2 from a VM) no certificate could list in advance.
 *
 * Core modules only: the agent runs on Node 16, which has no fetch.
 */
import { createHash, X509Certificate } from 'crypto';
import https from 'https';
import tls from 'tls';
import type { DetailedPeerCertificate } from 'tls';

export class PinMismatch extends Error {
  constructor(url: string, expected: string, seen: string[]) {
    super(
      `the endpoint ${url} presented no certificate from the pinned CA ${expected} (it presented ${seen.join(', ') || 'no certificate'}); ` +
        'refusing to send it anything. Check endpoint.caFingerprint in node.json against what `labimg serve` prints.',
    );
    this.name = 'PinMismatch';
  }
}

/** The endpoint could not be reached or did not answer in time; worth trying again later. */
export class EndpointUnreachable extends Error {
  constructor(url: string, cause: string) {
    super(`cannot reach the endpoint ${url}: ${cause}`);
    this.name = 'EndpointUnreachable';
  }
}

export interface EndpointResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or undefined for an empty or non-JSON body. */
  body: unknown;
}

export interface RequestOptions {
  /** Bearer credential; never logged. */
  token?: string;
  body?: unknown;
}

const TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 1024 * 1024;

export class PinnedHttpsClient {
  private readonly url: URL;
  private caPem?: string;
  private readonly agent: https.Agent;

  constructor(readonly baseUrl: string, private readonly caFingerprint: string, private readonly timeoutMs = TIMEOUT_MS) {
    this.url = new URL(baseUrl);
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 4 });
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<EndpointResponse> {
    const ca = await this.trustedCa();
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: this.url.hostname.replace(/^\[|\]$/g, ''),
          port: this.url.port || 443,
          method,
          path,
          agent: this.agent,
          ca,
          checkServerIdentity: () => undefined, // see the file comment: the pinned CA is the identity
          timeout: this.timeoutMs,
          headers: {
            accept: 'application/json',
            ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
            ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) req.destroy(new Error('response too large'));
            else chunks.push(chunk);
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown;
            try {
              body = text ? JSON.parse(text) : undefined;
            } catch {
              body = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
          });
          res.on('error', (error) => reject(new EndpointUnreachable(this.baseUrl, error.message)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (error) => reject(new EndpointUnreachable(this.baseUrl, error.message)));
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }

  /** The pinned CA's PEM, learned from the server's own chain on first use. */
  private async trustedCa(): Promise<string> {
    if (this.caPem) return this.caPem;
    const chain = await this.presentedChain();
    const seen = chain.map((der) => fingerprint(der));
    const at = seen.indexOf(this.caFingerprint);
    if (at < 0) throw new PinMismatch(this.baseUrl, this.caFingerprint, seen);
    this.caPem = new X509Certificate(chain[at] as Buffer).toString();
    return this.caPem;
  }

  /** The DER certificates the server presents, leaf first; the connection is closed before anything is sent. */
  private presentedChain(): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      const host = this.url.hostname.replace(/^\[|\]$/g, '');
      const socket = tls.connect({
        host,
        port: Number(this.url.port || 443),
        // Not verified here on purpose: this handshake only fetches the chain, which is then checked against the pin.
        rejectUnauthorized: false,
        ...(/^[0-9.:]+$/.test(host) ? {} : { servername: host }),
      });
      socket.setTimeout(this.timeoutMs, () => socket.destroy(new Error(`no TLS handshake within ${this.timeoutMs} ms`)));
      socket.once('secureConnect', () => {
        const chain: Buffer[] = [];
        let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
        while (cert?.raw && !chain.some((c) => c.equals(cert!.raw))) {
          chain.push(cert.raw);
          cert = cert.issuerCertificate;
        }
        socket.destroy();
        resolve(chain);
      });
      socket.once('error', (error) => reject(new EndpointUnreachable(this.baseUrl, error.message)));
    });
  }
}

export function fingerprint(der: Buffer): string {
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}
