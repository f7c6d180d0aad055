/**
 * The endpoint's own small PKI: a CA made on first start and a server certificate it issues.
 *
 * Nodes pin the CA by the sha256 of its DER bytes (printed by `labimg serve`, carried in user-data), so the
 * CA must never change under a running fleet; the server certificate may, and is issued afresh on every
 * start. Keys are ECDSA P-256: the server key made at every start costs 0.1 ms of CPU instead of RSA-2048's
 * 200 ms, and a TLS handshake, which a burst of new nodes is mostly made of, about a tenth less, client and
 * server together (`npm run bench:tls`, README "Figures"). A CA made before that is RSA-2048 and
 * stays (nodes pin it); the server certificate it issues is P-256 all the same, since the handshake's
 * signature is the server key's and the CA's RSA signature is checked once per connection, cheaply. Moving
 * such a site to a P-256 CA changes the pin, so it is a deliberate step: {@link replaceCa}.
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { UserError } from '../contract/errors';
import {
  authorityKeyIdentifier,
  basicConstraints,
  commonNameOf,
  issuerNamed,
  KEY_USAGE,
  keyIdentifierOf,
  keyUsage,
  pemOf,
  serverAuthOnly,
  signCertificate,
  subjectAltName,
  subjectKeyIdentifier,
} from './certificate';
import type { Store } from './store/store';

const CA_YEARS = 10;
const SERVER_DAYS = 397; // the longest validity TLS clients accept for a leaf
const DAY_MS = 24 * 60 * 60 * 1000;

export interface CertificateAuthority {
  certPem: string;
  /** PKCS #8 PEM. */
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

/** "ECDSA P-256" or "RSA-2048": what a certificate's key is, for the operator. */
export function keyTypeOf(certPem: string): string {
  const key = new X509Certificate(certPem).publicKey;
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') return details?.namedCurve === 'prime256v1' ? 'ECDSA P-256' : `ECDSA ${details?.namedCurve}`;
  if (key.asymmetricKeyType === 'rsa') return `RSA-${details?.modulusLength}`;
  return String(key.asymmetricKeyType);
}

/** The CA in the store, or undefined before the first `labimg serve` (or `pool create`) made one. */
export async function loadCa(store: Store): Promise<CertificateAuthority | undefined> {
  const stored = await store.get(CA_KEY);
  return stored === undefined ? undefined : (JSON.parse(stored) as CertificateAuthority);
}

/**
 * The endpoint CA, made on first start. It lives in the store rather than in a local file so that several
 * replicas sharing one etcd present certificates from the same CA, which is the one thing nodes pin. A CA
 * already there is used whatever its key type.
 */
export async function loadOrCreateCa(store: Store, now = new Date()): Promise<{ ca: CertificateAuthority; created: boolean }> {
  const existing = await loadCa(store);
  if (existing !== undefined) return { ca: existing, created: false };
  const ca = issueCa(now);
  if (await store.create(CA_KEY, JSON.stringify(ca))) return { ca, created: true };
  // Another replica made one first: use theirs, so every replica serves under the same CA.
  const winner = await loadCa(store);
  if (winner === undefined) throw new Error('the endpoint CA vanished from the store while it was being created');
  return { ca: winner, created: false };
}

/** `labimg ca replace` was not given the fingerprint of the CA the store holds. */
export class CaReplaceRefused extends UserError {
  constructor(message: string) {
    super(message);
    this.name = 'CaReplaceRefused';
  }
}

/**
 * Replaces the store's CA with a new P-256 one, only when `replacing` is the fingerprint of the CA there now:
 * naming it is the operator's acknowledgement that every node pinning it will refuse this endpoint until
 * its user-data is rebuilt. Atomic across replicas (a concurrent replacement makes this one refuse).
 */
