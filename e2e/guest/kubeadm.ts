/**
 * kubeadm for the end-to-end VM, where no kubeadm exists: installed by the test's kubeadm package, it checks
 * its --config as kubeadm's v1beta3/v1beta4 API would (the same rules as the agent tests' stand-in), runs
 * kubeadm's preflight checks against the real machine (swap, the bridge sysctl, forwarding, a running
 * containerd whose CRI plugin is up, the kubelet's cgroup driver matching the runtime's), and then does what
 * the agent depends on: images land in containerd, init writes admin.conf and the cluster CA and starts the
 * kubelet, token create prints a bootstrap token. Every call and config is kept under /var/lib/labimg-e2e
 * for the test's checker to report.
 *
 * With /etc/labimg-e2e/reboot-during-init present, the first init reboots the machine right after writing
 * admin.conf: the agent is cut off in the middle of its boot phase, as a power cut or a reboot would.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dump } from 'js-yaml';
import { kubeadmPauseTagFor, parseKubernetesVersion } from '../../builder/versions';
import { importedImage } from './oci-image';
// The same rules as the agent tests' kubeadm stand-in: apiVersion/kind per release, fields, value formats.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { validateKubeadmConfig, minorOf } = require('../../test/fake-bin/lib/kubeadm-config.js') as {
  validateKubeadmConfig(text: string, command: string, version: string): { byKind: Record<string, any>; warnings: string[] };
  minorOf(version: string): number;
};

declare const CLUSTER_CA_PEM: string;
declare const KUBEADM_VERSION: string;

const STATE = '/var/lib/labimg-e2e';
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

/** kubeadm's preflight, on the real machine. */
function preflight(byKind: Record<string, any>, kind: string): void {
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
  if (kind === 'init' && existsSync('/etc/kubernetes/admin.conf')) errors.push('[ERROR FileAvailable--etc-kubernetes-admin.conf]: /etc/kubernetes/admin.conf already exists');
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

function kubeconfig(server: string, user: string): string {
  return dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'kubernetes', cluster: { server, 'certificate-authority-data': Buffer.from(CLUSTER_CA_PEM).toString('base64') } }],
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

async function main(args: string[]): Promise<void> {
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
      const server = `https://${advertiseAddress(byKind)}:6443`;
      write('/etc/kubernetes/pki/ca.crt', CLUSTER_CA_PEM);
      write('/etc/kubernetes/kubelet.conf', kubeconfig(server, 'system:node'), 0o600);
      write('/etc/kubernetes/admin.conf', kubeconfig(server, 'kubernetes-admin'), 0o600);
      execFileSync('systemctl', ['start', 'kubelet']);
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
      const endpoint = byKind.JoinConfiguration.discovery.bootstrapToken.apiServerEndpoint;
      write('/etc/kubernetes/kubelet.conf', kubeconfig(`https://${endpoint}`, 'system:node'), 0o600);
      execFileSync('systemctl', ['start', 'kubelet']);
      process.stdout.write('This node has joined the cluster\n');
      break;
    }
    case 'token create': {
      if (!existsSync('/etc/kubernetes/admin.conf')) fail('failed to load admin kubeconfig: open /etc/kubernetes/admin.conf: no such file or directory');
      const made = token();
      appendFileSync(`${STATE}/tokens.log`, `${args.slice(2).join(' ')}\n`);
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
