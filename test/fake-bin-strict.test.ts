/**
 * The stand-ins serve only what a test registered, read what they are given and refuse the rest, with the
 * real tools' messages and exit codes. Each runs here as a real process. The expected messages are literals:
 * those of curl 7.88.1, gpg 2.2.40 and kubectl v1.32.4 run on the same inputs (2026-12-05), and of kmod's
 * modprobe.c for modprobe, mokutil.c for mokutil, dracut.sh and update-initramfs for the initramfs tools, and the
 * reports named in the nvidia-smi stand-in (each stand-in names its sources).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { FAKE_BIN, FakeMachine, gpuAddresses, profileConfig } from './helpers/agent-machine';

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

// ---- the GPU node's boot: sysfs, Secure Boot, nvidia-smi, mokutil, the initramfs ---------------------------

/** A PCI device as sysfs lays it out: its directory under /sys/devices and the bus's link to it. */
function pciDevice(m: Machine, address: string, files: Record<string, string>): void {
  for (const [name, value] of Object.entries(files)) m.write(`/sys/devices/pci0000:00/${address}/${name}`, `${value}\n`);
  fs.mkdirSync(m.path('/sys/bus/pci/devices'), { recursive: true });
  fs.symlinkSync(`../../../devices/pci0000:00/${address}`, m.path(`/sys/bus/pci/devices/${address}`));
}

const H100 = { vendor: '0x10de', class: '0x030200', device: '0x2330' };
const EFIVARS = '/sys/firmware/efi/efivars';
const GLOBAL = '8be4df61-93ca-11d2-aa0d-00e098032b8c';

/** An EFI variable file as efivarfs shows it: 4 attribute bytes (BS|RT access), then the value. */
function efiVariable(m: Machine, name: string, value: number[], guid = GLOBAL): void {
  m.write(`${EFIVARS}/${name}-${guid}`, '');
  fs.writeFileSync(m.path(`${EFIVARS}/${name}-${guid}`), Buffer.from([0x06, 0, 0, 0, ...value]));
}

test('nvidia-smi: not a command before a driver package; without the driver loaded it cannot communicate (exit 9)', (t) => {
  const m = machine(t);
  pciDevice(m, '0000:00:1e.0', H100);
  t.deepEqual(m.run('nvidia-smi', ['--query-gpu=pci.bus_id,name,driver_version', '--format=csv,noheader']), { code: 127, stdout: '', stderr: 'nvidia-smi: command not found\n' });
  m.write('/.fake/packages.json', JSON.stringify({ 'nvidia-driver-535-server': { version: '535.274.02-0ubuntu0.20.04.1' } }));
  t.deepEqual(m.run('nvidia-smi', ['--query-gpu=pci.bus_id,name,driver_version', '--format=csv,noheader']), {
    code: 9,
    stdout: "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n",
    stderr: '',
  });
});

