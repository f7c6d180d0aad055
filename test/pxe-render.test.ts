import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { dump, load } from 'js-yaml';
import type { NodeConfig, NodeSecrets } from '../contract/agent-config';
import { KICKSTART_REFERENCES, RHEL7_KICKSTART, RHEL9_KICKSTART } from './helpers/kickstart-reference';
import { networkInstallerOf } from '../contract/os-families';
import { nodeRuntimeOf } from '../builder/compile';
import { loadProfile } from '../builder/profiles';
import { renderCloudInitUserData } from '../builder/render/cloud-init';
import { renderIgnitionConfig } from '../builder/render/ignition';
import {
  downloadAssetPath,
  endpointPxeBase,
  FLATCAR_INSTALL_UNIT,
  FLATCAR_NODE_IGNITION_PATH,
  macFolderName,
  preseedMirror,
  pxeBootAssets,
  pxeNodeUrl,
  renderAutoinstallTargetScript,
  renderAutoinstallUserData,
  renderFlatcarPxeIgnition,
  renderIpxeChainScript,
  renderIpxeLocalBoot,
  renderKickstart,
  renderKickstartPost,
  renderNoCloudMetaData,
  renderPreseed,
  renderPreseedTargetScript,
  renderPxeNode,
  type PxeNodeInputs,
} from '../builder/render/pxe';
import { ensureAgentBuilt } from './helpers/agent-build';
import { fixture, profileConfig } from './helpers/agent-machine';
import { labimg, repoRoot, tempDir } from './helpers/cli';
import { ipxeCommands, ipxeFindings, kickstartFindings, kickstartScripts } from './helpers/pxe-checks';
import { cloudInitSchema, debconfCheck, ignitionValidate, knownCloudConfigKeys, shellcheck } from './helpers/validators';

const RHEL_PROFILES = ['centos', 'centos-gpu'];
const UBUNTU_PROFILES = ['ubuntu', 'ubuntu-gpu'];
/** debian-installer: Debian 12 and 13, and Ubuntu 18.04's netboot installer. */
const PRESEED_PROFILES = ['debian12', 'debian13', 'ubuntu1804'];
const FLATCAR_PROFILES = ['flatcar'];
const ENDPOINT = 'http://10.0.0.5:8080';
const MAC = '52:54:00:12:34:56';
const OPERATOR_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl operator@lab';

/**
 * Real network-install sources, passed in rather than read from profiles/*.yaml: CentOS 7.9's PXE kernel and
 * tree in the vault, and Ubuntu 20.04.6's live server ISO with its casper kernel and initrd as labimg serve
 * would host them once extracted (Ubuntu publishes them only inside the ISO).
 */
const IMAGES: Record<string, PxeNodeInputs['image']> = {
  rhel: {
    sshUsername: 'centos',
    netInstall: {
      kernel: 'https://vault.centos.org/7.9.2009/os/x86_64/images/pxeboot/vmlinuz',
      initrd: 'https://vault.centos.org/7.9.2009/os/x86_64/images/pxeboot/initrd.img',
      repo: 'https://vault.centos.org/7.9.2009/os/x86_64/',
    },
  },
  debian: {
    sshUsername: 'ubuntu',
    netInstall: { iso: 'https://releases.ubuntu.com/20.04/ubuntu-20.04.6-live-server-amd64.iso' },
  },
  // Debian 12's netboot installer and the archive, and Ubuntu 18.04's (the same d-i, its own archive).
  'preseed-debian': {
    sshUsername: 'debian',
    netInstall: {
      kernel: 'https://deb.debian.org/debian/dists/bookworm/main/installer-amd64/current/images/netboot/debian-installer/amd64/linux',
      initrd: 'https://deb.debian.org/debian/dists/bookworm/main/installer-amd64/current/images/netboot/debian-installer/amd64/initrd.gz',
      repo: 'https://deb.debian.org/debian',
    },
  },
  'preseed-ubuntu': {
    sshUsername: 'ubuntu',
    netInstall: {
      kernel: 'http://archive.ubuntu.com/ubuntu/dists/bionic-updates/main/installer-amd64/current/images/netboot/ubuntu-installer/amd64/linux',
      initrd: 'http://archive.ubuntu.com/ubuntu/dists/bionic-updates/main/installer-amd64/current/images/netboot/ubuntu-installer/amd64/initrd.gz',
      repo: 'http://archive.ubuntu.com/ubuntu',
    },
  },
  // Flatcar's PXE image of one stable release.
  flatcar: {
    sshUsername: 'core',
    netInstall: {
      kernel: 'https://stable.release.flatcar-linux.net/amd64-usr/4593.2.5/flatcar_production_pxe.vmlinuz',
      initrd: 'https://stable.release.flatcar-linux.net/amd64-usr/4593.2.5/flatcar_production_pxe_image.cpio.gz',
    },
  },
};

/** The network-install sources above that a profile's installer takes. */
function imageFor(agentConfig: PxeNodeInputs['agentConfig']): PxeNodeInputs['image'] {
  const kind = networkInstallerOf(agentConfig.os).kind;
  if (kind === 'preseed') return IMAGES[agentConfig.os.id === 'ubuntu' ? 'preseed-ubuntu' : 'preseed-debian']!;
  return IMAGES[agentConfig.os.family]!;
}
const PXE_BASE = endpointPxeBase(ENDPOINT);
/** Where the PXE base serves the kernel and initrd copied out of Ubuntu's ISO. */
const EXTRACTED_BOOT = { kernel: `${PXE_BASE}/assets/ubuntu-20.04.6-live-server-amd64/casper/vmlinuz`, initrd: `${PXE_BASE}/assets/ubuntu-20.04.6-live-server-amd64/casper/initrd` };
/** Where it serves the copies of the tree's kernel and initrd: under assets/, at their URL's host and path. */
const DOWNLOADED_BOOT = {
  kernel: `${PXE_BASE}/assets/vault.centos.org/7.9.2009/os/x86_64/images/pxeboot/vmlinuz`,
  initrd: `${PXE_BASE}/assets/vault.centos.org/7.9.2009/os/x86_64/images/pxeboot/initrd.img`,
};

