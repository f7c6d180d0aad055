/**
 * A fake machine for agent tests: a temp root laid out like a freshly installed CentOS 7 or Ubuntu 20.04 (swap on,
 * firewall running, SELinux enforcing, a stale Docker package) or a freshly booted Flatcar, the stand-in commands of test/fake-bin on
 * PATH — and nothing else: PATH holds only the stand-ins and `node`, so a command without a stand-in fails
 * the test instead of touching the real machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import yaml from 'js-yaml';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AgentConfig, NodeConfig, NodeSecrets, PinnedManifest } from '../../contract/agent-config';
import { compileAgentConfig } from '../../builder/compile';
import { loadProfile } from '../../builder/profiles';
import { AGENT_BUNDLE, REPO_ROOT, ensureAgentBuilt } from './agent-build';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { updateCluster } = require('../fake-bin/lib/fake-cluster') as { updateCluster(dir: string, change: (state: any) => void): unknown };
// The kernel side the stand-ins share with this helper: PCI devices, Secure Boot, initramfs, boot.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fakeKernel = require('../fake-bin/lib/fake-kernel') as {
  FRESH_PROC_MODULES: string;
  addPciDevice(root: string, address: string, files: Record<string, string>): void;
  writeSecureBoot(root: string, state: SecureBootState): void;
  initramfsImage(family: 'rhel' | 'debian', release: string): string;
  buildInitramfs(root: string, release: string, image: string): void;
  bootKernel(root: string): void;
  rebootMachine(root: string, kernelRelease?: string): void;
};

export const FAKE_BIN = path.join(REPO_ROOT, 'test/fake-bin');

/** What every fake machine's /proc/uptime says: 83.25 s since boot. */
export const FAKE_UPTIME_SECONDS = '83.25';

/**
 * The kernel each fake machine runs (`uname -r`): CentOS 7's last cloud image's (GenericCloud-2211, older than
 * the vault's newest kernel-devel), a Rocky 9.5 image's, Ubuntu 20.04's and a Flatcar stable release's.
 */
export function kernelReleaseOf(os: AgentConfig['os']): string {
  if (os.id === 'rocky') return '5.14.0-503.14.1.el9_5.x86_64';
  const byFamily: Record<AgentConfig['os']['family'], string> = {
    rhel: '3.10.0-1160.80.1.el7.x86_64',
    debian: '5.4.0-216-generic',
    flatcar: '6.6.95-flatcar',
  };
  return byFamily[os.family];
}
export const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/agent');

/** The AgentConfig a shipped profile compiles to: agent tests run what `labimg build` ships. */
/**
 * The profile's AgentConfig as `labimg build` ships it, except that each addon manifest is pinned to the fixture
 * the tests serve at its URL (profileDownloads) instead of to the upstream file: the network here is a stand-in,
 * whose bytes the shipped pins (taken from the upstream repositories, FACTS.md) rightly refuse.
 */
export function profileConfig(name: string): AgentConfig {
  return pinnedToFixtures(shippedConfig(name));
}

/** The profile's AgentConfig exactly as `labimg build` ships it, upstream manifest pins included. */
export function shippedConfig(name: string): AgentConfig {
  return compileAgentConfig(loadProfile(name, { dir: path.join(REPO_ROOT, 'profiles') }));
}

/** `config` with each addon manifest that has a fixture (manifestDownloads) pinned to that fixture's sha256. */
export function pinnedToFixtures(config: AgentConfig): AgentConfig {
  const served = manifestDownloads(manifestUrls(config));
  const repin = (entries: PinnedManifest[]) =>
    entries.map((entry) => (served[entry.url] === undefined ? entry : { ...entry, sha256: crypto.createHash('sha256').update(served[entry.url]!).digest('hex') }));
  const pinned: AgentConfig = { ...config, cni: { ...config.cni, manifests: repin(config.cni.manifests) } };
  const plugin = config.gpu?.devicePlugin;
  if (plugin) pinned.gpu = { ...config.gpu!, devicePlugin: { ...plugin, manifests: repin(plugin.manifests) } };
  return pinned;
}