test('nvidia-smi --query-gpu: one line per GPU the driver holds, in bus order, NVML bus ids; lost GPUs left out', (t) => {
  const m = machine(t, { 'nvidia-driver-535-server': { version: '535.274.02-0ubuntu0.20.04.1' } });
  pciDevice(m, '0000:00:00.0', { vendor: '0x8086', class: '0x060000' });
  pciDevice(m, '0000:00:1e.0', H100);
  pciDevice(m, '0000:3b:00.0', { vendor: '0x10de', class: '0x030000', device: '0x1234' });
  // An NVSwitch (bridge class) is NVIDIA's but no GPU.
  pciDevice(m, '0000:00:1f.0', { vendor: '0x10de', class: '0x068000', device: '0x22a3' });
  t.is(m.run('modprobe', ['nvidia']).code, 0);
  t.true(fs.existsSync(m.path('/sys/bus/pci/drivers/nvidia/0000:00:1e.0')));
  t.is(fs.readlinkSync(m.path('/sys/devices/pci0000:00/0000:00:1e.0/driver')), '../../../bus/pci/drivers/nvidia');
  const query = ['--query-gpu=pci.bus_id,name,driver_version', '--format=csv,noheader'];
  t.deepEqual(m.run('nvidia-smi', query), {
    code: 0,
    stdout: '00000000:00:1E.0, NVIDIA H100 80GB HBM3, 535.274.02\n00000000:3B:00.0, NVIDIA Graphics Device, 535.274.02\n',
    stderr: '',
  });
  // With a header (csv alone, aliases printed by their canonical names) and nounits, which changes nothing here.
  t.deepEqual(m.run('nvidia-smi', ['--query-gpu=index,gpu_bus_id', '--format=csv,nounits']), {
    code: 0,
    stdout: 'index, pci.bus_id\n0, 00000000:00:1E.0\n1, 00000000:3B:00.0\n',
    stderr: '',
  });
  const uuids = m.run('nvidia-smi', ['--query-gpu=uuid', '--format=csv,noheader']).stdout.trim().split('\n');
  t.is(uuids.length, 2);
  for (const uuid of uuids) t.regex(uuid, /^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.not(uuids[0], uuids[1]);
  // XID 79: the GPU fell off the bus; sysfs still shows it, the driver no longer reaches it.
  m.write('/.fake/gpus-lost.json', JSON.stringify(['0000:00:1e.0']));
  t.deepEqual(m.run('nvidia-smi', ['--query-gpu=index,pci.bus_id', '--format=csv,noheader']), { code: 0, stdout: '0, 00000000:3B:00.0\n', stderr: '' });
  m.write('/.fake/gpus-lost.json', JSON.stringify(['0000:00:1e.0', '0000:3b:00.0']));
  t.deepEqual(m.run('nvidia-smi', query), { code: 6, stdout: 'No devices were found\n', stderr: '' });
});

test('nvidia-smi: a field it does not know is exit 2 with the message on stdout; other arguments are not modelled', (t) => {
  const m = machine(t, { 'nvidia-driver-535-server': { version: '535.274.02-0ubuntu0.20.04.1' } });
  t.deepEqual(m.run('nvidia-smi', ['--query-gpu=pci.bus_id,cuda_version', '--format=csv,noheader']), {
    code: 2,
    stdout: 'Field "cuda_version" is not a valid field to query.\n\n',
    stderr: '',
  });
  t.is(m.run('nvidia-smi', ['-L']).code, 64);
  t.is(m.run('nvidia-smi', ['--query-gpu=name', '--format=json']).code, 64);
});

test('mokutil --sb-state: the four states from the EFI variables, with their extra lines and exit codes', (t) => {
  const m = machine(t);
  // A BIOS boot: no EFI variables at all.
  t.deepEqual(m.run('mokutil', ['--sb-state']), { code: 1, stdout: '', stderr: 'EFI variables are not supported on this system\n' });
  // EFI, but the firmware has no SecureBoot variable.
  fs.mkdirSync(m.path(EFIVARS), { recursive: true });
  t.deepEqual(m.run('mokutil', ['--sb-state']), { code: 255, stdout: '', stderr: "This system doesn't support Secure Boot\n" });
  efiVariable(m, 'SecureBoot', [1]);
  efiVariable(m, 'SetupMode', [0]);
  t.deepEqual(m.run('mokutil', ['--sb-state']), { code: 0, stdout: 'SecureBoot enabled\n', stderr: '' });
  efiVariable(m, 'MokSBStateRT', [1], '605dab50-e046-4300-abb6-3dd810dd8b23');
  t.deepEqual(m.run('mokutil', ['--sb-state']), { code: 0, stdout: 'SecureBoot enabled\nSecureBoot validation is disabled in shim\n', stderr: '' });
  efiVariable(m, 'SecureBoot', [0]);
  t.deepEqual(m.run('mokutil', ['--sb-state']), { code: 0, stdout: 'SecureBoot disabled\n', stderr: '' });
  efiVariable(m, 'SecureBoot', [1]);
  efiVariable(m, 'SetupMode', [1]);
  t.deepEqual(m.run('mokutil', ['--sb-state']), { code: 0, stdout: 'SecureBoot disabled\nPlatform is in Setup Mode\n', stderr: '' });
  fs.rmSync(m.path(`${EFIVARS}/SetupMode-${GLOBAL}`));
  t.deepEqual(m.run('mokutil', ['--sb-state']), { code: 255, stdout: '', stderr: 'Failed to read "SetupMode" variable: No such file or directory\n' });
  t.is(m.run('mokutil', ['--import', '/var/lib/dkms/mok.pub']).code, 64);
  t.is(m.run('mokutil', []).code, 64);
});

/** A host whose NVIDIA module DKMS built for the running kernel, with one H100 and Secure Boot on. */
function dkmsMachine(t: { teardown(fn: () => void): void }, osRelease: string, kernelRelease: string, driver: string): Machine {
  const m = machine(t, { [driver]: { version: '1' } });
  m.write('/etc/os-release', osRelease);
  m.write('/proc/sys/kernel/osrelease', `${kernelRelease}\n`);
  m.write(`/lib/modules/${kernelRelease}/extra/nvidia.ko.xz`, 'built by DKMS\n');
  pciDevice(m, '0000:00:1e.0', H100);
  efiVariable(m, 'SecureBoot', [1]);
  efiVariable(m, 'SetupMode', [0]);
  return m;
}

test('modprobe nvidia under Secure Boot: a DKMS-built module is refused with the strerror of the kernel generation', (t) => {
  const cases = [
    // EL7's 3.10: ENOKEY.
    ['ID="centos"\nID_LIKE="rhel fedora"\n', '3.10.0-1160.80.1.el7.x86_64', 'nvidia-driver-latest-dkms', 'Required key not available'],
    // EL9's 5.14 enforces signatures under Secure Boot: EKEYREJECTED.
    ['ID="rocky"\nID_LIKE="rhel centos fedora"\n', '5.14.0-503.14.1.el9_5.x86_64', 'nvidia-open', 'Key was rejected by service'],
    // Debian 12's 6.1, Debian's DKMS-built driver: EKEYREJECTED.
    ['ID=debian\n', '6.1.0-28-amd64', 'nvidia-driver', 'Key was rejected by service'],
    // Ubuntu's 5.4 locks down without enforcing signatures: EPERM.
    ['ID=ubuntu\nID_LIKE=debian\n', '5.4.0-216-generic', 'cuda-drivers', 'Operation not permitted'],
  ];
  for (const [osRelease, kernelRelease, driver, strerror] of cases) {
    const m = dkmsMachine(t, osRelease!, kernelRelease!, driver!);
    t.deepEqual(m.run('modprobe', ['nvidia']), { code: 1, stdout: '', stderr: `modprobe: ERROR: could not insert 'nvidia': ${strerror}\n` }, kernelRelease);
    t.false(fs.existsSync(m.path('/sys/module/nvidia')), kernelRelease);
    // Once the key DKMS signs with is enrolled as a MOK, the module loads.
    m.write('/var/lib/dkms/mok.pub', 'DER certificate\n');
    m.write('/.fake/mok-enrolled', '/var/lib/dkms/mok.pub\n');
    t.is(m.run('modprobe', ['nvidia']).code, 0, kernelRelease);
    t.true(fs.existsSync(m.path('/sys/module/nvidia')), kernelRelease);
  }
});

test("modprobe nvidia: Ubuntu's Canonical-signed server driver loads under Secure Boot; nothing is checked without it", (t) => {
  const signed = machine(t, { 'nvidia-driver-580-server': { version: '580.95.05-0ubuntu0.22.04.1' } });
  pciDevice(signed, '0000:00:1e.0', H100);
  efiVariable(signed, 'SecureBoot', [1]);
  efiVariable(signed, 'SetupMode', [0]);
  t.is(signed.run('modprobe', ['nvidia']).code, 0);
  const off = dkmsMachine(t, 'ID=ubuntu\nID_LIKE=debian\n', '5.4.0-216-generic', 'cuda-drivers');
  efiVariable(off, 'SecureBoot', [0]);
  t.is(off.run('modprobe', ['nvidia']).code, 0);
});

test('modprobe nvidia: No such device when nouveau holds every NVIDIA GPU; otherwise it takes those left', (t) => {
  const m = machine(t, { 'nvidia-driver-535-server': { version: '535.274.02-0ubuntu0.20.04.1' } });
  pciDevice(m, '0000:00:1e.0', H100);
  pciDevice(m, '0000:00:1f.0', H100);
  // What the kernel shows when nouveau took a device: the driver's link to it and the device's link back.
  const hold = (address: string) => {
    fs.mkdirSync(m.path('/sys/bus/pci/drivers/nouveau'), { recursive: true });
    fs.symlinkSync(`../../../../devices/pci0000:00/${address}`, m.path(`/sys/bus/pci/drivers/nouveau/${address}`));
    fs.symlinkSync('../../../bus/pci/drivers/nouveau', m.path(`/sys/devices/pci0000:00/${address}/driver`));
  };
  hold('0000:00:1e.0');
  hold('0000:00:1f.0');
  t.deepEqual(m.run('modprobe', ['nvidia']), { code: 1, stdout: '', stderr: "modprobe: ERROR: could not insert 'nvidia': No such device\n" });
  t.false(fs.existsSync(m.path('/sys/module/nvidia')));
  fs.rmSync(m.path('/sys/bus/pci/drivers/nouveau/0000:00:1f.0'));
  fs.rmSync(m.path('/sys/devices/pci0000:00/0000:00:1f.0/driver'));
  t.is(m.run('modprobe', ['nvidia']).code, 0);
  t.deepEqual(fs.readdirSync(m.path('/sys/bus/pci/drivers/nvidia')), ['0000:00:1f.0']);
  t.deepEqual(m.run('nvidia-smi', ['--query-gpu=pci.bus_id', '--format=csv,noheader']), { code: 0, stdout: '00000000:00:1F.0\n', stderr: '' });
});

test('update-initramfs -u: rebuilds the newest kernel that has an initramfs, carrying /etc/modprobe.d', (t) => {
  const m = machine(t);
  for (const release of ['5.4.0-216-generic', '5.4.0-99-generic', '5.15.0-1-generic']) fs.mkdirSync(m.path(`/lib/modules/${release}`), { recursive: true });
  m.write('/boot/initrd.img-5.4.0-99-generic', 'old\n');
  m.write('/boot/initrd.img-5.4.0-216-generic', 'old\n');
  const blacklist = 'blacklist nouveau\noptions nouveau modeset=0\n';
  m.write('/etc/modprobe.d/blacklist-nouveau.conf', blacklist);
  t.deepEqual(m.run('update-initramfs', ['-u']), { code: 0, stdout: 'update-initramfs: Generating /boot/initrd.img-5.4.0-216-generic\n', stderr: '' });
  const initramfs = JSON.parse(fs.readFileSync(m.path('/.fake/initramfs.json'), 'utf8'));
  t.deepEqual(initramfs, { '5.4.0-216-generic': { image: '/boot/initrd.img-5.4.0-216-generic', modprobe: { '/etc/modprobe.d/blacklist-nouveau.conf': blacklist } } });
  t.not(fs.readFileSync(m.path('/boot/initrd.img-5.4.0-216-generic'), 'utf8'), 'old\n');
  t.is(fs.readFileSync(m.path('/boot/initrd.img-5.4.0-99-generic'), 'utf8'), 'old\n');
  t.is(m.run('update-initramfs', ['-c', '-k', 'all']).code, 64);
});

test('dracut --force: rebuilds the running kernel\'s image with /etc/modprobe.d; without --force it will not override', (t) => {
  const release = '5.14.0-503.14.1.el9_5.x86_64';
  const m = machine(t);
  m.write('/etc/os-release', 'ID="rocky"\nID_LIKE="rhel centos fedora"\n');
  m.write('/proc/sys/kernel/osrelease', `${release}\n`);
  t.deepEqual(m.run('dracut', ['--force']), {
    code: 1,
    stdout: '',
    stderr: `dracut: Cannot find module directory /lib/modules/${release}/\ndracut: and --no-kernel was not specified\n`,
  });
  m.write(`/lib/modules/${release}/modules.dep`, '');
  m.write(`/boot/initramfs-${release}.img`, 'old\n');
  t.deepEqual(m.run('dracut', []), { code: 1, stdout: '', stderr: `dracut: Will not override existing initramfs (/boot/initramfs-${release}.img) without --force\n` });
  const blacklist = 'blacklist nouveau\n';
  m.write('/etc/modprobe.d/blacklist-nouveau.conf', blacklist);
  t.deepEqual(m.run('dracut', ['--force']), { code: 0, stdout: '', stderr: '' });
  t.deepEqual(JSON.parse(fs.readFileSync(m.path('/.fake/initramfs.json'), 'utf8')), {
    [release]: { image: `/boot/initramfs-${release}.img`, modprobe: { '/etc/modprobe.d/blacklist-nouveau.conf': blacklist } },
  });
  t.is(m.run('dracut', ['--force', '--kver', release]).code, 64);
  // CentOS 7's dracut 033 prints its messages without the "dracut: " prefix.
  const el7 = machine(t);
  el7.write('/etc/os-release', 'ID="centos"\nID_LIKE="rhel fedora"\n');
  el7.write('/proc/sys/kernel/osrelease', '3.10.0-1160.80.1.el7.x86_64\n');
  el7.write('/lib/modules/3.10.0-1160.80.1.el7.x86_64/modules.dep', '');
  el7.write('/boot/initramfs-3.10.0-1160.80.1.el7.x86_64.img', 'old\n');
  t.deepEqual(el7.run('dracut', []), { code: 1, stdout: '', stderr: 'Will not override existing initramfs (/boot/initramfs-3.10.0-1160.80.1.el7.x86_64.img) without --force\n' });
});

test('systemctl reboot: recorded, then the calling agent gets SIGTERM as systemd stops its unit', (t) => {
  const m = machine(t);
  m.write('/proc/sys/kernel/random/boot_id', '0b7c7d8e-3f4a-4e5b-9c6d-7e8f9a0b1c2d\n');
  // The agent stands in as a process that runs systemctl reboot and then would print.
  const agent = `require('child_process').spawnSync(process.execPath, [${JSON.stringify(path.join(FAKE_BIN, 'systemctl'))}, 'reboot'], { stdio: 'inherit' }); console.log('still running');`;
  const result = spawnSync(process.execPath, ['-e', agent], { env: { LABIMG_FAKE_ROOT: m.root }, encoding: 'utf8' });
  t.is(result.signal, 'SIGTERM');
  t.is(result.stdout, '');
  t.deepEqual(JSON.parse(fs.readFileSync(m.path('/.fake/reboot-requested.json'), 'utf8')), { bootId: '0b7c7d8e-3f4a-4e5b-9c6d-7e8f9a0b1c2d' });
  t.is(m.run('systemctl', ['reboot', '--force']).code, 64);
});

/** Runs a stand-in against a FakeMachine's root. */
function runOn(machine: FakeMachine, command: string, args: string[]): Run {
  const result = spawnSync(process.execPath, [path.join(FAKE_BIN, command), ...args], { env: { LABIMG_FAKE_ROOT: machine.root }, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('FakeMachine: GPUs in sysfs, nouveau binding them at boot until the initramfs blacklists it, and reboot', async (t) => {
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu-gpu'), gpu: { count: 3, device: '0x2335', nouveau: true, secureBoot: 'disabled' } });
  t.teardown(() => machine.dispose());
  t.deepEqual(machine.gpuAddresses, ['0000:00:1e.0', '0000:00:1f.0', '0000:01:00.0']);
  t.deepEqual(gpuAddresses(1), ['0000:00:1e.0']);
  for (const address of machine.gpuAddresses) {
    t.is(fs.readlinkSync(machine.path(`/sys/bus/pci/devices/${address}`)), `../../../devices/pci0000:00/${address}`);
    t.is(machine.read(`/sys/bus/pci/devices/${address}/device`), '0x2335\n');
    t.is(machine.read(`/sys/bus/pci/devices/${address}/class`), '0x030200\n');
    // First boot: nouveau holds each GPU.
    t.true(machine.exists(`/sys/bus/pci/drivers/nouveau/${address}`), address);
    t.is(fs.readlinkSync(machine.path(`/sys/bus/pci/devices/${address}/driver`)), '../../../bus/pci/drivers/nouveau');
    t.is(fs.realpathSync(machine.path(`/sys/bus/pci/devices/${address}/driver`)), fs.realpathSync(machine.path('/sys/bus/pci/drivers/nouveau')));
  }
  t.true(machine.exists('/sys/module/nouveau'));
  t.deepEqual([...fs.readFileSync(machine.path('/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c'))], [6, 0, 0, 0, 0]);
  t.deepEqual(runOn(machine, 'mokutil', ['--sb-state']), { code: 0, stdout: 'SecureBoot disabled\n', stderr: '' });
  t.true(machine.exists('/boot/initrd.img-5.4.0-216-generic'));
  const firstBoot = machine.bootId();
  t.regex(firstBoot, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

  machine.writeFakeState('packages', { 'nvidia-driver-580-server': { version: '580.95.05-0ubuntu0.20.04.1' } });
  t.deepEqual(runOn(machine, 'modprobe', ['nvidia']), { code: 1, stdout: '', stderr: "modprobe: ERROR: could not insert 'nvidia': No such device\n" });

  // Blacklisted on the root filesystem only: the initramfs still loads nouveau at the next boot.
  machine.write('/etc/modprobe.d/blacklist-nouveau.conf', 'blacklist nouveau\noptions nouveau modeset=0\n');
  machine.write('/run/labimg/marker', 'x\n');
  t.is(runOn(machine, 'modprobe', ['overlay']).code, 0);
  machine.reboot();
  t.not(machine.bootId(), firstBoot);
  t.false(machine.exists('/run/labimg/marker'));
  t.false(machine.exists('/sys/module/overlay'));
  t.true(machine.exists('/sys/bus/pci/drivers/nouveau/0000:00:1e.0'));

  // Rebuilt into the initramfs, it holds from the next boot on.
  t.is(runOn(machine, 'update-initramfs', ['-u']).code, 0);
  machine.reboot();
  t.false(machine.exists('/sys/module/nouveau'));
  t.false(machine.exists('/sys/bus/pci/drivers/nouveau'));
  t.false(machine.exists('/sys/bus/pci/devices/0000:00:1e.0/driver'));
  t.is(runOn(machine, 'modprobe', ['nvidia']).code, 0);
  t.deepEqual(runOn(machine, 'nvidia-smi', ['--query-gpu=pci.bus_id,name,driver_version', '--format=csv,noheader']), {
    code: 0,
    stdout: '00000000:00:1E.0, NVIDIA H200, 580.95.05\n00000000:00:1F.0, NVIDIA H200, 580.95.05\n00000000:01:00.0, NVIDIA H200, 580.95.05\n',
    stderr: '',
  });
  t.is(machine.read('/proc/modules'), 'xfs 978944 2 - Live 0x0000000000000000\n');
});

test('FakeMachine: gpu true is one H100 without EFI; the driver packages install their supported-gpus.json', async (t) => {
  const host = await FakeMachine.create({ config: profileConfig('rocky9-gpu'), gpu: true });
  t.teardown(() => host.dispose());
  t.deepEqual(host.gpuAddresses, ['0000:00:1e.0']);
  t.is(host.read('/sys/bus/pci/devices/0000:00:1e.0/device'), '0x2330\n');
  t.false(host.exists('/sys/firmware/efi'));
  t.false(host.exists('/sys/bus/pci/drivers/nouveau'));
  t.true(host.exists('/boot/initramfs-5.14.0-503.14.1.el9_5.x86_64.img'));
  // An instance of an image keeps sysfs's links relative to its own root.
  const instance = FakeMachine.fromImage(host, {});
  t.teardown(() => instance.dispose());
  t.is(fs.readlinkSync(instance.path('/sys/bus/pci/devices/0000:00:1e.0')), '../../../devices/pci0000:00/0000:00:1e.0');

  const m = machine(t);
  const install = (name: string) => {
    spawnSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(FAKE_BIN, 'lib/fake-machine.js'))}).installPackage(${JSON.stringify(name)})`], { env: { LABIMG_FAKE_ROOT: m.root } });
  };
  install('nvidia-driver-535-server');
  install('nvidia-open');
  const devids = (file: string) => JSON.parse(fs.readFileSync(m.path(file), 'utf8')).chips.filter((c: any) => !c.legacybranch).map((c: any) => c.devid);
  t.deepEqual(devids('/usr/share/doc/nvidia-driver-535-server/supported-gpus.json'), ['0x20B2', '0x2330', '0x26B9']);
  t.deepEqual(devids('/usr/share/doc/nvidia-driver/supported-gpus.json'), ['0x20B2', '0x2330', '0x2335', '0x26B9']);
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
