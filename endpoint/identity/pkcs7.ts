/**
 * Verification of a PKCS#7 / CMS SignedData (RFC 5652) against certificates pinned by configuration.
 *
 * Clouds sign an instance's identity document this way. There is no chain to build: the cloud publishes the
 * signing certificate itself, the operator configures it, and the signature must verify with its public key.
 * Certificates carried inside the message are never used, since anyone can put any certificate there.
 *
 * node-forge parses the DER (it reads BER's indefinite lengths too, which AWS's signatures use) but cannot verify
 * a PKCS#7 (its `verify()` throws), and its `messageFromAsn1` also decodes every embedded certificate, throwing
 * on any that is not RSA. So the SignedData is walked here over forge's ASN.1 tree, and node:crypto checks the
 * signature, for RSA, DSA and ECDSA keys alike.
 */
import { createHash, timingSafeEqual, verify as verifySignature, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { UserError } from '../../contract/errors';

/** A signed document refused: the message says why, and is safe to show the caller. */
export class IdentityRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityRefused';
  }
}

export interface VerifyOptions {
  /** Who the trusted certificates belong to, for messages: "aws", "aliyun". */
  signer: string;
  /**
   * The content, for a signature that does not carry it (a detached signature). When the signature carries
   * content too, the two must be the same bytes.
   */
  detachedContent?: Buffer;
}

/** Larger than any identity signature (AWS's are about 2 KiB): bounds the parsing work a caller can cause. */
export const MAX_SIGNED_BYTES = 64 * 1024;

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
} as const;

type DigestName = 'sha1' | 'sha256' | 'sha384' | 'sha512';
type KeyType = 'rsa' | 'dsa' | 'ec';

const DIGESTS: Readonly<Record<string, DigestName>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/**
 * Signature algorithms a SignerInfo may name: the key type it needs, and the digest when the OID names one
 * (it must then be the SignerInfo's digest algorithm). RSASSA-PSS is absent: neither cloud uses it.
 */
const SIGNATURE_ALGORITHMS: Readonly<Record<string, { key: KeyType; digest?: DigestName }>> = {
  '1.2.840.113549.1.1.1': { key: 'rsa' },
  '1.2.840.113549.1.1.5': { key: 'rsa', digest: 'sha1' },
  '1.2.840.113549.1.1.11': { key: 'rsa', digest: 'sha256' },
  '1.2.840.113549.1.1.12': { key: 'rsa', digest: 'sha384' },
  '1.2.840.113549.1.1.13': { key: 'rsa', digest: 'sha512' },
  '1.2.840.10040.4.1': { key: 'dsa' },
  '1.2.840.10040.4.3': { key: 'dsa', digest: 'sha1' },
  '2.16.840.1.101.3.4.3.2': { key: 'dsa', digest: 'sha256' },
  '1.2.840.10045.2.1': { key: 'ec' },
  '1.2.840.10045.4.1': { key: 'ec', digest: 'sha1' },
  '1.2.840.10045.4.3.2': { key: 'ec', digest: 'sha256' },
  '1.2.840.10045.4.3.3': { key: 'ec', digest: 'sha384' },
  '1.2.840.10045.4.3.4': { key: 'ec', digest: 'sha512' },
};

/** A configured certificate, with what a SignerInfo names it by. */
export interface TrustedCertificate {
  publicKey: KeyObject;
  /** DER of the issuer Name. */
  issuer: Buffer;
  /** The serial number's magnitude, without DER's leading zero bytes. */
  serial: Buffer;
}

/**
 * Parses the configured PEM certificates. A bad one is the operator's to fix, so it is a UserError, not a
 * refusal: the integration should call this once at start, before any node presents a signature.
 */
export function parseTrustedCertificates(pems: readonly string[], signer: string): TrustedCertificate[] {
  if (pems.length === 0) throw new UserError(`no certificate is configured for ${signer}`);
  return pems.map((pem, index) => {
    try {
      const cert = new X509Certificate(pem);
      const { issuer, serial } = issuerAndSerialOf(cert.raw);
      return { publicKey: cert.publicKey, issuer, serial };
    } catch (error) {
      throw new UserError(`configured certificate ${index + 1} for ${signer} is not a PEM X.509 certificate: ${(error as Error).message}`);
    }
  });
}

/**
 * Verifies `signed` (DER bytes; or base64 of them, bare or PEM-armoured) against the trusted certificates and
 * returns the signed content. Throws IdentityRefused for anything that does not verify.
 */