/** The URLs of the config's addon manifests, in order: the CNI's, then the device plugin's. */
export function manifestUrls(config: AgentConfig): string[] {
  return [...config.cni.manifests, ...(config.gpu?.devicePlugin?.manifests ?? [])].map((entry) => entry.url);
}

/**
 * The stand-in of a Kubernetes binary where Kubernetes comes as files (Flatcar): a script the stand-ins
 * recognize by its comment line (test/fake-bin/lib/fake-machine.js, binaryVersion).
 */
export function kubernetesBinaryStandIn(name: string, version: string): string {
  return `#!/bin/sh
# labimg stand-in ${name} v${version}
exit 0
`;
}

/**
 * The flatcar profile's AgentConfig with each binary pinned to its stand-in's sha256 instead of the real
 * release file's: everything else is what `labimg build flatcar` ships.
 */
export function flatcarConfig(): AgentConfig {
  const config = profileConfig('flatcar');
  const { version } = config.kubernetes;
  const binaries = (config.kubernetes.binaries ?? []).map((binary) => ({
    ...binary,
    sha256: crypto.createHash('sha256').update(kubernetesBinaryStandIn(binary.name, version)).digest('hex'),
  }));
  return { ...config, kubernetes: { ...config.kubernetes, binaries } };
}

const FIXTURE_DIR = path.join(REPO_ROOT, 'test/fixtures');
const fixtureText = (name: string) => fs.readFileSync(path.join(FIXTURE_DIR, name), 'utf8');

/**
 * What the network serves a machine built from `config`, URL → content: the only URLs the curl and kubectl
 * stand-ins answer (anything else is a 404). Every apt signing key the config's repositories name is a real
 * armored OpenPGP key (test/fixtures/keys, made with gpg); every addon manifest is the fixture shaped like it
 * (test/fixtures/manifests), by the file name the URL ends in. A manifest URL without a fixture is left out,
 * so a profile that starts naming a new addon fails its test until the test says what it is.
 */
export function profileDownloads(config: AgentConfig): Record<string, string> {
  const served: Record<string, string> = {};
  for (const repo of config.repositories) {
    if (repo.kind === 'deb' && repo.gpgCheck) for (const url of repo.gpgKeys) served[url] = fixtureText('keys/apt-repository.asc');
  }
  return { ...served, ...manifestDownloads(manifestUrls(config)) };
}

/**
 * Addon manifest URL → the fixture shaped like it (test/fixtures/manifests), by the file name the URL ends in;
 * a URL without a fixture is left out.
 */
export function manifestDownloads(manifests: string[]): Record<string, string> {
  const served: Record<string, string> = {};
  // Calico 3.30+ lists operator-crds.yaml first; its tigera-operator.yaml then holds no CRDs.
  const crdsApart = manifests.some((url) => url.endsWith('/operator-crds.yaml'));
  const byName: Record<string, string> = {
    'operator-crds.yaml': 'manifests/operator-crds.yaml',
    'tigera-operator.yaml': crdsApart ? 'manifests/tigera-operator-crds-apart.yaml' : 'manifests/tigera-operator.yaml',
    'nvidia-device-plugin.yml': 'manifests/nvidia-device-plugin.yml',
  };
  for (const url of manifests) {
    const fixtureName = byName[url.split('/').pop() ?? ''];
    if (fixtureName) served[url] = fixtureText(fixtureName);
  }
  return served;
}

/** Node configs and secrets, which come per instance rather than from a profile. */
export function fixture<T>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as T;
}

/**
 * The firmware's Secure Boot state as the EFI variables show it (test/fake-bin/lib/fake-kernel.js
 * writeSecureBoot): 'enabled' (SecureBoot 1, SetupMode 0), 'disabled' (0, 0), 'no-secure-boot-variable' (EFI
 * variables but no SecureBoot), 'no-efi' (a BIOS boot: no /sys/firmware/efi).
 */
export type SecureBootState = 'enabled' | 'disabled' | 'no-efi' | 'no-secure-boot-variable';

