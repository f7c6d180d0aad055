'use strict';
/**
 * Shared state of the stand-in commands in test/fake-bin. Every stand-in:
 *   - appends {argv, cwd} as one JSON line to $LABIMG_FAKE_LOG, before doing anything;
 *   - keeps the machine's state under $LABIMG_FAKE_ROOT — the same temp root the agent runs against — so the
 *     agent's checks (files, rpm -q, systemctl is-active, ...) see what the commands did.
 * Machine files live where a real system has them ($ROOT/etc, $ROOT/proc, $ROOT/sys); bookkeeping that a real
 * system keeps in binary databases (rpm, dpkg, systemd, containerd) lives in $ROOT/.fake/*.json.
 */
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const kernel = require('./fake-kernel');

const ROOT = process.env.LABIMG_FAKE_ROOT;

function requireRoot() {
  if (!ROOT) {
    process.stderr.write('LABIMG_FAKE_ROOT is not set: stand-ins only run inside agent tests\n');
    process.exit(99);
  }
  return ROOT;
}

/** A node path (/etc/x) inside the fake root. */
function rootPath(nodePath) {
  return path.join(requireRoot(), nodePath);
}

function record(name, args) {
  const log = process.env.LABIMG_FAKE_LOG;
  if (log) fs.appendFileSync(log, `${JSON.stringify({ argv: [name, ...args], cwd: process.cwd() })}\n`);
}

function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  }
}

function writeText(file, content, mode) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.fake-${process.pid}.tmp`;
  fs.writeFileSync(temp, content, { mode: mode ?? 0o644 });
  fs.renameSync(temp, file);
}

function stateFile(name) {
  return rootPath(`/.fake/${name}.json`);
}

function loadState(name, fallback) {
  const text = readText(stateFile(name));
  return text === undefined ? fallback : JSON.parse(text);
}

function saveState(name, value) {
  writeText(stateFile(name), `${JSON.stringify(value, null, 2)}\n`);
}

/** Ends the stand-in the way the real command would: message on stderr, exit status. */
function fail(message, code = 1) {
  process.stderr.write(message.endsWith('\n') ? message : `${message}\n`);
  process.exit(code);
}

function out(text) {
  process.stdout.write(text);
}

// ---- the network ------------------------------------------------------------------------------------------

/**
 * Where a test registers what the network serves: the bytes for `url` live in
 * $ROOT/.fake/downloads/<sha256 of the URL> (FakeMachine.publishDownload writes them). A URL nobody
 * registered is not there: the stand-ins that fetch (curl, kubectl -f URL) answer it as a server's 404.
 */
function downloadPath(url) {
  return rootPath(`/.fake/downloads/${crypto.createHash('sha256').update(url).digest('hex')}`);
}

/** The registered bytes of `url`, or undefined when no test registered it. */
function download(url) {
  try {
    return fs.readFileSync(downloadPath(url));
  } catch (err) {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  }
}

// ---- packages ---------------------------------------------------------------------------------------------

const KUBE_REPO = /kubernetes|pkgs\.k8s\.io/;
// Docker's own repositories and their mirrors (Aliyun keeps the docker-ce path).
const DOCKER_REPO = /docker-ce|download\.docker\.com/;
// NVIDIA's CUDA repository (developer.download.nvidia.com/compute/cuda/repos/...) and Aliyun's nvidia-cuda.
const CUDA_REPO = /compute\/cuda\/repos|nvidia-cuda/;

/**
 * The newest kernel the distro's repositories carry, whose headers an unversioned kernel-devel (or EL9's
 * kernel-devel-matched) installs: the vault's CentOS 7.9.2009 updates end at 3.10.0-1160.119.1 (2024-06). The
 * running kernel is the machine's own (/proc/sys/kernel/osrelease; test/helpers/agent-machine.ts).
 */
const NEWEST_KERNEL = { centos: '3.10.0-1160.119.1.el7.x86_64', rocky: '5.14.0-503.14.1.el9_5.x86_64' };

/** The fake host's /etc/os-release fields the stand-ins read. */
function osRelease() {
  const text = readText(rootPath('/etc/os-release')) || '';
  const field = (name) => {
    const match = new RegExp(`^${name}="?([^"\\n]*)"?$`, 'm').exec(text);
    return match ? match[1] : '';
  };
  return { id: field('ID'), versionId: field('VERSION_ID') };
}

