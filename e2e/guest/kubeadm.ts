/**
 * kubeadm for the end-to-end VM, where no kubeadm exists: installed by the test's kubeadm package, it checks
 * its --config as kubeadm's v1beta3/v1beta4 API would (the same rules as the agent tests' stand-in), runs
 * kubeadm's preflight checks against the real machine (swap, the bridge sysctl, forwarding, a running
 * containerd whose CRI plugin is up, the kubelet's cgroup driver matching the runtime's), and then does what
 * the agent depends on: images land in containerd, init writes admin.conf and the cluster CA and starts the
 * kubelet, token create prints a bootstrap token. Every call and config is kept under /var/lib/labimg-e2e
 * for the test's checker to report.
 *
 * Discovery is kubeadm's own protocol, not trust between stand-ins: init makes a real cluster CA and a serving
 * certificate (cluster-pki.ts), its bootstrap tokens, and the cluster-info ConfigMap with one JWS per token
 * (test/fake-bin/lib/cluster-info.js), and starts an HTTPS API server that serves it on the advertise address's
 * bindPort (6443 by default): a systemd unit, labimg-e2e-apiserver.service, enabled and started, running
 * `kubeadm __serve-cluster-info`, because a process started from the agent's unit stays in that unit's cgroup
 * and is killed whenever the unit is stopped, and because the API server must come back after a reboot, as
 * kubeadm's static pods do. `token create` adds its token's signature. `join` fetches cluster-info and checks it as kubeadm's token
 * discovery does (token-discovery.ts), failing with kubeadm's messages.
 *
 * Test-only: LABIMG_E2E_KUBEADM_SANDBOX=DIR puts every file under DIR, skips what needs the VM (preflight,
 * systemctl, the kubelet) and runs the API server as a detached process whose pid is DIR/apiserver.pid, bound to
 * the advertise address instead of every address; test/kubeadm-discovery.test.ts runs init, token create and
 * join that way on a loopback port.
 *
 * With /etc/labimg-e2e/reboot-during-init present, the first init reboots the machine right after writing
 * admin.conf: the agent is cut off in the middle of its boot phase, as a power cut or a reboot would.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect, isIPv6 } from 'node:net';
import { dump } from 'js-yaml';
import { kubeadmPauseTagFor, parseKubernetesVersion } from '../../builder/versions';
import { serveClusterInfo } from './api-server';
import { ensureClusterPki } from './cluster-pki';
import { importedImage } from './oci-image';
import { discoverCluster, durationMs } from './token-discovery';
// The same rules as the agent tests' kubeadm stand-in: apiVersion/kind per release, fields, value formats.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { validateKubeadmConfig, minorOf } = require('../../test/fake-bin/lib/kubeadm-config.js') as {
  validateKubeadmConfig(text: string, command: string, version: string): { byKind: Record<string, any>; warnings: string[] };
  minorOf(version: string): number;
};
// The cluster-info ConfigMap and its signatures, shared with the agent tests' kubeadm stand-in.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const clusterInfo = require('../../test/fake-bin/lib/cluster-info.js') as {
  DiscoveryError: new (message: string) => Error;
  parseBootstrapToken(token: string): { id: string; secret: string };
  clusterInfoKubeconfig(server: string, caPem: string): string;
  clusterInfoConfigMap(kubeconfig: string, tokens: IssuedToken[]): object;
};

declare const KUBEADM_VERSION: string;

/** A bootstrap token the control plane holds (kubeadm keeps each as a Secret in kube-system). */
interface IssuedToken {
  token: string;
  usages?: string[];
  description?: string;
}

