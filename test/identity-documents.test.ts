/**
 * Signed instance identity documents, as AWS and Alibaba Cloud make them, against endpoint/identity.
 *
 * Each "cloud" here is a locally made key and self-signed certificate standing in for the certificate the cloud
 * publishes. The signatures are built like the real ones (FACTS.md, "Instance identity documents"): AWS's rsa2048 is a SHA-256 RSA
 * SignedData with the document embedded, signed attributes (contentType, signingTime, messageDigest), no
 * certificates, and BER indefinite lengths; Alibaba's is checked against the document with the audience appended.
 * The published certificates themselves are checked at the end.
 */
import test, { type ExecutionContext } from 'ava';
import { generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';
import { UserError } from '../contract/errors';
import { aliyunSignedContent, IdentityRefused, verifyInstanceIdentity, type InstanceIdentity } from '../endpoint/identity/documents';
import { parseTrustedCertificates, verifySignedData } from '../endpoint/identity/pkcs7';

const A = forge.asn1;
/** The OIDs the test signatures use, spelled out (forge's table is typed as possibly undefined). */
const OIDS = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  sha256: '2.16.840.1.101.3.4.2.1',
} as const;

// ---- stand-in clouds ----

interface Cloud {
  certPem: string;
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
}

/** AWS names every regional certificate alike (C=US, ST=Washington State, L=Seattle, O=Amazon Web Services LLC). */
const AWS_NAME = [
  { name: 'countryName', value: 'US' },
  { name: 'stateOrProvinceName', value: 'Washington State' },
  { name: 'localityName', value: 'Seattle' },
  { name: 'organizationName', value: 'Amazon Web Services LLC' },
];

function makeCloud(subject = AWS_NAME, serialHex = `01${randomBytes(8).toString('hex')}`): Cloud {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const key = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = serialHex;
  cert.validity.notBefore = new Date('2015-08-14T08:59:12Z');
  cert.validity.notAfter = new Date('2195-01-17T08:59:12Z');
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.sign(key, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), cert, key };
}

const awsRegion = makeCloud();
const awsOtherRegion = makeCloud();
const aliyun = makeCloud(['countryName', 'stateOrProvinceName', 'localityName', 'organizationName', 'organizationalUnitName', 'commonName'].map((name) => ({ name, value: 'Unknown' })));

interface SignOptions {
  signer?: Cloud;
  /** contentType, signingTime and messageDigest, as AWS's rsa2048 carries; false signs the content itself. */
  attributes?: boolean;
  detached?: boolean;
  extraSigner?: Cloud;
}

/** A DER SignedData over `content`, made by node-forge. */
function signedDer(content: string | Buffer, options: SignOptions = {}): Buffer {
  const p7 = forge.pkcs7.createSignedData();
  p7.content = forge.util.createBuffer(Buffer.from(content).toString('binary'));
  for (const signer of [options.signer ?? awsRegion, ...(options.extraSigner ? [options.extraSigner] : [])]) {
    p7.addSigner({
      key: signer.key,
      certificate: signer.cert,
      digestAlgorithm: OIDS.sha256,
      authenticatedAttributes:
        options.attributes === false
          ? []
          : [{ type: OIDS.contentType, value: OIDS.data }, { type: OIDS.signingTime, value: new Date() as unknown as string }, { type: OIDS.messageDigest }],
    });
  }
  p7.sign({ detached: options.detached ?? false });
  return Buffer.from(A.toDer(p7.toAsn1()).getBytes(), 'binary');
}

const base64 = (der: Buffer): string => der.toString('base64');

/**
 * Re-encodes DER the way AWS's rsa2048 arrives: every constructed value with an indefinite length, and the
 * content OCTET STRING split into a constructed string of pieces.
 */
