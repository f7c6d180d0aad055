/**
 * HTTPS to the join endpoint, trusting exactly one CA: the one whose sha256 node.json pins.
 *
 * The node has no copy of the CA certificate, only its fingerprint (as kubeadm's discovery has only the CA's
 * public-key hash). So every connection learns the CA from the handshake itself: the server presents its
 * chain, the certificate in it whose DER hashes to the pin is the CA, and the server's own certificate must
 * be signed by that CA and be within its validity. Only then is the socket handed to HTTP, so nothing (a
 * token least of all) is ever written to a server that has not proved it holds a key certified by the pinned
 * CA: TLS itself proved the server holds the key of the certificate it presented.
 *
 * One handshake per connection, verified by hand, rather than a discovery handshake followed by a second one
 * verified by OpenSSL against the learned CA: the endpoint's cost under a burst of new nodes is almost all
 * TLS handshakes, and this halves them.
 *
 * The host name is not checked against the certificate: the pinned CA exists only for this endpoint, and
 * nodes reach it by addresses (a NAT, 10.0.2.2 from a VM) no certificate could list in advance.
 *
 * Core modules only: the agent runs on Node 16, which has no fetch.
 */
import { createHash, X509Certificate } from 'crypto';
import { Agent, request, type AgentOptions, type RequestOptions as HttpsRequestOptions } from 'https';
import { isIP } from 'net';
import type { Duplex } from 'stream';
import { connect, type DetailedPeerCertificate, type TLSSocket } from 'tls';

/** The server is not the pinned endpoint (or node.json pins the wrong CA): trying again cannot help. */
export class PinMismatch extends Error {
  constructor(url: string, expected: string, problem: string) {
    super(
      `the endpoint ${url} ${problem}, not one from the pinned CA ${expected}; refusing to send it anything. ` +
        'Check endpoint.caFingerprint in node.json against what `labimg serve` prints.',
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
  /** More headers (the node's own credential on enrollment); never logged. */
  headers?: Record<string, string>;
}

const TIMEOUT_MS = 10_000;
const MAX_RESPONSE_BYTES = 1024 * 1024;

export class PinnedHttpsClient {
  readonly #baseUrl: string;
  readonly #url: URL;
  readonly #agent: Agent;
  readonly #caFingerprint: string;
  readonly #timeoutMs: number;

  constructor(baseUrl: string, caFingerprint: string, timeoutMs = TIMEOUT_MS) {
    this.#baseUrl = baseUrl;
    this.#caFingerprint = caFingerprint;
    this.#timeoutMs = timeoutMs;
    this.#url = new URL(baseUrl);
    this.#agent = new PinnedAgent({ keepAlive: true, maxSockets: 4 }, (options, callback) => this.#connect(options, callback));
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<EndpointResponse> {
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.#url.hostname.replace(/^\[|\]$/g, ''),
          port: this.#url.port || 443,
          method,
          path,
          agent: this.#agent,
          timeout: this.#timeoutMs,
          headers: {
            accept: 'application/json',
            ...options.headers,
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
            let body: unknown;
            try {
              body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {} // an empty body, or one that is not JSON (a proxy's HTML page): undefined, which no route's answer is
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
          });
          res.on('error', (error) => reject(new EndpointUnreachable(this.#baseUrl, error.message)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
      req.on('error', (error) => reject(error instanceof PinMismatch || error instanceof EndpointUnreachable ? error : new EndpointUnreachable(this.#baseUrl, error.message)));
      req.end(payload);
    });
  }

  close(): void {
    this.#agent.destroy();
  }

  /** A TLS socket to the endpoint, handed over only once its chain has passed {@link verifyPeer}. */
  #connect(options: HttpsRequestOptions, callback: (error: Error | null, socket?: Duplex) => void): void {
    const host = String(options.host);
    const socket = connect({
      host,
      port: Number(options.port),
      // OpenSSL's chain check is replaced by verifyPeer, which knows the pin; the handshake still proves the
      // server holds the key of the certificate it presents.
      rejectUnauthorized: false,
      ...(isIP(host) ? {} : { servername: host }),
    });
    let settled = false;
    const settle = (error: Error | null) => {
      if (settled) return;
      settled = true;
      if (!error) return callback(null, socket);
      socket.destroy();
      callback(error);
    };
    socket.setTimeout(this.#timeoutMs, () => settle(new EndpointUnreachable(this.#baseUrl, `no TLS handshake within ${this.#timeoutMs} ms`)));
    socket.once('error', (error) => settle(new EndpointUnreachable(this.#baseUrl, error.message)));
    socket.once('secureConnect', () => {
      try {
        this.#verifyPeer(socket);
        socket.setTimeout(0);
        settle(null);
      } catch (error) {
        settle(error as Error);
      }
    });
  }

  /** Throws unless the server's certificate is the pinned CA or is signed by it, and is valid now. */
  #verifyPeer(socket: TLSSocket): void {
    const chain = presentedChain(socket);
    const seen = chain.map((der) => fingerprint(der));
    const at = seen.indexOf(this.#caFingerprint);
    const presented = `presented ${seen.join(', ') || 'no certificate'}`;
    if (at < 0) throw new PinMismatch(this.#baseUrl, this.#caFingerprint, presented);
    const ca = new X509Certificate(chain[at] as Buffer);
    const leaf = new X509Certificate(chain[0] as Buffer);
    if (at > 0 && !ca.ca) throw new PinMismatch(this.#baseUrl, this.#caFingerprint, `pins a certificate that is not a CA (${presented})`);
    // An impostor can copy the public CA certificate into its chain; only the CA's signature on the
    // server's own certificate shows that the CA vouches for the key the handshake proved.
    if (at > 0 && !(leaf.checkIssued(ca) && leaf.verify(ca.publicKey))) {
      throw new PinMismatch(this.#baseUrl, this.#caFingerprint, `presented a server certificate ${seen[0]} the pinned CA did not sign`);
    }
    // A clock not yet set at boot is the likely cause, and time fixes it: retryable, unlike a wrong CA.
    const now = Date.now();
    for (const cert of at > 0 ? [leaf, ca] : [leaf]) {
      if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) {
        throw new EndpointUnreachable(this.#baseUrl, `its certificate ${fingerprint(cert.raw)} is valid from ${cert.validFrom} to ${cert.validTo}, and this node's clock says ${new Date(now).toISOString()}`);
      }
    }
  }
}

type Connect = (options: HttpsRequestOptions, callback: (error: Error | null, socket?: Duplex) => void) => void;

/** A keep-alive agent whose new connections come from `connect`, asynchronously, already verified. */
class PinnedAgent extends Agent {
  readonly #connect: Connect;

  constructor(options: AgentOptions, connect: Connect) {
    super(options);
    this.#connect = connect;
  }

  // Returning nothing tells Node's agent the socket comes through the callback (Node 16 and later).
  override createConnection(options: HttpsRequestOptions, callback?: (error: Error | null, socket: Duplex) => void): undefined {
    this.#connect(options, (error, socket) => callback?.(error, socket as Duplex));
    return undefined;
  }
}

/** The DER certificates the server presented, leaf first. */
function presentedChain(socket: TLSSocket): Buffer[] {
  const chain: Buffer[] = [];
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  while (cert?.raw && !chain.some((c) => c.equals(cert!.raw))) {
    chain.push(cert.raw);
    cert = cert.issuerCertificate;
  }
  return chain;
}

export function fingerprint(der: Buffer): string {
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}
