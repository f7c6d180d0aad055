/**
 * The VM's kubeadm stand-in (e2e/guest/kubeadm.ts, bundled exactly as the e2e kubeadm package ships it) speaks
 * kubeadm's token discovery over real TLS on a loopback port: `init` serves the cluster-info ConfigMap with a JWS
 * per bootstrap token, `token create` adds one, and `join` succeeds only with a token the control plane signed for
 * and a CA pin that matches. Each machine runs in its own LABIMG_E2E_KUBEADM_SANDBOX (see the stand-in's header).
 *
 * Nothing expected here is computed by the stand-in: the JWS is recomputed with node:crypto from the rules of
 * k8s.io/cluster-bootstrap token/jws/jws.go (read 2026-12-06), the shared signer is held to jws_test.go's own
 * vectors, the CA pin comes from `openssl`, and the failure messages are written out as kubeadm's
 * cmd/kubeadm/app/discovery/token/token.go words them.
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import { get } from 'node:https';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { dump, load } from 'js-yaml';
import { bundle } from '../e2e/helpers/packages';
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { computeDetachedSignature } = require('./fake-bin/lib/cluster-info.js') as { computeDetachedSignature(content: string, id: string, secret: string): string };
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { updateCluster } = require('./fake-bin/lib/fake-cluster.js') as { updateCluster(dir: string, change: (state: any) => void): unknown };

const V1BETA4 = 'kubeadm.k8s.io/v1beta4';
const VERSION = '1.35.9';
const INIT_TOKEN = 'k9x2q7.m4v8r1t6w3y5z0a2';
const SOCKET = 'unix:///var/run/containerd/containerd.sock';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'labimg-discovery-'));
const stand_in = path.join(work, 'kubeadm.js');
const controlPlane = path.join(work, 'control-plane');
let port = 0;

function kubeadm(sandbox: string, args: string[]): Run {
  const result = spawnSync(process.execPath, [stand_in, ...args], { encoding: 'utf8', env: { ...process.env, LABIMG_E2E_KUBEADM_SANDBOX: sandbox }, timeout: 60_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function withConfig(sandbox: string, command: string[], docs: object[]): Run {
  fs.mkdirSync(sandbox, { recursive: true });
  const file = path.join(sandbox, 'config.yaml');
  fs.writeFileSync(file, docs.map((doc) => dump(doc)).join('---\n'));
  return kubeadm(sandbox, [...command, '--config', file]);
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = server.address() as { port: number };
      server.close(() => resolve(p));
    });
  });
}

/** The cluster CA's pin as openssl computes it: sha256 over the DER SubjectPublicKeyInfo. */
function opensslPin(certFile: string): string {
  const pub = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-pubkey']);
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: pub });
  const digest = execFileSync('openssl', ['dgst', '-sha256', '-r'], { input: der, encoding: 'utf8' });
  return `sha256:${digest.split(' ')[0]}`;
}

/** GET cluster-info without trusting the server, as a joining node first does. */
function fetchClusterInfo(): Promise<{ data: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/api/v1/namespaces/kube-public/configmaps/cluster-info', rejectUnauthorized: false }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`${response.statusCode} ${body}`))));
    }).on('error', reject);
  });
}

/** jws.go's detached JWS recomputed independently: HS256 over base64url(header) "." base64url(content), key = secret. */
function expectedJws(content: string, token: string): string {
  const [id, secret] = token.split('.') as [string, string];
  const header = Buffer.from(`{"alg":"HS256","kid":"${id}"}`).toString('base64url');
  const mac = createHmac('sha256', secret).update(`${header}.${Buffer.from(content).toString('base64url')}`).digest('base64url');
  return `${header}..${mac}`;
}

function joinDocs(token: string, pins: string[]): object[] {
  return [{
    apiVersion: V1BETA4,
    kind: 'JoinConfiguration',
    nodeRegistration: { criSocket: SOCKET },
    discovery: { bootstrapToken: { apiServerEndpoint: `127.0.0.1:${port}`, token, caCertHashes: pins } },
    // One try and no retry: a missing signature fails in 2 s instead of kubeadm's default 5 minutes.
    timeouts: { discovery: '2s' },
  }];
}

const JOIN_PREFIX = "error execution phase preflight: couldn't validate the identity of the API Server: ";