async function inputsFor(profile: string, options: { secrets?: boolean } = { secrets: true }): Promise<PxeNodeInputs> {
  const agentConfig = profileConfig(profile);
  return {
    agentConfig,
    node: fixture<NodeConfig>('node-worker'),
    secrets: options.secrets ? fixture<NodeSecrets>('secrets-worker') : undefined,
    agentBundle: readFileSync(await ensureAgentBuilt()),
    nodeRuntime: nodeRuntimeOf(loadProfile(profile, { dir: path.join(repoRoot, 'profiles') })),
    image: imageFor(agentConfig),
    sshAuthorizedKeys: [OPERATOR_KEY],
    pxeBase: PXE_BASE,
    nodeUrl: pxeNodeUrl(PXE_BASE, MAC),
  };
}

function writeTemp(name: string, content: string): string {
  const file = path.join(tempDir('labimg-pxe-'), name);
  writeFileSync(file, content);
  return file;
}

// ---------------------------------------------------------------------------------------------------------
// Running an installer's script for real against a temporary root.

interface TargetRun {
  status: number | null;
  stderr: string;
  /** Every call of a stand-in command: "name arg arg…". */
  calls: string[];
}

/**
 * Runs a target script with bash, the target root moved to `root` and stand-ins for the commands that would
 * act on a real system (systemctl, curtin) first on PATH: they only log their arguments.
 */