function indefiniteBer(der: Buffer): Buffer {
  const encode = (node: forge.asn1.Asn1, isContent: boolean): Buffer => {
    if (Array.isArray(node.value)) {
      const tag = node.tagClass | 0x20 | node.type;
      const wrapsContent = node.tagClass === A.Class.CONTEXT_SPECIFIC && node.value.length === 1 && node.value[0]?.type === A.Type.OCTETSTRING;
      return Buffer.concat([Buffer.from([tag, 0x80]), ...node.value.map((child) => encode(child, wrapsContent)), Buffer.from([0, 0])]);
    }
    if (!isContent) return Buffer.from(A.toDer(node).getBytes(), 'binary');
    const bytes = Buffer.from(node.value, 'binary');
    const pieces = [bytes.subarray(0, 8), bytes.subarray(8)].map((piece) => Buffer.from(A.toDer(A.create(A.Class.UNIVERSAL, A.Type.OCTETSTRING, false, piece.toString('binary'))).getBytes(), 'binary'));
    return Buffer.concat([Buffer.from([0x24, 0x80]), ...pieces, Buffer.from([0, 0])]);
  };
  return encode(A.fromDer(forge.util.createBuffer(der.toString('binary'))), false);
}

/** The DER with one byte of `needle`'s first occurrence changed: a document tampered with after signing. */
function tampered(der: Buffer, needle: string): Buffer {
  const at = der.indexOf(Buffer.from(needle));
  if (at < 0) throw new Error(`"${needle}" is not in the DER`);
  const copy = Buffer.from(der);
  const last = at + needle.length - 1;
  copy[last] = (copy[last] ?? 0) ^ 0x01;
  return copy;
}

function refusal(t: ExecutionContext, run: () => unknown, message: string | RegExp): void {
  t.throws(run, { instanceOf: IdentityRefused, message });
}

// ---- documents as the clouds write them ----

/** The example output in AWS's "Instance identity documents" page, in its pretty-printed layout. */
const AWS_DOCUMENT = `{
  "accountId" : "123456789012",
  "architecture" : "x86_64",
  "availabilityZone" : "us-west-2b",
  "billingProducts" : null,
  "devpayProductCodes" : null,
  "marketplaceProductCodes" : [ "1abc2defghijklm3nopqrs4tu" ],
  "imageId" : "ami-5fb8c835",
  "instanceId" : "i-1234567890abcdef0",
  "instanceType" : "t2.micro",
  "kernelId" : null,
  "pendingTime" : "2016-11-19T16:32:11Z",
  "privateIp" : "10.158.112.84",
  "ramdiskId" : null,
  "region" : "us-west-2",
  "version" : "2017-09-30"
}`;

function awsDocument(changes: Record<string, unknown> = {}, remove: string[] = []): string {
  const doc: Record<string, unknown> = { ...JSON.parse(AWS_DOCUMENT), ...changes };
  for (const field of remove) delete doc[field];
  return JSON.stringify(doc, null, 2);
}

/** Alibaba's documented fields, compact as its metadata service serves them. */
const ALIYUN_DOCUMENT = JSON.stringify({
  'zone-id': 'cn-hangzhou-i',
  'serial-number': '4453b924-0000-4000-8000-0dcdd94628b3',
  'instance-id': 'i-bp1example00000000',
  'region-id': 'cn-hangzhou',
  'private-ipv4': '172.16.0.10',
  'owner-account-id': '1234567890123456',
  mac: '00:16:3e:00:00:01',
  'image-id': 'm-bp1example0000000',
  'instance-type': 'ecs.g7.large',
});
const NONCE = 'n0nce-Z9_x.~';

const verifyAws = (signed: string, certs = [awsRegion.certPem]): InstanceIdentity => verifyInstanceIdentity('aws', signed, certs);

// ---- AWS ----

test('a valid AWS rsa2048-style document verifies and yields its account, region, instance, image and launch time', (t) => {
  const identity = verifyAws(base64(indefiniteBer(signedDer(AWS_DOCUMENT))));
  t.like(identity, {
    provider: 'aws',
    accountId: '123456789012',
    region: 'us-west-2',
    instanceId: 'i-1234567890abcdef0',
    imageId: 'ami-5fb8c835',
    instanceType: 't2.micro',
    zone: 'us-west-2b',
    privateIp: '10.158.112.84',
    launchedAt: '2016-11-19T16:32:11Z',
  });
  t.is(identity.audience, undefined);
  t.deepEqual(identity.raw, JSON.parse(AWS_DOCUMENT));
});