export async function replaceCa(store: Store, replacing: string, now = new Date()): Promise<{ previous: CertificateAuthority; ca: CertificateAuthority }> {
  const ca = issueCa(now);
  const next = JSON.stringify(ca);
  let previous: CertificateAuthority | undefined;
  const stored = await store.update(CA_KEY, (current) => {
    previous = current === undefined ? undefined : (JSON.parse(current) as CertificateAuthority);
    return previous !== undefined && caFingerprintOf(previous.certPem) === replacing ? next : undefined;
  });
  if (previous === undefined) throw new CaReplaceRefused('the store holds no endpoint CA yet, so there is nothing to replace: `labimg serve` makes a P-256 one on its first start');
  if (stored !== next) {
    throw new CaReplaceRefused(`the endpoint CA is ${caFingerprintOf(previous.certPem)}, not ${replacing}: --replacing must name the CA being replaced (\`labimg ca show\` prints it)`);
  }
  return { previous, ca };
}

/**
 * A fresh server certificate for this process, naming every DNS name and IP address in `names`. It is
 * never stored: each replica issues its own at start, and only the CA has to stay the same.
 */
export function issueServerIdentity(ca: CertificateAuthority, names: string[], now = new Date()): ServerIdentity {
  const { privateKey, publicKey } = newKeyPair();
  const issuer = issuerNamed(ca.certPem, createPrivateKey(ca.keyPem));
  const certificate = signCertificate(
    {
      serial: newSerial(),
      subject: commonNameOf('labimg endpoint'),
      publicKey,
      ...validity(now, new Date(now.getTime() + SERVER_DAYS * DAY_MS)),
      extensions: [
        basicConstraints(false),
        // RFC 5480 §3 as updated by RFC 8813: an id-ecPublicKey certificate asserts neither keyEncipherment
        // nor dataEncipherment; a TLS server key signs the handshake (digitalSignature), nothing more.
        keyUsage([KEY_USAGE.digitalSignature]),
        serverAuthOnly(),
        subjectAltName([...new Set(names)].sort()),
        subjectKeyIdentifier(keyIdentifierOf(publicKey)),
        authorityKeyIdentifier(issuer.keyIdentifier),
      ],
    },
    issuer,
  );
  return { certChainPem: `${pemOf(certificate)}${ca.certPem}`, keyPem: pkcs8Of(privateKey) };
}

function issueCa(now: Date): CertificateAuthority {
  const { privateKey, publicKey } = newKeyPair();
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_YEARS);
  const name = commonNameOf(`labimg endpoint CA ${randomBytes(4).toString('hex')}`);
  const keyIdentifier = keyIdentifierOf(publicKey);
  const certificate = signCertificate(
    {
      serial: newSerial(),
      subject: name,
      publicKey,
      ...validity(now, notAfter),
      extensions: [
        basicConstraints(true),
        // RFC 5280 §4.2.1.3: a key that only signs certificates and CRLs SHOULD NOT assert digitalSignature.
        keyUsage([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign]),
        subjectKeyIdentifier(keyIdentifier),
      ],
    },
    // Self-signed: the authority key identifier may be left out (RFC 5280 §4.2.1.1).
    { name, keyIdentifier, privateKey },
  );
  return { certPem: pemOf(certificate), keyPem: pkcs8Of(privateKey) };
}

/** ECDSA on P-256 (prime256v1, RFC 5480 §2.1.1.1 secp256r1). */
function newKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

function pkcs8Of(privateKey: KeyObject): string {
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** 120 random bits behind a 0x01: positive, and 16 octets, within the 20 RFC 5280 §4.1.2.2 allows. */
function newSerial(): Buffer {
  return Buffer.concat([Buffer.from([0x01]), randomBytes(15)]);
}

/** A minute of slack for nodes whose clock is slightly behind the endpoint's; whole seconds, as DER times carry. */
function validity(notBefore: Date, notAfter: Date): { notBefore: Date; notAfter: Date } {
  const second = (date: Date) => new Date(Math.floor(date.getTime() / 1000) * 1000);
  return { notBefore: second(new Date(notBefore.getTime() - 60_000)), notAfter: second(notAfter) };
}