function runTargetScript(script: string, root: string, standIns: string[]): TargetRun {
  const bin = tempDir('labimg-pxe-bin-');
  const log = path.join(bin, 'calls.log');
  for (const name of standIns) {
    writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> '${log}'\n`);
    chmodSync(path.join(bin, name), 0o755);
  }
  const file = writeTemp('target.sh', script);
  const result = spawnSync('bash', [file], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, LABIMG_TARGET_ROOT: root } });
  const calls = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  return { status: result.status, stderr: result.stderr, calls };
}

interface WriteFilesEntry {
  path: string;
  permissions: string;
  encoding?: string;
  content: string;
}

/** The files the cloud-init user-data of the same inputs writes: path → bytes and mode. */
function cloudInitFiles(inputs: PxeNodeInputs): Map<string, { content: Buffer; mode: number }> {
  const config = load(renderCloudInitUserData(inputs)) as { write_files: WriteFilesEntry[] };
  return new Map(
    config.write_files.map((entry) => [
      entry.path,
      {
        content: entry.encoding === 'gzip+base64' ? gunzipSync(Buffer.from(entry.content, 'base64')) : Buffer.from(entry.content, 'utf8'),
        mode: parseInt(entry.permissions, 8),
      },
    ]),
  );
}

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

/** A file's bytes gunzipped when they are gzip, else as they are. */
function maybeGunzip(data: Buffer): Buffer {
  return data[0] === 0x1f && data[1] === 0x8b ? gunzipSync(data) : data;
}

function kernelLine(script: string): string[] {
  return ipxeCommands(script).find((command) => command.words[0] === 'kernel')!.words;
}

// ---------------------------------------------------------------------------------------------------------
// Autoinstall: cloud-init 22.4's schema only checks `autoinstall.version`, so the section is checked here against
// subiquity's own key list.

/**
 * The top-level keys of subiquity's autoinstall-schema.json in its first version (github.com/canonical/subiquity,
 * commit 2c6474f3, 2021-03, "Lock in current schema"): what 20.04's installer knows. Version 1 ignores other
 * keys without a word, so a misspelt one would silently drop, say, the agent's late-command.
 */
const SUBIQUITY_KEYS = [
  'apt', 'debconf-selections', 'early-commands', 'error-commands', 'identity', 'keyboard', 'late-commands', 'locale',
  'network', 'packages', 'proxy', 'refresh-installer', 'reporting', 'snaps', 'ssh', 'storage', 'user-data', 'version',
];

function autoinstallFindings(autoinstall: Record<string, unknown>): string[] {
  const findings: string[] = [];
  for (const key of Object.keys(autoinstall)) if (!SUBIQUITY_KEYS.includes(key)) findings.push(`subiquity knows no autoinstall key "${key}"`);
  if (autoinstall.version !== 1) findings.push('version must be 1');
  if (!('identity' in autoinstall) && !('user-data' in autoinstall)) findings.push('an unattended install needs identity or user-data');
  const late = autoinstall['late-commands'];
  const isCommand = (command: unknown): boolean => typeof command === 'string' || (Array.isArray(command) && command.every((word) => typeof word === 'string'));
  if (!Array.isArray(late) || !late.every(isCommand)) findings.push('late-commands must be a list of commands (strings or lists of strings)');
  const storage = autoinstall.storage as { layout?: { name?: string }; swap?: { size?: unknown } } | undefined;
  if (!['lvm', 'direct'].includes(storage?.layout?.name ?? '')) findings.push('storage.layout.name must be lvm or direct');
  if (storage?.swap?.size !== 0) findings.push('storage.swap.size must be 0: the kubelet will not run with swap on');
  return findings;
}

function unknownCloudConfigKeys(config: Record<string, unknown>): string[] {
  const known = knownCloudConfigKeys();
  return Object.keys(config).filter((key) => !known.has(key));
}

// =========================================================================================================

for (const profile of RHEL_PROFILES) {
  test(`kickstart for ${profile}: every command, option and section is one RHEL 7 and RHEL 9 both accept`, async (t) => {
    const kickstart = renderKickstart(await inputsFor(profile));
    for (const reference of KICKSTART_REFERENCES) t.deepEqual(kickstartFindings(kickstart, reference), [], reference.name);
    t.regex(kickstart, /^rootpw --lock$/m);
    t.regex(kickstart, /^part \/ --fstype=xfs /m);
    const commandLines = kickstart.slice(0, kickstart.indexOf('\n%')).split('\n').filter((line) => !line.startsWith('#'));
    t.false(commandLines.some((line) => /swap/i.test(line)), 'no swap partition, no swap option');
    t.regex(kickstart, /^url --url=https:\/\/vault\.centos\.org\/7\.9\.2009\/os\/x86_64\/$/m);
    t.regex(kickstart, new RegExp(`^sshkey --username=centos "${OPERATOR_KEY}"$`, 'm'));
    t.regex(kickstart, /^selinux --permissive$/m);
    t.regex(kickstart, /^firewall --disabled$/m);
  });

  test(`kickstart for ${profile}: every %pre and %post passes shellcheck -s bash`, async (t) => {
    const scripts = kickstartScripts(renderKickstart(await inputsFor(profile)));
    t.true(scripts.some((script) => script.section === '%post'));
    for (const script of scripts) {
      const lint = shellcheck(writeTemp('section.sh', script.body), 'bash');
      t.is(lint.code, 0, `${script.section}:\n${lint.output}`);
    }
  });

  test(`kickstart for ${profile}: %post lands exactly the files cloud-init writes, sudo for the operator, and enables the unit`, async (t) => {
    const inputs = await inputsFor(profile);
    const [post] = kickstartScripts(renderKickstart(inputs)).filter((script) => script.section === '%post');
    t.is(post!.body, renderKickstartPost(inputs), 'the kickstart carries the %post the renderer exports');
    const root = tempDir('labimg-pxe-root-');
    const run = runTargetScript(post!.body, root, ['systemctl']);
    t.is(run.status, 0, run.stderr);
    t.is(run.stderr, '', 'nothing is printed, secrets included');

    const expected = cloudInitFiles(inputs);
    t.true(expected.has('/etc/labimg/secrets.json'));
    for (const [file, { content, mode: fileMode }] of expected) {
      t.deepEqual(readFileSync(path.join(root, file)), content, file);
      t.is(mode(path.join(root, file)), fileMode, `${file} mode`);
    }
    t.deepEqual(readFileSync(path.join(root, 'opt/labimg/agent.js')), inputs.agentBundle, 'agent.js is the bundle');
    t.is(mode(path.join(root, 'etc/labimg')), 0o755, 'directories are not private');
    const sudoers = path.join(root, 'etc/sudoers.d/90-labimg-centos');
    t.regex(readFileSync(sudoers, 'utf8'), /^centos ALL=\(ALL\) NOPASSWD:ALL$/m);
    t.is(mode(sudoers), 0o440);
    t.deepEqual(run.calls, ['systemctl enable labimg-agent.service']);
  });
}

test('kickstart: without secrets no secrets.json is written', async (t) => {
  const inputs = await inputsFor('centos', { secrets: false });
  const root = tempDir('labimg-pxe-root-');
  const run = runTargetScript(renderKickstartPost(inputs), root, ['systemctl']);
  t.is(run.status, 0, run.stderr);
  t.false(existsSync(path.join(root, 'etc/labimg/secrets.json')));
  t.true(existsSync(path.join(root, 'etc/labimg/node.json')));
});

test('kickstart check catches an unknown command, RHEL 7 lacking autopart --noswap, an unknown section and an open one', async (t) => {
  const kickstart = renderKickstart(await inputsFor('centos'));
  const typo = kickstart.replace(/^skipx$/m, 'skipxx');
  for (const reference of KICKSTART_REFERENCES) t.true(kickstartFindings(typo, reference).some((finding) => finding.includes('no command "skipxx"')));

  const noswap = kickstart.replace(/^reqpart --add-boot\npart \/ .*$/m, 'autopart --noswap');
  t.deepEqual(kickstartFindings(noswap, RHEL9_KICKSTART), [], 'RHEL 9 has autopart --noswap');
  t.true(kickstartFindings(noswap, RHEL7_KICKSTART).some((finding) => finding.includes('"autopart" has no option --noswap')));

  t.true(kickstartFindings(`${kickstart}%postt\necho\n%end\n`, RHEL9_KICKSTART).some((finding) => finding.includes('no section "%postt"')));
  t.true(kickstartFindings(kickstart.replace(/%end\n$/, ''), RHEL7_KICKSTART).some((finding) => finding.includes('%post is never closed')));
  t.true(kickstartFindings(kickstart.replace(/^timezone .*$/m, 'timezone Etc/UTC --utc --zone=x'), RHEL7_KICKSTART).some((finding) => finding.includes('--zone')));
});

test('shellcheck catches a %post with a shell error', async (t) => {
  const kickstart = renderKickstart(await inputsFor('centos'));
  const broken = kickstart.replace(/^(systemctl enable .*)$/m, 'if [ -f "$root/etc/labimg/agent.json" ] then\n$1');
  const [post] = kickstartScripts(broken).filter((script) => script.section === '%post');
  const lint = shellcheck(writeTemp('post.sh', post!.body), 'bash');
  t.not(lint.code, 0);
  t.regex(lint.output, /SC1010|SC1073|then/);
});

test('kickstart refuses what it cannot write: a Debian profile, a key that is not one line, a bad user or host name', async (t) => {
  const centos = await inputsFor('centos');
  t.throws(() => renderKickstart({ ...centos, agentConfig: profileConfig('ubuntu') }), { message: /RHEL family only/ });
  t.throws(() => renderKickstart({ ...centos, sshAuthorizedKeys: ['ssh-ed25519 AAAA "x"\nrootpw --plaintext x'] }), { message: /OpenSSH public key/ });
  t.throws(() => renderKickstart({ ...centos, image: { ...centos.image, sshUsername: 'Root Admin' } }), { message: /user name/ });
  t.throws(() => renderKickstart({ ...centos, node: { ...centos.node, nodeName: 'worker 1' } }), { message: /host name/ });
  t.throws(() => renderKickstart({ ...centos, image: { ...centos.image, netInstall: { kernel: 'http://x/k', initrd: 'http://x/i' } } }), { message: /netInstall\.repo/ });
});

// ---------------------------------------------------------------------------------------------------------

for (const profile of UBUNTU_PROFILES) {
  test(`autoinstall for ${profile}: cloud-init's schema passes it, every key is known, the autoinstall section is subiquity's`, async (t) => {
    const userData = renderAutoinstallUserData(await inputsFor(profile));
    t.true(userData.startsWith('#cloud-config\n'));
    const schema = cloudInitSchema(writeTemp('user-data', userData));
    t.is(schema.code, 0, schema.output);
    const config = load(userData) as { autoinstall: Record<string, unknown> } & Record<string, unknown>;
    t.deepEqual(unknownCloudConfigKeys(config), []);
    t.deepEqual(autoinstallFindings(config.autoinstall), []);
    t.deepEqual(config.autoinstall.storage, { layout: { name: 'direct' }, swap: { size: 0 } });
    t.deepEqual(config.autoinstall.ssh, { 'install-server': true, 'allow-pw': false });
  });

  test(`autoinstall for ${profile}: the installed system's user-data passes cloud-init's schema: a passwordless operator with a key`, async (t) => {
    const config = load(renderAutoinstallUserData(await inputsFor(profile))) as { autoinstall: { 'user-data': Record<string, unknown> } };
    const target = config.autoinstall['user-data'];
    const schema = cloudInitSchema(writeTemp('target-user-data', `#cloud-config\n${dump(target)}`));
    t.is(schema.code, 0, schema.output);
    t.deepEqual(unknownCloudConfigKeys(target), []);
    t.like(target, { hostname: 'worker-1', users: [{ name: 'ubuntu', lock_passwd: true, sudo: 'ALL=(ALL) NOPASSWD:ALL', ssh_authorized_keys: [OPERATOR_KEY] }] });
  });

  test(`autoinstall for ${profile}: the late-command's script passes shellcheck, lands exactly the files cloud-init writes and enables the unit in the target`, async (t) => {
    const inputs = await inputsFor(profile);
    const config = load(renderAutoinstallUserData(inputs)) as {
      write_files: WriteFilesEntry[];
      autoinstall: { 'late-commands': string[] };
    };
    const [scriptFile] = config.write_files;
    t.is(scriptFile!.content, renderAutoinstallTargetScript(inputs), 'the script survives the YAML round trip');
    t.is(scriptFile!.permissions, '0700');
    t.deepEqual(config.autoinstall['late-commands'], [`bash ${scriptFile!.path}`]);

    const lint = shellcheck(writeTemp('late.sh', scriptFile!.content), 'bash');
    t.is(lint.code, 0, lint.output);

    // The target as curtin leaves it on an installer older than 23.10: a swap file despite swap size 0.
    const root = tempDir('labimg-pxe-target-');
    mkdirSync(path.join(root, 'etc'));
    writeFileSync(path.join(root, 'etc/fstab'), '/dev/disk/by-uuid/0b1d-7e57 / ext4 defaults 0 1\n/swap.img\tnone\tswap\tsw\t0\t0\n');
    writeFileSync(path.join(root, 'swap.img'), '');
    const run = runTargetScript(scriptFile!.content, root, ['curtin']);
    t.is(run.status, 0, run.stderr);
    t.is(run.stderr, '');

    for (const [file, { content, mode: fileMode }] of cloudInitFiles(inputs)) {
      t.deepEqual(readFileSync(path.join(root, file)), content, file);
      t.is(mode(path.join(root, file)), fileMode, `${file} mode`);
    }
    t.is(readFileSync(path.join(root, 'etc/fstab'), 'utf8'), '/dev/disk/by-uuid/0b1d-7e57 / ext4 defaults 0 1\n');
    t.false(existsSync(path.join(root, 'swap.img')));
    t.deepEqual(run.calls, [`curtin in-target --target=${root} -- systemctl enable labimg-agent.service`]);
  });
}