test('the BER helper really writes indefinite lengths and a split content, as AWS does', (t) => {
  const ber = indefiniteBer(signedDer(AWS_DOCUMENT));
  t.is(ber.subarray(0, 2).toString('hex'), '3080');
  t.true(ber.includes(Buffer.from('2480', 'hex')));
  t.is(ber.indexOf(Buffer.from(AWS_DOCUMENT)), -1, 'the document is in pieces, not whole');
});

test('DER, base64 and PEM-armoured forms of one signature all verify', (t) => {
  const der = signedDer(AWS_DOCUMENT);
  const pem = `-----BEGIN PKCS7-----\n${base64(der).replace(/(.{64})/g, '$1\n')}\n-----END PKCS7-----\n`;
  t.is(verifySignedData(der, [awsRegion.certPem], { signer: 'aws' }).toString(), AWS_DOCUMENT);
  t.is(verifyAws(base64(der)).instanceId, 'i-1234567890abcdef0');
  t.is(verifyAws(pem).instanceId, 'i-1234567890abcdef0');
});

test('a signature without signed attributes verifies over the content itself', (t) => {
  const der = signedDer(AWS_DOCUMENT, { attributes: false });
  t.is(verifyAws(base64(der)).region, 'us-west-2');
  refusal(t, () => verifyAws(base64(tampered(der, '"us-west-2"'))), 'the signature does not verify against the configured certificate for aws');
});

test('a byte of the document changed after signing is refused', (t) => {
  const der = signedDer(AWS_DOCUMENT);
  refusal(t, () => verifyAws(base64(tampered(der, '"i-1234567890abcdef0"'))), 'the signed messageDigest does not match the content');
});

test('a signature by another key is refused, even one claiming the trusted certificate', (t) => {
  const other = makeCloud();
  refusal(t, () => verifyAws(base64(signedDer(AWS_DOCUMENT, { signer: other }))), /^the signer \(serial [0-9a-f]+\) is none of the configured certificates for aws$/);
  const impostor = makeCloud(AWS_NAME, awsRegion.cert.serialNumber);
  refusal(t, () => verifyAws(base64(signedDer(AWS_DOCUMENT, { signer: impostor }))), 'the signature does not verify against the configured certificate for aws');
});

test('with several trusted certificates, the signer is found by issuer and serial', (t) => {
  const certs = [awsOtherRegion.certPem, awsRegion.certPem];
  t.is(verifyAws(base64(signedDer(AWS_DOCUMENT, { signer: awsRegion })), certs).instanceId, 'i-1234567890abcdef0');
  t.is(verifyAws(base64(signedDer(AWS_DOCUMENT, { signer: awsOtherRegion })), certs).instanceId, 'i-1234567890abcdef0');
  refusal(t, () => verifyAws(base64(signedDer(AWS_DOCUMENT, { signer: awsOtherRegion }))), /is none of the configured certificates for aws/);
});

test('an ECDSA signer verifies too, node:crypto picking the algorithm from the key', (t) => {
  const ec = ecSigner();
  const der = handSignedData(Buffer.from(AWS_DOCUMENT), ec);
  t.is(verifySignedData(der, [awsRegion.certPem, ec.certPem], { signer: 'ec' }).toString(), AWS_DOCUMENT);
  refusal(t, () => verifySignedData(der, [awsRegion.certPem], { signer: 'ec' }), /is none of the configured certificates for ec/);
});

test('garbage, non-DER and non-SignedData inputs are refused with what they are', (t) => {
  refusal(t, () => verifyAws('not base64 at all!'), 'the signed document is not base64');
  refusal(t, () => verifyAws(''), 'the signed document is empty');
  refusal(t, () => verifyAws(base64(Buffer.from('{"accountId":"1"}'))), /^the signed document is not valid DER: /);
  refusal(t, () => verifyAws(`-----BEGIN PRIVATE KEY-----\n${base64(signedDer(AWS_DOCUMENT))}\n-----END PRIVATE KEY-----`), 'a PEM "PRIVATE KEY" block is not a PKCS#7 signature');
  const enveloped = forge.pkcs7.createEnvelopedData();
  enveloped.addRecipient(awsRegion.cert);
  enveloped.content = forge.util.createBuffer(AWS_DOCUMENT);
  enveloped.encrypt();
  refusal(t, () => verifyAws(base64(Buffer.from(A.toDer(enveloped.toAsn1()).getBytes(), 'binary'))), 'not a PKCS#7 SignedData (content type 1.2.840.113549.1.7.3)');
  refusal(t, () => verifyAws(base64(Buffer.alloc(70 * 1024, 0x30))), 'the signed document is over 65536 bytes');
});