const SANDBOX = process.env.LABIMG_E2E_KUBEADM_SANDBOX || undefined;
/** A path on the machine, or under the test's sandbox. */
const at = (file: string): string => (SANDBOX ? `${SANDBOX}${file}` : file);
const STATE = at('/var/lib/labimg-e2e');
const PKI = at('/etc/kubernetes/pki');
const TOKENS_FILE = `${STATE}/bootstrap-tokens.json`;
const CLUSTER_INFO_FILE = `${STATE}/cluster-info.json`;
const API_SERVER_FILE = `${STATE}/apiserver.json`;
const API_SERVER_UNIT = 'labimg-e2e-apiserver.service';
// etcd and CoreDNS tags as kubeadm 1.28 lists them, and the newest this stand-in knows for later releases;
// nothing in the VM runs them. The pause tag, which containerd's sandbox image must match, is labimg's table's.
const IMAGES = { 28: { etcd: '3.5.15-0', coredns: 'v1.10.1' } } as Record<number, { etcd: string; coredns: string }>;
const LATEST = { etcd: '3.5.16-0', coredns: 'v1.11.3' };

function fail(message: string, code = 1): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function record(args: string[]): void {
  mkdirSync(STATE, { recursive: true });
  appendFileSync(`${STATE}/calls.log`, `kubeadm ${args.join(' ')}\n`);
}

function loadConfig(command: string, args: string[]): Record<string, any> {
  const at = args.indexOf('--config');
  const file = at >= 0 ? args[at + 1] : undefined;
  if (!file) fail('kubeadm stand-in: only --config FILE is accepted (the agent never uses flags)', 64);
  const text = readFileSync(file, 'utf8');
  writeFileSync(`${STATE}/${command}-config.yaml`, text, { mode: 0o600 });
  try {
    const parsed = validateKubeadmConfig(text, command, KUBEADM_VERSION);
    for (const warning of parsed.warnings) process.stderr.write(`${warning}\n`);
    return parsed.byKind;
  } catch (error) {
    fail(`${(error as Error).message}\nTo see the stack trace of this error execute with --v=5 or higher`);
  }
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function run(command: string, args: string[]): { code: number; out: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return { code: result.status ?? -1, out: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

/** kubeadm's preflight, on the real machine (none in the test's sandbox, which is no machine). */
function preflight(byKind: Record<string, any>, kind: string): void {
  if (SANDBOX) return;
  const errors: string[] = [];
  const swaps = (read('/proc/swaps') ?? '').split('\n').slice(1).filter((line) => line.trim());
  if (swaps.length > 0) errors.push('[ERROR Swap]: running with swap on is not supported. Please disable swap');
  if (read('/proc/sys/net/bridge/bridge-nf-call-iptables')?.trim() !== '1') {
    errors.push('[ERROR FileContent--proc-sys-net-bridge-bridge-nf-call-iptables]: /proc/sys/net/bridge/bridge-nf-call-iptables does not exist');
  }
  if (read('/proc/sys/net/ipv4/ip_forward')?.trim() !== '1') errors.push('[ERROR FileContent--proc-sys-net-ipv4-ip_forward]: /proc/sys/net/ipv4/ip_forward contents are not set to 1');
  if (run('systemctl', ['is-active', 'containerd']).out.trim() !== 'active') {
    errors.push('[ERROR CRI]: container runtime is not running: dial unix /var/run/containerd/containerd.sock: connect: no such file or directory');
  } else if (!/io\.containerd\.grpc\.v1\s+cri\s+.*\bok\b/.test(run('ctr', ['plugins', 'ls']).out)) {
    errors.push('[ERROR CRI]: container runtime is not running: the CRI plugin of containerd is not "ok" (ctr plugins ls)');
  }
  const kubelet = byKind.KubeletConfiguration?.cgroupDriver ?? 'systemd';
  const runtime = /SystemdCgroup = true/.test(run('containerd', ['config', 'dump']).out) ? 'systemd' : 'cgroupfs';
  if (kubelet !== runtime) errors.push(`[ERROR CgroupDriver]: the kubelet's cgroup driver "${kubelet}" is not containerd's "${runtime}"`);
  if (kind === 'init' && existsSync(at('/etc/kubernetes/admin.conf'))) errors.push('[ERROR FileAvailable--etc-kubernetes-admin.conf]: /etc/kubernetes/admin.conf already exists');
  if (errors.length > 0) fail(`[preflight] Some fatal errors occurred:\n${errors.map((e) => `\t${e}`).join('\n')}\nerror execution phase preflight`);
}

function imageList(cluster: Record<string, any>): string[] {
  const version = String(cluster.kubernetesVersion ?? `v${KUBEADM_VERSION}`);
  const repo = String(cluster.imageRepository ?? 'registry.k8s.io');
  const v = IMAGES[minorOf(version)] ?? LATEST;
  const pause = kubeadmPauseTagFor(parseKubernetesVersion(version.replace(/^v/, ''))!);
  // As kubeadm's GetDNSImage: dns.imageRepository wins; else the default registry keeps the coredns/ level.
  const dnsRepo = cluster.dns?.imageRepository ?? (repo === 'registry.k8s.io' ? `${repo}/coredns` : repo);
  return [...['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy'].map((c) => `${repo}/${c}:${version}`), `${repo}/pause:${pause}`, `${repo}/etcd:${v.etcd}`, `${dnsRepo}/coredns:${v.coredns}`];
}

function kubeconfig(server: string, caPem: string, user: string): string {
  return dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'kubernetes', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: user, user: { token: 'e2e-stand-in' } }],
    contexts: [{ name: `${user}@kubernetes`, context: { cluster: 'kubernetes', user } }],
    'current-context': `${user}@kubernetes`,
  });
}