test('autoinstall checks catch a misspelt key, a swap file left on and a wrong version type', async (t) => {
  const config = load(renderAutoinstallUserData(await inputsFor('ubuntu'))) as { autoinstall: Record<string, unknown> };
  const { 'late-commands': late, ...rest } = config.autoinstall;
  t.true(autoinstallFindings({ ...rest, late_commands: late }).some((finding) => finding.includes('"late_commands"')));
  t.true(autoinstallFindings({ ...config.autoinstall, storage: { layout: { name: 'lvm' } } }).some((finding) => finding.includes('swap.size')));

  const wrongVersion = cloudInitSchema(writeTemp('user-data', '#cloud-config\nautoinstall:\n  version: "1"\n'));
  t.not(wrongVersion.code, 0);
  t.regex(wrongVersion.output, /autoinstall\.version/);
});

test('autoinstall refuses Ubuntu 18.04, whose installer has none', async (t) => {
  const inputs = await inputsFor('ubuntu');
  t.throws(() => renderAutoinstallUserData({ ...inputs, agentConfig: profileConfig('ubuntu1804') }), { message: /ubuntu 18\.04 installs with preseed, not autoinstall/ });
});

test("NoCloud meta-data: cloud-init's own loader reads it as empty meta-data", (t) => {
  // As NoCloud's read_seeded does: util.load_yaml(contents, default={}).
  const read = spawnSync('/usr/bin/python3', ['-c', 'import sys; from cloudinit import util; print(repr(util.load_yaml(sys.stdin.read(), default={})))'], {
    encoding: 'utf8',
    input: renderNoCloudMetaData(),
  });
  t.is(read.status, 0, read.stderr);
  t.is(read.stdout.trim(), '{}');
});

// ---------------------------------------------------------------------------------------------------------