test('several signerInfos, a detached AWS signature and an unknown digest are refused', (t) => {
  refusal(t, () => verifyAws(base64(signedDer(AWS_DOCUMENT, { extraSigner: awsOtherRegion }))), 'the PKCS#7 has 2 signerInfos; exactly one is accepted');
  refusal(t, () => verifyAws(base64(signedDer(AWS_DOCUMENT, { detached: true }))), 'the signature carries no content and no document was given with it');
  const md5 = withDigestOid(signedDer(AWS_DOCUMENT), '1.2.840.113549.2.5');
  refusal(t, () => verifyAws(base64(md5)), 'unknown digest algorithm OID 1.2.840.113549.2.5');
});

test('a verified AWS document missing or mistyping a field is refused by name', (t) => {
  for (const field of ['accountId', 'region', 'instanceId']) {
    refusal(t, () => verifyAws(base64(signedDer(awsDocument({}, [field])))), `the aws identity document has no ${field}`);
  }
  refusal(t, () => verifyAws(base64(signedDer(awsDocument({ accountId: 123456789012 })))), "the aws identity document's accountId is not a string");
  refusal(t, () => verifyAws(base64(signedDer(awsDocument({ pendingTime: 'yesterday' })))), `the aws identity document's pendingTime "yesterday" is not a UTC timestamp`);
  refusal(t, () => verifyAws(base64(signedDer('[1, 2]'))), 'the signed aws identity document is not a JSON object');
  refusal(t, () => verifyAws(base64(signedDer('{"accountId":'))), /^the signed aws identity document is not JSON: /);
  t.false('imageId' in verifyAws(base64(signedDer(awsDocument({ imageId: null })))));
});

// ---- Alibaba Cloud ----

test('the Alibaba signed content is the document with the audience appended, as its script builds it', (t) => {
  const signed = aliyunSignedContent(`${ALIYUN_DOCUMENT}\n`, NONCE).toString();
  t.is(signed, `${ALIYUN_DOCUMENT.slice(0, -1)},"audience":"${NONCE}"}`);
  t.is(JSON.parse(signed).audience, NONCE);
  t.throws(() => aliyunSignedContent(ALIYUN_DOCUMENT, 'has "quotes"'), { instanceOf: RangeError });
});

test('a valid Alibaba detached signature verifies with the document and yields the audience', (t) => {
  const signature = base64(signedDer(aliyunSignedContent(ALIYUN_DOCUMENT, NONCE), { signer: aliyun, detached: true }));
  const identity = verifyInstanceIdentity('aliyun', signature, [aliyun.certPem], { audience: NONCE, document: ALIYUN_DOCUMENT });
  t.like(identity, {
    provider: 'aliyun',
    accountId: '1234567890123456',
    region: 'cn-hangzhou',
    instanceId: 'i-bp1example00000000',
    imageId: 'm-bp1example0000000',
    instanceType: 'ecs.g7.large',
    zone: 'cn-hangzhou-i',
    privateIp: '172.16.0.10',
    audience: NONCE,
  });
  t.is(identity.raw['serial-number'], '4453b924-0000-4000-8000-0dcdd94628b3');
  t.is(identity.launchedAt, undefined);
});

test('an Alibaba signature that embeds its content verifies without the document, and must agree with one given', (t) => {
  const signature = base64(signedDer(aliyunSignedContent(ALIYUN_DOCUMENT, NONCE), { signer: aliyun }));
  t.is(verifyInstanceIdentity('aliyun', signature, [aliyun.certPem], { audience: NONCE }).instanceId, 'i-bp1example00000000');
  const otherDocument = ALIYUN_DOCUMENT.replace('172.16.0.10', '172.16.0.11');
  refusal(t, () => verifyInstanceIdentity('aliyun', signature, [aliyun.certPem], { audience: NONCE, document: otherDocument }), 'the signed content differs from the document given with it');
});

