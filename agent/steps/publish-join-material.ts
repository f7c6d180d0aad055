/**
 * Control plane with a join endpoint: hand the endpoint what workers need to join — the API server address,
 * a bootstrap token and the cluster CA's hash — and keep it fresh. Tokens are short-lived (node.json's
 * bootstrapTokenTtlSeconds, 2 hours by default) and a new one is made and published once the current one is
 * past half its life; the refresh timer (refresh-timer.ts) runs this step again often enough to get there first.
 *
 * With a controlPlaneEndpoint (an HA cluster), the control-plane certificates are uploaded with a fresh
 * certificate key and the key is published as well; the endpoint gives it only to enrolled control-plane nodes.
 */
import { BOOTSTRAP_TOKEN_TTL_SECONDS, type NodeConfig } from '../../contract/agent-config';
import { PATHS } from '../../contract/node-paths';
import { BOOTSTRAP_TOKEN, CERTIFICATE_KEY } from '../../contract/token-formats';
import type { PublishedJoinMaterial } from '../../contract/endpoint-api';
import { CLUSTER_CA_CERT, caCertHash } from '../kubeadm/ca-cert-hash';
import { retryUntil } from '../endpoint/backoff';
import { ADMIN_KUBECONFIG } from '../kubeadm/files';
import { isControlPlane, nodeOf, Step, StepContext } from './step';

const HOUR_MS = 3_600_000;
/** kubeadm deletes uploaded certificates after two hours; the key is useless after that. */
const CERTIFICATE_KEY_TTL_MS = 2 * HOUR_MS;

/**
 * How long each published token lives: long enough for a slow node to boot and join, short enough that a leaked
 * token soon stops working; node.json may say otherwise (`--bootstrap-token-ttl`).
 */
export function tokenTtlMs(node: Pick<NodeConfig, 'bootstrapTokenTtlSeconds'> | undefined): number {
  return (node?.bootstrapTokenTtlSeconds ?? BOOTSTRAP_TOKEN_TTL_SECONDS) * 1000;
}

interface Publication {
  endpoint: string;
  pool?: string;
  tokenExpires: string;
}

export function publishesJoinMaterial(ctx: StepContext): boolean {
  return isControlPlane(ctx) && ctx.node?.endpoint !== undefined;
}

export const publishJoinMaterial: Step = {
  id: 'publish-join-material',
  phase: 'boot',
  title: 'Publish join material (bootstrap token, CA hash) to the join endpoint',
  applies: publishesJoinMaterial,

  async check(ctx) {
    const text = await ctx.host.readFile(PATHS.joinPublished);
    if (!text) return false;
    const last = JSON.parse(text) as Publication;
    const node = nodeOf(ctx);
    return last.endpoint === node.endpoint?.url && last.pool === node.pool && Date.parse(last.tokenExpires) - Date.now() > tokenTtlMs(node) / 2; // a new token once past half its life
  },

  async apply(ctx) {
    const node = nodeOf(ctx);
    const session = ctx.endpoint;
    if (!session) throw new Error('node.json names an endpoint but the agent has no session with it');
    const started = Date.now();
    const material: PublishedJoinMaterial = {
      apiServerEndpoint: await apiServerEndpoint(ctx),
      token: await createToken(ctx),
      caCertHashes: [caCertHash(await readRequired(ctx, CLUSTER_CA_CERT))],
      tokenExpires: new Date(started + tokenTtlMs(node)).toISOString(),
    };
    if (node.controlPlaneEndpoint) {
      material.certificateKey = await uploadCertificates(ctx);
      material.certificateKeyExpires = new Date(started + CERTIFICATE_KEY_TTL_MS).toISOString();
    }
    // A PUT, so sending it again is harmless: an endpoint that stored it and died before answering, or one
    // that is restarting, is simply asked again (with backoff) rather than failing the node.
    await retryUntil('publishing join material', () => session.publishJoinMaterial(material), ctx.log);
    const publication: Publication = { endpoint: session.url, pool: node.pool, tokenExpires: material.tokenExpires };
    await ctx.host.writeFile(PATHS.joinPublished, `${JSON.stringify(publication)}\n`, 0o600, { bookkeeping: true });
    ctx.log.info(`published join material to ${session.url}; the token expires at ${material.tokenExpires}`);
  },
};

async function createToken(ctx: StepContext): Promise<string> {
  // A Go duration, as kubeadm's --ttl takes it (time.ParseDuration reads "7200s").
  const ttl = `${tokenTtlMs(nodeOf(ctx)) / 1000}s`;
  const result = await ctx.host.run(['kubeadm', 'token', 'create', '--ttl', ttl, '--description', 'labimg: published to the join endpoint']);
  const token = result.stdout.trim().split('\n').pop()?.trim() ?? '';
  if (!BOOTSTRAP_TOKEN.test(token)) throw new Error('kubeadm token create did not print a bootstrap token');
  return token;
}

async function uploadCertificates(ctx: StepContext): Promise<string> {
  const key = (await ctx.host.run(['kubeadm', 'certs', 'certificate-key'])).stdout.trim();
  if (!CERTIFICATE_KEY.test(key)) throw new Error('kubeadm certs certificate-key did not print a 64-hex-digit key');
  await ctx.host.run(['kubeadm', 'init', 'phase', 'upload-certs', '--upload-certs', '--certificate-key', key]);
  return key;
}

/**
 * Where workers reach the API server: the controlPlaneEndpoint when the cluster has one, otherwise the
 * server kubeadm wrote into admin.conf (the advertise address it picked).
 */
async function apiServerEndpoint(ctx: StepContext): Promise<string> {
  const configured = nodeOf(ctx).controlPlaneEndpoint;
  if (configured) return /:\d+$/.test(configured) ? configured : `${configured}:6443`;
  const admin = await readRequired(ctx, ADMIN_KUBECONFIG);
  const server = /^\s*server:\s*https:\/\/(\S+?)\/?\s*$/m.exec(admin)?.[1];
  if (!server) throw new Error(`${ADMIN_KUBECONFIG} names no https server`);
  return server;
}

async function readRequired(ctx: StepContext, path: string): Promise<string> {
  const text = await ctx.host.readFile(path);
  if (text === undefined) throw new Error(`${path} is missing; kubeadm init writes it`);
  return text;
}