export function verifySignedData(signed: string | Buffer, trustedPems: readonly string[], options: VerifyOptions): Buffer {
  const trusted = parseTrustedCertificates(trustedPems, options.signer);
  const parsed = parseSignedData(decodeSignedBytes(signed));
  const content = contentToVerify(parsed.content, options.detachedContent);
  const signedBytes = signedAttributesOrContent(parsed.signer, content);
  const candidates = candidatesFor(parsed.signer, trusted, options.signer);
  const verified = candidates.some((cert) => signatureVerifies(parsed.signer, signedBytes, cert));
  if (!verified) throw new IdentityRefused(`the signature does not verify against the configured certificate for ${options.signer}`);
  return content;
}

// ---- input encodings ----

const PEM_ARMOUR = /^-----BEGIN ([A-Z0-9 #]+)-----\r?\n([\s\S]*?)\r?\n?-----END \1-----\s*$/;
/**
 * PEM labels a PKCS#7 arrives under: OpenSSL's "PKCS7" and "CMS", and "CERTIFICATE", which Alibaba's own
 * verification script wraps the signature in (OpenSSL reads CMS from it).
 */
const PEM_LABELS = new Set(['PKCS7', 'CMS', 'CERTIFICATE']);
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function decodeSignedBytes(signed: string | Buffer): Buffer {
  if (Buffer.isBuffer(signed)) return boundedSize(signed);
  const text = signed.trim();
  const armour = PEM_ARMOUR.exec(text);
  if (armour && !PEM_LABELS.has(armour[1] ?? '')) throw new IdentityRefused(`a PEM "${armour[1]}" block is not a PKCS#7 signature`);
  const body = (armour ? (armour[2] ?? '') : text).replace(/\s+/g, '');
  if (body.length === 0) throw new IdentityRefused('the signed document is empty');
  if (body.length % 4 !== 0 || !BASE64.test(body)) throw new IdentityRefused('the signed document is not base64');
  return boundedSize(Buffer.from(body, 'base64'));
}

function boundedSize(der: Buffer): Buffer {
  if (der.length === 0) throw new IdentityRefused('the signed document is empty');
  if (der.length > MAX_SIGNED_BYTES) throw new IdentityRefused(`the signed document is over ${MAX_SIGNED_BYTES} bytes`);
  return der;
}

// ---- the SignedData structure ----

type Node = forge.asn1.Asn1;
const { Class, Type } = forge.asn1;

interface SignerInfo {
  /** The issuer Name (DER) and serial magnitude, when the signer is named by IssuerAndSerialNumber. */
  issuerAndSerial?: { issuer: Buffer; serial: Buffer };
  digest: DigestName;
  signatureAlgorithm: { key: KeyType; digest?: DigestName };
  /** The signed attributes re-encoded as the SET that was signed, and the messageDigest among them. */
  signedAttributes?: { der: Buffer; messageDigest: Buffer };
  signature: Buffer;
}

interface SignedData {
  content?: Buffer;
  signer: SignerInfo;
}

function parseSignedData(der: Buffer): SignedData {
  const contentInfo = fromDer(der);
  const [type, explicit] = children(contentInfo, Type.SEQUENCE, 'ContentInfo');
  const contentType = oidOf(type, 'ContentInfo contentType');
  if (contentType !== OID.signedData) throw new IdentityRefused(`not a PKCS#7 SignedData (content type ${contentType})`);
  const signedData = only(children(need(explicit, 'ContentInfo content'), 0, 'ContentInfo content', Class.CONTEXT_SPECIFIC), 'ContentInfo content');
  const fields = children(signedData, Type.SEQUENCE, 'SignedData');
  const signerInfos = children(need(fields[fields.length - 1], 'SignedData signerInfos'), Type.SET, 'SignedData signerInfos');
  if (signerInfos.length !== 1) throw new IdentityRefused(`the PKCS#7 has ${signerInfos.length} signerInfos; exactly one is accepted`);
  return { content: encapsulatedContent(need(fields[2], 'SignedData encapContentInfo')), signer: parseSignerInfo(need(signerInfos[0], 'SignerInfo')) };
}

function fromDer(der: Buffer): Node {
  try {
    return forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')));
  } catch (error) {
    throw new IdentityRefused(`the signed document is not valid DER: ${(error as Error).message}`);
  }
}

/** eContent, joined from its pieces when BER split it into a constructed OCTET STRING; undefined when detached. */
function encapsulatedContent(node: Node): Buffer | undefined {
  const [type, explicit] = children(node, Type.SEQUENCE, 'encapContentInfo');
  const eContentType = oidOf(type, 'eContentType');
  if (eContentType !== OID.data) throw new IdentityRefused(`the signed content is not id-data (content type ${eContentType})`);
  if (explicit === undefined) return undefined;
  return octets(only(children(explicit, 0, 'eContent', Class.CONTEXT_SPECIFIC), 'eContent'), 'eContent');
}

function parseSignerInfo(node: Node): SignerInfo {
  const fields = children(node, Type.SEQUENCE, 'SignerInfo');
  let at = 1; // [0] is the version, which says nothing the fields below do not
  const sid = need(fields[at++], 'SignerInfo sid');
  const digest = digestOf(need(fields[at++], 'SignerInfo digestAlgorithm'));
  const attributes = isContext(fields[at], 0) ? need(fields[at++], 'signedAttrs') : undefined;
  const signatureAlgorithm = signatureAlgorithmOf(need(fields[at++], 'SignerInfo signatureAlgorithm'), digest);
  const signature = primitive(need(fields[at++], 'SignerInfo signature'), Type.OCTETSTRING, 'SignerInfo signature');
  return {
    ...(isSequence(sid) ? { issuerAndSerial: issuerAndSerialFrom(sid) } : {}),
    digest,
    signatureAlgorithm,
    ...(attributes ? { signedAttributes: signedAttributesOf(attributes) } : {}),
    signature,
  };
}

function digestOf(node: Node): DigestName {
  const oid = oidOf(need(children(node, Type.SEQUENCE, 'digestAlgorithm')[0], 'digestAlgorithm'), 'digestAlgorithm');
  const digest = DIGESTS[oid];
  if (!digest) throw new IdentityRefused(`unknown digest algorithm OID ${oid}`);
  return digest;
}

function signatureAlgorithmOf(node: Node, digest: DigestName): { key: KeyType; digest?: DigestName } {
  const oid = oidOf(need(children(node, Type.SEQUENCE, 'signatureAlgorithm')[0], 'signatureAlgorithm'), 'signatureAlgorithm');
  const algorithm = SIGNATURE_ALGORITHMS[oid];
  if (!algorithm) throw new IdentityRefused(`unknown signature algorithm OID ${oid}`);
  if (algorithm.digest !== undefined && algorithm.digest !== digest) {
    throw new IdentityRefused(`the signature algorithm (${algorithm.digest}) disagrees with the digest algorithm (${digest})`);
  }
  return algorithm;
}

/**
 * RFC 5652 §5.4: with signed attributes, the signature covers the DER of the attributes under an EXPLICIT SET OF
 * tag (0x31), not the [0] IMPLICIT tag they travel under. Re-encoding the parsed children under a SET gives those
 * bytes: forge keeps each primitive's value as read, and the attributes are DER in any signature that verifies.
 */
function signedAttributesOf(node: Node): { der: Buffer; messageDigest: Buffer } {
  const attributes = children(node, 0, 'signedAttrs', Class.CONTEXT_SPECIFIC);
  const set = forge.asn1.create(Class.UNIVERSAL, Type.SET, true, attributes);
  const der = Buffer.from(forge.asn1.toDer(set).getBytes(), 'binary');
  const values = new Map<string, Node[]>();
  for (const attribute of attributes) {
    const [type, valueSet] = children(attribute, Type.SEQUENCE, 'Attribute');
    const oid = oidOf(type, 'Attribute type');
    if (values.has(oid)) throw new IdentityRefused(`the signed attributes repeat ${oid}`);
    values.set(oid, children(need(valueSet, 'Attribute values'), Type.SET, 'Attribute values'));
  }
  const contentType = values.get(OID.contentType);
  if (contentType === undefined) throw new IdentityRefused('the signed attributes carry no contentType');
  if (oidOf(only(contentType, 'contentType'), 'contentType') !== OID.data) throw new IdentityRefused('the signed contentType is not id-data');
  const digest = values.get(OID.messageDigest);
  if (digest === undefined) throw new IdentityRefused('the signed attributes carry no messageDigest');
  return { der, messageDigest: primitive(only(digest, 'messageDigest'), Type.OCTETSTRING, 'messageDigest') };
}

function issuerAndSerialFrom(node: Node): { issuer: Buffer; serial: Buffer } {
  const [issuer, serial] = children(node, Type.SEQUENCE, 'IssuerAndSerialNumber');
  const name = need(issuer, 'issuer');
  children(name, Type.SEQUENCE, 'issuer'); // a Name is a SEQUENCE of RDNs
  return { issuer: reencode(name), serial: magnitude(primitive(need(serial, 'serialNumber'), Type.INTEGER, 'serialNumber')) };
}

/** The issuer Name and serial of a certificate (DER), found the same way as a SignerInfo's, so they compare. */
function issuerAndSerialOf(certificateDer: Buffer): { issuer: Buffer; serial: Buffer } {
  const tbs = children(need(children(fromDer(certificateDer), Type.SEQUENCE, 'Certificate')[0], 'tbsCertificate'), Type.SEQUENCE, 'tbsCertificate');
  const at = isContext(tbs[0], 0) ? 1 : 0; // the [0] version is absent from v1 certificates
  return {
    serial: magnitude(primitive(need(tbs[at], 'serialNumber'), Type.INTEGER, 'serialNumber')),
    issuer: reencode(need(tbs[at + 2], 'issuer')),
  };
}

// ---- verification ----

function contentToVerify(embedded: Buffer | undefined, detached: Buffer | undefined): Buffer {
  if (embedded === undefined && detached === undefined) throw new IdentityRefused('the signature carries no content and no document was given with it');
  if (embedded !== undefined && detached !== undefined && !embedded.equals(detached)) {
    throw new IdentityRefused('the signed content differs from the document given with it');
  }
  return (embedded ?? detached) as Buffer;
}

/** What the signature covers: the signed attributes once their messageDigest matches the content, else the content. */
function signedAttributesOrContent(signer: SignerInfo, content: Buffer): Buffer {
  if (signer.signedAttributes === undefined) return content;
  const digest = createHash(signer.digest).update(content).digest();
  const claimed = signer.signedAttributes.messageDigest;
  if (claimed.length !== digest.length || !timingSafeEqual(claimed, digest)) throw new IdentityRefused('the signed messageDigest does not match the content');
  return signer.signedAttributes.der;
}

/** The trusted certificates the SignerInfo may mean: the one it names by issuer and serial, or all when it names none. */
function candidatesFor(signer: SignerInfo, trusted: TrustedCertificate[], who: string): TrustedCertificate[] {
  const named = signer.issuerAndSerial;
  if (named === undefined) return trusted;
  const matching = trusted.filter((cert) => cert.issuer.equals(named.issuer) && cert.serial.equals(named.serial));
  if (matching.length === 0) {
    throw new IdentityRefused(`the signer (serial ${named.serial.toString('hex')}) is none of the configured certificates for ${who}`);
  }
  return matching;
}

function signatureVerifies(signer: SignerInfo, data: Buffer, cert: TrustedCertificate): boolean {
  if (cert.publicKey.asymmetricKeyType !== signer.signatureAlgorithm.key) return false;
  try {
    // PKCS#1 v1.5 for RSA keys; DER-encoded (r, s) for DSA and ECDSA, which is how CMS carries them.
    return verifySignature(signer.digest, data, cert.publicKey, signer.signature);
  } catch {
    return false;
  }
}

// ---- small ASN.1 readers over forge's tree; each refuses with what it expected ----

function need(node: Node | undefined, what: string): Node {
  if (node === undefined) throw new IdentityRefused(`malformed PKCS#7: ${what} is missing`);
  return node;
}

function only(nodes: Node[], what: string): Node {
  if (nodes.length !== 1) throw new IdentityRefused(`malformed PKCS#7: ${what} holds ${nodes.length} values, not one`);
  return nodes[0] as Node;
}

function children(node: Node, type: number, what: string, tagClass: number = Class.UNIVERSAL): Node[] {
  if (node.tagClass !== tagClass || node.type !== type || !Array.isArray(node.value)) {
    throw new IdentityRefused(`malformed PKCS#7: ${what} is not the expected constructed type`);
  }
  return node.value;
}

function primitive(node: Node, type: number, what: string): Buffer {
  if (node.tagClass !== Class.UNIVERSAL || node.type !== type || typeof node.value !== 'string') {
    throw new IdentityRefused(`malformed PKCS#7: ${what} is not the expected primitive type`);
  }
  return Buffer.from(node.value, 'binary');
}

/** An OCTET STRING's bytes; BER may split one into a constructed OCTET STRING of pieces. */
function octets(node: Node, what: string): Buffer {
  if (node.tagClass === Class.UNIVERSAL && node.type === Type.OCTETSTRING && Array.isArray(node.value)) {
    return Buffer.concat(node.value.map((piece) => octets(piece, what)));
  }
  return primitive(node, Type.OCTETSTRING, what);
}

function oidOf(node: Node | undefined, what: string): string {
  const bytes = primitive(need(node, what), Type.OID, what);
  return forge.asn1.derToOid(forge.util.createBuffer(bytes.toString('binary')));
}

function isContext(node: Node | undefined, type: number): boolean {
  return node !== undefined && node.tagClass === Class.CONTEXT_SPECIFIC && node.type === type;
}

function isSequence(node: Node): boolean {
  return node.tagClass === Class.UNIVERSAL && node.type === Type.SEQUENCE;
}

function reencode(node: Node): Buffer {
  return Buffer.from(forge.asn1.toDer(node).getBytes(), 'binary');
}

/** An INTEGER's content without leading zero bytes, so 00:bd:… (DER's sign byte) and bd:… compare equal. */
function magnitude(integer: Buffer): Buffer {
  let start = 0;
  while (start < integer.length - 1 && integer[start] === 0) start++;
  return integer.subarray(start);
}