export interface GpuOptions {
  /** The PCI device id sysfs shows in each GPU's `device` file; 0x2330 (H100 SXM5 80GB, pci.ids) by default. */
  device?: string;
  /** How many GPUs, at gpuAddresses(count); 1 by default. */
  count?: number;
  /**
   * The kernel has nouveau: at every boot it binds each NVIDIA GPU unless the initramfs of the running kernel
   * blacklists it (FakeMachine.reboot). False by default.
   */
  nouveau?: boolean;
  /** 'no-efi' (a BIOS boot) by default. */
  secureBoot?: SecureBootState;
}

/**
 * Where a machine's GPUs sit on the PCI bus, as sysfs names them: 0000:00:1e.0 first (where `gpu: true` has
 * always put it), then 0000:00:1f.0 (device numbers end at 0x1f), then one per bus: 0000:01:00.0, 0000:02:00.0...
 */
export function gpuAddresses(count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i < 2 ? `0000:00:${(0x1e + i).toString(16)}.0` : `0000:${(i - 1).toString(16).padStart(2, '0')}:00.0`));
}

function gpuOptions(gpu: MachineOptions['gpu']): Required<GpuOptions> | undefined {
  if (!gpu) return undefined;
  const options = gpu === true ? {} : gpu;
  return { device: options.device ?? '0x2330', count: options.count ?? 1, nouveau: options.nouveau ?? false, secureBoot: options.secureBoot ?? 'no-efi' };
}

export interface MachineOptions {
  config: AgentConfig;
  node?: NodeConfig;
  secrets?: NodeSecrets;
  /**
   * NVIDIA 3D controllers (vendor 0x10de, class 0x030200) on the fake PCI bus: `true` is one H100 at 0000:00:1e.0;
   * GpuOptions says which, how many, whether nouveau takes them and the Secure Boot state.
   */
  gpu?: boolean | GpuOptions;
  /** The Node.js that runs the agent; the test runner's own when absent. */
  nodeBinary?: string;
  /** What the network serves (URL → content); profileDownloads(config) when absent. */
  downloads?: Record<string, string>;
  /**
   * The directory of the cluster this machine belongs to ($LABIMG_FAKE_CLUSTER, test/fake-bin/lib/fake-cluster.js):
   * what its control plane's kubeadm init publishes and a joining node's kubeadm join checks its token and CA
   * hash against. A fresh one per created machine when absent; machines launched from an image share the image's.
   */
  cluster?: string;
}

/**
 * Makes `cluster` look like one whose control plane ran kubeadm init at 10.0.0.10:6443 with the fixture CA
 * (test/fixtures/cluster-ca.crt) and issued `tokens`: for worker tests that have no control plane of their own.
 */
export function seedCluster(cluster: string, tokens: string[], certificateKeys: string[] = []): void {
  updateCluster(cluster, (state: { endpoints: string[]; caCert?: string; tokens: string[]; certificateKeys: string[] }) => {
    state.endpoints = [...new Set([...state.endpoints, '10.0.0.10:6443'])];
    state.caCert = fs.readFileSync(path.join(REPO_ROOT, 'test/fixtures/cluster-ca.crt'), 'utf8');
    state.tokens.push(...tokens);
    state.certificateKeys.push(...certificateKeys);
  });
}

/**
 * The cluster's control plane applied NVIDIA's device plugin (the fixture stand-in of its static manifest), as
 * `kubectl create -f` on it records: workers of the cluster see its DaemonSet (test/fake-bin/lib/fake-nodes.js).
 */
export function seedDevicePlugin(cluster: string): void {
  const manifest = yaml.load(fs.readFileSync(path.join(REPO_ROOT, 'test/fixtures/manifests/nvidia-device-plugin.yml'), 'utf8')) as any;
  updateCluster(cluster, (state: { daemonSets?: Array<{ name: string; tolerations: unknown[] }> }) => {
    state.daemonSets = [...(state.daemonSets ?? []), { name: manifest.metadata.name, tolerations: manifest.spec.template.spec.tolerations }];
  });
}

export interface AgentRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface LoggedCommand {
  argv: string[];
  cwd: string;
}

