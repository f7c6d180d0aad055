/**
 * The control plane's PKI as `kubeadm init` leaves it in /etc/kubernetes/pki: the cluster CA (ca.crt, ca.key),
 * reused when both files exist ("If both files already exist, kubeadm skips the generation step": kubernetes.io
 * kubeadm_init_phase_certs_ca reference, read 2026-12-06), and the API server's serving
 * certificate (apiserver.crt, apiserver.key) signed by it for the names joining nodes connect to. RSA 2048 keys
 * from node:crypto (native, fast even on the VM's TCG CPU),
 * the X.509 structure from node-forge, which the repository already depends on and esbuild bundles for the
 * guest's Node 18 (no openssl CLI is needed in the image).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import forge from 'node-forge';

export interface ClusterPki {
  caCertPem: string;
  caKeyPem: string;
  servingCertPem: string;
  servingKeyPem: string;
}

function rsaKeyPem(): string {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
}

/** A positive serial (the high bit cleared, so the DER INTEGER is not negative). */
function serialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

function certificate(subjectCn: string, keyPem: string, signer: { certPem: string; keyPem: string } | undefined, extensions: object[], years: number): string {
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = serialHex();
  cert.validity.notBefore = new Date(Date.now() - 5 * 60_000);
  cert.validity.notAfter = new Date(Date.now() + years * 365 * 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: subjectCn }]);
  const issuer = signer ? forge.pki.certificateFromPem(signer.certPem) : cert;
  cert.setIssuer(issuer.subject.attributes);
  cert.setExtensions(extensions);
  cert.sign((signer ? forge.pki.privateKeyFromPem(signer.keyPem) : key) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** The names the serving certificate covers: each IP as an IP SAN, anything else as a DNS name. */
function altNames(names: string[]): object[] {
  return [...new Set(names)].map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name }));
}

/**
 * Makes (or reuses) the CA in `dir` and a fresh serving certificate for `names`: the advertise address, the
 * controlPlaneEndpoint's host and apiServer.certSANs, which is what a joining node here connects to (kubeadm adds
 * the service IP and cluster DNS names too, which nothing in these tests dials).
 */
export function ensureClusterPki(dir: string, names: string[]): ClusterPki {
  mkdirSync(dir, { recursive: true });
  const caCertFile = `${dir}/ca.crt`;
  const caKeyFile = `${dir}/ca.key`;
  let caCertPem: string;
  let caKeyPem: string;
  if (existsSync(caCertFile) && existsSync(caKeyFile)) {
    caCertPem = readFileSync(caCertFile, 'utf8');
    caKeyPem = readFileSync(caKeyFile, 'utf8');
  } else {
    caKeyPem = rsaKeyPem();
    caCertPem = certificate('kubernetes', caKeyPem, undefined, [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ], 10);
    writeFileSync(caKeyFile, caKeyPem, { mode: 0o600 });
    writeFileSync(caCertFile, caCertPem, { mode: 0o644 });
  }
  const servingKeyPem = rsaKeyPem();
  const servingCertPem = certificate('kube-apiserver', servingKeyPem, { certPem: caCertPem, keyPem: caKeyPem }, [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: altNames(['kubernetes', ...names]) },
  ], 1);
  writeFileSync(`${dir}/apiserver.key`, servingKeyPem, { mode: 0o600 });
  writeFileSync(`${dir}/apiserver.crt`, servingCertPem, { mode: 0o644 });
  return { caCertPem, caKeyPem, servingCertPem, servingKeyPem };
}
