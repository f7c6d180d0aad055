/**
 * The kubeadm stand-in (test/fake-bin/kubeadm), run as a process, refuses what real kubeadm refuses — typos at
 * any depth of any document, malformed bootstrap tokens, a join with a token or CA hash its cluster's init did
 * not issue, a certificate key that was never uploaded, a sandbox image other than kubeadm's pause — and
 * accepts the configs the agent writes for every shipped profile. Expected messages are written out here, as
 * kubeadm words them, not computed by the stand-in.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dump } from 'js-yaml';
import type { AgentConfig, NodeConfig } from '../contract/agent-config';
import { imagesDocuments, initDocuments, joinDocuments, kubeletCgroupDriver, renderKubeadmConfig } from '../agent/kubeadm/documents';
import { GPU_GATE_TAINT } from '../agent/gpu/readiness-gate';
import { FAKE_BIN, profileConfig } from './helpers/agent-machine';

const V1BETA3 = 'kubeadm.k8s.io/v1beta3';
const V1BETA4 = 'kubeadm.k8s.io/v1beta4';
// The pin of test/fixtures/cluster-ca.crt, the CA every stand-in init writes.
const CA_PIN = 'sha256:36523713f9926ca2e3a80b456e5265720cf3c5cb4fea999f5cb7f3773bcd9294';
const ISSUED = 'k9x2q7.m4v8r1t6w3y5z0a2';
const CONTAINERD_SOCKET = 'unix:///var/run/containerd/containerd.sock';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Host {
  root: string;
  kubeadm(args: string[]): Run;
  config(docs: object[] | string): string;
  containerdConfig(toml: string): void;
}

interface HostOptions {
  kubernetes: string;
  cluster: string;
  /** config.toml; a version 2 one with pause:3.9 when absent. */
  containerd?: string;
  /** Docker's daemon.json instead of containerd (dockershim, Kubernetes 1.23). */
  dockerDaemon?: object;
}