let nodeOnlyDir: string | undefined;
/** A directory holding only a `node` link, so the stand-ins' `#!/usr/bin/env node` resolves without /usr/bin on PATH. */
function nodeDir(): string {
  if (!nodeOnlyDir) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labimg-node-'));
    fs.symlinkSync(process.execPath, path.join(dir, 'node'));
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    nodeOnlyDir = dir;
  }
  return nodeOnlyDir;
}

export class FakeMachine {
  readonly root: string;
  readonly logFile: string;
  /** The cluster directory ($LABIMG_FAKE_CLUSTER) this machine's kubeadm sees. */
  readonly cluster: string;
  private readonly running = new Set<ChildProcess>();

  private constructor(readonly dir: string, readonly options: MachineOptions) {
    this.root = path.join(dir, 'root');
    this.logFile = path.join(dir, 'commands.jsonl');
    // Inside the machine's temp dir (gone with it), outside its root (not part of its snapshots).
    this.cluster = options.cluster ?? path.join(dir, 'cluster');
  }

  static async create(options: MachineOptions): Promise<FakeMachine> {
    await ensureAgentBuilt();
    const machine = new FakeMachine(fs.mkdtempSync(path.join(os.tmpdir(), 'labimg-agent-')), options);
    machine.layOutFreshHost();
    for (const [url, content] of Object.entries(options.downloads ?? profileDownloads(options.config))) machine.publishDownload(url, content);
    return machine;
  }

  /**
   * An instance launched from a baked image: a copy of `image`'s root (packages, units, files and the
   * stand-ins' state), with this instance's own node.json, secrets and command log.
   */
  static fromImage(image: FakeMachine, instance: Pick<MachineOptions, 'node' | 'secrets'>): FakeMachine {
    // Instances of one image join one cluster: the image's.
    const machine = new FakeMachine(fs.mkdtempSync(path.join(os.tmpdir(), 'labimg-agent-')), { ...image.options, cluster: image.cluster, ...instance });
    // Links stay as they are: sysfs and /lib/modules/<release>/build are relative links inside the root, which
    // fs.cpSync would otherwise rewrite to absolute paths into the image's root.
    fs.cpSync(image.root, machine.root, { recursive: true, verbatimSymlinks: true });
    if (instance.node) machine.write('/etc/labimg/node.json', `${JSON.stringify(instance.node, null, 2)}\n`);
    if (instance.secrets) machine.write('/etc/labimg/secrets.json', `${JSON.stringify(instance.secrets)}\n`, 0o600);
    return machine;
  }

  /** Flatcar as it boots: no swap, no firewall, SELinux permissive, containerd built in and running. */
  private layOutFlatcar(): void {
    this.write('/etc/os-release', 'NAME="Flatcar Container Linux by Kinvolk"\nID=flatcar\nID_LIKE=coreos\nVERSION_ID=4593.2.5\nPRETTY_NAME="Flatcar Container Linux by Kinvolk 4593.2.5"\n');
    this.write('/etc/fstab', '# Flatcar mounts its filesystems with systemd units\n');
    this.write('/proc/swaps', 'Filename\tType\tSize\tUsed\tPriority\n');
    this.write('/usr/share/containerd/config.toml', 'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\nSystemdCgroup = true\n');
    // containerd is part of the OS image: present and running from the first boot, no package to install.
    this.writeFakeState('packages', { containerd: { version: '2.1.5' } });
    this.writeFakeState('units', { containerd: { enabled: true, active: true } });
  }

  /** The Kubernetes binaries where Ignition puts them before first boot, 0755. */
  placeKubernetesBinaries(): void {
    const { version } = this.options.config.kubernetes;
    for (const binary of this.options.config.kubernetes.binaries ?? []) this.write(binary.path, kubernetesBinaryStandIn(binary.name, version), 0o755);
  }

  /** Serves `content` at `url` to the curl and kubectl stand-ins (test/fake-bin/lib/fake-machine.js download()). */
  publishDownload(url: string, content: string): void {
    this.write(`/.fake/downloads/${crypto.createHash('sha256').update(url).digest('hex')}`, content);
  }