test('an Alibaba signature for another audience, another document or without one is refused', (t) => {
  const signature = base64(signedDer(aliyunSignedContent(ALIYUN_DOCUMENT, NONCE), { signer: aliyun, detached: true }));
  const certs = [aliyun.certPem];
  refusal(t, () => verifyInstanceIdentity('aliyun', signature, certs, { audience: 'a-replayed-nonce', document: ALIYUN_DOCUMENT }), 'the signed messageDigest does not match the content');
  refusal(t, () => verifyInstanceIdentity('aliyun', signature, certs, { audience: NONCE, document: ALIYUN_DOCUMENT.replace('ecs.g7.large', 'ecs.g7.xlarge') }), 'the signed messageDigest does not match the content');
  refusal(t, () => verifyInstanceIdentity('aliyun', signature, certs, { audience: NONCE }), 'the signature carries no content and no document was given with it');
  refusal(t, () => verifyInstanceIdentity('aliyun', signature, certs), 'an aliyun identity needs the audience this endpoint issued');
  refusal(t, () => verifyInstanceIdentity('aws', signature, certs, { audience: NONCE }), 'an aws identity document is signed with its content and takes no audience');
  // Embedded content carrying another audience: the signature is good, the nonce is not ours.
  const stale = base64(signedDer(aliyunSignedContent(ALIYUN_DOCUMENT, 'yesterdays-nonce'), { signer: aliyun }));
  refusal(t, () => verifyInstanceIdentity('aliyun', stale, certs, { audience: NONCE }), 'the signed audience is not the one this endpoint issued');
});

test('an Alibaba document missing a field is refused by name; the account may use the older spelling', (t) => {
  const signWith = (doc: Record<string, unknown>) => base64(signedDer(aliyunSignedContent(JSON.stringify(doc), NONCE), { signer: aliyun }));
  const base = JSON.parse(ALIYUN_DOCUMENT) as Record<string, unknown>;
  const without = (field: string) => Object.fromEntries(Object.entries(base).filter(([key]) => key !== field));
  for (const field of ['region-id', 'instance-id', 'owner-account-id']) {
    refusal(t, () => verifyInstanceIdentity('aliyun', signWith(without(field)), [aliyun.certPem], { audience: NONCE }), `the aliyun identity document has no ${field}`);
  }
  const older = { ...without('owner-account-id'), 'account-id': '1234567890123456' };
  t.is(verifyInstanceIdentity('aliyun', signWith(older), [aliyun.certPem], { audience: NONCE }).accountId, '1234567890123456');
  refusal(t, () => verifyInstanceIdentity('aliyun', signWith({ ...base, 'account-id': '42' }), [aliyun.certPem], { audience: NONCE }), "the aliyun identity document's owner-account-id and account-id disagree");
});

// ---- configuration ----

test('a configured certificate that is not a certificate is the operator’s error, not a refusal', (t) => {
  t.throws(() => parseTrustedCertificates(['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'], 'aws'), { instanceOf: UserError, message: /^configured certificate 1 for aws is not a PEM X\.509 certificate/ });
  t.throws(() => parseTrustedCertificates([], 'aws'), { instanceOf: UserError, message: 'no certificate is configured for aws' });
});

/**
 * AWS's RSA-2048 certificate for US East (N. Virginia), verbatim from "Use the RSA-2048 signature to verify the
 * instance identity document" (awsdocs/amazon-ec2-user-guide doc_source/verify-rsa2048.md at e3707c4; now on
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/regions-certs.html), read 2026-12-05.
 */