function newestKernel() {
  return NEWEST_KERNEL[osRelease().id] || NEWEST_KERNEL.centos;
}

/**
 * What DKMS does when a driver package is installed: build the module for every kernel whose
 * /lib/modules/<release>/build leads to headers (dkms(8)), and nothing for the others.
 */
function dkmsBuild() {
  let releases = [];
  try {
    releases = fs.readdirSync(rootPath('/lib/modules'));
  } catch {
    /* no kernels */
  }
  for (const release of releases) {
    if (fs.existsSync(rootPath(`/lib/modules/${release}/build/Makefile`))) {
      writeText(rootPath(`/lib/modules/${release}/extra/nvidia.ko.xz`), `nvidia.ko built by DKMS for ${release}\n`);
    }
  }
}

/**
 * What the stand-in package managers know about packages: which repository provides each (matched against
 * repo base URLs; null = the distro's own repos), its default version, and what installing it brings.
 */
// The kernel modules NVIDIA's driver packages install (built by DKMS or shipped prebuilt), with what each
// needs loaded first; see kernelModules() below.
const NVIDIA_MODULES = { nvidia: [], nvidia_uvm: ['nvidia'], nvidia_modeset: ['nvidia'], nvidia_drm: ['nvidia_modeset', 'nvidia'] };

/**
 * What an NVIDIA driver package brings besides its kernel modules: nvidia-smi, the driver version nvidia-smi
 * reports (`driverVersion`: the stand-in's own values, one per package, not a claim about any archive's current
 * build), and NVIDIA's supported-gpus.json where the package puts it (research notes 2026-12-06: Ubuntu's
 * nvidia-driver-NNN-server ships /usr/share/doc/nvidia-driver-NNN-server/supported-gpus.json, not gzipped
 * (canonical/ubuntu-drivers-common gpu-manager.c, NVIDIA/ubuntu-packaging-nvidia-driver debian/*.docs); NVIDIA's
 * EL repository's nvidia-driver.spec installs it as %doc, /usr/share/doc/nvidia-driver/supported-gpus.json
 * (medium confidence)). Its content comes from test/fixtures/supported-gpus-<branch>.json: NVIDIA's format
 * ({"chips": [{devid, subdevid, subvendorid, name, legacybranch?, features}]}, devid "0x" + upper-case hex) with
 * a handful of chips. Their device ids and names are real (pci.ids 2026.08.22, nvidia-smi's names); the
 * subdevid values other than 0x2330's 0x16C0 and the feature lists are the fixture's own. The 535 list leaves
 * out the H200 (0x2335) so that tests can show a GPU the installed driver does not support.
 */
function nvidiaDriver(driverVersion, supportedGpus) {
  // nvidia-smi lands in /usr/bin, as each of these packages installs it.
  return { commands: ['nvidia-smi'], files: { '/usr/bin/nvidia-smi': '#!/bin/sh\n' }, driverVersion, supportedGpus };
}
const CUDA_DRIVER = nvidiaDriver('580.95.05', { file: '/usr/share/doc/nvidia-driver/supported-gpus.json', fixture: 'supported-gpus-580.json' });
const FIXTURES = path.join(__dirname, '..', '..', 'fixtures');