  /** The sysfs addresses of this machine's GPUs (none without the `gpu` option). */
  get gpuAddresses(): string[] {
    const gpu = gpuOptions(this.options.gpu);
    return gpu ? gpuAddresses(gpu.count) : [];
  }

  private layOutFreshHost(): void {
    const { config } = this.options;
    this.write('/etc/hostname', 'lab-node\n');
    this.write('/proc/modules', fakeKernel.FRESH_PROC_MODULES);
    // Seconds since boot and idle seconds, as proc(5) shows /proc/uptime; a stand-in's clock stands still.
    this.write('/proc/uptime', `${FAKE_UPTIME_SECONDS} 152.40\n`);
    this.write('/proc/sys/net/ipv4/ip_forward', '0\n');
    // `uname -r`: modprobe looks for modules under /lib/modules/<this>.
    this.write('/proc/sys/kernel/osrelease', `${kernelReleaseOf(config.os)}\n`);
    fakeKernel.addPciDevice(this.root, '0000:00:00.0', { vendor: '0x8086', class: '0x060000' });
    const gpu = gpuOptions(this.options.gpu);
    if (gpu) {
      for (const address of gpuAddresses(gpu.count)) fakeKernel.addPciDevice(this.root, address, { vendor: '0x10de', device: gpu.device, class: '0x030200' });
      fakeKernel.writeSecureBoot(this.root, gpu.secureBoot);
      if (gpu.nouveau) this.writeFakeState('kernel', { nouveau: true });
    }
    if (config.os.family === 'rhel') this.layOutRhel();
    else if (config.os.family === 'debian') this.layOutUbuntu();
    else this.layOutFlatcar();
    if (config.os.family !== 'flatcar') this.layOutRunningKernel(config.os.family);
    this.write('/etc/labimg/agent.json', `${JSON.stringify(config, null, 2)}\n`);
    if (this.options.node) this.write('/etc/labimg/node.json', `${JSON.stringify(this.options.node, null, 2)}\n`);
    if (this.options.secrets) this.write('/etc/labimg/secrets.json', `${JSON.stringify(this.options.secrets)}\n`, 0o600);
    // The first boot: a boot_id, and nouveau taking the GPUs where the kernel has it.
    fakeKernel.bootKernel(this.root);
  }

  /**
   * The running kernel as installed: its module directory with the modules.dep depmod wrote, and the initramfs
   * the distro built for it (dracut's /boot/initramfs-<release>.img, initramfs-tools' /boot/initrd.img-<release>),
   * recorded with what it carries of /etc/modprobe.d (nothing yet) in $ROOT/.fake/initramfs.json.
   */
  private layOutRunningKernel(family: 'rhel' | 'debian'): void {
    const release = kernelReleaseOf(this.options.config.os);
    this.write(`/lib/modules/${release}/modules.dep`, '');
    fakeKernel.buildInitramfs(this.root, release, fakeKernel.initramfsImage(family, release));
  }

  /**
   * Reboots the machine (test/fake-bin/lib/fake-kernel.js rebootMachine): a new boot_id, /run emptied, every
   * module unloaded and every driver unbound, the enabled units (and only those) active, SELinux back to its
   * configured mode; then the kernel boots, and nouveau (with `gpu.nouveau`) takes each NVIDIA GPU unless the
   * running kernel's initramfs blacklists it. modules-load.d lists are not loaded: the agent loads them.
   * `kernelRelease` boots another installed kernel. No agent runs across it: call it between runAgent calls.
   */
  reboot(options: { kernelRelease?: string } = {}): void {
    if (this.running.size > 0) throw new Error('reboot with an agent still running: wait for runAgent to settle first');
    fakeKernel.rebootMachine(this.root, options.kernelRelease);
  }

  /** The last `systemctl reboot` not yet followed by reboot(): the boot_id it was asked in, or undefined. */
  rebootRequested(): { bootId: string } | undefined {
    return this.fakeState<{ bootId: string } | null>('reboot-requested') ?? undefined;
  }

  /** /proc/sys/kernel/random/boot_id: changes at every boot. */
  bootId(): string {
    return (this.read('/proc/sys/kernel/random/boot_id') ?? '').trim();
  }