for (const profile of [...RHEL_PROFILES, ...UBUNTU_PROFILES, ...PRESEED_PROFILES, ...FLATCAR_PROFILES]) {
  test(`iPXE script for ${profile}: #!ipxe, known commands, every goto has its label, initrd named main for UEFI`, async (t) => {
    const inputs = await inputsFor(profile);
    const [ipxe] = renderPxeNode(inputs);
    const script = ipxe!.content.toString('utf8');
    t.is(ipxe!.name, 'boot.ipxe');
    t.deepEqual(ipxeFindings(script), []);
    t.regex(script, /^initrd --name main \S+ \|\| goto retry$/m);
    const kernel = kernelLine(script);
    t.true(kernel.includes('initrd=main'));
    t.true(kernel.slice(2).join(' ').length < 2048, 'x86 Linux keeps 2047 bytes of command line');
    const nodeUrl = 'http://10.0.0.5:8080/pxe/nodes/52-54-00-12-34-56/';
    if (inputs.agentConfig.os.family === 'rhel') {
      t.is(kernel[1], DOWNLOADED_BOOT.kernel, 'the copy under assets/, over plain HTTP, not the tree itself');
      t.regex(script, new RegExp(`^initrd --name main ${DOWNLOADED_BOOT.initrd.replace(/[.]/g, '\\.')} `, 'm'));
      t.true(kernel.includes(`inst.ks=${nodeUrl}kickstart.cfg`));
      t.true(kernel.includes(`inst.repo=${IMAGES.rhel!.netInstall.repo}`));
    } else if (PRESEED_PROFILES.includes(profile)) {
      t.is(kernel[1], `${PXE_BASE}/assets/${inputs.image.netInstall.kernel!.replace(/^https?:\/\//, '')}`, 'the copy under assets/');
      // As the Debian 12 guide's B.2.3 has it, and the node's name, which netcfg needs before it reads the preseed.
      t.deepEqual(kernel.slice(2), ['initrd=main', 'auto=true', 'priority=critical', `url=${nodeUrl}preseed.cfg`, 'interface=auto', 'hostname=worker-1']);
    } else if (FLATCAR_PROFILES.includes(profile)) {
      t.is(kernel[1], `${PXE_BASE}/assets/stable.release.flatcar-linux.net/amd64-usr/4593.2.5/flatcar_production_pxe.vmlinuz`);
      t.deepEqual(kernel.slice(2), ['initrd=main', 'flatcar.first_boot=1', `ignition.config.url=${nodeUrl}ignition.json`]);
    } else {
      t.is(kernel[1], EXTRACTED_BOOT.kernel);
      for (const arg of ['autoinstall', 'ip=dhcp', `url=${IMAGES.debian!.netInstall.iso}`, `ds=nocloud-net;s=${nodeUrl}`, 'cloud-config-url=/dev/null']) {
        t.true(kernel.includes(arg), arg);
      }
    }
  });
}

test('the chain and local-boot scripts pass the same iPXE checks', (t) => {
  const chain = renderIpxeChainScript(`${PXE_BASE}/`);
  t.deepEqual(ipxeFindings(chain), []);
  t.regex(chain, /^chain http:\/\/10\.0\.0\.5:8080\/pxe\/nodes\/\$\{netX\/mac:hexhyp\}\/boot\.ipxe \|\| goto unknown$/m);
  t.deepEqual(ipxeFindings(renderIpxeLocalBoot()), []);
});

test('iPXE checks catch an unknown command and a goto without its label', async (t) => {
  const [ipxe] = renderPxeNode(await inputsFor('centos'));
  const script = ipxe!.content.toString('utf8');
  t.true(ipxeFindings(script.replace(/^kernel /m, 'kernal ')).some((finding) => finding.includes('no command "kernal"')));
  t.true(ipxeFindings(script.replace(':retry', ':again')).some((finding) => finding.includes('goto retry has no label')));
  t.true(ipxeFindings(script.replace('#!ipxe\n', '')).some((finding) => finding.includes('#!ipxe')));
});

test("the installer's kernel and initrd under assets/: a download at its URL's host and path, or a file out of the ISO", (t) => {
  t.deepEqual(pxeBootAssets('centos', IMAGES.rhel!.netInstall), {
    kernel: { path: 'vault.centos.org/7.9.2009/os/x86_64/images/pxeboot/vmlinuz', from: IMAGES.rhel!.netInstall.kernel },
    initrd: { path: 'vault.centos.org/7.9.2009/os/x86_64/images/pxeboot/initrd.img', from: IMAGES.rhel!.netInstall.initrd },
  });
  t.deepEqual(pxeBootAssets('ubuntu', IMAGES.debian!.netInstall).kernel, {
    path: 'ubuntu-20.04.6-live-server-amd64/casper/vmlinuz',
    from: 'https://releases.ubuntu.com/20.04/ubuntu-20.04.6-live-server-amd64.iso',
    inIso: 'casper/vmlinuz',
  });
  t.is(downloadAssetPath('https://mirror.lab:8443/rocky/9/images/pxeboot/vmlinuz'), 'mirror.lab/rocky/9/images/pxeboot/vmlinuz', 'the port is not part of the folder');
  t.throws(() => downloadAssetPath('https://mirror.lab/pxeboot/'), { message: /names a folder, not a file/ });
  t.throws(() => downloadAssetPath('https://mirror.lab/vmlinuz?arch=x86_64'), { message: /query or fragment/ });
  t.throws(() => downloadAssetPath('https://mirror.lab/centos%207/vmlinuz'), { message: /"centos%207" is not a plain file name/ });
  t.throws(() => pxeBootAssets('x', { kernel: 'https://mirror.lab/vmlinuz' }), { message: /a kernel but no initrd/ });
});

test('iPXE refuses a URL that would not stay one word', async (t) => {
  const inputs = await inputsFor('centos');
  t.throws(() => renderPxeNode({ ...inputs, nodeUrl: 'http://10.0.0.5/pxe/a b/' }), { message: /one word/ });
  t.throws(() => renderPxeNode({ ...inputs, nodeUrl: 'http://10.0.0.5/pxe/nodes/x' }), { message: /end in "\/"/ });
});

// ---------------------------------------------------------------------------------------------------------

