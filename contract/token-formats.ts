/**
 * The shapes of the secrets and pins labimg handles, in one place: the builder checks flags against them, the
 * endpoint checks request bodies, and the agent checks what it is given and redacts what looks like one.
 */

/**
 * A kubeadm bootstrap token, "<id>.<secret>": cluster-bootstrap's BootstrapTokenPattern,
 * `\A([a-z0-9]{6})\.([a-z0-9]{16})\z` (k8s.io/cluster-bootstrap, token/api/types.go; read 2026-12-02).
 */
export const BOOTSTRAP_TOKEN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;

/** The same shape anywhere in a text, for redaction: kubeadm prints tokens it generates. */
export const BOOTSTRAP_TOKEN_IN_TEXT = /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g;

/**
 * A kubeadm certificate key: 32 random bytes, hex-encoded (kubeadm's copycerts.CreateCertificateKey with
 * CertificateKeySize = 32, cmd/kubeadm/app/phases/copycerts/copycerts.go; read 2026-12-02).
 */
export const CERTIFICATE_KEY = /^[a-f0-9]{64}$/;

/**
 * A CA public-key pin as kubeadm's --discovery-token-ca-cert-hash takes it: "sha256:" and the hex SHA-256 of
 * the certificate's Subject Public Key Info (cmd/kubeadm/app/util/pubkeypin/pubkeypin.go).
 */
export const CA_CERT_HASH = /^sha256:[a-f0-9]{64}$/;

/** A labimg enrollment token, "<id>.<secret>": an 8-character id and 32 random bytes as unpadded base64url. */
export const ENROLLMENT_TOKEN = /^([a-z0-9]{8})\.([A-Za-z0-9_-]{43})$/;

/** A labimg node credential: 32 random bytes as unpadded base64url, made by the node itself (or the endpoint). */
export const NODE_CREDENTIAL = /^[A-Za-z0-9_-]{43}$/;