/** The address kubeadm would advertise: the node's, from the default route's interface. */
function advertiseAddress(byKind: Record<string, any>): string {
  const configured = byKind.InitConfiguration?.localAPIEndpoint?.advertiseAddress;
  if (configured) return String(configured);
  const route = run('ip', ['-4', 'route', 'get', '1.1.1.1']).out;
  return /\bsrc (\d+\.\d+\.\d+\.\d+)/.exec(route)?.[1] ?? '127.0.0.1';
}

function token(): string {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const pick = (n: number) => Array.from(randomBytes(n), (b) => chars[b % chars.length]).join('');
  return `${pick(6)}.${pick(16)}`;
}

function write(file: string, content: string, mode = 0o644): void {
  mkdirSync(file.slice(0, file.lastIndexOf('/')), { recursive: true });
  writeFileSync(file, content, { mode });
}

function startKubelet(): void {
  if (!SANDBOX) execFileSync('systemctl', ['start', 'kubelet']);
}

/** host:port as Go's net.JoinHostPort writes it (IPv6 in brackets). */
function hostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The host of controlPlaneEndpoint ("host", "host:port", "[v6]:port"), if set. */
function endpointHost(endpoint: string | undefined): string | undefined {
  if (!endpoint) return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(endpoint);
  if (bracketed) return bracketed[1];
  return isIPv6(endpoint) ? endpoint : endpoint.replace(/:\d+$/, '');
}

function loadTokens(): IssuedToken[] {
  return existsSync(TOKENS_FILE) ? (JSON.parse(readFileSync(TOKENS_FILE, 'utf8')) as IssuedToken[]) : [];
}

/** Saves the tokens (secrets: 0600) and re-signs cluster-info with them, as the bootstrap signer does. */
function saveTokensAndSign(tokens: IssuedToken[]): void {
  write(TOKENS_FILE, `${JSON.stringify(tokens, null, 2)}\n`, 0o600);
  const { kubeconfig } = JSON.parse(readFileSync(CLUSTER_INFO_FILE, 'utf8')).data as { kubeconfig: string };
  write(`${CLUSTER_INFO_FILE}.tmp`, `${JSON.stringify(clusterInfo.clusterInfoConfigMap(kubeconfig, tokens), null, 2)}\n`);
  // Renamed into place: the API server reads the file on every request and must never see half of it.
  renameSync(`${CLUSTER_INFO_FILE}.tmp`, CLUSTER_INFO_FILE);
}

/**
 * kubeadm init's bootstrap tokens: InitConfiguration.bootstrapTokens, a token generated for each entry without one,
 * and one generated token when there are none (bootstraptoken/v1 SetDefaults_BootstrapTokens, util/config
 * SetBootstrapTokensDynamicDefaults, read 2026-12-06).
 */
