/**
 * The endpoint's CA and server certificate as other tools read them: openssl (`x509 -text`, `asn1parse`,
 * `verify -x509_strict`), Node's X509Certificate, and a real TLS handshake through the agent's pinned client
 * against a real `labimg serve`. New stores get an ECDSA P-256 CA; a store that holds an RSA CA (made by the
 * endpoint before it used P-256) keeps it, and `labimg ca replace` replaces it only when told which CA goes.
 *
 * Expected encodings are written out by hand from their sources (FACTS.md, "The endpoint's CA and server certificate").
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import forge from 'node-forge';
import { PinMismatch, PinnedHttpsClient } from '../agent/endpoint/pinned-https';
import { caFingerprintOf, issueServerIdentity, loadOrCreateCa, type CertificateAuthority } from '../endpoint/pki';
import { FileStore } from '../endpoint/store/file-store';
import { labimg, tempDir } from './helpers/cli';
import { startServe } from './helpers/endpoint';

/** AlgorithmIdentifier ecdsa-with-SHA256, parameters absent (RFC 5758 §3.2). */
const ECDSA_WITH_SHA256 = '300a06082a8648ce3d040302';
/** AlgorithmIdentifier sha256WithRSAEncryption, parameters NULL (RFC 4055 §5). */
const SHA256_WITH_RSA = '300d06092a864886f70d01010b0500';
/** AlgorithmIdentifier of a P-256 public key: id-ecPublicKey with namedCurve secp256r1 (RFC 5480 §2.1.1). */
const P256_SPKI_ALGORITHM = '301306072a8648ce3d020106082a8648ce3d030107';

function scratch(t: ExecutionContext, prefix: string): string {
  const dir = tempDir(prefix);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes the PEM to `dir/name` and returns its path. */
function pemFile(dir: string, name: string, pem: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, pem);
  return file;
}

const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8' });

/** The certificates of a PEM chain, leaf first. */
function certificatesOf(chainPem: string): string[] {
  return chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? [];
}

/** openssl's text for one extension: the indented line(s) under its heading. */
function extensionText(text: string, heading: string): string | undefined {
  const match = new RegExp(`${heading}:( critical)?[ ]*\\n\\s+([^\\n]+)`).exec(text);
  return match ? `${match[1] ? 'critical ' : ''}${match[2]?.trim()}` : undefined;
}

/**
 * An RSA-2048 CA as the endpoint made them before it used P-256: node:crypto's key, node-forge's certificate
 * with the same extensions (the code removed from endpoint/pki.ts, kept here to make the stores it left).
 */