test('a node folder: same inputs give the same bytes, secrets only in the 0600 file that needs them', async (t) => {
  const token = fixture<NodeSecrets>('secrets-worker').bootstrapToken!;
  for (const profile of [...RHEL_PROFILES, ...UBUNTU_PROFILES, ...PRESEED_PROFILES, ...FLATCAR_PROFILES]) {
    const first = renderPxeNode(await inputsFor(profile));
    t.deepEqual(renderPxeNode(await inputsFor(profile)), first, `${profile} is deterministic`);
    const secretFile = first.find((file) => ['kickstart.cfg', 'user-data', 'labimg-install.sh', 'ignition.json'].includes(file.name))!;
    const carried =
      secretFile.name === 'ignition.json' ? ignitionFileText(flatcarNodeIgnition(secretFile.content.toString('utf8')), '/etc/labimg/secrets.json') : secretFile.content.toString('utf8');
    t.true(carried.includes(token), `${profile}: ${secretFile.name} carries the token`);
    t.is(secretFile.mode, 0o600);
    for (const file of first.filter((other) => other !== secretFile)) {
      t.false(file.content.includes(token), `${profile}: ${file.name} carries no secret`);
      t.is(file.mode, 0o644);
    }
    const withoutSecrets = renderPxeNode(await inputsFor(profile, { secrets: false }));
    t.true(
      withoutSecrets.every((file) => file.mode === 0o644 && !file.content.includes('"$root/etc/labimg/secrets.json"') && !file.content.includes('/etc/labimg/secrets.json')),
      `${profile} without secrets`,
    );
  }
});

test('node folders are named by MAC as iPXE spells ${netX/mac:hexhyp}', (t) => {
  t.is(macFolderName('52:54:00:AB:cd:01'), '52-54-00-ab-cd-01');
  t.is(macFolderName('525400abcd01'), '52-54-00-ab-cd-01');
  t.is(pxeNodeUrl('http://10.0.0.5:8080/pxe/', '52-54-00-AB-CD-01'), 'http://10.0.0.5:8080/pxe/nodes/52-54-00-ab-cd-01/');
  t.is(pxeNodeUrl('http://pxe.lab/centos/pxe', 'worker'), 'http://pxe.lab/centos/pxe/nodes/worker/', 'a build names its folders by role');
  t.is(endpointPxeBase('http://10.0.0.5:8080/'), 'http://10.0.0.5:8080/pxe');
  t.throws(() => macFolderName('52:54:00:ab:cd'), { message: /MAC/ });
  t.throws(() => pxeNodeUrl('10.0.0.5:8080', MAC), { message: /http/ });
});

// ---------------------------------------------------------------------------------------------------------
// debian-installer: the preseed through debconf's own parser, the late_command's script run for real.

/** The preseed's answers: "owner question" → "type value". */
function preseedAnswers(preseed: string): Map<string, string> {
  const answers = new Map<string, string>();
  for (const line of preseed.split('\n')) {
    const match = /^(\S+) (\S+) (\S+)(?: (.*))?$/.exec(line);
    if (match && !line.startsWith('#')) answers.set(`${match[1]} ${match[2]}`, `${match[3]}${match[4] === undefined ? '' : ` ${match[4]}`}`);
  }
  return answers;
}

for (const profile of PRESEED_PROFILES) {
  test(`preseed for ${profile}: debconf-set-selections --checkonly takes every line; mirror, account, disks and the late_command`, async (t) => {
    const inputs = await inputsFor(profile);
    const preseed = renderPreseed(inputs);
    const check = debconfCheck(writeTemp('preseed.cfg', preseed));
    t.true(check.passes, check.output);
    const answers = preseedAnswers(preseed);
    const ubuntu = profile === 'ubuntu1804';
    const [protocol, host, dir] = ubuntu ? ['http', 'archive.ubuntu.com', '/ubuntu'] : ['https', 'deb.debian.org', '/debian'];
    t.is(answers.get('d-i mirror/country'), 'string manual');
    t.is(answers.get('d-i mirror/protocol'), `string ${protocol}`);
    t.is(answers.get(`d-i mirror/${protocol}/hostname`), `string ${host}`);
    t.is(answers.get(`d-i mirror/${protocol}/directory`), `string ${dir}`);
    t.is(answers.get('d-i passwd/root-login'), 'boolean false');
    t.is(answers.get('d-i passwd/username'), `string ${ubuntu ? 'ubuntu' : 'debian'}`);
    t.is(answers.get('d-i passwd/user-password-crypted'), 'password !', 'the account is locked: SSH keys only');
    t.is(answers.get('d-i netcfg/get_hostname'), 'string worker-1');
    t.is(answers.get('d-i partman-auto/method'), 'string regular');
    t.notRegex(answers.get('d-i partman-auto/expert_recipe')!, /swap/, 'the recipe makes no swap');
    t.regex(answers.get('d-i partman-auto/expert_recipe')!, /filesystem\{ ext4 \} mountpoint\{ \/ \} \.$/);
    t.is(answers.get('d-i partman-basicfilesystems/no_swap'), 'boolean false');
    t.is(answers.get('d-i finish-install/reboot_in_progress'), 'note');
    t.is(answers.get('d-i preseed/late_command'), 'string umask 077; ok=; preseed_fetch labimg-install.sh /target/root/labimg-install.sh && in-target bash /root/labimg-install.sh && ok=1; rm -f /target/root/labimg-install.sh; [ -n "$ok" ]');
    t.is(answers.has('tasksel tasksel/first'), !ubuntu, "Debian's ssh-server task; Ubuntu's installer gets openssh-server itself");
    t.false(preseed.includes(fixture<NodeSecrets>('secrets-worker').bootstrapToken!), 'no secret in the preseed');
    t.false(/http:\/\/10\.0\.0\.5/.test(preseed), 'it names no URL of the PXE base: the script comes from beside it');
  });

  test(`preseed for ${profile}: the late_command's script passes shellcheck, lands the files cloud-init writes, the operator's sudo and keys, no swap, and enables the unit`, async (t) => {
    const inputs = await inputsFor(profile);
    const script = renderPreseedTargetScript(inputs);
    const lint = shellcheck(writeTemp('labimg-install.sh', script), 'bash');
    t.is(lint.code, 0, lint.output);

    // The new system as d-i leaves it: the operator's home, and a swap partition partman found on another disk.
    const user = inputs.image.sshUsername;
    const root = tempDir('labimg-pxe-di-target-');
    mkdirSync(path.join(root, 'etc'));
    mkdirSync(path.join(root, 'home', user), { recursive: true });
    writeFileSync(path.join(root, 'etc/fstab'), '# <file system> <mount point> <type> <options> <dump> <pass>\nUUID=0b1d / ext4 errors=remount-ro 0 1\nUUID=5a9 none swap sw 0 0\n');
    const run = runTargetScript(script, root, ['systemctl', 'chown']);
    t.is(run.status, 0, run.stderr);
    t.is(run.stderr, '', 'nothing is printed, secrets included');

    for (const [file, { content, mode: fileMode }] of cloudInitFiles(inputs)) {
      t.deepEqual(readFileSync(path.join(root, file)), content, file);
      t.is(mode(path.join(root, file)), fileMode, `${file} mode`);
    }
    const sudoers = path.join(root, `etc/sudoers.d/90-labimg-${user}`);
    t.regex(readFileSync(sudoers, 'utf8'), new RegExp(`^${user} ALL=\\(ALL\\) NOPASSWD:ALL$`, 'm'));
    t.is(mode(sudoers), 0o440);
    const keys = path.join(root, `home/${user}/.ssh/authorized_keys`);
    t.is(readFileSync(keys, 'utf8'), `${OPERATOR_KEY}\n`);
    t.is(mode(keys), 0o600);
    t.is(mode(path.dirname(keys)), 0o700);
    t.is(readFileSync(path.join(root, 'etc/fstab'), 'utf8'), '# <file system> <mount point> <type> <options> <dump> <pass>\nUUID=0b1d / ext4 errors=remount-ro 0 1\n');
    t.deepEqual(run.calls, [`chown -R ${user}: ${root}/home/${user}/.ssh`, 'systemctl enable labimg-agent.service']);
  });
}