const AWS_US_EAST_1_RSA2048 = `-----BEGIN CERTIFICATE-----
MIIEEjCCAvqgAwIBAgIJALFpzEAVWaQZMA0GCSqGSIb3DQEBCwUAMFwxCzAJBgNV
BAYTAlVTMRkwFwYDVQQIExBXYXNoaW5ndG9uIFN0YXRlMRAwDgYDVQQHEwdTZWF0
dGxlMSAwHgYDVQQKExdBbWF6b24gV2ViIFNlcnZpY2VzIExMQzAgFw0xNTA4MTQw
ODU5MTJaGA8yMTk1MDExNzA4NTkxMlowXDELMAkGA1UEBhMCVVMxGTAXBgNVBAgT
EFdhc2hpbmd0b24gU3RhdGUxEDAOBgNVBAcTB1NlYXR0bGUxIDAeBgNVBAoTF0Ft
YXpvbiBXZWIgU2VydmljZXMgTExDMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIB
CgKCAQEAjS2vqZu9mEOhOq+0bRpAbCUiapbZMFNQqRg7kTlr7Cf+gDqXKpHPjsng
SfNz+JHQd8WPI+pmNs+q0Z2aTe23klmf2U52KH9/j1k8RlIbap/yFibFTSedmegX
E5r447GbJRsHUmuIIfZTZ/oRlpuIIO5/Vz7SOj22tdkdY2ADp7caZkNxhSP915fk
2jJMTBUOzyXUS2rBU/ulNHbTTeePjcEkvzVYPahD30TeQ+/A+uWUu89bHSQOJR8h
Um4cFApzZgN3aD5j2LrSMu2pctkQwf9CaWyVznqrsGYjYOY66LuFzSCXwqSnFBfv
fFBAFsjCgY24G2DoMyYkF3MyZlu+rwIDAQABo4HUMIHRMAsGA1UdDwQEAwIHgDAd
BgNVHQ4EFgQUrynSPp4uqSECwy+PiO4qyJ8TWSkwgY4GA1UdIwSBhjCBg4AUrynS
Pp4uqSECwy+PiO4qyJ8TWSmhYKReMFwxCzAJBgNVBAYTAlVTMRkwFwYDVQQIExBX
YXNoaW5ndG9uIFN0YXRlMRAwDgYDVQQHEwdTZWF0dGxlMSAwHgYDVQQKExdBbWF6
b24gV2ViIFNlcnZpY2VzIExMQ4IJALFpzEAVWaQZMBIGA1UdEwEB/wQIMAYBAf8C
AQAwDQYJKoZIhvcNAQELBQADggEBADW/s8lXijwdP6NkEoH1m9XLrvK4YTqkNfR6
er/uRRgTx2QjFcMNrx+g87gAml11z+D0crAZ5LbEhDMs+JtZYR3ty0HkDk6SJM85
haoJNAFF7EQ/zCp1EJRIkLLsC7bcDL/Eriv1swt78/BB4RnC9W9kSp/sxd5svJMg
N9a6FAplpNRsWAnbP8JBlAP93oJzblX2LQXgykTghMkQO7NaY5hg/H5o4dMPclTK
lYGqlFUCH6A2vdrxmpKDLmTn5//5pujdD2MN0df6sZWtxwZ0osljV4rDjm9Q3VpA
NWIsDEcp3GUB4proOR+C7PNkY+VGODitBOw09qBGosCBstwyEqY=
-----END CERTIFICATE-----
`;

/**
 * Alibaba Cloud's instance identity certificate ("all regions"), verbatim from "Instance identity"
 * (AlibabaCloudDocs/ecs intl.en-US/Instance/Manage instances/Metadata/Instance identity.md at 5213aca; now on
 * https://www.alibabacloud.com/help/en/ecs/user-guide/use-instance-identities), read 2026-12-05.
 */
