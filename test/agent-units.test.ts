/** The agent's pure parts and its Host, without stand-ins: small inputs, exact outputs. */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import type { AgentConfig, NodeConfig } from '../contract/agent-config';
import { parseArgs, UsageError } from '../agent/cli/args';
import { validateAgentConfig, ConfigError } from '../agent/config/load';
import { decideGpu } from '../agent/gpu/detect';
import { DryRunHost } from '../agent/host/dry-run-host';
import { activeSwaps, isModuleLoaded, readOsRelease, readSysctl } from '../agent/host/facts';
import { CommandFailed, COMMAND_NOT_FOUND } from '../agent/host/host';
import { RealHost } from '../agent/host/real-host';
import { extraArgs, initDocuments, joinDocuments, kubeletCgroupDriver } from '../agent/kubeadm/documents';
import { joinMaterial, MissingJoinMaterial } from '../agent/kubeadm/join-material';
import { createLogger, silentLogger } from '../agent/log';
import { satisfiesPin } from '../agent/packages/package-manager';
import { Redactor } from '../agent/redact';
import { containerdConfig, renderContainerdConfig } from '../agent/runtime/containerd-config';
import { commentOutSwap, swapEntries } from '../agent/text/fstab';
import { readKey, setKey } from '../agent/text/key-value-file';
import { profileConfig } from './helpers/agent-machine';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labimg-unit-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('Redactor masks registered secrets, bootstrap-token shapes and certificate keys', (t) => {
  const redactor = new Redactor();
  redactor.add('s3cr3t-enrollment');
  t.is(redactor.redact('enroll with s3cr3t-enrollment now'), 'enroll with <redacted> now');
  t.is(redactor.redact('--token abcdef.0123456789abcdef'), '--token <redacted>');
  t.is(redactor.redact(`--certificate-key ${'ab'.repeat(32)}`), '--certificate-key <redacted>');
  t.is(redactor.redact('kubeadm.k8s.io/v1beta3 10.244.0.0/16'), 'kubeadm.k8s.io/v1beta3 10.244.0.0/16');
});

test('the logger prefixes every physical line with its sd-daemon priority and redacts', (t) => {
  const lines: string[] = [];
  const redactor = new Redactor();
  redactor.add('hunter2-token');
  const log = createLogger({ redactor, verbose: false, write: (l) => lines.push(l) });
  log.info('one\ntwo');
  log.warn('uses hunter2-token');
  log.error('bad');
  log.debug('hidden unless verbose');
  t.deepEqual(lines, ['<6>one\n<6>two\n', '<4>uses <redacted>\n', '<3>bad\n']);
});

test('parseArgs: command, valued options (both spellings), switches, and errors', (t) => {
  t.deepEqual(parseArgs(['run', '--phase', 'boot', '--root=/mnt', '--verbose'], ['phase', 'root'], ['verbose']), {
    command: 'run',
    options: { phase: 'boot', root: '/mnt', verbose: true },
  });
  t.throws(() => parseArgs(['run', '--phase'], ['phase'], []), { instanceOf: UsageError, message: '--phase needs a value' });
  t.throws(() => parseArgs(['run', 'extra'], [], []), { instanceOf: UsageError });
  t.throws(() => parseArgs(['--nope'], [], []), { message: 'unknown option --nope' });
});

test('validateAgentConfig refuses unknown headers and incomplete configs', (t) => {
  t.notThrows(() => validateAgentConfig(profileConfig('centos'), 'f'));
  t.throws(() => validateAgentConfig({ ...profileConfig('centos'), kind: 'NodeConfig' }, 'f'), { instanceOf: ConfigError });
  const { runtime: _runtime, ...incomplete } = profileConfig('centos');
  t.throws(() => validateAgentConfig(incomplete, 'f'), { message: 'f: AgentConfig is missing runtime' });
});

test('fstab: only live swap entries are found and commented out', (t) => {
  const fstab = '/dev/sda1 / ext4 defaults 0 1\n# /old.swap none swap sw 0 0\n/swap.img none swap sw 0 0\n';
  t.deepEqual(swapEntries(fstab), ['/swap.img none swap sw 0 0']);
  t.is(commentOutSwap(fstab), '/dev/sda1 / ext4 defaults 0 1\n# /old.swap none swap sw 0 0\n#labimg-swap-off# /swap.img none swap sw 0 0\n');
  t.deepEqual(swapEntries(commentOutSwap(fstab)), []);
});

test('key=value files: read, replace in place, append when absent', (t) => {
  const text = '# comment\nSELINUX=enforcing\nSELINUXTYPE=targeted\n';
  t.is(readKey(text, 'SELINUX'), 'enforcing');
  t.is(setKey(text, 'SELINUX', 'permissive'), '# comment\nSELINUX=permissive\nSELINUXTYPE=targeted\n');
  t.is(setKey('# only a comment', 'SELINUX', 'disabled'), '# only a comment\nSELINUX=disabled\n');
});

