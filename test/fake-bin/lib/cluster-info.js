'use strict';
/**
 * Kubernetes' token discovery, both halves, for the kubeadm stand-ins (test/fake-bin/kubeadm and the VM's
 * e2e/guest/kubeadm.ts): the cluster-info ConfigMap a control plane serves in kube-public with one detached JWS
 * per bootstrap token (what the bootstrap signer maintains), and the checks `kubeadm join` makes on it.
 *
 * Sources, read 2026-12-06:
 *   - k8s.io/cluster-bootstrap token/jws/jws.go (ComputeDetachedSignature, DetachedTokenIsValid) and its
 *     jws_test.go vectors: go-jose signs with HS256, the JWK's key = the token SECRET alone (not id.secret), and
 *     "kid" = the token ID passed as an extra header; the compact JWS has its payload cut out (header..signature);
 *     validity is the recomputed string being equal. go-jose serialises the protected header as a Go map, keys
 *     sorted: {"alg":"HS256","kid":"<id>"}. kubernetes/website#56477 (2026-07-12) confirms the key is the secret;
 *     kubernetes#142012/#142101 (2026-09) note the 16-byte secret is below RFC 7518's 32-byte minimum for HS256,
 *     which newer go-jose rejects, and that kubeadm must stay compatible with it: so no minimum here either.
 *   - k8s.io/cluster-bootstrap token/api/types.go: ConfigMapClusterInfo = "cluster-info", KubeConfigKey =
 *     "kubeconfig", JWSSignatureKeyPrefix = "jws-kubeconfig-".
 *   - pkg/controller/bootstrap/bootstrapsigner.go signConfigMap: signs data.kubeconfig, as it is, with every
 *     bootstrap token valid for signing, writing jws-kubeconfig-<id>, and drops signatures of other IDs.
 *   - cmd/kubeadm/app/phases/bootstraptoken/clusterinfo/clusterinfo.go CreateBootstrapConfigMapIfNotExists:
 *     data.kubeconfig is admin.conf's cluster (server, certificate-authority-data) under the name "" and nothing
 *     else, written by clientcmd.Write.
 *   - cmd/kubeadm/app/discovery/token/token.go (kubernetes/kubernetes 038dec7f): join's checks and messages, used
 *     below; cmd/kubeadm/app/util/pubkeypin/pubkeypin.go: a pin is "sha256:" + hex SHA-256 of the certificate's
 *     DER SubjectPublicKeyInfo; CheckAny's error is `none of the public keys "<hashes joined by :>" are pinned`.
 */
const crypto = require('crypto');
const yaml = require('js-yaml');

const CONFIG_MAP_NAME = 'cluster-info';
const CONFIG_MAP_NAMESPACE = 'kube-public';
const KUBECONFIG_KEY = 'kubeconfig';
const JWS_KEY_PREFIX = 'jws-kubeconfig-';
/** The API path client-go GETs for it (core/v1 ConfigMaps(kube-public).Get("cluster-info")). */
const CLUSTER_INFO_PATH = `/api/v1/namespaces/${CONFIG_MAP_NAMESPACE}/configmaps/${CONFIG_MAP_NAME}`;
/** cluster-bootstrap token/api BootstrapTokenPattern: [a-z0-9]{6}.[a-z0-9]{16}. */
const BOOTSTRAP_TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

/** A kubeadm error: its message is what kubeadm prints. */
class DiscoveryError extends Error {}

/** "abcdef.0123456789abcdef" → { id, secret }; kubeadm's message when it is not one. */
function parseBootstrapToken(token) {
  const match = BOOTSTRAP_TOKEN.exec(String(token));
  if (!match) throw new DiscoveryError(`the bootstrap token "${token}" was not of the form "[a-z0-9]{6}.[a-z0-9]{16}"`);
  return { id: match[1], secret: match[2] };
}

/** jws.go ComputeDetachedSignature: header..signature, HS256 keyed by the token secret, kid = the token ID. */
function computeDetachedSignature(content, tokenId, tokenSecret) {
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', kid: tokenId })).toString('base64url');
  const payload = Buffer.from(content, 'utf8').toString('base64url');
  const signature = crypto.createHmac('sha256', Buffer.from(tokenSecret, 'utf8')).update(`${header}.${payload}`).digest('base64url');
  return `${header}..${signature}`;
}

/** jws.go DetachedTokenIsValid: the signature recomputed from content and token is the same string. */
function detachedTokenIsValid(detached, content, tokenId, tokenSecret) {
  const expected = Buffer.from(computeDetachedSignature(content, tokenId, tokenSecret));
  const given = Buffer.from(String(detached));
  return expected.length === given.length && crypto.timingSafeEqual(expected, given);
}

/** clusterinfo.go: admin.conf's cluster under the name "", as clientcmd.Write writes a Config. */
function clusterInfoKubeconfig(server, caPem) {
  return yaml.dump({
    apiVersion: 'v1',
    clusters: [{ cluster: { 'certificate-authority-data': Buffer.from(caPem).toString('base64'), server }, name: '' }],
    contexts: null,
    'current-context': '',
    kind: 'Config',
    preferences: {},
    users: null,
  });
}

