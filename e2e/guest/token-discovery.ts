/**
 * `kubeadm join`'s token discovery (cmd/kubeadm/app/discovery/token/token.go at kubernetes/kubernetes 038dec7f,
 * read 2026-12-06), against the control plane's API server over real TLS:
 *   1. GET cluster-info from https://<apiServerEndpoint> trusting no certificate (BuildInsecureBootstrapKubeConfig:
 *      InsecureSkipTLSVerify), polling every DiscoveryRetryInterval (5 s, not more than the timeout) until the
 *      ConfigMap carries a signature for the token's ID or the discovery timeout ends (then "could not find a JWS
 *      signature ...", or the last request's error);
 *   2. the signature must be the token's (validateClusterInfoToken), the CA must match a pinned hash
 *      (validateClusterCA) — both in the shared module test/fake-bin/lib/cluster-info.js;
 *   3. with pins, GET it again, now verifying the server against that CA, and the kubeconfig must be the same bytes.
 * The discovery timeout: v1beta4 `timeouts.discovery`, v1beta3 `discovery.timeout`, default 5 minutes (kubeadm's
 * DefaultDiscoveryTimeout, apis/kubeadm defaults.go; DiscoveryRetryInterval is in constants.go; both fields are read by the stand-ins' config rules in test/fake-bin/lib/kubeadm-types.js).
 */
import { request } from 'node:https';
// eslint-disable-next-line @typescript-eslint/no-var-requires
const clusterInfo = require('../../test/fake-bin/lib/cluster-info.js') as {
  CLUSTER_INFO_PATH: string;
  DiscoveryError: new (message: string) => Error;
  parseBootstrapToken(token: string): { id: string; secret: string };
  hasSignatureFor(configMap: unknown, tokenId: string): boolean;
  missingSignatureError(tokenId: string): Error;
  validateClusterInfo(configMap: unknown, token: string, caCertHashes: string[] | undefined): { kubeconfig: string; server: string; caPem: string };
};

export interface BootstrapTokenDiscovery {
  apiServerEndpoint: string;
  token: string;
  caCertHashes?: string[];
  unsafeSkipCAVerification?: boolean;
}

export interface DiscoveredCluster {
  server: string;
  caPem: string;
}

const RETRY_INTERVAL_MS = 5_000;

function getClusterInfo(endpoint: string, caPem: string | undefined): Promise<unknown> {
  const url = new URL(`https://${endpoint}${clusterInfo.CLUSTER_INFO_PATH}?timeout=10s`);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', timeout: 10_000, ...(caPem ? { ca: caPem } : { rejectUnauthorized: false }) }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (response.statusCode !== 200) return reject(new Error(`the server responded with ${response.statusCode}: ${body}`));
        try {
          resolve(JSON.parse(body));
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('context deadline exceeded')));
    req.on('error', (error) => reject(new Error(`Get "${url.href}": ${error.message}`)));
    req.end();
  });
}

/** token.go getClusterInfo: poll (immediately, then every interval) until the token's signature is there. */
async function pollClusterInfo(endpoint: string, tokenId: string, caPem: string | undefined, timeoutMs: number): Promise<unknown> {
  const interval = Math.min(RETRY_INTERVAL_MS, timeoutMs);
  const deadline = Date.now() + timeoutMs;
  let lastError: Error = clusterInfo.missingSignatureError(tokenId);
  for (;;) {
    try {
      const configMap = await getClusterInfo(endpoint, caPem);
      if (clusterInfo.hasSignatureFor(configMap, tokenId)) return configMap;
      lastError = clusterInfo.missingSignatureError(tokenId);
    } catch (error) {
      lastError = new clusterInfo.DiscoveryError(`failed to request the cluster-info ConfigMap: ${(error as Error).message}`);
    }
    // As wait.PollUntilContextTimeout: the next try after the interval, or the end at the deadline.
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw lastError;
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, remaining)));
    if (Date.now() >= deadline) throw lastError;
  }
}

/** Discovers and validates the cluster, or throws kubeadm's error. */
export async function discoverCluster(discovery: BootstrapTokenDiscovery, timeoutMs: number): Promise<DiscoveredCluster> {
  const endpoint = discovery.apiServerEndpoint;
  const { id } = clusterInfo.parseBootstrapToken(discovery.token);
  const insecure = await pollClusterInfo(endpoint, id, undefined, timeoutMs);
  const validated = clusterInfo.validateClusterInfo(insecure, discovery.token, discovery.caCertHashes);
  if (!discovery.caCertHashes || discovery.caCertHashes.length === 0) return { server: validated.server, caPem: validated.caPem };
  const secure = (await pollClusterInfo(endpoint, id, validated.caPem, timeoutMs)) as { data?: Record<string, string> };
  if (secure.data?.kubeconfig !== validated.kubeconfig) {
    throw new clusterInfo.DiscoveryError('the second kubeconfig from the cluster-info ConfigMap (using validated TLS) was different from the first');
  }
  return { server: validated.server, caPem: validated.caPem };
}

/** A Go duration as kubeadm's configs write it ("5m0s", "30s", "1h2m3.5s", "500ms") in milliseconds. */
export function durationMs(text: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1, us: 0.001, 'µs': 0.001, ns: 0.000001 };
  let total = 0;
  for (const [, value, unit] of String(text).matchAll(/(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g)) total += Number(value) * units[unit!]!;
  return total;
}
