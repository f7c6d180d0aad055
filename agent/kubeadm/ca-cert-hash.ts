import { createHash, X509Certificate } from 'crypto';

/** Where kubeadm keeps the cluster CA on a control-plane node. */
export const CLUSTER_CA_CERT = '/etc/kubernetes/pki/ca.crt';

/**
 * kubeadm's discovery hash of a CA certificate: "sha256:" + hex SHA-256 of its DER SubjectPublicKeyInfo
 * (cmd/kubeadm/app/util/pubkeypin). What `--discovery-token-ca-cert-hash` and caCertHashes expect.
 */
export function caCertHash(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}