function tempDir(t: { teardown(fn: () => void): void }, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A host that passes kubeadm's preflight: packages, a running runtime with the systemd cgroup driver, sysctls on, no swap. */
function host(t: { teardown(fn: () => void): void }, options: HostOptions): Host {
  const root = tempDir(t, 'labimg-kubeadm-');
  const write = (file: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
  };
  const version = `${options.kubernetes}-1.1`;
  write('/etc/os-release', 'ID=ubuntu\nID_LIKE=debian\n');
  write('/.fake/packages.json', JSON.stringify({ kubeadm: { version }, kubelet: { version }, containerd: { version: '1.7.28' } }));
  write('/.fake/units.json', JSON.stringify({ containerd: { enabled: true, active: true }, docker: { enabled: true, active: true }, kubelet: { enabled: true, active: false } }));
  write('/proc/swaps', 'Filename\tType\tSize\tUsed\tPriority\n');
  write('/proc/sys/net/bridge/bridge-nf-call-iptables', '1\n');
  write('/proc/sys/net/ipv4/ip_forward', '1\n');
  write('/etc/containerd/config.toml', options.containerd ?? containerdV2('registry.k8s.io/pause:3.9'));
  if (options.dockerDaemon) write('/etc/docker/daemon.json', JSON.stringify(options.dockerDaemon));
  return {
    root,
    kubeadm(args) {
      const result = spawnSync(process.execPath, [path.join(FAKE_BIN, 'kubeadm'), ...args], {
        env: { LABIMG_FAKE_ROOT: root, LABIMG_FAKE_CLUSTER: options.cluster },
        encoding: 'utf8',
      });
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    config(docs) {
      const file = path.join(root, `kubeadm-${Math.random().toString(36).slice(2)}.yaml`);
      fs.writeFileSync(file, typeof docs === 'string' ? docs : docs.map((d) => dump(d)).join('---\n'));
      return file;
    },
    containerdConfig(toml) {
      write('/etc/containerd/config.toml', toml);
    },
  };
}

function containerdV2(sandbox: string): string {
  return `version = 2\n[plugins."io.containerd.grpc.v1.cri"]\nsandbox_image = "${sandbox}"\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\nSystemdCgroup = true\n`;
}

function containerdV3(sandbox: string): string {
  return (
    `version = 3\n[plugins.'io.containerd.cri.v1.images'.pinned_images]\nsandbox = '${sandbox}'\n` +
    `[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\nSystemdCgroup = true\n`
  );
}

const VERSIONS = [
  { api: V1BETA3, kubernetes: '1.28.15', pause: 'registry.k8s.io/pause:3.9' },
  { api: V1BETA4, kubernetes: '1.35.9', pause: 'registry.k8s.io/pause:3.10.1' },
] as const;

function initDocs(api: string, kubernetes: string, extra: { init?: object; cluster?: object } = {}): object[] {
  return [
    { apiVersion: api, kind: 'InitConfiguration', localAPIEndpoint: { advertiseAddress: '10.0.0.10' }, nodeRegistration: { criSocket: CONTAINERD_SOCKET }, ...extra.init },
    {
      apiVersion: api,
      kind: 'ClusterConfiguration',
      kubernetesVersion: `v${kubernetes}`,
      networking: { podSubnet: '10.244.0.0/16', serviceSubnet: '10.96.0.0/12' },
      etcd: { local: { dataDir: '/var/lib/etcd' } },
      ...extra.cluster,
    },
  ];
}

function joinDoc(api: string, bootstrapToken: object, extra: object = {}): object {
  return {
    apiVersion: api,
    kind: 'JoinConfiguration',
    nodeRegistration: { criSocket: CONTAINERD_SOCKET },
    discovery: { bootstrapToken: { token: ISSUED, apiServerEndpoint: '10.0.0.10:6443', caCertHashes: [CA_PIN], ...bootstrapToken } },
    ...extra,
  };
}

for (const { api, kubernetes, pause } of VERSIONS) {
  const version = api.split('/')[1];

  test(`${version}: documents are split as kubeadm splits them: a comment before the first "---" is a document with no kind; JSON documents read as YAML`, (t) => {
    const h = host(t, { kubernetes, cluster: tempDir(t, 'labimg-cluster-') });
    const [init, cluster] = initDocs(api, kubernetes);
    const list = (text: string) => h.kubeadm(['config', 'images', 'list', '--config', h.config(text)]);
    const json = (doc: object) => JSON.stringify(doc, null, 2);
    const refused = list(`# a comment\n---\n${json(init!)}\n---\n${json(cluster!)}\n`);
    t.is(refused.code, 1);
    t.true(refused.stderr.includes('invalid configuration for GroupVersionKind /, Kind=: kind and apiVersion is mandatory information that must be specified'), refused.stderr);
    const read = list(`---\n# a comment\n${json(init!)}\n---\n${json(cluster!)}\n`);
    t.is(read.code, 0, read.stderr);
  });

  test(`${version}: a typo at any depth of the kubeadm documents is refused, by its full path`, (t) => {
    const h = host(t, { kubernetes, cluster: tempDir(t, 'labimg-cluster-') });
    const list = (docs: object[]) => h.kubeadm(['config', 'images', 'list', '--config', h.config(docs)]);
    let r = list(initDocs(api, kubernetes, { init: { localAPIEndpoint: { advertiseAddresss: '10.0.0.10' } } }));
    t.is(r.code, 1);
    t.true(
      r.stderr.includes(
        `error unmarshaling configuration schema.GroupVersionKind{Group:"kubeadm.k8s.io", Version:"${version}", Kind:"InitConfiguration"}: strict decoding error: unknown field "localAPIEndpoint.advertiseAddresss"`,
      ),
      r.stderr,
    );
    r = list(initDocs(api, kubernetes, { cluster: { networking: { serviceSubnett: '10.96.0.0/12' } } }));
    t.is(r.code, 1);
    t.true(r.stderr.includes('strict decoding error: unknown field "networking.serviceSubnett"'), r.stderr);
    r = list(initDocs(api, kubernetes, { cluster: { etcd: { locall: { dataDir: '/var/lib/etcd' } } } }));
    t.is(r.code, 1);
    t.true(r.stderr.includes('strict decoding error: unknown field "etcd.locall"'), r.stderr);
    r = list(initDocs(api, kubernetes, { init: { bootstrapTokens: [{ token: ISSUED, ttl: '24h0m0s', usagez: ['signing'] }] } }));
    t.is(r.code, 1);
    t.true(r.stderr.includes('strict decoding error: unknown field "bootstrapTokens[0].usagez"'), r.stderr);
    // Every unknown field of a document is named, in order.
    r = list(initDocs(api, kubernetes, { cluster: { networking: { serviceSubnett: 'x' }, etcd: { locall: {} } } }));
    t.true(r.stderr.includes('strict decoding error: unknown field "networking.serviceSubnett", unknown field "etcd.locall"'), r.stderr);
  });

  test(`${version}: unknown KubeProxyConfiguration fields and nested KubeletConfiguration fields are refused; real ones pass`, (t) => {
    const h = host(t, { kubernetes, cluster: tempDir(t, 'labimg-cluster-') });
    const list = (doc: object) => h.kubeadm(['config', 'images', 'list', '--config', h.config([...initDocs(api, kubernetes), doc])]);
    const proxy = (fields: object) => ({ apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', ...fields });
    const kubelet = (fields: object) => ({ apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', ...fields });
    let r = list(proxy({ clusterCIDRs: '10.244.0.0/16' }));
    t.is(r.code, 1);
    t.true(
      r.stderr.includes(
        'error unmarshaling configuration schema.GroupVersionKind{Group:"kubeproxy.config.k8s.io", Version:"v1alpha1", Kind:"KubeProxyConfiguration"}: strict decoding error: unknown field "clusterCIDRs"',
      ),
      r.stderr,
    );
    r = list(proxy({ iptables: { masqueradeAlll: true } }));
    t.true(r.stderr.includes('strict decoding error: unknown field "iptables.masqueradeAlll"'), r.stderr);
    r = list(proxy({ mode: 'ipvs', iptables: { masqueradeAll: true }, ipvs: { strictARP: true, scheduler: 'rr' }, conntrack: { maxPerCore: 0 }, clusterCIDR: '10.244.0.0/16' }));
    t.is(r.code, 0, r.stderr);
    r = list(kubelet({ authentication: { x509: { clientCAFiles: '/etc/kubernetes/pki/ca.crt' } } }));
    t.is(r.code, 1);
    t.true(
      r.stderr.includes(
        'error unmarshaling configuration schema.GroupVersionKind{Group:"kubelet.config.k8s.io", Version:"v1beta1", Kind:"KubeletConfiguration"}: strict decoding error: unknown field "authentication.x509.clientCAFiles"',
      ),
      r.stderr,
    );
    r = list(kubelet({ cgroupDriver: 'systemd', authentication: { x509: { clientCAFile: '/etc/kubernetes/pki/ca.crt' }, webhook: { enabled: true, cacheTTL: '2m0s' } }, evictionHard: { 'memory.available': '100Mi' }, maxPods: 110 }));
    t.is(r.code, 0, r.stderr);
    // Type checks, worded as Go's decoder words them.
    r = list(kubelet({ maxPods: '110' }));
    t.true(r.stderr.includes('json: cannot unmarshal string into Go struct field KubeletConfiguration.maxPods of type int32'), r.stderr);
    r = list(kubelet({ authentication: { webhook: { cacheTTL: '2 minutes' } } }));
    t.true(r.stderr.includes('time: invalid duration "2 minutes"'), r.stderr);
  });

  test(`${version}: bootstrapTokens[0].token must be a bootstrap token; fields must have their Go types`, (t) => {
    const h = host(t, { kubernetes, cluster: tempDir(t, 'labimg-cluster-') });
    const list = (docs: object[]) => h.kubeadm(['config', 'images', 'list', '--config', h.config(docs)]);
    let r = list(initDocs(api, kubernetes, { init: { bootstrapTokens: [{ token: 'NOT-A-TOKEN' }] } }));
    t.is(r.code, 1);
    t.true(r.stderr.includes('the bootstrap token "NOT-A-TOKEN" was not of the form "\\A([a-z0-9]{6})\\.([a-z0-9]{16})\\z"'), r.stderr);
    r = list(initDocs(api, kubernetes, { init: { localAPIEndpoint: { advertiseAddress: '10.0.0.10', bindPort: '6443' } } }));
    t.true(r.stderr.includes('json: cannot unmarshal string into Go struct field APIEndpoint.localAPIEndpoint.bindPort of type int32'), r.stderr);
    r = list(initDocs(api, kubernetes, { init: { certificateKey: 'abc123' } }));
    t.true(r.stderr.includes('certificateKey: Invalid value: "abc123": invalid certificate key size 3, the key must be an AES key of size 32'), r.stderr);
    r = list(initDocs(api, kubernetes, { cluster: { networking: { serviceSubnet: '10.96.0.0/40' } } }));
    t.true(r.stderr.includes('networking.serviceSubnet: Invalid value: "10.96.0.0/40": couldn\'t parse subnet'), r.stderr);
    r = list(initDocs(api, kubernetes, { init: { bootstrapTokens: [{ token: ISSUED, ttl: '2h0m0s', usages: ['signing', 'authentication'] }], certificateKey: 'ab'.repeat(32) } }));
    t.is(r.code, 0, r.stderr);
  });

  test(`${version}: join refuses a token or CA hash its cluster's init did not issue, and a never-uploaded certificate key`, (t) => {
    const cluster = tempDir(t, 'labimg-cluster-');
    const join = (doc: object) => {
      const worker = host(t, { kubernetes, cluster });
      return worker.kubeadm(['join', '--config', worker.config([doc])]);
    };
    // Nothing answers before a control plane exists.
    let r = join(joinDoc(api, {}));
    t.is(r.code, 1);
    t.true(
      r.stderr.includes(
        'error execution phase preflight: couldn\'t validate the identity of the API Server: Get "https://10.0.0.10:6443/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s": dial tcp 10.0.0.10:6443: connect: connection refused',
      ),
      r.stderr,
    );

    const controlPlane = host(t, { kubernetes, cluster, containerd: containerdV2(pause) });
    const init = controlPlane.kubeadm(['init', '--config', controlPlane.config(initDocs(api, kubernetes, { init: { bootstrapTokens: [{ token: ISSUED }] } }))]);
    t.is(init.code, 0, init.stderr);
    t.true(init.stdout.includes(`--discovery-token-ca-cert-hash ${CA_PIN}`), init.stdout);

    r = join(joinDoc(api, { token: 'abcdef.0123456789abcdef' }));
    t.is(r.code, 1);
    t.true(r.stderr.includes('couldn\'t validate the identity of the API Server: could not find a JWS signature in the cluster-info ConfigMap for token ID "abcdef"'), r.stderr);
    r = join(joinDoc(api, { token: 'k9x2q7.aaaaaaaaaaaaaaaa' }));
    t.true(r.stderr.includes("couldn't validate the identity of the API Server: failed to verify JWS signature of received cluster info object, can't trust this API Server"), r.stderr);
    r = join(joinDoc(api, { caCertHashes: [`sha256:${'ab'.repeat(32)}`] }));
    t.is(r.code, 1);
    t.true(
      r.stderr.includes(`couldn't validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${CA_PIN}" are pinned`),
      r.stderr,
    );
    r = join(joinDoc(api, {}));
    t.is(r.code, 0, r.stderr);

    // A token made later with `kubeadm token create` is good too.
    const created = controlPlane.kubeadm(['token', 'create', '--ttl', '2h0m0s']);
    t.is(created.code, 0, created.stderr);
    r = join(joinDoc(api, { token: created.stdout.trim() }));
    t.is(r.code, 0, r.stderr);

    // A control-plane join decrypts the uploaded certificates with its certificateKey.
    const key = '0f'.repeat(32);
    const controlPlaneJoin = (certificateKey: string) => joinDoc(api, {}, { controlPlane: { localAPIEndpoint: { advertiseAddress: '10.0.0.11' }, certificateKey } });
    r = join(controlPlaneJoin(key));
    t.true(r.stderr.includes('error downloading the secret: Secret "kubeadm-certs" was not found in the "kube-system" Namespace.'), r.stderr);
    t.is(controlPlane.kubeadm(['init', 'phase', 'upload-certs', '--upload-certs', '--certificate-key', key]).code, 0);
    r = join(controlPlaneJoin('e1'.repeat(32)));
    t.true(r.stderr.includes('error downloading certs: error decoding secret data with provided key: cipher: message authentication failed'), r.stderr);
    r = join(controlPlaneJoin(key));
    t.is(r.code, 0, r.stderr);
  });

  test(`${version}: init fails when containerd's sandbox image is not kubeadm's pause for the minor`, (t) => {
    const cluster = tempDir(t, 'labimg-cluster-');
    const init = (containerd: string) => {
      const h = host(t, { kubernetes, cluster, containerd });
      return h.kubeadm(['init', '--config', h.config(initDocs(api, kubernetes))]);
    };
    const wrong = 'registry.k8s.io/pause:3.10'; // 1.31-1.33's: neither 1.28's 3.9 nor 1.35's 3.10.1
    for (const toml of [containerdV2(wrong), containerdV3(wrong)]) {
      const r = init(toml);
      t.is(r.code, 1);
      t.true(r.stderr.includes(`detected that the sandbox image "${wrong}" of the container runtime is inconsistent with that used by kubeadm.`), r.stderr);
      t.true(r.stderr.includes(`It is recommended that using "${pause}" as the CRI sandbox image.`), r.stderr);
    }
    t.is(init(containerdV2(pause)).code, 0);
    t.is(init(containerdV3(pause)).code, 0);
  });
}

test('pause tags per minor: 1.23 pause:3.6, 1.31 pause:3.10, 1.34 pause:3.10.1; unset, containerd 2.x defaults to 3.10.1', (t) => {
  for (const [kubernetes, api, good, bad] of [
    ['1.23.3', V1BETA3, 'registry.k8s.io/pause:3.6', 'registry.k8s.io/pause:3.9'],
    ['1.31.4', V1BETA4, 'registry.k8s.io/pause:3.10', 'registry.k8s.io/pause:3.9'],
    ['1.34.2', V1BETA4, 'registry.k8s.io/pause:3.10.1', 'registry.k8s.io/pause:3.10'],
  ] as const) {
    const cluster = tempDir(t, 'labimg-cluster-');
    for (const [sandbox, code] of [[good, 0], [bad, 1]] as const) {
      const h = host(t, { kubernetes, cluster, containerd: containerdV2(sandbox) });
      const r = h.kubeadm(['init', '--config', h.config(initDocs(api, kubernetes))]);
      t.is(r.code, code, `${kubernetes} with ${sandbox}: ${r.stderr}`);
    }
  }
  const h = host(t, { kubernetes: '1.35.9', cluster: tempDir(t, 'labimg-cluster-'), containerd: "version = 3\n[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\nSystemdCgroup = true\n" });
  t.is(h.kubeadm(['init', '--config', h.config(initDocs(V1BETA4, '1.35.9'))]).code, 0);
});

// ---- what the agent writes, for every shipped profile ----------------------------------------------------

const PROFILES = fs
  .readdirSync(path.join(__dirname, '..', 'profiles'))
  .filter((file) => file.endsWith('.yaml') && file !== 'base.yaml')
  .map((file) => file.replace(/\.yaml$/, ''));

function profileHost(t: { teardown(fn: () => void): void }, config: AgentConfig, cluster: string): Host {
  const docker = config.kubernetes.criSocket.includes('dockershim');
  const driver = kubeletCgroupDriver(config);
  return host(t, {
    kubernetes: config.kubernetes.version,
    cluster,
    containerd: containerdV2(config.runtime.containerd.sandboxImage).replace('SystemdCgroup = true', `SystemdCgroup = ${driver === 'systemd'}`),
    dockerDaemon: docker ? { 'exec-opts': [`native.cgroupdriver=${driver}`] } : undefined,
  });
}

test('every profile: the init, images and join configs the agent writes pass kubeadm, sandbox image included', (t) => {
  t.true(PROFILES.length >= 10, PROFILES.join(' '));
  const refused: string[] = [];
  for (const name of PROFILES) {
    const config = profileConfig(name);
    // A GPU node registers with its labels and the readiness gate's taint; kubeadm must take both.
    const registration = { labels: config.gpu?.nodeLabels ?? {}, taints: config.gpu ? [GPU_GATE_TAINT] : [] };
    const cluster = tempDir(t, 'labimg-cluster-');
    const controlPlane = profileHost(t, config, cluster);
    const cpNode: NodeConfig = { apiVersion: 'labimg.dev/v1', kind: 'NodeConfig', role: 'control-plane', nodeName: 'cp-1', advertiseAddress: '10.0.0.10' };
    const images = controlPlane.kubeadm(['config', 'images', 'list', '--config', controlPlane.config(renderKubeadmConfig(imagesDocuments(config)))]);
    if (images.code !== 0) refused.push(`${name} images: ${images.stderr}`);
    const init = controlPlane.kubeadm(['init', '--config', controlPlane.config(renderKubeadmConfig(initDocuments(config, cpNode, registration)))]);
    if (init.code !== 0) {
      refused.push(`${name} init: ${init.stderr}`);
      continue;
    }
    const token = /--token (\S+)/.exec(init.stdout)?.[1] ?? '';
    const worker = profileHost(t, config, cluster);
    const workerNode: NodeConfig = { apiVersion: 'labimg.dev/v1', kind: 'NodeConfig', role: 'worker', nodeName: 'worker-1' };
    const joinConfig = renderKubeadmConfig(joinDocuments(config, workerNode, { token, apiServerEndpoint: '10.0.0.10:6443', caCertHashes: [CA_PIN] }, registration));
    const join = worker.kubeadm(['join', '--config', worker.config(joinConfig)]);
    if (join.code !== 0) refused.push(`${name} join: ${join.stderr}`);
  }
  t.deepEqual(refused, []);
});
