'use strict';
/**
 * The kernel side of the fake machine, shared by the stand-ins (modprobe, nvidia-smi, mokutil, dracut,
 * update-initramfs) and the test helper (test/helpers/agent-machine.ts: the fresh host's layout and
 * FakeMachine.reboot()). Every function takes the fake root explicitly, because the helper runs in the test
 * process, where $LABIMG_FAKE_ROOT is not set.
 *
 * What it models, each where the kernel shows it:
 * - the PCI bus as sysfs lays it out: the device directory under /sys/devices, the /sys/bus/pci/devices/<addr>
 *   link to it, and a driver's hold on a device as /sys/bus/pci/drivers/<driver>/<addr> plus the device's
 *   `driver` link (drivers/base/dd.c driver_sysfs_add; read 2026-12-05);
 * - Secure Boot as the EFI variables show it under /sys/firmware/efi/efivars (4 attribute bytes, then the value);
 * - the initramfs each kernel boots with: which /etc/modprobe.d files it carries ($ROOT/.fake/initramfs.json);
 * - what a boot does: a new boot_id, an empty /run, no module loaded, nouveau binding NVIDIA GPUs when the
 *   kernel has it and the initramfs does not blacklist it.
 */
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const at = (root, nodePath) => path.join(root, nodePath);

function readText(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
    throw err;
  }
}

function writeText(file, content) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

function listDir(dir) {
  try {
    return fs.readdirSync(dir).sort();
  } catch (err) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [];
    throw err;
  }
}

/** Replaces whatever is at `link` with a relative symlink to `target` (both absolute paths in the host). */
function relink(link, target) {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(path.relative(path.dirname(link), target), link);
}

// ---- state the stand-ins keep about the kernel -------------------------------------------------------------

function loadFakeState(root, name, fallback) {
  const text = readText(at(root, `/.fake/${name}.json`));
  return text === undefined ? fallback : JSON.parse(text);
}

