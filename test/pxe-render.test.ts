import test from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { dump, load } from 'js-yaml';
import type { NodeConfig, NodeSecrets } from '../contract/agent-config';
import { KICKSTART_REFERENCES, RHEL7_KICKSTART, RHEL9_KICKSTART } from './helpers/kickstart-reference';
import { nodeRuntimeOf } from '../builder/compile';
import { loadProfile } from '../builder/profiles';
import { renderCloudInitUserData } from '../builder/render/cloud-init';
import {
  downloadAssetPath,
  endpointPxeBase,
  macFolderName,
  pxeBootAssets,
  pxeNodeUrl,
  renderAutoinstallTargetScript,
  renderAutoinstallUserData,
  renderIpxeChainScript,
  renderIpxeLocalBoot,
  renderKickstart,
  renderKickstartPost,
  renderNoCloudMetaData,
  renderPxeNode,
  type PxeNodeInputs,
} from '../builder/render/pxe';
import { ensureAgentBuilt } from './helpers/agent-build';
import { fixture, profileConfig } from './helpers/agent-machine';
import { repoRoot, tempDir } from './helpers/cli';
import { ipxeCommands, ipxeFindings, kickstartFindings, kickstartScripts } from './helpers/pxe-checks';
import { cloudInitSchema, knownCloudConfigKeys, shellcheck } from './helpers/validators';

const RHEL_PROFILES = ['centos', 'centos-gpu'];
const UBUNTU_PROFILES = ['ubuntu', 'ubuntu-gpu'];
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
};
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
    image: IMAGES[agentConfig.os.family]!,
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
  t.throws(() => renderAutoinstallUserData({ ...inputs, agentConfig: profileConfig('ubuntu1804') }), { message: /20\.04 or later/ });
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

for (const profile of [...RHEL_PROFILES, ...UBUNTU_PROFILES]) {
  test(`iPXE script for ${profile}: #!ipxe, known commands, every goto has its label, initrd named main for UEFI`, async (t) => {
    const inputs = await inputsFor(profile);
    const [ipxe] = renderPxeNode(inputs);
    const script = ipxe!.content.toString('utf8');
    t.is(ipxe!.name, 'boot.ipxe');
    t.deepEqual(ipxeFindings(script), []);
    t.regex(script, /^initrd --name main \S+ \|\| goto retry$/m);
    const kernel = kernelLine(script);
    t.true(kernel.includes('initrd=main'));
    const nodeUrl = 'http://10.0.0.5:8080/pxe/nodes/52-54-00-12-34-56/';
    if (inputs.agentConfig.os.family === 'rhel') {
      t.is(kernel[1], DOWNLOADED_BOOT.kernel, 'the copy under assets/, over plain HTTP, not the tree itself');
      t.regex(script, new RegExp(`^initrd --name main ${DOWNLOADED_BOOT.initrd.replace(/[.]/g, '\\.')} `, 'm'));
      t.true(kernel.includes(`inst.ks=${nodeUrl}kickstart.cfg`));
      t.true(kernel.includes(`inst.repo=${IMAGES.rhel!.netInstall.repo}`));
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
  for (const profile of [...RHEL_PROFILES, ...UBUNTU_PROFILES]) {
    const first = renderPxeNode(await inputsFor(profile));
    t.deepEqual(renderPxeNode(await inputsFor(profile)), first, `${profile} is deterministic`);
    const secretFile = first.find((file) => file.name === 'kickstart.cfg' || file.name === 'user-data')!;
    t.true(secretFile.content.includes(token), `${profile}: ${secretFile.name} carries the token`);
    t.is(secretFile.mode, 0o600);
    for (const file of first.filter((other) => other !== secretFile)) {
      t.false(file.content.includes(token), `${profile}: ${file.name} carries no secret`);
      t.is(file.mode, 0o644);
    }
    const withoutSecrets = renderPxeNode(await inputsFor(profile, { secrets: false }));
    t.true(withoutSecrets.every((file) => file.mode === 0o644 && !file.content.includes('"$root/etc/labimg/secrets.json"')), `${profile} without secrets`);
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