/**
 * The ConfigMap the bootstrap signer keeps: data.kubeconfig and one jws-kubeconfig-<id> per token that may sign
 * (`usages` containing "signing"; empty usages default to kubeadm's DefaultTokenUsages, constants.go, ["signing",
 * "authentication"], in bootstraptoken/v1 SetDefaults_BootstrapToken).
 */
function clusterInfoConfigMap(kubeconfig, tokens) {
  const data = { [KUBECONFIG_KEY]: kubeconfig };
  for (const token of tokens) {
    if (token.usages && token.usages.length > 0 && !token.usages.includes('signing')) continue;
    const { id, secret } = parseBootstrapToken(token.token);
    data[`${JWS_KEY_PREFIX}${id}`] = computeDetachedSignature(kubeconfig, id, secret);
  }
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: CONFIG_MAP_NAME, namespace: CONFIG_MAP_NAMESPACE }, data };
}

/** pubkeypin.Hash: "sha256:" + hex SHA-256 of the certificate's DER SubjectPublicKeyInfo. */
function caCertHash(pem) {
  const spki = new crypto.X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${crypto.createHash('sha256').update(spki).digest('hex')}`;
}

/** pubkeypin.Set.Allow: "format:value", only sha256, 64 hex digits; kubeadm wraps its error. */
function pinSet(caCertHashes) {
  const pins = new Set();
  for (const hash of caCertHashes || []) {
    const parts = String(hash).split(':');
    let why;
    if (parts.length !== 2) why = 'invalid public key hash, expected "format:value"';
    else if (parts[0].toLowerCase() !== 'sha256') why = `unknown hash format "${parts[0]}"`;
    else if (parts[1].length !== 64) why = `expected a 32 byte SHA-256 hash, found ${Math.floor(parts[1].length / 2)} bytes`;
    else if (!/^[0-9a-fA-F]{64}$/.test(parts[1])) why = 'encoding/hex: invalid byte (Go names the byte)';
    if (why) throw new DiscoveryError(`invalid discovery token CA certificate hash: ${why}`);
    pins.add(`sha256:${parts[1].toLowerCase()}`);
  }
  return pins;
}

/** What getClusterInfo waits for: the ConfigMap carries a signature for the token's ID. */
function hasSignatureFor(configMap, tokenId) {
  return Object.prototype.hasOwnProperty.call((configMap && configMap.data) || {}, `${JWS_KEY_PREFIX}${tokenId}`);
}

/** getClusterInfo's last error when no signature for the ID appeared before the discovery timeout. */
function missingSignatureError(tokenId) {
  return new DiscoveryError(`could not find a JWS signature in the cluster-info ConfigMap for token ID "${tokenId}"`);
}

/**
 * token.go after the first (untrusted) fetch: validateClusterInfoToken, the kubeconfig's single cluster, then,
 * when hashes are pinned, validateClusterCA. Returns the kubeconfig text, its server and the CA (PEM) to trust.
 */
function validateClusterInfo(configMap, token, caCertHashes) {
  const pins = pinSet(caCertHashes);
  const { id, secret } = parseBootstrapToken(token);
  const data = (configMap && configMap.data) || {};
  const kubeconfig = data[KUBECONFIG_KEY];
  if (!kubeconfig) {
    throw new DiscoveryError(`there is no ${KUBECONFIG_KEY} key in the ${CONFIG_MAP_NAME} ConfigMap. This API Server isn't set up for token bootstrapping, can't connect`);
  }
  const detached = data[`${JWS_KEY_PREFIX}${id}`];
  if (!detached) {
    throw new DiscoveryError(`token id "${id}" is invalid for this cluster or it has expired. Use "kubeadm token create" on the control-plane node to create a new valid token`);
  }
  if (!detachedTokenIsValid(detached, kubeconfig, id, secret)) {
    throw new DiscoveryError("failed to verify JWS signature of received cluster info object, can't trust this API Server");
  }
  let parsed;
  try {
    parsed = yaml.load(kubeconfig);
  } catch (err) {
    throw new DiscoveryError(`couldn't parse the kubeconfig file in the ${CONFIG_MAP_NAME} ConfigMap: ${err.message}`);
  }
  const clusters = (parsed && parsed.clusters) || [];
  if (clusters.length !== 1) throw new DiscoveryError(`malformed kubeconfig in the ${CONFIG_MAP_NAME} ConfigMap: expected one cluster, found ${clusters.length}`);
  const cluster = clusters[0].cluster || {};
  const caPem = Buffer.from(String(cluster['certificate-authority-data'] || ''), 'base64').toString('utf8');
  if (pins.size > 0) {
    let hash;
    try {
      hash = caCertHash(caPem);
    } catch (err) {
      throw new DiscoveryError(`failed to parse cluster CA from the ${CONFIG_MAP_NAME} ConfigMap: ${err.message}`);
    }
    if (!pins.has(hash)) throw new DiscoveryError(`cluster CA found in ${CONFIG_MAP_NAME} ConfigMap is invalid: none of the public keys "${hash}" are pinned`);
  }
  return { kubeconfig, server: String(cluster.server), caPem };
}

module.exports = {
  CLUSTER_INFO_PATH,
  DiscoveryError,
  parseBootstrapToken,
  computeDetachedSignature,
  detachedTokenIsValid,
  clusterInfoKubeconfig,
  clusterInfoConfigMap,
  caCertHash,
  hasSignatureFor,
  missingSignatureError,
  validateClusterInfo,
};