  /**
   * CentOS 7 (or Rocky Linux 9) as installed: swap on, firewalld running, SELinux enforcing, the distro's old
   * docker package. CentOS 7 keeps the repositories centos-release 7.9.2009 ships (CentOS-Base.repo, whose
   * mirrorlist.centos.org is gone) and the key they are signed with.
   */
  private layOutRhel(): void {
    const { os: target } = this.options.config;
    // The running kernel, installed without its headers (kernel-devel), as a cloud image has it. The build link
    // is relative here (the kernel package's is absolute) so that it resolves inside the fake root.
    const release = kernelReleaseOf(target);
    fs.mkdirSync(this.path(`/lib/modules/${release}`), { recursive: true });
    fs.symlinkSync(`../../../usr/src/kernels/${release}`, this.path(`/lib/modules/${release}/build`));
    if (target.id === 'rocky') {
      this.write('/etc/os-release', `NAME="Rocky Linux"\nVERSION="${target.versionId}"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="${target.versionId}"\nPRETTY_NAME="Rocky Linux ${target.versionId}"\n`);
    } else {
      this.write('/etc/os-release', 'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\nPRETTY_NAME="CentOS Linux 7 (Core)"\n');
      this.write('/etc/yum.repos.d/CentOS-Base.repo', fs.readFileSync(path.join(FIXTURES, 'CentOS-Base.repo'), 'utf8'));
      this.write('/etc/pki/rpm-gpg/RPM-GPG-KEY-CentOS-7', '-----BEGIN PGP PUBLIC KEY BLOCK-----\n(the stand-in machine\'s copy of CentOS 7 Official Signing Key)\n-----END PGP PUBLIC KEY BLOCK-----\n');
    }
    this.write('/etc/fstab', '/dev/mapper/centos-root /     xfs  defaults 0 0\nUUID=1b2c /boot xfs defaults 0 0\n/dev/mapper/centos-swap swap  swap defaults 0 0\n');
    this.write('/proc/swaps', 'Filename\tType\tSize\tUsed\tPriority\n/dev/dm-1\tpartition\t2097148\t0\t-2\n');
    this.write('/etc/selinux/config', '# This file controls the state of SELinux on the system.\nSELINUX=enforcing\nSELINUXTYPE=targeted\n');
    this.write('/sys/fs/selinux/enforce', '1');
    this.writeFakeState('packages', { firewalld: { version: '0.6.3-13.el7_9' }, docker: { version: '1.13.1-209.git7d71120.el7.centos' } });
    this.writeFakeState('units', { firewalld: { enabled: true, active: true } });
  }

  /** Ubuntu 20.04 as installed: a swap file, ufw active, the distro's docker.io. */
  private layOutUbuntu(): void {
    this.write('/etc/os-release', 'NAME="Ubuntu"\nVERSION="20.04.6 LTS (Focal Fossa)"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="20.04"\nPRETTY_NAME="Ubuntu 20.04.6 LTS"\n');
    this.write('/etc/fstab', 'UUID=9f3e / ext4 defaults 0 1\n/swap.img\tnone\tswap\tsw\t0\t0\n');
    this.write('/proc/swaps', 'Filename\tType\tSize\tUsed\tPriority\n/dev/dm-1\tpartition\t2097148\t0\t-2\n');
    this.writeFakeState('packages', { ufw: { version: '0.36-6ubuntu1' }, 'docker.io': { version: '20.10.21-0ubuntu1~20.04.2' } });
    this.writeFakeState('units', {});
    this.writeFakeState('ufw', { active: true });
  }