function legacyRsaCa(): CertificateAuthority {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 86_400_000);
  const subject = [{ name: 'commonName', value: `labimg endpoint CA ${randomBytes(4).toString('hex')}` }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/** A data directory whose store already holds `ca`, as one from an older labimg does. */
async function storeHolding(dir: string, ca: CertificateAuthority): Promise<string> {
  const data = path.join(dir, 'data');
  const store = new FileStore(data);
  await store.create('pki/ca', JSON.stringify(ca));
  await store.close();
  return data;
}

test('a new endpoint CA is ECDSA P-256, self-signed with ecdsa-with-SHA256, a CA for certificates only', async (t) => {
  const dir = scratch(t, 'labimg-pki-');
  const { ca, created } = await loadOrCreateCa(new FileStore(path.join(dir, 'data')));
  t.true(created);
  const caFile = pemFile(dir, 'ca.pem', ca.certPem);
  const text = openssl('x509', '-noout', '-text', '-in', caFile);
  t.regex(text, /Version: 3 \(0x2\)/);
  t.regex(text, /Public Key Algorithm: id-ecPublicKey\s+Public-Key: \(256 bit\)/);
  t.regex(text, /ASN1 OID: prime256v1\s+NIST CURVE: P-256/);
  t.is((text.match(/Signature Algorithm: ecdsa-with-SHA256/g) ?? []).length, 2);
  t.regex(text, /Subject: CN = labimg endpoint CA [0-9a-f]{8}\n/);
  t.is(extensionText(text, 'X509v3 Basic Constraints'), 'critical CA:TRUE, pathlen:0');
  t.is(extensionText(text, 'X509v3 Key Usage'), 'critical Certificate Sign, CRL Sign');
  t.regex(extensionText(text, 'X509v3 Subject Key Identifier') ?? '', /^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);

  const der = new X509Certificate(ca.certPem).raw.toString('hex');
  t.is(der.split(ECDSA_WITH_SHA256).length - 1, 2, 'the algorithm, without parameters, in tbsCertificate and in signatureAlgorithm');
  t.true(der.includes(P256_SPKI_ALGORITHM));
  t.is(openssl('verify', '-x509_strict', '-CAfile', caFile, caFile), `${caFile}: OK\n`);

  const cert = new X509Certificate(ca.certPem);
  t.true(cert.ca);
  t.true(cert.checkIssued(cert));
  t.true(cert.verify(cert.publicKey));
  t.is(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  t.regex(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  t.is(createPrivateKey(ca.keyPem).asymmetricKeyType, 'ec');
});

test('its server certificate is P-256 for serverAuth, digitalSignature only, names every address, and chains to the CA', async (t) => {
  const dir = scratch(t, 'labimg-pki-');
  const { ca } = await loadOrCreateCa(new FileStore(path.join(dir, 'data')));
  const identity = issueServerIdentity(ca, ['localhost', '127.0.0.1', '::1', 'fd00::5', '10.0.2.2', 'localhost']);
  const [leafPem, chainedCa] = certificatesOf(identity.certChainPem);
  t.is(chainedCa, ca.certPem, 'the chain carries the CA, for the node to find the pin in');
  const [caFile, leafFile] = [pemFile(dir, 'ca.pem', ca.certPem), pemFile(dir, 'leaf.pem', leafPem as string)];
  const text = openssl('x509', '-noout', '-text', '-in', leafFile);
  const caText = openssl('x509', '-noout', '-text', '-in', caFile);
  t.regex(text, /Public Key Algorithm: id-ecPublicKey[\s\S]+ASN1 OID: prime256v1/);
  t.regex(text, /Signature Algorithm: ecdsa-with-SHA256/);
  t.regex(text, /Subject: CN = labimg endpoint\n/);
  t.regex(text, new RegExp(`Issuer: ${/Subject: (.+)\n/.exec(caText)?.[1]}\n`));
  t.is(extensionText(text, 'X509v3 Basic Constraints'), 'critical CA:FALSE');
  // RFC 5480 §3 with RFC 8813: no keyEncipherment for an EC key.
  t.is(extensionText(text, 'X509v3 Key Usage'), 'critical Digital Signature');
  t.is(extensionText(text, 'X509v3 Extended Key Usage'), 'TLS Web Server Authentication');
  t.is(extensionText(text, 'X509v3 Subject Alternative Name'), 'IP Address:10.0.2.2, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:FD00:0:0:0:0:0:0:5, DNS:localhost');
  t.regex(extensionText(text, 'X509v3 Subject Key Identifier') ?? '', /^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
  t.is(extensionText(text, 'X509v3 Authority Key Identifier'), extensionText(caText, 'X509v3 Subject Key Identifier'));
  t.is(openssl('verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', caFile, leafFile), `${leafFile}: OK\n`);

  const leaf = new X509Certificate(leafPem as string);
  const caCert = new X509Certificate(ca.certPem);
  t.false(leaf.ca);
  t.true(leaf.checkIssued(caCert));
  t.true(leaf.verify(caCert.publicKey));
  t.false(leaf.verify(leaf.publicKey), 'signed by the CA, not by itself');
  t.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  t.is(leaf.checkHost('localhost'), 'localhost');
  t.is(leaf.checkIP('fd00::5'), 'fd00::5');
  t.is(leaf.checkIP('10.0.2.2'), '10.0.2.2');
  t.is(createPrivateKey(identity.keyPem).asymmetricKeyDetails?.namedCurve, 'prime256v1');
});

test('validity dates are UTCTime through 2049 and GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)', async (t) => {
  const dir = scratch(t, 'labimg-pki-');
  const { ca } = await loadOrCreateCa(new FileStore(path.join(dir, 'data')));
  // Issued 2049-12-01: a minute of slack before, 397 days after (2050 is not a leap year).
  const [leafPem] = certificatesOf(issueServerIdentity(ca, ['127.0.0.1'], new Date('2049-12-01T00:00:00.250Z')).certChainPem);
  const parsed = openssl('asn1parse', '-in', pemFile(dir, 'leaf.pem', leafPem as string));
  t.regex(parsed, /prim: UTCTIME +:491130235900Z\n.*prim: GENERALIZEDTIME +:20510102000000Z\n/);
});

test('a store that holds an RSA CA keeps it, and the server certificate it signs is P-256 with sha256WithRSAEncryption', async (t) => {
  const dir = scratch(t, 'labimg-pki-');
  const legacy = legacyRsaCa();
  const data = await storeHolding(dir, legacy);
  const { ca, created } = await loadOrCreateCa(new FileStore(data));
  t.false(created);
  t.is(ca.certPem, legacy.certPem, 'the CA nodes pin is still there, byte for byte');

  const [leafPem] = certificatesOf(issueServerIdentity(ca, ['127.0.0.1']).certChainPem);
  const [caFile, leafFile] = [pemFile(dir, 'ca.pem', ca.certPem), pemFile(dir, 'leaf.pem', leafPem as string)];
  const text = openssl('x509', '-noout', '-text', '-in', leafFile);
  t.regex(text, /Signature Algorithm: sha256WithRSAEncryption/);
  t.regex(text, /Public Key Algorithm: id-ecPublicKey[\s\S]+ASN1 OID: prime256v1/);
  t.is(extensionText(text, 'X509v3 Key Usage'), 'critical Digital Signature');
  t.is(extensionText(text, 'X509v3 Authority Key Identifier'), extensionText(openssl('x509', '-noout', '-text', '-in', caFile), 'X509v3 Subject Key Identifier'));
  t.is(new X509Certificate(leafPem as string).raw.toString('hex').split(SHA256_WITH_RSA).length - 1, 2, 'NULL parameters, in both places');
  t.is(openssl('verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', caFile, leafFile), `${leafFile}: OK\n`);
  const leaf = new X509Certificate(leafPem as string);
  t.true(leaf.checkIssued(new X509Certificate(ca.certPem)));
  t.true(leaf.verify(new X509Certificate(ca.certPem).publicKey));
});

/** The chain a TLS client is shown: each certificate's key type and curve, leaf first. */
function presentedKeys(port: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const keys: string[] = [];
      let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      while (cert?.raw && keys.length < 3) {
        const key = new X509Certificate(cert.raw).publicKey;
        keys.push(`${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? key.asymmetricKeyDetails?.modulusLength}`);
        cert = cert.issuerCertificate === cert ? undefined : cert.issuerCertificate;
      }
      socket.end();
      resolve(keys);
    });
    socket.on('error', reject);
  });
}