const ALIYUN_IDENTITY_CERT = `-----BEGIN CERTIFICATE-----
MIIDdzCCAl+gAwIBAgIEZmbRhzANBgkqhkiG9w0BAQsFADBsMRAwDgYDVQQGEwdV
bmtub3duMRAwDgYDVQQIEwdVbmtub3duMRAwDgYDVQQHEwdVbmtub3duMRAwDgYD
VQQKEwdVbmtub3duMRAwDgYDVQQLEwdVbmtub3duMRAwDgYDVQQDEwdVbmtub3du
MB4XDTE4MDIyMzAxMjkzOFoXDTM4MDIxODAxMjkzOFowbDEQMA4GA1UEBhMHVW5r
bm93bjEQMA4GA1UECBMHVW5rbm93bjEQMA4GA1UEBxMHVW5rbm93bjEQMA4GA1UE
ChMHVW5rbm93bjEQMA4GA1UECxMHVW5rbm93bjEQMA4GA1UEAxMHVW5rbm93bjCC
ASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAIJwy5sbZDiNyX4mvdP32pqM
YMK4k7+5lRnVR2Fky/5uwyGSPbddNXaXzwEm+u4wIsJiaAN3OZgJpYIoCGik+9lG
5gVAIr0+/3rZ61IbeVE+vDenDd8g/m/YIdYBfC2IbzgS9EVGAf/gJdtDODXrDfQj
Fk2rQsvpftVOUs3Vpl9O+jeCQLoRbZYm0c5v7jP/L2lK0MjhiywPF2kpDeisMtnD
/ArkSPIlg1qVYm3F19v3pa6ZioM2hnwXg5DibYlgVvsIBGhvYqdQ1KosNVcVGGQa
HCUuVGdS7vHJYp3byH0vQYYygzxUJT2TqvK7pD57eYMN5drc7e19oyRQvbPQ3kkC
AwEAAaMhMB8wHQYDVR0OBBYEFAwwrnHlRgFvPGo+UD5zS1xAkC91MA0GCSqGSIb3
DQEBCwUAA4IBAQBBLhDRgezd/OOppuYEVNB9+XiJ9dNmcuHUhjNTnjiKQWVk/YDA
v+T2V3t9yl8L8o61tRIVKQ++lDhjlVmur/mbBN25/UNRpJllfpUH6oOaqvQAze4a
nRgyTnBwVBZkdJ0d1sivL9NZ4pKelJF3Ylw6rp0YMqV+cwkt/vRtzRJ31ZEeBhs7
vKh7F6BiGCHL5ZAwEUYe8O3akQwjgrMUcfuiFs4/sAeDMnmgN6Uq8DFEBXDpAxVN
sV/6Hockdfinx85RV2AUwJGfClcVcu4hMhOvKROpcH27xu9bBIeMuY0vvzP2VyOm
DoJeqU7qZjyCaUBkPimsz/1eRod6d4P5qxTj
-----END CERTIFICATE-----
`;