/**
 * The late_command as d-i's preseed_command runs it (sh -c), with /target moved to a temporary folder and
 * stand-ins for d-i's preseed_fetch (it copies from `served`, or fails for a name not there) and in-target
 * (it runs the command with the target root set, as chroot would).
 */
function runLateCommand(command: string, served: Record<string, string>, options: { inTargetFails?: boolean } = {}): { status: number | null; target: string; fetchedMode?: number } {
  const target = tempDir('labimg-pxe-di-');
  mkdirSync(path.join(target, 'root'));
  const serveDir = tempDir('labimg-pxe-di-served-');
  for (const [name, content] of Object.entries(served)) writeFileSync(path.join(serveDir, name), content);
  const bin = tempDir('labimg-pxe-di-bin-');
  const modeLog = path.join(bin, 'mode');
  writeFileSync(path.join(bin, 'preseed_fetch'), `#!/bin/sh\n[ -f '${serveDir}'/"$1" ] || exit 1\ncat '${serveDir}'/"$1" > "$2"\n`);
  writeFileSync(
    path.join(bin, 'in-target'),
    `#!/bin/sh\nshift\nstat -c %a '${target}'"$1" > '${modeLog}'\n${options.inTargetFails ? 'exit 3' : `LABIMG_TARGET_ROOT='${target}' exec bash '${target}'"$1"`}\n`,
  );
  for (const name of ['preseed_fetch', 'in-target']) chmodSync(path.join(bin, name), 0o755);
  const result = spawnSync('/bin/sh', ['-c', command.replaceAll('/target/', `${target}/`)], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
  return { status: result.status, target, ...(existsSync(modeLog) ? { fetchedMode: parseInt(readFileSync(modeLog, 'utf8'), 8) } : {}) };
}

test("preseed's late_command: fetches the script private, runs it in the target, removes it, and fails when either step fails", async (t) => {
  const inputs = await inputsFor('debian12');
  const command = preseedAnswers(renderPreseed(inputs)).get('d-i preseed/late_command')!.replace(/^string /, '');
  // What the script needs of a target root and no stand-in gives: a systemctl that only says yes.
  const script = renderPreseedTargetScript({ ...inputs, sshAuthorizedKeys: [] }).replace(/^systemctl enable .*$/m, 'true');

  const ok = runLateCommand(command, { 'labimg-install.sh': script });
  t.is(ok.status, 0);
  t.is(ok.fetchedMode, 0o600, 'the script, secrets and all, is private while it waits');
  t.true(existsSync(path.join(ok.target, 'etc/labimg/secrets.json')), 'the script ran in the target');
  t.false(existsSync(path.join(ok.target, 'root/labimg-install.sh')), 'and is gone');

  const missing = runLateCommand(command, {});
  t.not(missing.status, 0, 'no script: the install stops');
  const failing = runLateCommand(command, { 'labimg-install.sh': script }, { inTargetFails: true });
  t.not(failing.status, 0, 'the script failed: the install stops');
  t.false(existsSync(path.join(failing.target, 'root/labimg-install.sh')), 'removed even so');
});

test('debconf-set-selections catches a line it cannot parse and a misspelt type', async (t) => {
  const preseed = renderPreseed(await inputsFor('debian12'));
  t.false(debconfCheck(writeTemp('preseed.cfg', `${preseed}d-i mirror/suite\n`)).passes);
  const typo = debconfCheck(writeTemp('preseed.cfg', preseed.replace('d-i mirror/country string manual', 'd-i mirror/country strng manual')));
  t.false(typo.passes);
  t.regex(typo.output, /Unknown type strng/);
});

test("preseed's mirror is the profile's repo: https or http, host with its port, the folder; what d-i cannot take is refused", async (t) => {
  const debian = await inputsFor('debian12');
  const ubuntu = await inputsFor('ubuntu1804');
  const withRepo = (inputs: PxeNodeInputs, repo: string): PxeNodeInputs => ({ ...inputs, image: { ...inputs.image, netInstall: { ...inputs.image.netInstall, repo } } });
  t.deepEqual(preseedMirror(withRepo(debian, 'https://mirrors.aliyun.com/debian/')), { protocol: 'https', hostname: 'mirrors.aliyun.com', directory: '/debian' });
  t.deepEqual(preseedMirror(withRepo(debian, 'http://mirror.lab:8080/pub/debian')), { protocol: 'http', hostname: 'mirror.lab:8080', directory: '/pub/debian' });
  t.throws(() => preseedMirror(withRepo(debian, 'ftp://ftp.debian.org/debian')), { message: /http or https, not ftp/ });
  t.throws(() => preseedMirror(withRepo(debian, 'https://mirror.lab/')), { message: /name the archive's folder/ });
  t.throws(() => preseedMirror(withRepo(debian, 'https://mirror.lab/debian?x=1')), { message: /no query/ });
  t.throws(() => preseedMirror(withRepo(ubuntu, 'https://mirrors.aliyun.com/ubuntu')), { message: /http archive only/ });
  t.throws(() => renderPreseed({ ...debian, image: { ...debian.image, netInstall: { kernel: 'http://x/k', initrd: 'http://x/i' } } }), { message: /netInstall\.repo is required/ });
  t.throws(() => renderPreseed({ ...debian, agentConfig: profileConfig('centos') }), { message: /installs with kickstart, not debian-installer's preseed/ });
});

// ---------------------------------------------------------------------------------------------------------
// Flatcar: the Ignition of its PXE image, which carries the node's and installs to disk.

interface FlatcarPxeIgnition {
  storage: { files: Array<{ path: string; mode: number; contents: { compression?: string; source: string } }> };
  systemd: { units: Array<{ name: string; enabled: boolean; contents: string }> };
}

/** The text of the file an Ignition config writes at `file`, from its data URL. */
function ignitionFileText(text: string, file: string): string {
  const config = JSON.parse(text) as FlatcarPxeIgnition;
  const entry = config.storage.files.find((candidate) => candidate.path === file)!;
  return maybeGunzip(Buffer.from(entry.contents.source.replace(/^data:;base64,/, ''), 'base64')).toString('utf8');
}

/** The node's Ignition that the PXE image's Ignition carries, as text. */
function flatcarNodeIgnition(text: string): string {
  return ignitionFileText(text, FLATCAR_NODE_IGNITION_PATH);
}

test("Flatcar's PXE Ignition: ignition-validate passes it and the node's Ignition it carries, which is the build's; a unit installs it to disk", async (t) => {
  const inputs = await inputsFor('flatcar');
  const text = renderFlatcarPxeIgnition(inputs);
  const outer = ignitionValidate(writeTemp('ignition.json', text));
  t.true(outer.passes, outer.output);
  const node = flatcarNodeIgnition(text);
  t.is(node, renderIgnitionConfig(inputs), "the node's Ignition, as `labimg build` writes ignition-ROLE.json");
  const inner = ignitionValidate(writeTemp('node.ign', node));
  t.true(inner.passes, inner.output);

  const config = JSON.parse(text) as FlatcarPxeIgnition;
  t.like(config.storage.files[0], { path: FLATCAR_NODE_IGNITION_PATH, mode: 0o600, contents: { compression: 'gzip' } });
  const [unit] = config.systemd.units;
  t.like(unit, { name: FLATCAR_INSTALL_UNIT, enabled: true });
  t.regex(unit!.contents, new RegExp(`^ExecStart=/usr/bin/flatcar-install -s -e 7 -i ${FLATCAR_NODE_IGNITION_PATH}$`, 'm'));
  t.regex(unit!.contents, /^ExecStartPost=\/usr\/bin\/systemctl reboot$/m);
  t.regex(unit!.contents, /^After=network-online\.target$/m);
});

test("a profile's serial console reaches the installer's kernel line, after \"---\" for debian-installer, and a bad one is refused at its line", (t) => {
  const profiles = tempDir('labimg-pxe-console-');
  const write = (name: string, base: string, console: string) =>
    writeFileSync(path.join(profiles, `${name}.yaml`), `description: ${base} on a serial console\nextends: ${base}\nimage:\n  netInstall:\n    console: "${console}"\n`);
  for (const name of readdirSync(path.join(repoRoot, 'profiles')).filter((file) => file.endsWith('.yaml'))) copyFileSync(path.join(repoRoot, 'profiles', name), path.join(profiles, name));
  write('debian12-serial', 'debian12', 'ttyS0,115200n8');
  write('centos-serial', 'centos', 'ttyS1,9600');
  write('debian12-bad', 'debian12', 'ttyS0 quiet');
  const kernelLine = (profile: string) => {
    const out = tempDir('labimg-pxe-console-out-');
    const build = labimg(['build', profile, '--profiles', profiles, '--out', out, '--pxe-url', 'http://10.0.0.5/pxe']);
    if (build.code !== 0) throw new Error(build.stderr);
    return readFileSync(path.join(out, profile, 'pxe', 'nodes', 'worker', 'boot.ipxe'), 'utf8').split('\n').find((line) => line.startsWith('kernel '))!;
  };
  t.regex(kernelLine('debian12-serial'), / interface=auto --- console=ttyS0,115200n8 \|\| goto retry$/);
  t.regex(kernelLine('centos-serial'), / ip=dhcp console=ttyS1,9600 \|\| goto retry$/);
  const bad = labimg(['build', 'debian12-bad', '--profiles', profiles, '--out', tempDir('labimg-pxe-console-out-')]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /debian12-bad\.yaml:5:14: image\.netInstall\.console: .*a serial device and its settings as console= takes them, such as ttyS0 or ttyS0,115200n8/);
});