test('facts from files: os-release quoting, loaded and built-in modules, swaps, sysctls', async (t) => {
  const host = new DryRunHost(
    {
      '/etc/os-release': 'NAME="CentOS Linux"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\n',
      '/proc/modules': 'br_netfilter 22256 0 - Live 0x0\n',
      '/sys/module/overlay/refcnt': '0\n',
      '/proc/swaps': 'Filename\tType\tSize\tUsed\tPriority\n/dev/dm-1\tpartition\t1\t0\t-2\n',
      '/proc/sys/net/ipv4/ip_local_port_range': '32768\t60999\n',
    },
    () => undefined,
  );
  t.like(await readOsRelease(host), { id: 'centos', versionId: '7', idLike: ['rhel', 'fedora'] });
  t.true(await isModuleLoaded(host, 'br_netfilter'));
  t.true(await isModuleLoaded(host, 'overlay'), 'built-in modules only show in /sys/module');
  t.false(await isModuleLoaded(host, 'ip_vs'));
  t.deepEqual(await activeSwaps(host), ['/dev/dm-1']);
  t.is(await readSysctl(host, 'net.ipv4.ip_local_port_range'), '32768 60999');
});

test('GPU detection reads the 24-bit sysfs class: 0x030000 and 0x030200 count, a 16-bit 0x0300 does not', async (t) => {
  const spec = profileConfig('centos-gpu').gpu;
  // A machine whose driver answers for the one GPU, and whose toolkit is installed unless said otherwise.
  const device = (klass: string, withToolkit = true) =>
    new DryRunHost(
      {
        '/sys/bus/pci/devices/0000:01:00.0/vendor': '0x10de\n',
        '/sys/bus/pci/devices/0000:01:00.0/class': `${klass}\n`,
        '/sys/module/nvidia/refcnt': '0\n',
        ...(withToolkit ? { '/usr/bin/nvidia-container-runtime': '' } : {}),
      },
      (argv) => (argv[0] === 'nvidia-smi' ? { code: 0, stdout: '00000000:01:00.0, NVIDIA H100 80GB HBM3, 580.95.05\n' } : undefined),
    );
  t.true((await decideGpu(device('0x030000'), spec)).useNvidia);
  t.true((await decideGpu(device('0x030200'), spec)).useNvidia);
  t.false((await decideGpu(device('0x0300'), spec)).useNvidia);
  const noToolkit = await decideGpu(device('0x030200', false), spec);
  t.false(noToolkit.useNvidia);
  t.deepEqual(noToolkit.labels, { 'labimg.dev/gpu-unusable': 'toolkit-missing' });
  t.deepEqual((await decideGpu(device('0x030200'), spec)).labels, { 'nvidia.com/gpu.present': 'true' });
  t.false((await decideGpu(device('0x030200'), undefined)).useNvidia, 'a CPU profile never switches');
});

test('containerd config version 3 uses the containerd 2.x plugin layout', (t) => {
  const spec = { ...profileConfig('ubuntu').runtime.containerd, configVersion: 3 as const };
  const config = parseToml(renderContainerdConfig(spec, { name: 'nvidia', binary: '/usr/bin/nvidia-container-runtime' })) as any;
  t.is(config.version, 3);
  t.is(config.plugins['io.containerd.cri.v1.images'].pinned_images.sandbox, 'registry.k8s.io/pause:3.9');
  t.is(config.plugins['io.containerd.cri.v1.images'].registry.config_path, '/etc/containerd/certs.d');
  const runtime = config.plugins['io.containerd.cri.v1.runtime'].containerd;
  t.is(runtime.default_runtime_name, 'nvidia');
  t.deepEqual(runtime.runtimes.nvidia.options, { BinaryName: '/usr/bin/nvidia-container-runtime', SystemdCgroup: true });
  t.deepEqual(containerdConfig({ ...spec, configVersion: 2 }, { name: 'runc' }).disabled_plugins, []);
});

test('kubeadm documents: extraArgs shape per API version; cgroup driver follows the CRI', (t) => {
  t.deepEqual(extraArgs('kubeadm.k8s.io/v1beta3', { 'node-labels': 'a=b' }), { 'node-labels': 'a=b' });
  t.deepEqual(extraArgs('kubeadm.k8s.io/v1beta4', { 'node-labels': 'a=b' }), [{ name: 'node-labels', value: 'a=b' }]);
  const docker = profileConfig('centos');
  t.is(kubeletCgroupDriver(docker), 'systemd');
  t.is(kubeletCgroupDriver({ ...docker, runtime: { ...docker.runtime, docker: { cgroupDriver: 'cgroupfs', registryMirrors: [] } } }), 'cgroupfs');
  const containerd = profileConfig('ubuntu');
  t.is(kubeletCgroupDriver({ ...containerd, runtime: { ...containerd.runtime, containerd: { ...containerd.runtime.containerd, systemdCgroup: false } } }), 'cgroupfs');
});