async function healthzThroughPin(t: ExecutionContext, url: string, pin: string): Promise<number> {
  const client = new PinnedHttpsClient(url, pin, 20_000);
  t.teardown(() => client.close());
  return (await client.request('GET', '/healthz')).status;
}

test('labimg serve on a new data directory makes a P-256 CA and presents a P-256 chain the pinned client accepts', async (t) => {
  const dir = scratch(t, 'labimg-pki-serve-');
  const serve = await startServe({ data: path.join(dir, 'data') });
  t.teardown(() => serve.kill());
  t.regex(serve.output(), /CA fingerprint sha256:[0-9a-f]{64} \(ECDSA P-256, new CA, made on this first start\)/);
  t.deepEqual(await presentedKeys(serve.port), ['ec prime256v1', 'ec prime256v1']);
  t.is(await healthzThroughPin(t, serve.url, serve.caFingerprint), 200);
});

test('labimg serve on a store with an RSA CA keeps its pin and presents a P-256 server certificate under it', async (t) => {
  const dir = scratch(t, 'labimg-pki-serve-');
  const legacy = legacyRsaCa();
  const serve = await startServe({ data: await storeHolding(dir, legacy) });
  t.teardown(() => serve.kill());
  t.is(serve.caFingerprint, caFingerprintOf(legacy.certPem));
  // The hint is the log line after the fingerprint's, which may arrive in a later chunk.
  for (let waited = 0; !serve.output().includes('labimg ca replace') && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  t.regex(serve.output(), /CA fingerprint sha256:[0-9a-f]{64} \(RSA-2048\)\n.*the CA is RSA .* `labimg ca replace` moves to a P-256 CA/);
  t.deepEqual(await presentedKeys(serve.port), ['ec prime256v1', 'rsa 2048']);
  t.is(await healthzThroughPin(t, serve.url, caFingerprintOf(legacy.certPem)), 200, 'nodes built with the old fingerprint still get in');
});

test('labimg ca replace moves a store to a P-256 CA only when told which CA goes, and never under a running serve', async (t) => {
  const dir = scratch(t, 'labimg-pki-replace-');
  const legacy = legacyRsaCa();
  const oldPin = caFingerprintOf(legacy.certPem);
  const data = await storeHolding(dir, legacy);
  const show = () => labimg(['ca', 'show', '--data', data]);
  t.regex(show().stdout, new RegExp(`^${oldPin}  RSA-2048  valid until \\d{4}-\\d\\d-\\d\\dT`));

  const unnamed = labimg(['ca', 'replace', '--data', data]);
  t.is(unnamed.code, 2, 'a usage error');
  t.regex(unnamed.stderr, /Missing required argument: replacing\nname the CA being replaced: --replacing sha256:/);
  const wrong = labimg(['ca', 'replace', '--data', data, '--replacing', `sha256:${'0'.repeat(64)}`]);
  t.is(wrong.code, 1);
  t.is(wrong.stderr, `labimg: the endpoint CA is ${oldPin}, not sha256:${'0'.repeat(64)}: --replacing must name the CA being replaced (\`labimg ca show\` prints it)\n`);

  const serve = await startServe({ data });
  const busy = labimg(['ca', 'replace', '--data', data, '--replacing', oldPin]);
  t.is(busy.code, 1);
  t.regex(busy.stderr, /is in use by another labimg serve \(pid \d+\)/);
  await serve.kill();
  t.regex(show().stdout, new RegExp(`^${oldPin}  RSA-2048`), 'every refusal left the CA as it was');

  const replaced = labimg(['ca', 'replace', '--data', data, '--replacing', oldPin]);
  t.is(replaced.code, 0, replaced.stderr);
  const newPin = replaced.stdout.trim();
  t.regex(newPin, /^sha256:[0-9a-f]{64}$/);
  t.not(newPin, oldPin);
  t.regex(replaced.stderr, /refuse the endpoint:\nwrite their user-data again \(labimg build --endpoint-ca-fingerprint NEW\), and on nodes already running set\nendpoint\.caFingerprint in \/etc\/labimg\/node\.json to NEW\.\n$/);
  t.regex(show().stdout, new RegExp(`^${newPin}  ECDSA P-256  valid until `));
  t.regex(labimg(['audit', '--data', data]).stdout, new RegExp(`ca-replaced +reason="${oldPin} \\(RSA-2048\\) replaced by ${newPin} \\(ECDSA P-256\\)"`));
  t.is(labimg(['ca', 'replace', '--data', data, '--replacing', oldPin]).code, 1, 'a second run with the same words replaces nothing');

  const again = await startServe({ data, port: serve.port });
  t.teardown(() => again.kill());
  t.is(again.caFingerprint, newPin);
  t.deepEqual(await presentedKeys(again.port), ['ec prime256v1', 'ec prime256v1']);
  t.is(await healthzThroughPin(t, again.url, newPin), 200);
  await t.throwsAsync(healthzThroughPin(t, again.url, oldPin), { instanceOf: PinMismatch });
});

test('labimg ca on a store without a CA makes none', (t) => {
  const data = path.join(scratch(t, 'labimg-pki-empty-'), 'data');
  t.is(labimg(['ca', 'show', '--data', data]).stdout, 'no endpoint CA yet: `labimg serve` makes one (ECDSA P-256) on its first start\n');
  const replace = labimg(['ca', 'replace', '--data', data, '--replacing', `sha256:${'0'.repeat(64)}`]);
  t.is(replace.code, 1);
  t.regex(replace.stderr, /holds no endpoint CA yet, so there is nothing to replace/);
  t.is(labimg(['ca', 'show', '--data', data]).stdout, 'no endpoint CA yet: `labimg serve` makes one (ECDSA P-256) on its first start\n');
});