test('the published AWS us-east-1 RSA-2048 certificate parses with the subject and validity AWS documents', (t) => {
  const cert = new X509Certificate(AWS_US_EAST_1_RSA2048);
  t.is(cert.subject, 'C=US\nST=Washington State\nL=Seattle\nO=Amazon Web Services LLC');
  t.is(cert.issuer, cert.subject);
  t.is(cert.serialNumber.replace(/^00/, ''), 'B169CC401559A419');
  t.is(cert.validFrom, 'Aug 14 08:59:12 2015 GMT');
  t.is(cert.validTo, 'Jan 17 08:59:12 2195 GMT');
  t.is(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  t.is(parseTrustedCertificates([AWS_US_EAST_1_RSA2048], 'aws')[0]?.serial.toString('hex'), 'b169cc401559a419');
  // A document it did not sign names another signer, and is refused for that.
  refusal(t, () => verifyAws(base64(signedDer(AWS_DOCUMENT)), [AWS_US_EAST_1_RSA2048]), /is none of the configured certificates for aws/);
});

test('the published Alibaba Cloud certificate parses: an RSA-2048 key under an all-"Unknown" name, valid to 2038', (t) => {
  const cert = new X509Certificate(ALIYUN_IDENTITY_CERT);
  t.is(cert.subject, 'C=Unknown\nST=Unknown\nL=Unknown\nO=Unknown\nOU=Unknown\nCN=Unknown');
  t.is(cert.serialNumber, '6666D187');
  t.is(cert.validFrom, 'Feb 23 01:29:38 2018 GMT');
  t.is(cert.validTo, 'Feb 18 01:29:38 2038 GMT');
  t.is(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
});

test('the README names the published certificates by their serials and SHA-256 fingerprints', (t) => {
  const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8').replace(/\n#? ?/g, ' ');
  for (const pem of [AWS_US_EAST_1_RSA2048, ALIYUN_IDENTITY_CERT]) {
    const cert = new X509Certificate(pem);
    t.true(readme.includes(`serial ${cert.serialNumber.replace(/^00/, '')}, SHA-256 fingerprint ${cert.fingerprint256}`), cert.fingerprint256);
  }
});

// ---- hand-built pieces forge cannot make: an ECDSA certificate and a SignedData signed with it ----

interface HandSigner {
  certPem: string;
  name: forge.asn1.Asn1;
  serial: string;
  key: KeyObject;
}

const der = (node: forge.asn1.Asn1): Buffer => Buffer.from(A.toDer(node).getBytes(), 'binary');
const seq = (...value: forge.asn1.Asn1[]) => A.create(A.Class.UNIVERSAL, A.Type.SEQUENCE, true, value);
const set = (...value: forge.asn1.Asn1[]) => A.create(A.Class.UNIVERSAL, A.Type.SET, true, value);
const oid = (value: string) => A.create(A.Class.UNIVERSAL, A.Type.OID, false, A.oidToDer(value).getBytes());
const int = (hex: string) => A.create(A.Class.UNIVERSAL, A.Type.INTEGER, false, forge.util.hexToBytes(hex));
const octet = (bytes: Buffer) => A.create(A.Class.UNIVERSAL, A.Type.OCTETSTRING, false, bytes.toString('binary'));
const context = (tag: number, ...value: forge.asn1.Asn1[]) => A.create(A.Class.CONTEXT_SPECIFIC, tag, true, value);
const ECDSA_SHA256 = '1.2.840.10045.4.3.2';

function ecSigner(): HandSigner {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const name = seq(set(seq(oid('2.5.4.3'), A.create(A.Class.UNIVERSAL, A.Type.UTF8, false, 'ec signer'))));
  const serial = `01${randomBytes(8).toString('hex')}`;
  const time = (date: string) => A.create(A.Class.UNIVERSAL, A.Type.UTCTIME, false, A.dateToUtcTime(new Date(date)));
  const spki = A.fromDer(forge.util.createBuffer(publicKey.export({ type: 'spki', format: 'der' }).toString('binary')));
  const tbs = seq(context(0, int('02')), int(serial), seq(oid(ECDSA_SHA256)), name, seq(time('2020-01-01T00:00:00Z'), time('2049-01-01T00:00:00Z')), name, spki);
  const signature = sign('sha256', der(tbs), privateKey);
  const cert = seq(tbs, seq(oid(ECDSA_SHA256)), A.create(A.Class.UNIVERSAL, A.Type.BITSTRING, false, `\x00${signature.toString('binary')}`));
  const certPem = `-----BEGIN CERTIFICATE-----\n${der(cert).toString('base64')}\n-----END CERTIFICATE-----\n`;
  return { certPem, name, serial, key: privateKey };
}

/** A SignedData with signed attributes (contentType, messageDigest), SHA-256, signed with the hand signer's key. */
function handSignedData(content: Buffer, signer: HandSigner): Buffer {
  const digest = (data: Buffer) => Buffer.from(forge.md.sha256.create().update(data.toString('binary')).digest().getBytes(), 'binary');
  const attributes = [seq(oid(OIDS.contentType), set(oid(OIDS.data))), seq(oid(OIDS.messageDigest), set(octet(digest(content))))];
  const signature = sign('sha256', der(set(...attributes)), signer.key);
  const signerInfo = seq(int('01'), seq(signer.name, int(signer.serial)), seq(oid(OIDS.sha256)), context(0, ...attributes), seq(oid(ECDSA_SHA256)), octet(signature));
  const signedData = seq(int('01'), set(seq(oid(OIDS.sha256))), seq(oid(OIDS.data), context(0, octet(content))), set(signerInfo));
  return der(seq(oid(OIDS.signedData), context(0, signedData)));
}

/** The SignedData with its SignerInfo's digest algorithm OID replaced. */
function withDigestOid(signed: Buffer, digestOid: string): Buffer {
  const root = A.fromDer(forge.util.createBuffer(signed.toString('binary')));
  const signedData = (root.value as forge.asn1.Asn1[])[1]?.value as forge.asn1.Asn1[];
  const fields = signedData[0]?.value as forge.asn1.Asn1[];
  const signerInfo = ((fields[fields.length - 1]?.value as forge.asn1.Asn1[])[0]?.value ?? []) as forge.asn1.Asn1[];
  (signerInfo[2]?.value as forge.asn1.Asn1[])[0] = oid(digestOid);
  return der(root);
}