const CATALOG = {
  'docker-ce': { repo: DOCKER_REPO, version: { rhel: '20.10.24-3.el7', debian: '5:24.0.9-1~ubuntu.20.04~focal' }, units: ['docker'], commands: ['dockerd'] },
  'docker-ce-cli': { repo: DOCKER_REPO, version: { rhel: '20.10.24-3.el7', debian: '5:24.0.9-1~ubuntu.20.04~focal' }, commands: ['docker'] },
  'containerd.io': {
    repo: DOCKER_REPO,
    version: { rhel: '1.6.33-3.1.el7', debian: '1.7.25-1' },
    units: ['containerd'],
    commands: ['containerd', 'ctr'],
    // What the real package ships: CRI disabled, because Docker does not need it.
    files: { '/etc/containerd/config.toml': '#   Copyright 2018-2022 Docker Inc.\n\ndisabled_plugins = ["cri"]\n' },
  },
  'docker-compose-plugin': { repo: DOCKER_REPO, version: { rhel: '2.27.1-1.el7', debian: '2.27.1-1~ubuntu.20.04~focal' } },
  containerd: { repo: null, version: { debian: '1.7.12-0ubuntu2~20.04.1' }, units: ['containerd'], commands: ['containerd', 'ctr'] },
  kubelet: { repo: KUBE_REPO, units: ['kubelet'], commands: ['kubelet'] },
  kubeadm: { repo: KUBE_REPO, commands: ['kubeadm'] },
  kubectl: { repo: KUBE_REPO, commands: ['kubectl'] },
  'nvidia-container-toolkit': {
    // NVIDIA's libnvidia-container repository (or a mirror keeping its path), not the CUDA one.
    repo: /libnvidia-container/,
    // Signed with a subkey, which EL7's rpm cannot verify (see rpm-package-manager.js).
    signedWithSubkey: true,
    version: { rhel: '1.17.8-1', debian: '1.17.8-1' },
    commands: ['nvidia-ctk'],
    files: { '/usr/bin/nvidia-container-runtime': '#!/bin/sh\n', '/usr/bin/nvidia-ctk': '#!/bin/sh\n' },
  },
  // The distros' own driver packages (gpu.driverPackages): each brings NVIDIA's kernel modules and nvidia-smi.
  // Ubuntu's nvidia-driver-NNN-server modules come prebuilt and signed by Canonical, so they load under Secure
  // Boot; Debian's nvidia-driver is built by DKMS on the node (profiles/debian12-gpu.yaml), so to a Secure Boot
  // kernel it is unsigned unless the DKMS key was enrolled (fake-kernel.js dkmsKeyEnrolled).
  'nvidia-driver': { repo: null, kernelModules: NVIDIA_MODULES, builtByDkms: true, ...nvidiaDriver('535.247.01') },
  'nvidia-driver-535-server': {
    repo: null,
    kernelModules: NVIDIA_MODULES,
    ...nvidiaDriver('535.274.02', { file: '/usr/share/doc/nvidia-driver-535-server/supported-gpus.json', fixture: 'supported-gpus-535.json' }),
  },
  'nvidia-driver-580-server': {
    repo: null,
    kernelModules: NVIDIA_MODULES,
    ...nvidiaDriver('580.95.05', { file: '/usr/share/doc/nvidia-driver-580-server/supported-gpus.json', fixture: 'supported-gpus-580.json' }),
  },
  firewalld: { repo: null, units: ['firewalld'], commands: ['firewall-cmd'] },
  // Kernel headers: one tree per kernel release under /usr/src/kernels (see kernelRelease and dkmsBuild).
  'kernel-devel': { repo: null, headers: true },
  'kernel-headers': { repo: null },
  // EL9: the headers of the newest kernel the repositories carry (it requires that kernel).
  'kernel-devel-matched': { repo: null, headers: true },
  // NVIDIA's DKMS drivers from its CUDA repository: installing one builds nvidia.ko for every kernel whose headers
  // are there, so their modules load only where it was built for the running kernel (kernelModules below).
  // Each stands for the set NVIDIA's guide installs (the kernel module, nvidia-driver with its
  // supported-gpus.json, nvidia-smi), at the stand-in's one "latest" version.
  'nvidia-driver-latest-dkms': { repo: CUDA_REPO, dkms: true, ...CUDA_DRIVER },
  'kmod-nvidia-latest-dkms': { repo: CUDA_REPO, dkms: true, ...CUDA_DRIVER, module: { name: 'nvidia-driver', streams: [/^latest-dkms$/] } },
  'kmod-nvidia-open-dkms': { repo: CUDA_REPO, dkms: true, ...CUDA_DRIVER, module: { name: 'nvidia-driver', streams: [/^open-dkms$/, /^\d{3}-open$/] } },
  'nvidia-open': { repo: CUDA_REPO, dkms: true, ...CUDA_DRIVER, module: { name: 'nvidia-driver', streams: [/^open-dkms$/, /^\d{3}-open$/] } },
  'cuda-drivers': { repo: CUDA_REPO, dkms: true, ...CUDA_DRIVER, module: { name: 'nvidia-driver', streams: [/^latest-dkms$/, /^\d{3}-dkms$/] } },
  ufw: { repo: null, commands: ['ufw'] },
};

