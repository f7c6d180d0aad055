/**
 * X.509 v3 certificates (RFC 5280 §4.1), assembled as DER here and signed by node:crypto, for keys node-forge's
 * X.509 layer cannot hold or sign with (ECDSA); what is read back from a CA's certificate, node-forge's ASN.1
 * parser reads. Only what the endpoint's PKI issues: a common-name subject, the extensions
 * below, and a signature by an ECDSA P-256 or an RSA key.
 *
 * Sources, read 2026-12-05: RFC 5280 https://www.rfc-editor.org/rfc/rfc5280 (certificate, extensions);
 * RFC 5758 §3.2 https://www.rfc-editor.org/rfc/rfc5758#section-3.2 (ecdsa-with-SHA256); RFC 4055 §5
 * https://www.rfc-editor.org/rfc/rfc4055#section-5 (sha256WithRSAEncryption); RFC 5480 §2.1.1
 * https://www.rfc-editor.org/rfc/rfc5480#section-2.1.1 (the P-256 public key). FACTS.md lists each rule.
 */
import { createHash, createPublicKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import forge from 'node-forge';
import * as der from './der';

const OID = {
  commonName: '2.5.4.3',
  // RFC 5758 §3.2: ecdsa-with-SHA256 { iso(1) member-body(2) us(840) ansi-X9-62(10045) signatures(4) ecdsa-with-SHA2(3) 2 }
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  // RFC 4055 §5: sha256WithRSAEncryption { pkcs-1 11 }
  sha256WithRsa: '1.2.840.113549.1.1.11',
  // RFC 5280 §4.2.1.x: id-ce 14, 15, 17, 19, 35, 37; id-kp-serverAuth { id-kp 1 } (§4.2.1.12)
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

/** KeyUsage bit numbers (RFC 5280 §4.2.1.3). */
export const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

/** Who signs: their name exactly as their own certificate encodes it, their key identifier and private key. */
export interface Issuer {
  name: Buffer;
  keyIdentifier: Buffer;
  privateKey: KeyObject;
}

export interface CertificateFields {
  /** A positive serial of at most 20 octets (RFC 5280 §4.1.2.2). */
  serial: Buffer;
  subject: Buffer;
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  /** Encoded with {@link extension}. */
  extensions: Buffer[];
}

/** A Name holding one common name, as a UTF8String (RFC 5280 §4.1.2.4 allows PrintableString or UTF8String). */
export function commonNameOf(commonName: string): Buffer {
  return der.sequence(der.set(der.sequence(der.oid(OID.commonName), der.utf8String(commonName))));
}

/** The certificate, DER, signed by `issuer` with SHA-256. */
export function signCertificate(fields: CertificateFields, issuer: Issuer): Buffer {
  const algorithm = signatureAlgorithmFor(issuer.privateKey);
  const tbs = der.sequence(
    der.tagged(0, true, der.smallInteger(2)), // version v3 (RFC 5280 §4.1.2.1: extensions are present)
    der.unsignedInteger(fields.serial),
    algorithm,
    issuer.name,
    der.sequence(der.time(fields.notBefore), der.time(fields.notAfter)),
    fields.subject,
    fields.publicKey.export({ type: 'spki', format: 'der' }),
    der.tagged(3, true, der.sequence(...fields.extensions)),
  );
  // For an EC key node:crypto returns the DER ECDSA-Sig-Value SEQUENCE { r, s } that RFC 5758 §3.2 puts in
  // the BIT STRING; for RSA the PKCS #1 v1.5 signature.
  const signature = sign('sha256', tbs, issuer.privateKey);
  return der.sequence(tbs, algorithm, der.bitString(signature));
}

/**
 * The AlgorithmIdentifier of a SHA-256 signature by `key`. RFC 5758 §3.2: ecdsa-with-SHA256 with the
 * parameters field omitted; RFC 4055 §5: sha256WithRSAEncryption with NULL parameters.
 */
function signatureAlgorithmFor(key: KeyObject): Buffer {
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return der.sequence(der.oid(OID.ecdsaWithSha256));
  if (key.asymmetricKeyType === 'rsa') return der.sequence(der.oid(OID.sha256WithRsa), der.NULL);
  throw new Error(`cannot sign a certificate with a ${key.asymmetricKeyType} key${key.asymmetricKeyDetails?.namedCurve ? ` on ${key.asymmetricKeyDetails.namedCurve}` : ''}: only ECDSA P-256 and RSA`);
}

/** An Extension: extnID, critical (left out when false: DER omits a DEFAULT value), extnValue. */
export function extension(id: keyof typeof OID, critical: boolean, value: Buffer): Buffer {
  return der.sequence(der.oid(OID[id]), ...(critical ? [der.boolean(true)] : []), der.octetString(value));
}

/** basicConstraints (RFC 5280 §4.2.1.9): a CA that signs only end-entity certificates, or not a CA (an empty SEQUENCE: cA defaults to FALSE). */
export function basicConstraints(ca: boolean): Buffer {
  return extension('basicConstraints', true, ca ? der.sequence(der.boolean(true), der.smallInteger(0)) : der.sequence());
}

export function keyUsage(bits: number[]): Buffer {
  return extension('keyUsage', true, der.namedBits(bits));
}

export function serverAuthOnly(): Buffer {
  return extension('extKeyUsage', false, der.sequence(der.oid(OID.serverAuth)));
}

/** subjectAltName (RFC 5280 §4.2.1.6): dNSName [2] IA5String, iPAddress [7] the 4 or 16 address octets. */
export function subjectAltName(names: string[]): Buffer {
  const general = names.map((name) => (ipBytes(name) ? der.tagged(7, false, ipBytes(name) as Buffer) : der.tagged(2, false, Buffer.from(name, 'ascii'))));
  return extension('subjectAltName', false, der.sequence(...general));
}

export function subjectKeyIdentifier(keyIdentifier: Buffer): Buffer {
  return extension('subjectKeyIdentifier', false, der.octetString(keyIdentifier));
}

/** authorityKeyIdentifier (RFC 5280 §4.2.1.1): keyIdentifier [0] IMPLICIT OCTET STRING, the issuer's subject key identifier. */
export function authorityKeyIdentifier(keyIdentifier: Buffer): Buffer {
  return extension('authorityKeyIdentifier', false, der.sequence(der.tagged(0, false, keyIdentifier)));
}

/**
 * RFC 5280 §4.2.1.2 method (1): the SHA-1 of the subjectPublicKey BIT STRING's value (without tag, length
 * and unused-bits octet).
 */
export function keyIdentifierOf(publicKey: KeyObject): Buffer {
  const [, subjectPublicKey] = childrenOf(asn1Of(publicKey.export({ type: 'spki', format: 'der' })));
  if (subjectPublicKey?.type !== forge.asn1.Type.BITSTRING || typeof subjectPublicKey.value !== 'string') throw new Error('SubjectPublicKeyInfo without a BIT STRING');
  return createHash('sha1').update(bytesOf(subjectPublicKey.value).subarray(1)).digest();
}

/**
 * What a certificate signed by `certPem`'s key must say about its issuer: the subject Name exactly as encoded
 * there (name chaining compares it, RFC 5280 §4.1.2.4), and the subject key identifier it established, which
 * §4.2.1.1 says to reuse (recomputed by method (1) only for a certificate that has none).
 */
export function issuerNamed(certPem: string, privateKey: KeyObject): Issuer {
  const { Class } = forge.asn1;
  const [tbs] = childrenOf(asn1Of(new X509Certificate(certPem).raw));
  const fields = tbs ? childrenOf(tbs) : [];
  const isContext = (node: forge.asn1.Asn1 | undefined, tag: number) => node?.tagClass === Class.CONTEXT_SPECIFIC && node.type === tag;
  // version [0] (present in v3), serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, …, extensions [3]
  const subject = fields[(isContext(fields[0], 0) ? 1 : 0) + 4];
  if (!subject) throw new Error('certificate without a subject');
  const extensions = childrenOf(childrenOf(fields.find((field) => isContext(field, 3)) ?? emptyNode)[0] ?? emptyNode);
  const ski = extensions.find((ext) => {
    const [id] = childrenOf(ext);
    return typeof id?.value === 'string' && forge.asn1.derToOid(forge.util.createBuffer(id.value)) === OID.subjectKeyIdentifier;
  });
  // extnValue is an OCTET STRING holding the DER of the SubjectKeyIdentifier, itself an OCTET STRING.
  const extnValue = ski && childrenOf(ski).at(-1)?.value;
  const keyIdentifier = typeof extnValue === 'string' ? asn1Of(bytesOf(extnValue)).value : undefined;
  return {
    name: bytesOf(forge.asn1.toDer(subject).getBytes()),
    keyIdentifier: typeof keyIdentifier === 'string' ? bytesOf(keyIdentifier) : keyIdentifierOf(createPublicKey(certPem)),
    privateKey,
  };
}

// Reading DER is node-forge's (its ASN.1 parser; only its X.509 layer cannot hold EC keys). BIT STRINGs are
// kept as their bytes: a public key is not ASN.1 to descend into.
// (@types/node-forge knows only the older boolean `strict` argument; node-forge 1.x lib/asn1.js fromDer takes options.)
const fromDer = forge.asn1.fromDer as unknown as (bytes: forge.util.ByteStringBuffer, options: { decodeBitStrings: boolean }) => forge.asn1.Asn1;
const asn1Of = (bytes: Buffer): forge.asn1.Asn1 => fromDer(forge.util.createBuffer(bytes.toString('binary')), { decodeBitStrings: false });
const bytesOf = (binary: string): Buffer => Buffer.from(binary, 'binary');
const childrenOf = (node: forge.asn1.Asn1): forge.asn1.Asn1[] => (Array.isArray(node.value) ? node.value : []);
const emptyNode = forge.asn1.create(forge.asn1.Class.UNIVERSAL, forge.asn1.Type.SEQUENCE, true, []);

/** The 4 or 16 octets of an IP address (RFC 5280 §4.2.1.6: network byte order), or undefined for a DNS name. */
function ipBytes(name: string): Buffer | undefined {
  if (isIPv4(name)) return Buffer.from(name.split('.').map(Number));
  if (!isIPv6(name)) return undefined;
  // IPv6: the groups either side of "::" with zeros between; a dotted IPv4 tail counts as two groups.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(name)?.[1];
  const text = tail ? name.slice(0, -tail.length) + ipv4AsGroups(tail) : name;
  const [head = '', rest] = text.split('::');
  const groups = (part: string) => (part ? part.split(':') : []);
  const missing = 8 - groups(head).length - (rest === undefined ? 0 : groups(rest).length);
  const all = rest === undefined ? groups(head) : [...groups(head), ...Array<string>(missing).fill('0'), ...groups(rest)];
  if (all.length !== 8) throw new Error(`cannot read the IPv6 address ${name}`);
  const bytes = Buffer.alloc(16);
  all.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}

function ipv4AsGroups(dotted: string): string {
  const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

export function pemOf(certificate: Buffer): string {
  const lines = certificate.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