  write(nodePath: string, content: string, mode = 0o644): void {
    const file = this.path(nodePath);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode });
    fs.chmodSync(file, mode);
  }

  path(nodePath: string): string {
    return path.join(this.root, nodePath);
  }

  read(nodePath: string): string | undefined {
    try {
      return fs.readFileSync(this.path(nodePath), 'utf8');
    } catch {
      return undefined;
    }
  }

  exists(nodePath: string): boolean {
    return fs.existsSync(this.path(nodePath));
  }

  mode(nodePath: string): number | undefined {
    try {
      return fs.statSync(this.path(nodePath)).mode & 0o777;
    } catch {
      return undefined;
    }
  }

  writeFakeState(name: string, value: unknown): void {
    this.write(`/.fake/${name}.json`, `${JSON.stringify(value, null, 2)}\n`);
  }

  fakeState<T>(name: string): T {
    return JSON.parse(this.read(`/.fake/${name}.json`) ?? 'null') as T;
  }

  /** Runs dist/agent.js as a real child process against this machine. */
  runAgent(args: string[] = ['run'], env: Record<string, string> = {}): Promise<AgentRun> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.options.nodeBinary ?? process.execPath, [AGENT_BUNDLE, ...args, '--root', this.root], {
        env: {
          PATH: `${FAKE_BIN}:${nodeDir()}`,
          LABIMG_FAKE_ROOT: this.root,
          LABIMG_FAKE_LOG: this.logFile,
          LABIMG_FAKE_CLUSTER: this.cluster,
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, which dispose() kills whole, as systemd stops a service's whole cgroup: a
        // long-running command (the GPU gate) leaves no child behind (its kubectl watch) holding the test's pipes.
        detached: true,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      this.running.add(child);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        this.running.delete(child);
        resolve({ code, signal, stdout, stderr });
      });
    });
  }

  /** Every stand-in invocation so far, in order. */
  commands(): LoggedCommand[] {
    const text = fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8') : '';
    return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as LoggedCommand);
  }

  /** Stand-in invocations that change the machine (queries left out). */
  mutatingCommands(): string[][] {
    return this.commands().map((c) => c.argv).filter((argv) => !isQuery(argv));
  }

  /** Marks the log so later calls can look only at what happened after it. */
  logLength(): number {
    return this.commands().length;
  }

  /** path → sha256 and mode of every file the agent or a command may write (fake bookkeeping and agent state excluded). */
  snapshot(): Record<string, string> {
    const result: Record<string, string> = {};
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        const rel = path.relative(this.root, full);
        // The boot_id is the kernel's, random per boot, and differs between any two machines.
        if (rel === '.fake' || rel === path.join('var', 'lib', 'labimg') || rel === path.join('proc', 'sys', 'kernel', 'random', 'boot_id')) continue;
        if (entry.isDirectory()) walk(full);
        else if (entry.isSymbolicLink()) result[`/${rel}`] = `-> ${fs.readlinkSync(full)}`;
        else result[`/${rel}`] = `${(fs.statSync(full).mode & 0o777).toString(8)} ${crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex')}`;
      }
    };
    walk(this.root);
    return result;
  }

  /** Every file under the root, for secret scans. */
  allFiles(): string[] {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (!entry.isSymbolicLink()) files.push(full);
      }
    };
    walk(this.root);
    return files;
  }

  dispose(): void {
    // A test that fails half-way must not leave agents running (and the test runner waiting on them).
    for (const child of this.running) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Commands that only read state: the agent's checks. Everything else counts as a change. */
export function isQuery(argv: string[]): boolean {
  const [command, ...args] = argv;
  switch (command) {
    case 'rpm':
    case 'dpkg-query':
    case 'getenforce':
    case 'ctr':
    case 'docker':
    case 'nvidia-smi':
      return true;
    case 'mokutil':
      return args[0] === '--sb-state';
    case 'systemctl':
      return args[0] === 'is-enabled' || args[0] === 'is-active';
    case 'ufw':
      return args[0] === 'status';
    case 'apt-mark':
      return args[0] === 'showhold';
    case 'kubeadm':
      return args.slice(0, 3).join(' ') === 'config images list';
    case 'kubectl':
      return args.includes('get');
    default:
      return false;
  }
}

/** True when `argv` starts with `prefix` (a command plus its leading arguments). */
export function startsWith(argv: string[], prefix: string[]): boolean {
  return prefix.every((part, i) => argv[i] === part);
}

export function includesCommand(commands: string[][], prefix: string[]): boolean {
  return commands.some((argv) => startsWith(argv, prefix));
}

export interface KubeadmCall {
  command: string;
  file: string;
  text: string;
}
