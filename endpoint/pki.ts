/**
 * The endpoint's own small PKI: a CA made on first start and a server certificate it issues.
 *
 * Nodes pin the CA by the sha256 of its DER bytes (printed by `labimg serve`, carried in user-data), so the
 * CA must never change under a running fleet; the server certificate may, and is issued afresh on every
 * start. Keys are made by Node's crypto; node-forge only assembles and signs the X.509 structures, which
 * Node cannot do.
 */
import { createHash, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';
import type { Store } from './store/store';

const CA_YEARS = 10;
const SERVER_DAYS = 397; // the longest validity TLS clients accept for a leaf
const DAY_MS = 24 * 60 * 60 * 1000;

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

export interface ServerIdentity {
  /** The server certificate followed by the CA's: nodes find the CA to pin in the handshake itself. */
  certChainPem: string;
  keyPem: string;
}

const CA_KEY = 'pki/ca';

export function caFingerprintOf(certPem: string): string {
  return `sha256:${createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex')}`;
}

/**
 * The endpoint CA, made on first start. It lives in the store rather than in a local file so that several
 * replicas sharing one etcd present certificates from the same CA, which is the one thing nodes pin.
 */
export async function loadOrCreateCa(store: Store, now = new Date()): Promise<{ ca: CertificateAuthority; created: boolean }> {
  const existing = await store.get(CA_KEY);
  if (existing !== undefined) return { ca: JSON.parse(existing) as CertificateAuthority, created: false };
  const made = issueCa(now);
  const ca: CertificateAuthority = { certPem: made.certPem, keyPem: made.keyPem };
  if (await store.create(CA_KEY, JSON.stringify(ca))) return { ca, created: true };
  // Another replica made one first: use theirs, so every replica serves under the same CA.
  const winner = await store.get(CA_KEY);
  if (winner === undefined) throw new Error('the endpoint CA vanished from the store while it was being created');
  return { ca: JSON.parse(winner) as CertificateAuthority, created: false };
}

/**
 * A fresh server certificate for this process, naming every DNS name and IP address in `names`. It is
 * never stored: each replica issues its own at start, and only the CA has to stay the same.
 */
export function issueServerIdentity(ca: CertificateAuthority, names: string[], now = new Date()): ServerIdentity {
  const server = issueServerCert(ca.certPem, ca.keyPem, [...new Set(names)].sort(), now);
  return { certChainPem: `${server.certPem}${ca.certPem}`, keyPem: server.keyPem };
}

interface Issued {
  certPem: string;
  keyPem: string;
}

function newKeyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function newCertificate(publicPem: string, notBefore: Date, notAfter: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  // A positive 128-bit serial: the leading 0x01 keeps the DER integer from reading as negative.
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  // A minute of slack for nodes whose clock is slightly behind the endpoint's.
  cert.validity.notBefore = new Date(notBefore.getTime() - 60_000);
  cert.validity.notAfter = notAfter;
  return cert;
}

function issueCa(now: Date): Issued {
  const keys = newKeyPair();
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_YEARS);
  const cert = newCertificate(keys.publicPem, now, notAfter);
  const subject = [{ name: 'commonName', value: `labimg endpoint CA ${randomBytes(4).toString('hex')}` }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keys.privatePem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privatePem };
}

function issueServerCert(caCertPem: string, caKeyPem: string, names: string[], now: Date): Issued {
  const keys = newKeyPair();
  const ca = forge.pki.certificateFromPem(caCertPem);
  const cert = newCertificate(keys.publicPem, now, new Date(now.getTime() + SERVER_DAYS * DAY_MS));
  cert.setSubject([{ name: 'commonName', value: 'labimg endpoint' }]);
  cert.setIssuer(ca.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: names.map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name })) },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(caKeyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privatePem };
}