function catalogEntry(name) {
  return CATALOG[name] || { repo: null };
}

function family() {
  const osRelease = readText(rootPath('/etc/os-release')) || '';
  if (/^ID="?flatcar/m.test(osRelease)) return 'flatcar';
  return /ID_LIKE=.*(rhel|fedora)|^ID="?(centos|rhel|rocky|fedora)/m.test(osRelease) ? 'rhel' : 'debian';
}

function packages() {
  return loadState('packages', {});
}

/**
 * Where Kubernetes comes as files (Flatcar's /opt/bin), the stand-in of a binary is a script that names itself
 * and its version on a comment line: "# labimg stand-in kubeadm v1.32.11".
 */
function binaryVersion(name) {
  const text = readText(rootPath(`/opt/bin/${name}`));
  const match = text && /^# labimg stand-in (\S+) v(\d+\.\d+\.\d+)$/m.exec(text);
  return match && match[1] === name ? match[2] : undefined;
}

function installedVersion(name) {
  const pkg = packages()[name];
  return pkg ? pkg.version : binaryVersion(name);
}

/** Records the install and what comes with it: systemd units, files (kept if present, like %config(noreplace)). */
function installPackage(name, version) {
  const db = packages();
  const entry = catalogEntry(name);
  db[name] = { version: version || (entry.version && entry.version[family()]) || '1.0-1' };
  saveState('packages', db);
  const units = loadState('units', {});
  for (const unit of entry.units || []) if (!units[unit]) units[unit] = { enabled: false, active: false };
  saveState('units', units);
  for (const [file, content] of Object.entries(entry.files || {})) {
    if (readText(rootPath(file)) === undefined) writeText(rootPath(file), content, file.startsWith('/usr/bin/') ? 0o755 : 0o644);
  }
  if (entry.headers) {
    // kernel-devel-<release> installs that kernel's headers; kernel-devel or kernel-devel-matched the newest's.
    const release = name === 'kernel-devel' && version ? (version.endsWith('.x86_64') ? version : `${version}.x86_64`) : newestKernel();
    db[name] = { version: release.replace(/\.x86_64$/, '') };
    saveState('packages', db);
    writeText(rootPath(`/usr/src/kernels/${release}/Makefile`), `# headers of ${release}\n`);
  }
  if (entry.supportedGpus && readText(rootPath(entry.supportedGpus.file)) === undefined) {
    writeText(rootPath(entry.supportedGpus.file), fs.readFileSync(path.join(FIXTURES, entry.supportedGpus.fixture), 'utf8'));
  }
  if (entry.dkms) dkmsBuild();
}

function removePackage(name) {
  const db = packages();
  delete db[name];
  saveState('packages', db);
  const units = loadState('units', {});
  for (const unit of catalogEntry(name).units || []) delete units[unit];
  saveState('units', units);
}

/** A stand-in for a command that belongs to a package behaves as "command not found" until it is installed. */
function requireCommand(command) {
  const owner = Object.entries(CATALOG).find(([, entry]) => (entry.commands || []).includes(command));
  if (owner && !Object.entries(CATALOG).some(([name, entry]) => (entry.commands || []).includes(command) && installedVersion(name))) {
    fail(`${command}: command not found`, 127);
  }
}

// ---- services and images ----------------------------------------------------------------------------------

function units() {
  return loadState('units', {});
}

function unitActive(unit) {
  const u = units()[unit];
  return Boolean(u && u.active);
}

function images() {
  return loadState('images', { containerd: [], docker: [] });
}

function addImages(runtime, refs) {
  const all = images();
  all[runtime] = [...new Set([...(all[runtime] || []), ...refs])];
  saveState('images', all);
}

// ---- kernel -----------------------------------------------------------------------------------------------

/** `uname -r`: the kernel exposes it as /proc/sys/kernel/osrelease; undefined when the fake machine has none. */
function kernelRelease() {
  const text = readText(rootPath('/proc/sys/kernel/osrelease'));
  return text === undefined ? undefined : text.trim();
}

// Modules of the distro kernel the stand-in machine knows (a real one has thousands under
// /lib/modules/<release>): those the lab loads and their dependencies, as modules.dep lists them.
const KERNEL_MODULES = {
  overlay: [],
  br_netfilter: ['bridge'],
  bridge: ['stp', 'llc'],
  stp: ['llc'],
  llc: [],
  ip_tables: [],
  nf_conntrack: [],
  ip_vs: ['nf_conntrack'],
  vxlan: [],
  veth: [],
};

/**
 * Module name → the modules it needs: the kernel's own, plus those every installed package brings (NVIDIA's
 * driver: only once a driver package is installed, as on a real node).
 */
function kernelModules() {
  const modules = { ...KERNEL_MODULES };
  const release = kernelRelease();
  for (const name of Object.keys(packages())) {
    const entry = catalogEntry(name);
    if (!entry.dkms) Object.assign(modules, entry.kernelModules || {});
    else if (release && fs.existsSync(rootPath(`/lib/modules/${release}/extra/nvidia.ko.xz`))) Object.assign(modules, NVIDIA_MODULES);
  }
  return modules;
}

/**
 * Whether NVIDIA's kernel modules, as installed, carry a signature the kernel trusts: Ubuntu's prebuilt
 * nvidia-driver-NNN-server modules are signed by Canonical; what DKMS built on the node is signed only with
 * the DKMS key, which counts once a test marked it enrolled (fake-kernel.js dkmsKeyEnrolled).
 */
function nvidiaModulesTrusted() {
  const providers = Object.keys(packages()).map(catalogEntry).filter((entry) => entry.dkms || entry.kernelModules === NVIDIA_MODULES);
  if (providers.some((entry) => !entry.dkms && !entry.builtByDkms)) return true;
  return kernel.dkmsKeyEnrolled(requireRoot());
}

/** The installed NVIDIA driver package: { name, driverVersion }, or undefined. */
function installedNvidiaDriver() {
  const name = Object.keys(packages()).find((n) => catalogEntry(n).driverVersion);
  return name === undefined ? undefined : { name, driverVersion: catalogEntry(name).driverVersion };
}

/** NVIDIA devices on the fake PCI bus (vendor 0x10de), as /sys/bus/pci/devices shows them. */
function hasNvidiaDevice() {
  const dir = rootPath('/sys/bus/pci/devices');
  let addresses = [];
  try {
    addresses = fs.readdirSync(dir);
  } catch {
    return false;
  }
  return addresses.some((a) => (readText(`${dir}/${a}/vendor`) || '').trim().toLowerCase() === '0x10de');
}

function procSysPath(key) {
  return rootPath(`/proc/sys/${key.replace(/\./g, '/')}`);
}

function readSysctl(key) {
  const value = readText(procSysPath(key));
  return value === undefined ? undefined : value.trim();
}

/** Swap areas still active (first line of /proc/swaps is the header). */
function activeSwaps() {
  return (readText(rootPath('/proc/swaps')) || '').split('\n').slice(1).filter((l) => l.trim());
}

/** Interprets the \n and \t escapes of rpm --qf and dpkg-query -f formats. */
function unescapeFormat(format) {
  return format.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
}

function main(name, handler) {
  const args = process.argv.slice(2);
  requireRoot();
  record(name, args);
  // Fault injection for tests: LABIMG_FAKE_FAIL="modprobe br_netfilter" makes that command (by argv prefix) fail.
  const inject = process.env.LABIMG_FAKE_FAIL;
  if (inject && [name, ...args].join(' ').startsWith(inject)) fail(`${name}: injected failure (LABIMG_FAKE_FAIL="${inject}")`, 1);
  try {
    handler(args);
  } catch (err) {
    fail(`${name} (stand-in) crashed: ${err && err.stack ? err.stack : err}`, 70);
  }
}

module.exports = {
  requireRoot,
  osRelease,
  ROOT,
  rootPath,
  readText,
  writeText,
  loadState,
  saveState,
  fail,
  out,
  downloadPath,
  download,
  CATALOG,
  catalogEntry,
  family,
  packages,
  installedVersion,
  installPackage,
  removePackage,
  requireCommand,
  units,
  unitActive,
  images,
  addImages,
  kernelRelease,
  kernelModules,
  nvidiaModulesTrusted,
  installedNvidiaDriver,
  hasNvidiaDevice,
  procSysPath,
  readSysctl,
  activeSwaps,
  unescapeFormat,
  main,
};
