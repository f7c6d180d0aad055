/**
 * The stand-ins serve only what a test registered, read what they are given and refuse the rest, with the
 * real tools' messages and exit codes. Each runs here as a real process. The expected messages are literals:
 * those of curl 7.88.1, gpg 2.2.40 and kubectl v1.32.4 run on the same inputs (2026-12-05), and of kmod's
 * modprobe.c for modprobe (named in each stand-in with its source).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { FAKE_BIN } from './helpers/agent-machine';

const FIXTURES = path.join(__dirname, 'fixtures');
const ARMORED_KEY = fs.readFileSync(path.join(FIXTURES, 'keys/apt-repository.asc'), 'utf8');
// What gpg 2.2.40 `--dearmor` wrote for that key.
const KEYRING = fs.readFileSync(path.join(FIXTURES, 'keys/apt-repository.gpg'));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Machine {
  root: string;
  run(command: string, args: string[]): Run;
  path(nodePath: string): string;
  write(nodePath: string, content: string): string;
  publish(url: string, content: string): void;
}

function machine(t: { teardown(fn: () => void): void }, packages: Record<string, { version: string }> = {}): Machine {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'labimg-strict-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const m: Machine = {
    root,
    path: (nodePath) => path.join(root, nodePath),
    write(nodePath, content) {
      const file = path.join(root, nodePath);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
      return file;
    },
    // As FakeMachine.publishDownload does.
    publish(url, content) {
      m.write(`/.fake/downloads/${crypto.createHash('sha256').update(url).digest('hex')}`, content);
    },
    run(command, args) {
      const result = spawnSync(process.execPath, [path.join(FAKE_BIN, command), ...args], { env: { LABIMG_FAKE_ROOT: root }, encoding: 'utf8' });
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    },
  };
  m.write('/.fake/packages.json', JSON.stringify(packages));
  m.write('/etc/os-release', 'ID=ubuntu\nID_LIKE=debian\n');
  m.write('/proc/sys/kernel/osrelease', '5.4.0-216-generic\n');
  return m;
}

// ---- curl -------------------------------------------------------------------------------------------------

test('curl: a URL no test registered is a 404; with -fsSL that is exit 22 and nothing written', (t) => {
  const m = machine(t);
  const out = m.path('/etc/apt/keyrings/k.asc');
  const r = m.run('curl', ['-fsSL', '--retry', '3', '--create-dirs', '-o', out, 'https://pkgs.k8s.io/core:/stable:/v1.28/deb/Release.key']);
  t.is(r.code, 22);
  t.is(r.stderr, 'curl: (22) The requested URL returned error: 404\n');
  t.false(fs.existsSync(out));
  // -s without -S: the same failure, silently.
  t.deepEqual(m.run('curl', ['-fsL', '-o', out, 'https://example.invalid/x']), { code: 22, stdout: '', stderr: '' });
  // Without -f a 404 is a transfer like any other: the error page is saved and curl exits 0.
  t.is(m.run('curl', ['-sS', '-o', m.path('/page'), 'https://example.invalid/x']).code, 0);
  t.is(fs.readFileSync(m.path('/page'), 'utf8'), '404: Not Found');
});

test('curl: a registered URL is served byte for byte; the output directory needs --create-dirs', (t) => {
  const m = machine(t);
  const url = 'https://pkgs.k8s.io/core:/stable:/v1.28/deb/Release.key';
  m.publish(url, ARMORED_KEY);
  const out = m.path('/etc/apt/keyrings/kubernetes.asc');
  let r = m.run('curl', ['-fsSL', '--retry', '3', '-o', out, url]);
  t.deepEqual(r, { code: 23, stdout: '', stderr: 'curl: (23) Failure writing output to destination\n' });
  r = m.run('curl', ['-fsSL', '--retry', '3', '--create-dirs', '-o', out, url]);
  t.is(r.code, 0, r.stderr);
  t.is(fs.readFileSync(out, 'utf8'), ARMORED_KEY);
  // -oFILE (attached) and --output FILE are the same option.
  t.is(m.run('curl', ['-fsSL', `-o${m.path('/a')}`, url]).code, 0);
  t.is(m.run('curl', ['--fail', '--silent', '--output', m.path('/b'), url]).code, 0);
  t.is(fs.readFileSync(m.path('/b'), 'utf8'), ARMORED_KEY);
});

test('curl: options it does not have and bad option values are refused with exit 2', (t) => {
  const m = machine(t);
  const hint = "curl: try 'curl --help' or 'curl --manual' for more information\n";
  t.deepEqual(m.run('curl', ['--foo', 'https://example.invalid/']), { code: 2, stdout: '', stderr: `curl: option --foo: is unknown\n${hint}` });
  t.deepEqual(m.run('curl', ['-%', 'https://example.invalid/']), { code: 2, stdout: '', stderr: `curl: option -%: is unknown\n${hint}` });
  t.deepEqual(m.run('curl', ['--retry', 'x', 'https://example.invalid/']), { code: 2, stdout: '', stderr: `curl: option --retry: expected a proper numerical parameter\n${hint}` });
  t.deepEqual(m.run('curl', ['-fsSL', '-o']), { code: 2, stdout: '', stderr: `curl: option -o: requires parameter\n${hint}` });
  t.deepEqual(m.run('curl', ['-fsSL']), { code: 2, stdout: '', stderr: `curl: no URL specified!\n${hint}` });
});

// ---- gpg --------------------------------------------------------------------------------------------------

function dearmor(m: Machine, armored: string, extra: string[] = ['--yes']): { run: Run; written?: Buffer } {
  const input = m.write('/key.asc', armored);
  const output = m.path('/key.gpg');
  fs.rmSync(output, { force: true });
  const run = m.run('gpg', ['--batch', ...extra, '--dearmor', '-o', output, input]);
  return { run, written: fs.existsSync(output) ? fs.readFileSync(output) : undefined };
}

test('gpg --dearmor decodes a real armored key into the packets gpg itself writes', (t) => {
  const m = machine(t);
  const { run, written } = dearmor(m, ARMORED_KEY);
  t.deepEqual(run, { code: 0, stdout: '', stderr: '' });
  t.deepEqual(written, KEYRING);
  // Binary input is passed through, armor headers are allowed, and the CRC line is optional (RFC 4880 "MAY").
  t.deepEqual(dearmor(m, ARMORED_KEY.replace('\n\n', '\nComment: labimg test key\n\n')).written, KEYRING);
  t.deepEqual(dearmor(m, ARMORED_KEY.split('\n').filter((line) => !line.startsWith('=')).join('\n')).written, KEYRING);
});

test('gpg --dearmor refuses armor that is not: no armor, a placeholder, a bad CRC, a changed byte', (t) => {
  const m = machine(t);
  t.deepEqual(dearmor(m, 'not a key\n').run, { code: 2, stdout: '', stderr: 'gpg: no valid OpenPGP data found.\n' });
  t.deepEqual(dearmor(m, '').run, { code: 2, stdout: '', stderr: 'gpg: no valid OpenPGP data found.\n' });
  // The stand-in's old placeholder key: an armor line around text that is no header and no base64.
  const placeholder = '-----BEGIN PGP PUBLIC KEY BLOCK-----\nfake key downloaded from x\n-----END PGP PUBLIC KEY BLOCK-----\n';
  t.deepEqual(dearmor(m, placeholder).run, { code: 2, stdout: '', stderr: 'gpg: invalid armor header: fake key downloaded from x\\n\n' });
  // The fixture's CRC line is =s8i/; gpg reports the CRC it computed, then the one it found.
  t.deepEqual(dearmor(m, ARMORED_KEY.replace('\n=s8i/\n', '\n=AAAA\n')).run, { code: 2, stdout: '', stderr: 'gpg: CRC error; B3C8BF - 000000\n' });
  t.deepEqual(dearmor(m, ARMORED_KEY.replace('\n=s8i/\n', '\n=s8i\n')).run, { code: 2, stdout: '', stderr: 'gpg: malformed CRC\n' });
  // One base64 character of the body changed: the data no longer matches its CRC.
  t.deepEqual(dearmor(m, ARMORED_KEY.replace('\nmDME', '\nmDMF')).run, { code: 2, stdout: '', stderr: 'gpg: CRC error; 3CDB35 - B3C8BF\n' });
  t.deepEqual(dearmor(m, ARMORED_KEY.replace('\nmDME', '\n!DME')).run, { code: 2, stdout: '', stderr: 'gpg: invalid radix64 character 21 skipped\n' });
  t.deepEqual(dearmor(m, ARMORED_KEY.replace('BEGIN PGP PUBLIC KEY BLOCK', 'BEGIN PGP FOO')).run, { code: 2, stdout: '', stderr: 'gpg: no valid OpenPGP data found.\n' });
});

test('gpg: an existing output needs --yes; a missing input and unknown options are refused', (t) => {
  const m = machine(t);
  m.write('/key.gpg', 'old');
  const input = m.write('/key.asc', ARMORED_KEY);
  t.deepEqual(m.run('gpg', ['--batch', '--dearmor', '-o', m.path('/key.gpg'), input]), {
    code: 2,
    stdout: '',
    stderr: 'gpg: no valid OpenPGP data found.\ngpg: dearmoring failed: File exists\n',
  });
  t.deepEqual(m.run('gpg', ['--batch', '--yes', '--dearmor', '-o', m.path('/out.gpg'), m.path('/missing.asc')]), {
    code: 2,
    stdout: '',
    stderr: `gpg: can't open '${m.path('/missing.asc')}': No such file or directory\ngpg: dearmoring failed: No such file or directory\n`,
  });
  t.deepEqual(m.run('gpg', ['--foo']), { code: 2, stdout: '', stderr: 'invalid option "--foo"\n' });
});

// ---- kubectl ----------------------------------------------------------------------------------------------

const HINT = 'if you choose to ignore these errors, turn validation off with --validate=false';

function kubectlMachine(t: { teardown(fn: () => void): void }): Machine & { kubectl(...args: string[]): Run; objects(): any[] } {
  const m = machine(t, { kubectl: { version: '1.28.15-1.1' } });
  const kubeconfig = m.write('/etc/kubernetes/admin.conf', 'apiVersion: v1\nkind: Config\n');
  return {
    ...m,
    kubectl: (...args) => m.run('kubectl', ['--kubeconfig', kubeconfig, ...args]),
    objects: () => JSON.parse(fs.readFileSync(m.path('/.fake/kube-objects.json'), 'utf8')),
  };
}

test('kubectl create -f: a manifest without kind or apiVersion, or not YAML, is refused as kubectl refuses it', (t) => {
  const m = kubectlMachine(t);
  const noKind = m.write('/m/no-kind.yaml', 'apiVersion: v1\nmetadata:\n  name: x\n');
  t.deepEqual(m.kubectl('create', '-f', noKind), { code: 1, stdout: '', stderr: `error: error validating "${noKind}": error validating data: kind not set; ${HINT}\n` });
  const neither = m.write('/m/neither.yaml', 'metadata:\n  name: x\nspec: {}\n');
  t.deepEqual(m.kubectl('create', '-f', neither), { code: 1, stdout: '', stderr: `error: error validating "${neither}": error validating data: [apiVersion not set, kind not set]; ${HINT}\n` });
  const text = m.write('/m/text.yaml', 'just some text\n');
  t.deepEqual(m.kubectl('create', '-f', text), { code: 1, stdout: '', stderr: `error: error validating "${text}": error validating data: invalid object to validate; ${HINT}\n` });
  const broken = m.write('/m/broken.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  bad: [unclosed\n');
  const r = m.kubectl('create', '-f', broken);
  t.is(r.code, 1);
  t.true(r.stderr.startsWith(`error: error parsing ${broken}: error converting YAML to JSON: yaml: `), r.stderr);
  const empty = m.write('/m/empty.yaml', '# nothing\n---\n');
  t.deepEqual(m.kubectl('create', '-f', empty), { code: 1, stdout: '', stderr: 'error: no objects passed to create\n' });
  t.deepEqual(m.kubectl('create', '-f', m.path('/m/missing.yaml')), { code: 1, stdout: '', stderr: `error: the path "${m.path('/m/missing.yaml')}" does not exist\n` });
});

test('kubectl create -f URL: only a registered URL is read; its objects are recorded whole', (t) => {
  const m = kubectlMachine(t);
  const url = 'https://raw.githubusercontent.com/projectcalico/calico/v3.25.2/manifests/tigera-operator.yaml';
  t.deepEqual(m.kubectl('create', '-f', url), { code: 1, stdout: '', stderr: `error: unable to read URL "${url}", server reported 404 Not Found, status code=404\n` });
  t.deepEqual(m.kubectl('get', '-f', url), { code: 1, stdout: '', stderr: `unable to read URL "${url}", server reported 404 Not Found, status code=404\n` });
  m.publish(url, fs.readFileSync(path.join(FIXTURES, 'manifests/tigera-operator.yaml'), 'utf8'));
  const r = m.kubectl('create', '-f', url);
  t.deepEqual(r, {
    code: 0,
    stdout:
      'namespace/tigera-operator created\n' +
      'customresourcedefinition.apiextensions.k8s.io/installations.operator.tigera.io created\n' +
      'configmap/operator-flags created\n' +
      'deployment.apps/tigera-operator created\n',
    stderr: '',
  });
  const deployment = m.objects().find((o) => o.kind === 'Deployment');
  t.like(deployment, { name: 'tigera-operator', namespace: 'tigera-operator', source: url });
  t.is(deployment.manifest.spec.template.spec.containers[0].image, 'quay.io/tigera/operator:v1.36.5');
  t.deepEqual(m.objects().find((o) => o.kind === 'ConfigMap').manifest.data, { enabled: 'on', verbose: 'yes', mode: '0755' });
  t.is(m.kubectl('get', '-f', url).code, 0);
  // Created again: every object exists.
  t.deepEqual(m.kubectl('create', '-f', url), {
    code: 1,
    stdout: '',
    stderr:
      `Error from server (AlreadyExists): error when creating "${url}": namespaces "tigera-operator" already exists\n` +
      `Error from server (AlreadyExists): error when creating "${url}": customresourcedefinitions.apiextensions.k8s.io "installations.operator.tigera.io" already exists\n` +
      `Error from server (AlreadyExists): error when creating "${url}": configmaps "operator-flags" already exists\n` +
      `Error from server (AlreadyExists): error when creating "${url}": deployments.apps "tigera-operator" already exists\n`,
  });
});

test('kubectl create -f: a custom resource needs its CRD, a namespaced object its namespace', (t) => {
  const m = kubectlMachine(t);
  const installation = m.write('/m/installation.yaml', 'apiVersion: operator.tigera.io/v1\nkind: Installation\nmetadata:\n  name: default\nspec: {}\n');
  t.deepEqual(m.kubectl('create', '-f', installation), {
    code: 1,
    stdout: '',
    stderr: `error: resource mapping not found for name: "default" namespace: "" from "${installation}": no matches for kind "Installation" in version "operator.tigera.io/v1"\nensure CRDs are installed first\n`,
  });
  const config = m.write('/m/cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: nowhere\n');
  t.deepEqual(m.kubectl('create', '-f', config), { code: 1, stdout: '', stderr: `Error from server (NotFound): error when creating "${config}": namespaces "nowhere" not found\n` });
  m.write('/crds.yaml', fs.readFileSync(path.join(FIXTURES, 'manifests/operator-crds.yaml'), 'utf8'));
  t.is(m.kubectl('create', '-f', m.path('/crds.yaml')).code, 0);
  t.deepEqual(m.kubectl('create', '-f', installation), { code: 0, stdout: 'installation.operator.tigera.io/default created\n', stderr: '' });
  // The first bad document stops the stream; those before it are created.
  const mixed = m.write('/m/mixed.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n---\nmetadata:\n  name: second\n');
  t.deepEqual(m.kubectl('create', '-f', mixed), { code: 1, stdout: 'configmap/first created\n', stderr: `error: error validating "${mixed}": error validating data: [apiVersion not set, kind not set]; ${HINT}\n` });
});

test("the end-to-end VM's kubectl reads its manifests by the same rules, URLs from what the test built in", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labimg-guest-kubectl-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const url = 'https://raw.githubusercontent.com/projectcalico/calico/v3.31.7/manifests/operator-crds.yaml';
  const bundle = path.join(dir, 'kubectl.js');
  buildSync({
    entryPoints: [path.join(__dirname, '..', 'e2e', 'guest', 'kubectl.ts')],
    bundle: true,
    platform: 'node',
    outfile: bundle,
    define: { MANIFESTS: JSON.stringify(JSON.stringify({ [url]: fs.readFileSync(path.join(FIXTURES, 'manifests/operator-crds.yaml'), 'utf8') })) },
  });
  const kubeconfig = path.join(dir, 'admin.conf');
  fs.writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\n');
  const kubectl = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bundle, '--kubeconfig', kubeconfig, ...args], { env: { LABIMG_E2E_STATE: path.join(dir, 'state') }, encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const other = 'https://raw.githubusercontent.com/projectcalico/calico/v3.31.7/manifests/tigera-operator.yaml';
  t.deepEqual(kubectl('create', '-f', other), { code: 1, stdout: '', stderr: `error: unable to read URL "${other}", server reported 404 Not Found, status code=404\n` });
  t.deepEqual(kubectl('create', '-f', url), { code: 0, stdout: 'customresourcedefinition.apiextensions.k8s.io/installations.operator.tigera.io created\n', stderr: '' });
  const noKind = path.join(dir, 'no-kind.yaml');
  fs.writeFileSync(noKind, 'apiVersion: operator.tigera.io/v1\nmetadata:\n  name: default\n');
  t.deepEqual(kubectl('create', '-f', noKind), { code: 1, stdout: '', stderr: `error: error validating "${noKind}": error validating data: kind not set; ${HINT}\n` });
  const created = JSON.parse(fs.readFileSync(path.join(dir, 'state', 'created.json'), 'utf8'));
  t.deepEqual(created.map((o: any) => [o.kind, o.name, o.source]), [['CustomResourceDefinition', 'installations.operator.tigera.io', url]]);
});

// ---- modprobe ---------------------------------------------------------------------------------------------

test('modprobe loads only modules the kernel has, with what they need, and refuses others as kmod does', (t) => {
  const m = machine(t);
  t.deepEqual(m.run('modprobe', ['foo']), { code: 1, stdout: '', stderr: 'modprobe: FATAL: Module foo not found in directory /lib/modules/5.4.0-216-generic\n' });
  t.deepEqual(m.run('modprobe', ['-q', 'foo']), { code: 1, stdout: '', stderr: '' });
  t.false(fs.existsSync(m.path('/sys/module/foo')));
  t.is(m.run('modprobe', ['br-netfilter']).code, 0);
  for (const module of ['br_netfilter', 'bridge', 'stp', 'llc']) t.true(fs.existsSync(m.path(`/sys/module/${module}`)), module);
  t.is(fs.readFileSync(m.path('/proc/sys/net/bridge/bridge-nf-call-iptables'), 'utf8'), '0\n');
  t.is(m.run('modprobe', ['overlay']).code, 0);
  // Without -a the words after the module are its parameters, which the stand-in does not model.
  t.is(m.run('modprobe', ['overlay', 'br_netfilter']).code, 64);
});

test("modprobe nvidia: not found until a driver package is installed; no such device without an NVIDIA GPU", (t) => {
  const m = machine(t);
  t.deepEqual(m.run('modprobe', ['nvidia']), { code: 1, stdout: '', stderr: 'modprobe: FATAL: Module nvidia not found in directory /lib/modules/5.4.0-216-generic\n' });
  m.write('/.fake/packages.json', JSON.stringify({ 'nvidia-driver-535-server': { version: '535.247.01-0ubuntu0.20.04.1' } }));
  t.deepEqual(m.run('modprobe', ['nvidia']), { code: 1, stdout: '', stderr: "modprobe: ERROR: could not insert 'nvidia': No such device\n" });
  m.write('/sys/bus/pci/devices/0000:00:1e.0/vendor', '0x10de\n');
  t.is(m.run('modprobe', ['nvidia-uvm']).code, 0);
  t.true(fs.existsSync(m.path('/sys/module/nvidia')));
  t.true(fs.existsSync(m.path('/sys/module/nvidia_uvm')));
});

// ---- the end-to-end checker's containerd check --------------------------------------------------------------

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { runcSystemdCgroup, sandboxImage } = require('../e2e/guest/check.js') as {
  runcSystemdCgroup(text: string): { systemdCgroup: boolean; version: number | null; error?: string };
  sandboxImage(text: string): string | null;
};

test("the e2e checker reads SystemdCgroup on runc's options only, at the table of the config's version", (t) => {
  const v2 = 'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.10"\n';
  const runcV2 = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n';
  const nvidiaV2 = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia.options]\n';
  t.deepEqual(runcSystemdCgroup(`${v2}${runcV2}  SystemdCgroup = true\n`), { systemdCgroup: true, version: 2 });
  t.deepEqual(runcSystemdCgroup(`${v2}${runcV2}  SystemdCgroup = false\n`), { systemdCgroup: false, version: 2 });
  // On the nvidia runtime only, in a comment, or on the CRI table itself: runc still runs without it.
  t.deepEqual(runcSystemdCgroup(`${v2}${runcV2}  BinaryName = "runc"\n${nvidiaV2}  SystemdCgroup = true\n`), { systemdCgroup: false, version: 2 });
  t.deepEqual(runcSystemdCgroup(`${v2}# SystemdCgroup = true\n`), { systemdCgroup: false, version: 2 });
  t.deepEqual(runcSystemdCgroup('version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  SystemdCgroup = true\n'), { systemdCgroup: false, version: 2 });
  // Version 3 moved the runtimes to io.containerd.cri.v1.runtime; version 2's table there means nothing.
  const runcV3 = 'version = 3\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n';
  t.deepEqual(runcSystemdCgroup(runcV3), { systemdCgroup: true, version: 3 });
  t.deepEqual(runcSystemdCgroup(`version = 3\n${runcV2}  SystemdCgroup = true\n`), { systemdCgroup: false, version: 3 });
  const broken = runcSystemdCgroup('version = 2\n[plugins\n');
  t.false(broken.systemdCgroup);
  t.true(broken.error?.startsWith("containerd's config is not TOML: "), broken.error);
  t.is(sandboxImage(v2), 'registry.k8s.io/pause:3.10');
  t.is(sandboxImage('version = 3\n[plugins."io.containerd.cri.v1.images".pinned_images]\n  sandbox = "registry.k8s.io/pause:3.10"\n'), 'registry.k8s.io/pause:3.10');
});
