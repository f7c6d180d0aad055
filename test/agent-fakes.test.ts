/**
 * The stand-ins must hold the agent to what the real commands demand; these tests show they refuse what the
 * real ones would. Above all the kubeadm stand-in, which checks config files against the v1beta3/v1beta4 API.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dump } from 'js-yaml';
import { FAKE_BIN } from './helpers/agent-machine';

interface Sandbox {
  root: string;
  run(command: string, args: string[]): { code: number | null; stdout: string; stderr: string };
  writeConfig(docs: object[]): string;
}

function sandbox(t: { teardown(fn: () => void): void }, packages: Record<string, { version: string }>): Sandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'labimg-fake-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, '.fake'), { recursive: true });
  fs.writeFileSync(path.join(root, '.fake/packages.json'), JSON.stringify(packages));
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/os-release'), 'ID="centos"\nID_LIKE="rhel fedora"\n');
  return {
    root,
    run(command, args) {
      const result = spawnSync(process.execPath, [path.join(FAKE_BIN, command), ...args], { env: { LABIMG_FAKE_ROOT: root }, encoding: 'utf8' });
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    writeConfig(docs) {
      const file = path.join(root, `config-${Math.random().toString(36).slice(2)}.yaml`);
      fs.writeFileSync(file, docs.map((d) => dump(d)).join('---\n'));
      return file;
    },
  };
}

const cluster = (apiVersion: string, extra: object = {}) => ({
  apiVersion,
  kind: 'ClusterConfiguration',
  kubernetesVersion: 'v1.28.15',
  networking: { podSubnet: '10.244.0.0/16', serviceSubnet: '10.96.0.0/12' },
  ...extra,
});
const validJoin = (apiVersion: string, bootstrapToken: object = {}) => ({
  apiVersion,
  kind: 'JoinConfiguration',
  discovery: { bootstrapToken: { token: 'abcdef.0123456789abcdef', apiServerEndpoint: '10.0.0.1:6443', caCertHashes: [`sha256:${'ab'.repeat(32)}`], ...bootstrapToken } },
});

function kubeadmAt(t: any, version: string): Sandbox {
  return sandbox(t, { kubeadm: { version: `${version}-1.1` } });
}

test('kubeadm stand-in accepts a valid v1beta3 config and lists the images', (t) => {
  const s = kubeadmAt(t, '1.28.15');
  const result = s.run('kubeadm', ['config', 'images', 'list', '--config', s.writeConfig([cluster('kubeadm.k8s.io/v1beta3')])]);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /^registry\.k8s\.io\/kube-apiserver:v1\.28\.15$/m);
});

test('kubeadm stand-in refuses unknown fields, bad subnets and unsupported API versions', (t) => {
  const s = kubeadmAt(t, '1.28.15');
  const list = (docs: object[]) => s.run('kubeadm', ['config', 'images', 'list', '--config', s.writeConfig(docs)]);
  let r = list([cluster('kubeadm.k8s.io/v1beta3', { podCIDR: '10.0.0.0/8' })]);
  t.is(r.code, 1);
  t.regex(r.stderr, /unknown field "podCIDR"/);
  r = list([cluster('kubeadm.k8s.io/v1beta3', { networking: { podSubnet: '10.244.0.0/33' } })]);
  t.regex(r.stderr, /networking\.podSubnet: Invalid value: "10\.244\.0\.0\/33": couldn't parse subnet/);
  r = list([cluster('kubeadm.k8s.io/v1beta4')]);
  t.regex(r.stderr, /experimental API spec: "kubeadm\.k8s\.io\/v1beta4" is not allowed/);
  r = list([cluster('kubeadm.k8s.io/v1beta2')]);
  t.regex(r.stderr, /no kind "ClusterConfiguration" is registered for version "kubeadm\.k8s\.io\/v1beta2"/);
  // cgroupsPerQOS is a real KubeletConfiguration field; keys match JSON tags case-sensitively, so this is not.
  r = list([{ apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', cgroupDriver: 'systemd', cgroupsPerQoS: true }]);
  t.regex(r.stderr, /unknown field "cgroupsPerQoS"/);
  r = list([{ apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', cgroupDriver: 'systemd', cgroupsPerQOS: true }]);
  t.is(r.code, 0, r.stderr);
});

test('kubeadm stand-in: v1beta3 wants kubeletExtraArgs as a map, v1beta4 as a list', (t) => {
  const old = kubeadmAt(t, '1.28.15');
  const list = [{ name: 'node-labels', value: 'a=b' }];
  let r = old.run('kubeadm', ['config', 'images', 'list', '--config', old.writeConfig([{ apiVersion: 'kubeadm.k8s.io/v1beta3', kind: 'InitConfiguration', nodeRegistration: { kubeletExtraArgs: list } }])]);
  t.regex(r.stderr, /cannot unmarshal array into Go struct field NodeRegistrationOptions\.nodeRegistration\.kubeletExtraArgs of type map\[string\]string/);
  const recent = kubeadmAt(t, '1.31.4');
  r = recent.run('kubeadm', ['config', 'images', 'list', '--config', recent.writeConfig([{ apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'InitConfiguration', nodeRegistration: { kubeletExtraArgs: { 'node-labels': 'a=b' } } }])]);
  t.regex(r.stderr, /cannot unmarshal object into Go struct field NodeRegistrationOptions\.nodeRegistration\.kubeletExtraArgs of type \[\]v1beta4\.Arg/);
  r = recent.run('kubeadm', ['config', 'images', 'list', '--config', recent.writeConfig([{ apiVersion: 'kubeadm.k8s.io/v1beta4', kind: 'InitConfiguration', nodeRegistration: { kubeletExtraArgs: list } }])]);
  t.is(r.code, 0, r.stderr);
});

test('kubeadm stand-in join: token and CA hash formats, CA pinning required', (t) => {
  const s = kubeadmAt(t, '1.28.15');
  const join = (doc: object) => s.run('kubeadm', ['join', '--config', s.writeConfig([doc])]);
  let r = join(validJoin('kubeadm.k8s.io/v1beta3', { token: 'ABCDEF.0123456789abcdef' }));
  t.regex(r.stderr, /the bootstrap token "ABCDEF\.0123456789abcdef" was not of the form/);
  r = join(validJoin('kubeadm.k8s.io/v1beta3', { caCertHashes: ['sha256:1234'] }));
  t.regex(r.stderr, /invalid hash "sha256:1234"/);
  r = join(validJoin('kubeadm.k8s.io/v1beta3', { caCertHashes: [] }));
  t.regex(r.stderr, /using token-based discovery without caCertHashes can be unsafe/);
  r = join({ apiVersion: 'kubeadm.k8s.io/v1beta3', kind: 'InitConfiguration' });
  t.regex(r.stderr, /no JoinConfiguration kind was found/);
  // A valid file gets past validation to preflight, which fails on this empty machine.
  r = join(validJoin('kubeadm.k8s.io/v1beta3'));
  t.regex(r.stderr, /\[ERROR CRI\]/);
});

test('kubeadm stand-in preflight: swap, bridge sysctl, CRI disabled by the distro containerd config', (t) => {
  const s = sandbox(t, { kubeadm: { version: '1.28.15-1.1' }, kubelet: { version: '1.28.15-1.1' }, containerd: { version: '1.7.12' } });
  fs.mkdirSync(path.join(s.root, 'proc'), { recursive: true });
  fs.writeFileSync(path.join(s.root, 'proc/swaps'), 'Filename\tType\n/swap.img\tfile\n');
  fs.mkdirSync(path.join(s.root, 'etc/containerd'), { recursive: true });
  fs.writeFileSync(path.join(s.root, 'etc/containerd/config.toml'), 'disabled_plugins = ["cri"]\n');
  fs.writeFileSync(path.join(s.root, '.fake/units.json'), JSON.stringify({ containerd: { enabled: true, active: true } }));
  const r = s.run('kubeadm', ['init', '--config', s.writeConfig([cluster('kubeadm.k8s.io/v1beta3')])]);
  t.is(r.code, 1);
  t.regex(r.stderr, /\[ERROR Swap\]/);
  t.regex(r.stderr, /\[ERROR FileContent--proc-sys-net-bridge-bridge-nf-call-iptables\]: \/proc\/sys\/net\/bridge\/bridge-nf-call-iptables does not exist/);
  t.regex(r.stderr, /\[ERROR CRI\]: container runtime is not running: .*unknown service runtime\.v1alpha2\.RuntimeService/);
});

test('kubeadm 1.24+ refuses the dockershim socket; kubeadm is "not found" until installed', (t) => {
  const s = kubeadmAt(t, '1.28.15');
  const r = s.run('kubeadm', ['config', 'images', 'list', '--config', s.writeConfig([{ apiVersion: 'kubeadm.k8s.io/v1beta3', kind: 'InitConfiguration', nodeRegistration: { criSocket: 'unix:///var/run/dockershim.sock' } }])]);
  t.regex(r.stderr, /dockershim was removed/);
  const bare = sandbox(t, {});
  t.is(bare.run('kubeadm', ['config', 'images', 'list', '--config', '/dev/null']).code, 127);
});

test('yum stand-in: an excluded package needs --disableexcludes; a package needs its repo', (t) => {
  const s = sandbox(t, {});
  fs.mkdirSync(path.join(s.root, 'etc/yum.repos.d'), { recursive: true });
  t.regex(s.run('yum', ['install', '-y', 'kubelet-1.23.3-0']).stderr, /No package kubelet-1\.23\.3-0 available/);
  fs.writeFileSync(path.join(s.root, 'etc/yum.repos.d/k.repo'), '[kubernetes]\nbaseurl=https://mirrors.aliyun.com/kubernetes/yum/repos/kubernetes-el7-x86_64/\nexclude=kubelet kubeadm kubectl\n');
  t.is(s.run('yum', ['install', '-y', 'kubelet-1.23.3-0']).code, 1);
  t.is(s.run('yum', ['install', '-y', '--disableexcludes=kubernetes', 'kubelet-1.23.3-0']).code, 0);
  t.is(s.run('rpm', ['-q', '--qf', '%{VERSION}-%{RELEASE}\\n', 'kubelet']).stdout, '1.23.3-0\n');
});

test('apt-get stand-in: a new repository is usable only after apt-get update, and only with its keyring', (t) => {
  const s = sandbox(t, {});
  fs.writeFileSync(path.join(s.root, 'etc/os-release'), 'ID=ubuntu\nID_LIKE=debian\n');
  fs.mkdirSync(path.join(s.root, 'etc/apt/sources.list.d'), { recursive: true });
  fs.writeFileSync(path.join(s.root, 'etc/apt/sources.list.d/k.list'), 'deb [signed-by=/etc/apt/keyrings/k.gpg] https://pkgs.k8s.io/core:/stable:/v1.28/deb/ /\n');
  t.is(s.run('apt-get', ['install', '-y', 'kubelet=1.28.15-1.1']).code, 100);
  t.regex(s.run('apt-get', ['update']).stderr, /is not signed/);
  fs.mkdirSync(path.join(s.root, 'etc/apt/keyrings'), { recursive: true });
  fs.writeFileSync(path.join(s.root, 'etc/apt/keyrings/k.gpg'), 'key');
  t.is(s.run('apt-get', ['update']).code, 0);
  t.is(s.run('apt-get', ['install', '-y', 'kubelet=1.28.15-1.1']).code, 0);
  t.is(s.run('apt-mark', ['hold', 'kubelet']).code, 0);
  t.regex(s.run('apt-get', ['install', '-y', 'kubelet=1.28.16-1.1']).stderr, /Held packages were changed/);
});