function saveFakeState(root, name, value) {
  writeText(at(root, `/.fake/${name}.json`), `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Facts about the machine's kernel that no file of a real host states directly: whether nouveau is part of it
 * ($ROOT/.fake/kernel.json, written by FakeMachine.create from its `gpu.nouveau` option).
 */
function kernelFacts(root) {
  return loadFakeState(root, 'kernel', { nouveau: false });
}

/** `uname -r`: /proc/sys/kernel/osrelease. */
function runningRelease(root) {
  const text = readText(at(root, '/proc/sys/kernel/osrelease'));
  return text === undefined ? undefined : text.trim();
}

// ---- the PCI bus ---------------------------------------------------------------------------------------------

const NVIDIA_VENDOR = '0x10de';

/**
 * Puts a device on the fake PCI bus as sysfs shows it: its attribute files in /sys/devices/pci0000:00/<addr>/
 * and the bus's link /sys/bus/pci/devices/<addr> -> ../../../devices/pci0000:00/<addr> (drivers/base/bus.c
 * links each device of a bus; a real device behind a bridge sits one level deeper under its bridge, which
 * nothing here reads). `files` are attribute name -> value as sysfs prints it (vendor 0x10de, class 0x030200).
 */
function addPciDevice(root, address, files) {
  const device = at(root, `/sys/devices/pci0000:00/${address}`);
  for (const [name, value] of Object.entries(files)) writeText(path.join(device, name), `${value}\n`);
  relink(at(root, `/sys/bus/pci/devices/${address}`), device);
}

/** The real directory of a device, whether a test wrote it as a plain directory or addPciDevice linked it. */
function deviceDir(root, address) {
  return fs.realpathSync(at(root, `/sys/bus/pci/devices/${address}`));
}

/** The driver holding a device: the one whose /sys/bus/pci/drivers/<driver>/<addr> exists, or undefined. */
function driverOf(root, address) {
  return listDir(at(root, '/sys/bus/pci/drivers')).find((driver) => fs.existsSync(at(root, `/sys/bus/pci/drivers/${driver}/${address}`)));
}

/** Every device on the bus, in bus order, with the attributes sysfs shows (lower-case hex) and its driver. */
function pciDevices(root) {
  const base = at(root, '/sys/bus/pci/devices');
  return listDir(base).map((address) => {
    const attribute = (name) => (readText(path.join(base, address, name)) || '').trim().toLowerCase() || undefined;
    return { address, vendor: attribute('vendor'), class: attribute('class'), device: attribute('device'), driver: driverOf(root, address) };
  });
}

/** NVIDIA's display controllers: vendor 0x10de, class 0x0300xx (VGA) or 0x0302xx (3D controller). */
function isNvidiaGpu(device) {
  return device.vendor === NVIDIA_VENDOR && /^0x030[02]/.test(device.class || '');
}

function nvidiaGpus(root) {
  return pciDevices(root).filter(isNvidiaGpu);
}

/**
 * A driver takes a device: /sys/bus/pci/drivers/<driver>/<addr> links to the device, and the device's `driver`
 * links to the driver's directory (drivers/base/dd.c driver_sysfs_add).
 */
function bindDriver(root, address, driver) {
  const device = deviceDir(root, address);
  const driverDir = at(root, `/sys/bus/pci/drivers/${driver}`);
  fs.mkdirSync(driverDir, { recursive: true });
  relink(path.join(driverDir, address), device);
  relink(path.join(device, 'driver'), driverDir);
}

/** Every driver lets go of every device (the kernel before it boots: nothing is bound). */
function unbindAll(root) {
  for (const { address } of pciDevices(root)) fs.rmSync(path.join(deviceDir(root, address), 'driver'), { force: true });
  fs.rmSync(at(root, '/sys/bus/pci/drivers'), { recursive: true, force: true });
}

// ---- Secure Boot -------------------------------------------------------------------------------------------

// EFI_GLOBAL_VARIABLE (UEFI spec) holds SecureBoot and SetupMode; shim's SHIM_LOCK_GUID holds MokSBStateRT
// (lcp/mokutil src/mokutil.c @ 9ae73db, sb_state_internal; read 2026-12-05).
const EFI_GLOBAL_GUID = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
const SHIM_LOCK_GUID = '605dab50-e046-4300-abb6-3dd810dd8b23';
const EFIVARS = '/sys/firmware/efi/efivars';
// EFI_VARIABLE_BOOTSERVICE_ACCESS | EFI_VARIABLE_RUNTIME_ACCESS, the attributes SecureBoot and SetupMode carry.
const VARIABLE_ATTRIBUTES = [0x06, 0x00, 0x00, 0x00];

function efiVariablePath(name, guid = EFI_GLOBAL_GUID) {
  return `${EFIVARS}/${name}-${guid}`;
}

/**
 * Lays out the firmware's Secure Boot state: 'enabled' (SecureBoot 1, SetupMode 0), 'disabled' (0, 0),
 * 'no-secure-boot-variable' (EFI variables but no SecureBoot one), 'no-efi' (a BIOS boot: no /sys/firmware/efi).
 */
function writeSecureBoot(root, state) {
  fs.rmSync(at(root, '/sys/firmware/efi'), { recursive: true, force: true });
  if (state === 'no-efi') return;
  fs.mkdirSync(at(root, EFIVARS), { recursive: true });
  if (state === 'no-secure-boot-variable') return;
  if (state !== 'enabled' && state !== 'disabled') throw new Error(`unknown Secure Boot state ${state}`);
  const variable = (value) => Buffer.from([...VARIABLE_ATTRIBUTES, value]);
  fs.writeFileSync(at(root, efiVariablePath('SecureBoot')), variable(state === 'enabled' ? 1 : 0));
  fs.writeFileSync(at(root, efiVariablePath('SetupMode')), variable(0));
}

/** efivar's efi_variables_supported(): an efivarfs (or the older sysfs vars) directory is there. */
function efiVariablesSupported(root) {
  return fs.existsSync(at(root, EFIVARS)) || fs.existsSync(at(root, '/sys/firmware/efi/vars'));
}

/** A variable's data (the file less its 4 attribute bytes), or undefined when it does not exist. */
function readEfiVariable(root, name, guid = EFI_GLOBAL_GUID) {
  try {
    return fs.readFileSync(at(root, efiVariablePath(name, guid))).subarray(4);
  } catch (err) {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A 1, 2 or 4 byte variable as mokutil reads it (little-endian); undefined for other sizes. */
function efiInteger(data) {
  if (!data || ![1, 2, 4].includes(data.length)) return undefined;
  return data.readUIntLE(0, data.length);
}

/** Secure Boot in force: SecureBoot 1 and SetupMode 0, the state mokutil --sb-state calls enabled. */
function secureBootEnforced(root) {
  if (!efiVariablesSupported(root)) return false;
  return efiInteger(readEfiVariable(root, 'SecureBoot')) === 1 && efiInteger(readEfiVariable(root, 'SetupMode')) === 0;
}

/**
 * Where a test says that the key DKMS signs its modules with was enrolled as a Machine Owner Key:
 * $ROOT/.fake/mok-enrolled holds that key's path on the node (which must exist there). Without it, what DKMS
 * built is, to a Secure Boot kernel, an unsigned module.
 */
function dkmsKeyEnrolled(root) {
  const keyPath = (readText(at(root, '/.fake/mok-enrolled')) || '').trim();
  return keyPath !== '' && fs.existsSync(at(root, keyPath));
}

/**
 * strerror of what the kernel answers when asked to load an unsigned module under Secure Boot, by kernel
 * (kmod modprobe prints it as "could not insert 'NAME': <strerror>"). Research notes of 2026-12-06, from kmod
 * tools/modprobe.c and reports per distro, and the kernel's module_sig_check():
 * - before 5.4 the refusal is ENOKEY, "Required key not available" (Ubuntu 18.04's 4.15, EL7's 3.10, EL8's 4.18);
 * - from 5.4 a kernel that enforces signatures answers EKEYREJECTED, "Key was rejected by service" (EL9's 5.14,
 *   Fedora 6.x, Debian 12's 6.1);
 * - Ubuntu's kernels do not enforce signatures but lock down under Secure Boot, and lockdown answers EPERM,
 *   "Operation not permitted" (reported for Ubuntu 20.04's 5.4 and 5.11; the stand-in applies it to every
 *   Ubuntu release string, -generic and the cloud flavours, since the code path is the same).
 */
function unsignedModuleError(release) {
  const [major, minor] = release.split(/[.-]/).map(Number);
  if (major < 5 || (major === 5 && minor < 4)) return 'Required key not available';
  if (/^\d+\.\d+\.\d+-\d+-(generic|lowlatency|aws|azure|gcp|oracle|kvm|ibm)$/.test(release)) return 'Operation not permitted';
  return 'Key was rejected by service';
}

// ---- the initramfs -------------------------------------------------------------------------------------------

/**
 * The image each tool writes for a kernel: dracut /boot/initramfs-<release>.img (dracut.sh, 033 and 057),
 * initramfs-tools /boot/initrd.img-<release> (update-initramfs set_initramfs).
 */
function initramfsImage(family, release) {
  return family === 'rhel' ? `/boot/initramfs-${release}.img` : `/boot/initrd.img-${release}`;
}

/**
 * What goes into an initramfs of the modprobe configuration: every *.conf of /etc/modprobe.d, /lib/modprobe.d
 * and /usr/lib/modprobe.d (dracut modules.d/90kernel-modules/module-setup.sh installs these in host-only mode,
 * the RHEL default; initramfs-tools mkinitramfs copies /etc/modprobe.d/*.conf and /lib/modprobe.d/*.conf).
 */
function modprobeConfig(root) {
  const files = {};
  for (const dir of ['/etc/modprobe.d', '/lib/modprobe.d', '/usr/lib/modprobe.d']) {
    for (const name of listDir(at(root, dir)).filter((n) => n.endsWith('.conf'))) {
      const text = readText(at(root, `${dir}/${name}`));
      if (text !== undefined) files[`${dir}/${name}`] = text;
    }
  }
  return files;
}

/** release -> { image, modprobe: {path: content} }: the initramfs of each kernel ($ROOT/.fake/initramfs.json). */
function initramfsDatabase(root) {
  return loadFakeState(root, 'initramfs', {});
}

/** Builds the initramfs of `release` at `image`: the image file and what it carries of /etc/modprobe.d. */
function buildInitramfs(root, release, image) {
  const modprobe = modprobeConfig(root);
  const database = initramfsDatabase(root);
  database[release] = { image, modprobe };
  saveFakeState(root, 'initramfs', database);
  const carried = Object.keys(modprobe).join(' ') || 'none';
  writeText(at(root, image), `labimg stand-in initramfs for ${release}; modprobe.d files: ${carried}\n`);
}

/**
 * What the modprobe configuration says about nouveau, in modprobe.d(5) syntax: `blacklist nouveau` keeps the
 * kernel's alias lookup (how udev loads a device's driver at boot) from loading it; `options nouveau modeset=0`
 * lets it load but not drive the device (nouveau registers no PCI driver without modesetting). Module names
 * treat '-' and '_' alike; '#' starts a comment.
 */
function nouveauPolicy(files) {
  let policy = 'binds';
  for (const text of Object.values(files)) {
    for (const raw of text.split('\n')) {
      const words = raw.replace(/#.*/, '').trim().split(/\s+/);
      const module = (words[1] || '').replace(/-/g, '_');
      if (module !== 'nouveau') continue;
      if (words[0] === 'blacklist') return 'blacklisted';
      if (words[0] === 'options' && words.slice(2).includes('modeset=0')) policy = 'no-modeset';
    }
  }
  return policy;
}

// ---- boot ------------------------------------------------------------------------------------------------

// What /proc/modules lists on the fresh host before anything is loaded (its root filesystem's driver).
const FRESH_PROC_MODULES = 'xfs 978944 2 - Live 0x0000000000000000\n';

/**
 * What the kernel does as it boots, as far as the agent can see: a new /proc/sys/kernel/random/boot_id (random(4): a
 * random UUID "generated once" per boot), and nouveau taking each NVIDIA GPU when the kernel has nouveau and the initramfs of the
 * running kernel does not blacklist it (nouveau is in the initramfs and loads from there, which is why NVIDIA's
 * guide regenerates it after blacklisting). Without a recorded initramfs for the running kernel, the root
 * filesystem's modprobe.d decides. modules-load.d lists are not loaded here: systemd-modules-load would, and
 * the agent loads them itself.
 */
function bootKernel(root) {
  writeText(at(root, '/proc/sys/kernel/random/boot_id'), `${crypto.randomUUID()}\n`);
  if (!kernelFacts(root).nouveau) return;
  const release = runningRelease(root);
  const initramfs = release === undefined ? undefined : initramfsDatabase(root)[release];
  const policy = nouveauPolicy(initramfs ? initramfs.modprobe : modprobeConfig(root));
  if (policy === 'blacklisted') return;
  fs.mkdirSync(at(root, '/sys/module/nouveau'), { recursive: true });
  if (policy === 'no-modeset') return;
  for (const gpu of nvidiaGpus(root)) if (!gpu.driver) bindDriver(root, gpu.address, 'nouveau');
}

/**
 * The machine goes down and comes back: what was loaded and what lived in memory is gone, then the kernel boots.
 * - /run (a tmpfs) is empty; every module is unloaded (/sys/module empty, /proc/modules as on the fresh host,
 *   br_netfilter's /proc/sys/net/bridge knobs gone with it) and no driver holds a device;
 * - systemd starts the enabled units and no others (units.json: active = enabled);
 * - SELinux enforces again if /etc/selinux/config says enforcing (a runtime setenforce 0 does not survive);
 * - other sysctls keep their values, standing in for systemd-sysctl applying /etc/sysctl.d at boot; swap, too,
 *   is left as it was (systemd would enable what /etc/fstab still lists).
 * `kernelRelease` boots another installed kernel (its /proc/sys/kernel/osrelease).
 */
function rebootMachine(root, kernelRelease) {
  fs.rmSync(at(root, '/run'), { recursive: true, force: true });
  fs.mkdirSync(at(root, '/run'), { recursive: true });
  fs.rmSync(at(root, '/sys/module'), { recursive: true, force: true });
  fs.mkdirSync(at(root, '/sys/module'), { recursive: true });
  writeText(at(root, '/proc/modules'), FRESH_PROC_MODULES);
  fs.rmSync(at(root, '/proc/sys/net/bridge'), { recursive: true, force: true });
  unbindAll(root);
  const units = loadFakeState(root, 'units', undefined);
  if (units) {
    for (const unit of Object.values(units)) unit.active = Boolean(unit.enabled);
    saveFakeState(root, 'units', units);
  }
  const selinux = readText(at(root, '/etc/selinux/config'));
  const mode = selinux && /^SELINUX=(\w+)/m.exec(selinux);
  if (mode && (mode[1] === 'enforcing' || mode[1] === 'permissive')) writeText(at(root, '/sys/fs/selinux/enforce'), mode[1] === 'enforcing' ? '1' : '0');
  if (kernelRelease) writeText(at(root, '/proc/sys/kernel/osrelease'), `${kernelRelease}\n`);
  fs.rmSync(at(root, '/.fake/reboot-requested.json'), { force: true });
  bootKernel(root);
}

module.exports = {
  NVIDIA_VENDOR,
  EFI_GLOBAL_GUID,
  SHIM_LOCK_GUID,
  FRESH_PROC_MODULES,
  kernelFacts,
  runningRelease,
  addPciDevice,
  pciDevices,
  isNvidiaGpu,
  nvidiaGpus,
  bindDriver,
  writeSecureBoot,
  efiVariablesSupported,
  efiVariablePath,
  readEfiVariable,
  efiInteger,
  secureBootEnforced,
  dkmsKeyEnrolled,
  unsignedModuleError,
  initramfsImage,
  initramfsDatabase,
  buildInitramfs,
  nouveauPolicy,
  bootKernel,
  rebootMachine,
};