test.before(async () => {
  fs.writeFileSync(stand_in, bundle('kubeadm.ts', { KUBEADM_VERSION: VERSION }));
  port = await freePort();
  const init = withConfig(controlPlane, ['init'], [
    {
      apiVersion: V1BETA4,
      kind: 'InitConfiguration',
      bootstrapTokens: [{ token: INIT_TOKEN }],
      localAPIEndpoint: { advertiseAddress: '127.0.0.1', bindPort: port },
      nodeRegistration: { criSocket: SOCKET },
    },
    { apiVersion: V1BETA4, kind: 'ClusterConfiguration', kubernetesVersion: `v${VERSION}` },
  ]);
  if (init.code !== 0) throw new Error(`kubeadm init failed (${init.code}): ${init.stderr}`);
});

test.after.always(() => {
  const pidFile = path.join(controlPlane, 'apiserver.pid');
  if (fs.existsSync(pidFile)) {
    try {
      process.kill(Number(fs.readFileSync(pidFile, 'utf8')));
    } catch {
      // already gone
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
});

test('the shared signer reproduces cluster-bootstrap jws_test.go vectors', (t) => {
  // k8s.io/cluster-bootstrap token/jws/jws_test.go (TestComputeDetachedSignature), read 2026-12-06.
  const content = 'Hello from the other side. I must have called a thousand times.';
  t.is(computeDetachedSignature(content, 'joshua', 'my voice is my passcode'), 'eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..VShe2taLd-YTrmWuRkcL_8QTNDHYxQIEBsAYYiIj1_8');
  t.is(computeDetachedSignature('', 'joshua', 'my voice is my passcode'), 'eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..7Ui1ALizW4jXphVUB7xUqC9vLYLL9RZeOFfVLoB7Tgk');
});

test.serial('init serves cluster-info over TLS with a JWS for its token, keyed by the token secret; the CA signs the serving certificate', async (t) => {
  const configMap = await fetchClusterInfo();
  const kubeconfig = configMap.data.kubeconfig!;
  t.is(configMap.data['jws-kubeconfig-k9x2q7'], expectedJws(kubeconfig, INIT_TOKEN));
  const [header, payload] = configMap.data['jws-kubeconfig-k9x2q7']!.split('.');
  t.deepEqual(JSON.parse(Buffer.from(header!, 'base64url').toString()), { alg: 'HS256', kid: 'k9x2q7' });
  t.is(payload, '', 'the payload is detached');
  const cluster = (load(kubeconfig) as { clusters: Array<{ name: string; cluster: Record<string, string> }> }).clusters;
  t.is(cluster.length, 1);
  t.is(cluster[0]!.name, '');
  t.is(cluster[0]!.cluster.server, `https://127.0.0.1:${port}`);
  const caFile = path.join(controlPlane, 'etc/kubernetes/pki/ca.crt');
  t.is(Buffer.from(cluster[0]!.cluster['certificate-authority-data']!, 'base64').toString(), fs.readFileSync(caFile, 'utf8'));
  const verify = spawnSync('openssl', ['verify', '-CAfile', caFile, path.join(controlPlane, 'etc/kubernetes/pki/apiserver.crt')], { encoding: 'utf8' });
  t.is(verify.status, 0, verify.stdout + verify.stderr);
  t.is(fs.statSync(path.join(controlPlane, 'var/lib/labimg-e2e/bootstrap-tokens.json')).mode & 0o777, 0o600);
  t.is(fs.statSync(path.join(controlPlane, 'etc/kubernetes/pki/ca.key')).mode & 0o777, 0o600);
});

test.serial('join with the init token and openssl\'s CA pin succeeds and trusts the discovered CA', (t) => {
  const pin = opensslPin(path.join(controlPlane, 'etc/kubernetes/pki/ca.crt'));
  const node = path.join(work, 'node-ok');
  const run = withConfig(node, ['join'], joinDocs(INIT_TOKEN, [pin]));
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /This node has joined the cluster/);
  t.is(fs.readFileSync(path.join(node, 'etc/kubernetes/pki/ca.crt'), 'utf8'), fs.readFileSync(path.join(controlPlane, 'etc/kubernetes/pki/ca.crt'), 'utf8'));
  t.regex(fs.readFileSync(path.join(node, 'etc/kubernetes/kubelet.conf'), 'utf8'), new RegExp(`server: https://127\\.0\\.0\\.1:${port}`));
});

test.serial('join with the right token ID and a wrong secret fails: the signature does not verify', (t) => {
  const pin = opensslPin(path.join(controlPlane, 'etc/kubernetes/pki/ca.crt'));
  const run = withConfig(path.join(work, 'node-secret'), ['join'], joinDocs('k9x2q7.0000000000000000', [pin]));
  t.is(run.code, 1);
  t.is(run.stderr.split('\n')[0], `${JOIN_PREFIX}failed to verify JWS signature of received cluster info object, can't trust this API Server`);
  t.false(fs.existsSync(path.join(work, 'node-secret/etc/kubernetes/kubelet.conf')));
});

test.serial('join with a token ID the cluster never issued fails after the discovery timeout: no signature for it', (t) => {
  const pin = opensslPin(path.join(controlPlane, 'etc/kubernetes/pki/ca.crt'));
  const started = Date.now();
  const run = withConfig(path.join(work, 'node-unknown'), ['join'], joinDocs('zzzzzz.0123456789abcdef', [pin]));
  // Behaviour, not speed: kubeadm keeps asking until timeouts.discovery (2 s here) before it gives up.
  t.true(Date.now() - started >= 2_000, 'join waited for the signature until the discovery timeout');
  t.is(run.code, 1);
  t.is(run.stderr.split('\n')[0], `${JOIN_PREFIX}could not find a JWS signature in the cluster-info ConfigMap for token ID "zzzzzz"`);
});

test.serial('join with a pin of another key fails and names the CA\'s real hash', (t) => {
  const pin = opensslPin(path.join(controlPlane, 'etc/kubernetes/pki/ca.crt'));
  const wrong = `sha256:${'0'.repeat(64)}`;
  const run = withConfig(path.join(work, 'node-pin'), ['join'], joinDocs(INIT_TOKEN, [wrong]));
  t.is(run.code, 1);
  t.is(run.stderr.split('\n')[0], `${JOIN_PREFIX}cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${pin}" are pinned`);
});

test.serial('a token from `kubeadm token create` is signed at once and joins', async (t) => {
  const created = kubeadm(controlPlane, ['token', 'create', '--ttl', '1h', '--description', 'test']);
  t.is(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  t.regex(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  const configMap = await fetchClusterInfo();
  t.is(configMap.data[`jws-kubeconfig-${token.split('.')[0]}`], expectedJws(configMap.data.kubeconfig!, token));
  t.is(configMap.data['jws-kubeconfig-k9x2q7'], expectedJws(configMap.data.kubeconfig!, INIT_TOKEN), 'the init token still signs');
  const pin = opensslPin(path.join(controlPlane, 'etc/kubernetes/pki/ca.crt'));
  const run = withConfig(path.join(work, 'node-created'), ['join'], joinDocs(token, [pin]));
  t.is(run.code, 0, run.stderr);
});

test('the agent tests\' cluster state carries the same cluster-info, re-signed whenever a token is added', (t) => {
  const dir = path.join(work, 'fake-cluster');
  const caPem = fs.readFileSync(path.join(__dirname, 'fixtures/cluster-ca.crt'), 'utf8');
  updateCluster(dir, (state) => {
    state.endpoints.push('10.0.0.10:6443');
    state.caCert = caPem;
    state.tokens.push(INIT_TOKEN);
  });
  updateCluster(dir, (state) => state.tokens.push('abcdef.0123456789abcdef'));
  const { clusterInfo } = JSON.parse(fs.readFileSync(path.join(dir, 'cluster.json'), 'utf8')) as { clusterInfo: { metadata: object; data: Record<string, string> } };
  t.deepEqual(clusterInfo.metadata, { name: 'cluster-info', namespace: 'kube-public' });
  const kubeconfig = clusterInfo.data.kubeconfig!;
  t.deepEqual(Object.keys(clusterInfo.data).sort(), ['jws-kubeconfig-abcdef', 'jws-kubeconfig-k9x2q7', 'kubeconfig']);
  t.is(clusterInfo.data['jws-kubeconfig-k9x2q7'], expectedJws(kubeconfig, INIT_TOKEN));
  t.is(clusterInfo.data['jws-kubeconfig-abcdef'], expectedJws(kubeconfig, 'abcdef.0123456789abcdef'));
  const cluster = (load(kubeconfig) as { clusters: Array<{ cluster: Record<string, string> }> }).clusters[0]!.cluster;
  t.is(cluster.server, 'https://10.0.0.10:6443');
  t.is(Buffer.from(cluster['certificate-authority-data']!, 'base64').toString(), caPem);
});