function initTokens(init: Record<string, any>): IssuedToken[] {
  const configured = (init.bootstrapTokens ?? []) as Array<{ token?: string; usages?: string[]; description?: string }>;
  const entries = configured.length > 0 ? configured : [{}];
  return entries.map((entry) => ({ token: entry.token ? String(entry.token) : token(), ...(entry.usages ? { usages: entry.usages } : {}), ...(entry.description ? { description: entry.description } : {}) }));
}

/**
 * Starts the API server that answers for cluster-info and waits until it accepts connections: on the VM a systemd
 * unit (see the header for why), in the test's sandbox a detached process.
 */
async function startApiServer(host: string, port: number): Promise<void> {
  write(API_SERVER_FILE, `${JSON.stringify({ certFile: `${PKI}/apiserver.crt`, keyFile: `${PKI}/apiserver.key`, configMapFile: CLUSTER_INFO_FILE, host: SANDBOX ? host : '0.0.0.0', port })}\n`);
  if (SANDBOX) {
    const child = spawn(process.execPath, [process.argv[1]!, '__serve-cluster-info'], { detached: true, stdio: 'ignore', env: process.env });
    write(`${SANDBOX}/apiserver.pid`, `${child.pid}\n`);
    child.unref();
  } else {
    write(`/etc/systemd/system/${API_SERVER_UNIT}`, `[Unit]\nDescription=cluster-info API server of the labimg end-to-end kubeadm stand-in\nAfter=network-online.target\n\n[Service]\nExecStart=/usr/bin/kubeadm __serve-cluster-info\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n`);
    execFileSync('systemctl', ['daemon-reload']);
    execFileSync('systemctl', ['enable', '--now', API_SERVER_UNIT]);
  }
  // kubeadm init returns once the API server answers; so does this.
  const deadline = Date.now() + 60_000;
  const accepts = () => new Promise<boolean>((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => resolve(true)).once('error', () => resolve(false));
    socket.once('connect', () => socket.destroy());
  });
  while (!(await accepts())) {
    if (Date.now() > deadline) fail(`kubeadm stand-in: nothing accepts connections on ${hostPort(host, port)} 60 s after its API server was started`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function serveFromState(): Promise<void> {
  const config = JSON.parse(readFileSync(API_SERVER_FILE, 'utf8')) as { certFile: string; keyFile: string; configMapFile: string; host: string; port: number };
  await serveClusterInfo(config, config.host, config.port);
}

/** JoinConfiguration's discovery timeout: v1beta4 timeouts.discovery, v1beta3 discovery.timeout, else 5 minutes. */
function discoveryTimeoutMs(join: Record<string, any>): number {
  const text = join.timeouts?.discovery ?? join.discovery?.timeout;
  return text ? durationMs(String(text)) : 5 * 60_000;
}

async function main(args: string[]): Promise<void> {
  // The API server this stand-in installs (see startApiServer), not a kubeadm command: not recorded.
  if (args[0] === '__serve-cluster-info') return serveFromState();
  record(args);
  const command = args.slice(0, args[0] === 'config' || args[0] === 'token' || args[0] === 'certs' ? 2 : 1).join(' ');
  switch (command) {
    case 'config images': {
      const byKind = loadConfig('images', args);
      const images = imageList(byKind.ClusterConfiguration ?? {});
      if (args[2] === 'list') {
        process.stdout.write(`${images.join('\n')}\n`);
      } else if (args[2] === 'pull') {
        // Nothing reaches a registry from here: every image is the same tiny one, under each name kubeadm uses.
        const base = await importedImage();
        for (const image of images) {
          execFileSync('ctr', ['--namespace', 'k8s.io', 'images', 'tag', '--force', base, image]);
          process.stdout.write(`[config/images] Pulled ${image}\n`);
        }
      } else {
        fail(`unknown command "${args[2]}" for "kubeadm config images"`);
      }
      break;
    }
    case 'init': {
      if (args[1] === 'phase') {
        process.stdout.write('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace\n');
        break;
      }
      const byKind = loadConfig('init', args);
      preflight(byKind, 'init');
      const init = byKind.InitConfiguration ?? {};
      const cluster = byKind.ClusterConfiguration ?? {};
      const address = advertiseAddress(byKind);
      const port = Number(init.localAPIEndpoint?.bindPort ?? 6443);
      const server = `https://${hostPort(address, port)}`;
      const names = [address, endpointHost(cluster.controlPlaneEndpoint), ...((cluster.apiServer?.certSANs ?? []) as string[])].filter((n): n is string => Boolean(n));
      const pki = ensureClusterPki(PKI, names);
      // cluster-info's server is admin.conf's, i.e. controlPlaneEndpoint when set (clusterinfo.go copies admin.conf's cluster).
      const cpe = cluster.controlPlaneEndpoint ? String(cluster.controlPlaneEndpoint) : undefined;
      const publicServer = cpe ? `https://${endpointHost(cpe) === cpe ? hostPort(cpe, port) : cpe}` : server;
      write(CLUSTER_INFO_FILE, `${JSON.stringify({ data: { kubeconfig: clusterInfo.clusterInfoKubeconfig(publicServer, pki.caCertPem) } })}\n`);
      saveTokensAndSign(initTokens(init));
      await startApiServer(address, port);
      write(at('/etc/kubernetes/kubelet.conf'), kubeconfig(publicServer, pki.caCertPem, 'system:node'), 0o600);
      write(at('/etc/kubernetes/admin.conf'), kubeconfig(publicServer, pki.caCertPem, 'kubernetes-admin'), 0o600);
      startKubelet();
      if (existsSync('/etc/labimg-e2e/reboot-during-init') && !existsSync(`${STATE}/rebooted`)) {
        write(`${STATE}/rebooted`, `${new Date().toISOString()}\n`);
        process.stderr.write('kubeadm stand-in: rebooting now, in the middle of the agent\'s boot phase (test hook)\n');
        execFileSync('systemctl', ['reboot']);
        // The reboot ends this process with everything else; nothing after it runs.
        setInterval(() => undefined, 1000);
        break;
      }
      process.stdout.write('Your Kubernetes control-plane has initialized successfully!\n');
      break;
    }
    case 'join': {
      const byKind = loadConfig('join', args);
      preflight(byKind, 'join');
      const join = byKind.JoinConfiguration;
      const discovery = join.discovery?.bootstrapToken;
      if (!discovery) fail('kubeadm stand-in: only token discovery (discovery.bootstrapToken) is modelled', 64);
      let found;
      try {
        found = await discoverCluster(discovery, discoveryTimeoutMs(join));
      } catch (error) {
        // kubeadm's own errors are printed as kubeadm prints them; anything else is a bug of this stand-in.
        if (!(error instanceof clusterInfo.DiscoveryError)) throw error;
        fail(`error execution phase preflight: couldn't validate the identity of the API Server: ${(error as Error).message}\nTo see the stack trace of this error execute with --v=5 or higher`);
      }
      write(at('/etc/kubernetes/pki/ca.crt'), found.caPem);
      write(at('/etc/kubernetes/kubelet.conf'), kubeconfig(found.server, found.caPem, 'system:node'), 0o600);
      startKubelet();
      process.stdout.write('This node has joined the cluster\n');
      break;
    }
    case 'token create': {
      if (!existsSync(at('/etc/kubernetes/admin.conf'))) fail('failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory');
      const made = token();
      appendFileSync(`${STATE}/tokens.log`, `${args.slice(2).join(' ')}\n`);
      // kubeadm token create makes a bootstrap token Secret with the default usages; the bootstrap signer then signs
      // cluster-info with it. Here both happen before the token is printed.
      saveTokensAndSign([...loadTokens(), { token: made }]);
      process.stdout.write(`${made}\n`);
      break;
    }
    case 'certs certificate-key':
      process.stdout.write(`${randomBytes(32).toString('hex')}\n`);
      break;
    default:
      fail(`kubeadm stand-in: "${args.join(' ')}" is not something the agent runs`, 64);
  }
}

main(process.argv.slice(2)).catch((error: Error) => fail(`kubeadm stand-in crashed: ${error.stack ?? error.message}`, 70));