test('kubeadm documents: tainted control plane when not schedulable; join never skips CA verification', (t) => {
  const config: AgentConfig = profileConfig('centos');
  config.kubernetes.schedulableControlPlane = false;
  const node: NodeConfig = { apiVersion: 'labimg.dev/v1', kind: 'NodeConfig', role: 'control-plane', controlPlaneEndpoint: 'k8s.lab:6443' };
  const [init, cluster] = initDocuments(config, node, { labels: {}, taints: [] }) as any[];
  t.deepEqual(init.nodeRegistration.taints, [{ key: 'node-role.kubernetes.io/master', effect: 'NoSchedule' }]);
  t.is(cluster.controlPlaneEndpoint, 'k8s.lab:6443');
  const [join] = joinDocuments(config, { ...node, role: 'worker' }, { token: 't', apiServerEndpoint: 'a:6443', caCertHashes: ['h'] }, { labels: {}, taints: [] }) as any[];
  t.false('unsafeSkipCAVerification' in join.discovery.bootstrapToken);
});

test('joinMaterial lists every problem and never repeats the token', (t) => {
  const node: NodeConfig = { apiVersion: 'labimg.dev/v1', kind: 'NodeConfig', role: 'worker', join: { apiServerEndpoint: '10.0.0.1:6443', caCertHashes: ['sha256:XYZ'] } };
  const error = t.throws(() => joinMaterial(node, { bootstrapToken: 'Secret.Token' }), { instanceOf: MissingJoinMaterial });
  t.regex(error?.message ?? '', /"sha256:XYZ" is not sha256:<64 lowercase hex digits>/);
  t.regex(error?.message ?? '', /bootstrapToken in \/etc\/labimg\/secrets\.json is not of the form/);
  t.false(error?.message.includes('Secret.Token'));
  const ok = joinMaterial({ ...node, join: { apiServerEndpoint: '10.0.0.1:6443', caCertHashes: [`sha256:${'a'.repeat(64)}`] } }, { bootstrapToken: 'abcdef.0123456789abcdef' });
  t.is(ok.token, 'abcdef.0123456789abcdef');
});

test('satisfiesPin: exact, release left out, unpinned, missing', (t) => {
  t.true(satisfiesPin('1.23.3-0', { name: 'kubelet', version: '1.23.3-0' }));
  t.true(satisfiesPin('1.23.3-0', { name: 'kubelet', version: '1.23.3' }));
  t.false(satisfiesPin('1.23.30-0', { name: 'kubelet', version: '1.23.3' }));
  t.true(satisfiesPin('20.10.24-3.el7', { name: 'docker-ce' }));
  t.false(satisfiesPin(undefined, { name: 'docker-ce' }));
});

test('RealHost writes atomically with the exact mode (umask notwithstanding) and leaves no temp file', async (t) => {
  const root = tempDir(t);
  const host = new RealHost(root, silentLogger);
  // 0666 is more than any usual umask lets through open(): only the explicit chmod gets it onto the file.
  await host.writeFile('/etc/deep/dir/file.conf', 'a=1\n', 0o666);
  t.is(fs.readFileSync(path.join(root, 'etc/deep/dir/file.conf'), 'utf8'), 'a=1\n');
  t.is(await host.fileMode('/etc/deep/dir/file.conf'), 0o666);
  await host.writeFile('/etc/deep/dir/file.conf', 'a=2\n', 0o600);
  t.is(await host.readFile('/etc/deep/dir/file.conf'), 'a=2\n');
  t.is(await host.fileMode('/etc/deep/dir/file.conf'), 0o600);
  t.deepEqual(fs.readdirSync(path.join(root, 'etc/deep/dir')), ['file.conf']);
  t.is(host.hostPath('/etc/../../escape'), path.join(root, 'escape'), '.. cannot leave the root');
});

test('RealHost commands: argv without a shell, env passthrough, timeout, retries, missing command', async (t) => {
  const host = new RealHost(tempDir(t), silentLogger);
  const node = process.execPath;
  const echo = await host.run([node, '-e', 'process.stdout.write(process.argv[1] + process.env.LABIMG_X)', '$(whoami); ls'], { env: { LABIMG_X: '!' } });
  t.is(echo.stdout, '$(whoami); ls!', 'shell syntax stays a literal argument');

  const slow = await t.throwsAsync(host.run([node, '-e', 'setTimeout(() => {}, 10000)'], { timeoutMs: 200 }), { instanceOf: CommandFailed });
  t.regex(slow?.message ?? '', /timed out after 200 ms/);

  const counter = path.join(host.root, 'attempts');
  const flaky = `const fs=require('fs');const n=Number(fs.existsSync('${counter}')?fs.readFileSync('${counter}','utf8'):0)+1;fs.writeFileSync('${counter}',String(n));process.exit(n<3?1:0)`;
  await host.run([node, '-e', flaky], { retries: 2, retryDelayMs: 10 });
  t.is(fs.readFileSync(counter, 'utf8'), '3');

  const missing = await host.query(['labimg-no-such-command']);
  t.is(missing.code, COMMAND_NOT_FOUND);
  await t.throwsAsync(host.run(['labimg-no-such-command']), { instanceOf: CommandFailed });
});
