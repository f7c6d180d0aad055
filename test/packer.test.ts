/**
 * The Packer delivery path: the template in packer/ checked by Debian's Packer 1.6.6 with the vars file
 * `labimg build` writes, the NoCloud seed, and the two provisioning scripts run for real against temp trees
 * laid out like an image (in a mount namespace whose /etc, /var, /home, /root and /opt are empty
 * tmpfs, because these tests run as root and the cleanup deletes a machine's identity).
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { renderBuild } from '../builder/build';
import { compileAgentConfig, nodeRuntimeOf } from '../builder/compile';
import { writeDirectoryAtomically } from '../cli/output';
import { loadProfile } from '../builder/profiles';
import type { ImageSources } from '../builder/profiles/types';
import { packerInvocations, packerVarsFileName, parsePackerVersion, renderPackerVars, PACKER_SOURCES, type BakeLists, type PackerSourceKind } from '../builder/render/packer';
import { newBuildKeyPair, renderPackerSeed } from '../builder/render/packer-seed';
import type { AgentConfig, NodeConfig } from '../contract/agent-config';
import { DELIVERY_PATHS, INSTANCE_PATHS, PATHS } from '../contract/node-paths';
import type { AgentState } from '../agent/state';
import { ensureAgentBuilt, REPO_ROOT } from './helpers/agent-build';
import { FAKE_BIN, FakeMachine, fixture, pinnedToFixtures, profileConfig } from './helpers/agent-machine';
import { tempDir } from './helpers/cli';
import { runMirroredSeedLab } from './helpers/seed-lab';
import { cloudInitSchema, knownCloudConfigKeys, shellcheck } from './helpers/validators';

const TEMPLATE_DIR = path.join(REPO_ROOT, 'packer');
const SCRIPTS_DIR = path.join(TEMPLATE_DIR, 'scripts');
/** Where build.pkr.hcl uploads the build files in the VM. */
const STAGING = '/tmp/labimg-build';

// Ubuntu 20.04 as Canonical publishes it: the cloud image, its checksum list, the AMI name and owner.
const FOCAL_IMAGE = 'https://cloud-images.ubuntu.com/releases/focal/release/ubuntu-20.04-server-cloudimg-amd64.img';
const FOCAL_SUMS = 'file:https://cloud-images.ubuntu.com/releases/focal/release/SHA256SUMS';
const FOCAL_SHA256 = 'sha256:c95ee18c8de6bb5c07a9a7e3d1a1e7f1d2c6b7a8e9f00112233445566778899a';
const FOCAL_AMI = { amiName: 'ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-*', owners: ['099720109477'] };

interface ToolRun {
  code: number;
  output: string;
}

/** Runs a command to the end without blocking the event loop (the checksum server below lives in this process). */
function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

// No update check against checkpoint.hashicorp.com, and no config written under $HOME.
const PACKER_ENV = { ...process.env, CHECKPOINT_DISABLE: '1', PACKER_CONFIG_DIR: tempDir('labimg-packer-config-') };

function packer(args: string[], cwd = TEMPLATE_DIR): Promise<ToolRun> {
  return run('packer', args, { cwd, env: PACKER_ENV });
}

/** `packer validate` only warns about a variable the template does not declare; a warning counts as a failure here. */
function passed(result: ToolRun): boolean {
  return result.code === 0 && !/Warning/.test(result.output);
}

/** A bake's seed as `labimg build --packer` makes it, once for the tests that validate the qemu source. */
const SEED_DIR = (() => {
  const dir = tempDir('labimg-packer-seed-');
  for (const file of renderPackerSeed(newBuildKeyPair())) writeFileSync(path.join(dir, file.name), file.content, { mode: file.mode });
  return dir;
})();
const SEED_VAR = `-var=seed_dir=${SEED_DIR}`;

/** -only= for the sources the image names, and the seed the qemu one needs. */
function sourceFlags(image: ImageSources): string[] {
  return [`-only=${sourcesOf(image).map((kind) => PACKER_SOURCES[kind]).join(',')}`, SEED_VAR];
}

function sourcesOf(image: ImageSources): PackerSourceKind[] {
  return (['cloud', 'amazon'] as const).filter((kind) => image[kind]);
}

/** out/PROFILE/ as `labimg build` lays it out, vars file included. */
async function writeBuild(profileName: string, image: ImageSources): Promise<{ buildDir: string; varsFile: string }> {
  const profile = loadProfile(profileName, { dir: path.join(REPO_ROOT, 'profiles') });
  const buildDir = path.join(tempDir(), 'out', profileName);
  const files = renderBuild({
    profileName,
    agentConfig: compileAgentConfig(profile),
    nodeRuntime: nodeRuntimeOf(profile),
    agentBundle: readFileSync(await ensureAgentBuilt()),
    labimgVersion: '0.0.0-test',
    packer: { profileName, image },
  });
  await writeDirectoryAtomically(buildDir, files);
  return { buildDir, varsFile: path.join(buildDir, packerVarsFileName(profileName)) };
}

/** A copy of the template folder, to break. */
function templateCopy(): string {
  const dir = path.join(tempDir(), 'packer');
  cpSync(TEMPLATE_DIR, dir, { recursive: true });
  return dir;
}

function edit(file: string, from: string | RegExp, to: string): void {
  const text = readFileSync(file, 'utf8');
  const changed = text.replace(from, to);
  if (changed === text) throw new Error(`${file}: nothing matched ${String(from)}`);
  writeFileSync(file, changed);
}

/** Serves a checksum list over HTTP on loopback, as cloud-images.ubuntu.com serves SHA256SUMS. */
async function serveChecksums(text: string): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url !== '/SHA256SUMS') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(req.method === 'HEAD' ? undefined : text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

// ---------------------------------------------------------------------------------------------------------
// The vars file

/** What the bake installs and removes, as a build passes it on (the real lists come from the build below). */
const BAKE: BakeLists = { imageFiles: ['agent.js:0644:/opt/labimg/agent.js', 'install-node.sh:0755:/opt/labimg/install-node.sh'], instancePaths: ['/etc/labimg/node.json'] };

test('the vars file: PROFILE.pkrvars.hcl, paths relative to the build folder it sits in, the same bytes every time', (t) => {
  const inputs = {
    profileName: 'ubuntu',
    image: { sshUsername: 'ubuntu', cloud: { url: FOCAL_IMAGE, checksum: FOCAL_SUMS }, amazon: FOCAL_AMI },
  };
  const [file, ...rest] = renderPackerVars(inputs, BAKE);
  t.deepEqual(rest, []);
  t.is(file?.name, 'ubuntu.pkrvars.hcl');
  t.is(file?.mode, 0o644);
  t.is(
    file?.content.toString(),
    [
      '# Packer variables for labimg profile ubuntu, written by `labimg build`. Sources: qemu.cloud, amazon-ebs.ami.',
      '# Run Packer in this folder: paths are relative to it. Nothing here is secret, and nothing secret goes into the image.',
      '',
      'profile              = "ubuntu"',
      'build_dir            = "."',
      'image_name           = "labimg-ubuntu"',
      'ssh_username         = "ubuntu"',
      'image_files          = ["agent.js:0644:/opt/labimg/agent.js", "install-node.sh:0755:/opt/labimg/install-node.sh"]',
      'instance_paths       = ["/etc/labimg/node.json"]',
      `cloud_image_url      = "${FOCAL_IMAGE}"`,
      `cloud_image_checksum = "${FOCAL_SUMS}"`,
      'qemu_output_dir      = "../ubuntu.qemu"',
      `ami_name_filter      = "${FOCAL_AMI.amiName}"`,
      'ami_owners           = ["099720109477"]',
      '',
    ].join('\n'),
  );
  t.deepEqual(renderPackerVars(inputs, BAKE)[0]?.content, file?.content);
});

test('the vars file is what `packer fmt` would write, and a misaligned one is caught', async (t) => {
  const dir = tempDir();
  const cases: Array<[string, ImageSources]> = [
    ['ubuntu', { sshUsername: 'ubuntu', cloud: { url: FOCAL_IMAGE, checksum: FOCAL_SHA256 }, amazon: FOCAL_AMI }],
    ['centos', { sshUsername: 'centos', amazon: { amiName: 'CentOS Linux 7 x86_64 HVM EBS *', owners: ['125523088429', 'aws-marketplace'] } }],
  ];
  for (const [profileName, image] of cases) {
    const [file] = renderPackerVars({ profileName, image }, BAKE);
    const target = path.join(dir, file!.name);
    writeFileSync(target, file!.content);
    const fmt = await packer(['fmt', '-check', target], dir);
    t.is(fmt.code, 0, `${profileName}: ${fmt.output}`);
  }
  const misaligned = path.join(dir, 'misaligned.pkrvars.hcl');
  writeFileSync(misaligned, 'profile = "ubuntu"\nssh_username = "ubuntu"\n');
  t.is((await packer(['fmt', '-check', misaligned], dir)).code, 3);
});

test('values stay literal: quotes, backslashes and HCL template sequences reach Packer unchanged', async (t) => {
  const url = 'https://mirror.example/img"s\\${arch}/%{if}.img';
  const checksum = `sha256:${'ab'.repeat(32)}`;
  const { varsFile } = await writeBuild('ubuntu', { sshUsername: "o'brien", cloud: { url, checksum } });
  const expected: Array<[string, string]> = [['cloud_image_url', url], ['ssh_username', "o'brien"], ['cloud_image_checksum', checksum]];
  for (const [variable, value] of expected) {
    const console = await run('sh', ['-c', `echo 'var.${variable}' | packer console -var-file="$1" .`, 'sh', varsFile], { cwd: TEMPLATE_DIR, env: PACKER_ENV });
    t.is(console.code, 0, console.output);
    t.is(console.output.trim(), value);
  }
});

test('a profile whose image names neither a cloud image nor an AMI gets no vars file', (t) => {
  const image = { sshUsername: 'ubuntu', netInstall: { kernel: 'http://x/linux', initrd: 'http://x/initrd.gz', iso: 'http://x/live.iso' } };
  t.deepEqual(renderPackerVars({ profileName: 'ubuntu', image }, BAKE), []);
});

// ---------------------------------------------------------------------------------------------------------
// packer validate (Debian's 1.6.6), for every kind of image source

const IMAGE_CASES: Array<[string, string, ImageSources]> = [
  ['a cloud image with a sha256 checksum', 'ubuntu', { sshUsername: 'ubuntu', cloud: { url: FOCAL_IMAGE, checksum: FOCAL_SHA256 } }],
  ['an AMI filter', 'ubuntu', { sshUsername: 'ubuntu', amazon: FOCAL_AMI }],
  ['a cloud image and an AMI, on a GPU profile', 'ubuntu-gpu', { sshUsername: 'ubuntu', cloud: { url: FOCAL_IMAGE, checksum: FOCAL_SHA256 }, amazon: FOCAL_AMI }],
  ['a CentOS 7 cloud image', 'centos', { sshUsername: 'centos', cloud: { url: 'https://cloud.centos.org/centos/7/images/CentOS-7-x86_64-GenericCloud-2211.qcow2', checksum: `sha256:${'7c'.repeat(32)}` } }],
];

for (const [what, profileName, image] of IMAGE_CASES) {
  test(`packer validate: ${profileName} from ${what}`, async (t) => {
    const { varsFile } = await writeBuild(profileName, image);
    const result = await packer(['validate', ...sourceFlags(image), `-var-file=${varsFile}`, TEMPLATE_DIR], path.dirname(varsFile));
    t.true(passed(result), result.output);
  });
}

test('packer validate: a checksum list (file:URL) is fetched and must list the image', async (t) => {
  const listed = `${'5'.repeat(64)} *ubuntu-20.04-server-cloudimg-amd64.img\n${'6'.repeat(64)} *ubuntu-20.04-server-cloudimg-arm64.img\n`;
  const { url, server } = await serveChecksums(listed);
  t.teardown(() => server.close());
  const image = { sshUsername: 'ubuntu', cloud: { url: `${url}/ubuntu-20.04-server-cloudimg-amd64.img`, checksum: `file:${url}/SHA256SUMS` } };
  const { varsFile } = await writeBuild('ubuntu', image);
  const ok = await packer(['validate', '-only=qemu.cloud', SEED_VAR, `-var-file=${varsFile}`, TEMPLATE_DIR], path.dirname(varsFile));
  t.true(passed(ok), ok.output);

  const unlisted = { ...image, cloud: { ...image.cloud, url: `${url}/ubuntu-22.04-server-cloudimg-amd64.img` } };
  const { varsFile: wrong } = await writeBuild('ubuntu', unlisted);
  const refused = await packer(['validate', '-only=qemu.cloud', SEED_VAR, `-var-file=${wrong}`, TEMPLATE_DIR], path.dirname(wrong));
  t.is(refused.code, 1);
  t.regex(refused.output, /no checksum found/);
});

test('the template may be named by a relative path from the build folder: it finds its own files from path.root', async (t) => {
  const image = IMAGE_CASES[0]![2];
  const { buildDir, varsFile } = await writeBuild('ubuntu', image);
  const result = await packer(['validate', ...sourceFlags(image), `-var-file=${path.basename(varsFile)}`, path.relative(buildDir, TEMPLATE_DIR)], buildDir);
  t.true(passed(result), result.output);
});

test('a build folder works wherever it is: moved elsewhere, packer validate still finds its files', async (t) => {
  const image = IMAGE_CASES[0]![2];
  const { buildDir } = await writeBuild('ubuntu', image);
  const moved = path.join(tempDir(), 'carried', 'ubuntu');
  cpSync(buildDir, moved, { recursive: true });
  rmSync(buildDir, { recursive: true });
  const result = await packer(['validate', ...sourceFlags(image), '-var-file=ubuntu.pkrvars.hcl', TEMPLATE_DIR], moved);
  t.true(passed(result), result.output);
});

test('packer validate fails: a build folder without agent.js', async (t) => {
  const image = IMAGE_CASES[0]![2];
  const { buildDir, varsFile } = await writeBuild('ubuntu', image);
  rmSync(path.join(buildDir, 'agent.js'));
  const result = await packer(['validate', ...sourceFlags(image), `-var-file=${varsFile}`, TEMPLATE_DIR], path.dirname(varsFile));
  t.is(result.code, 1);
  t.regex(result.output, /Bad source .*agent\.js/);
});

test('packer validate fails: a source the profile does not name (its variables stay empty)', async (t) => {
  const { varsFile } = await writeBuild('ubuntu', { sshUsername: 'ubuntu', amazon: FOCAL_AMI });
  const qemu = await packer(['validate', '-only=qemu.cloud', `-var-file=${varsFile}`, TEMPLATE_DIR], path.dirname(varsFile));
  t.is(qemu.code, 1, qemu.output);
  t.regex(qemu.output, /iso_url/);
  const { varsFile: cloudOnly } = await writeBuild('ubuntu', IMAGE_CASES[0]![2]);
  const ami = await packer(['validate', '-only=amazon-ebs.ami', `-var-file=${cloudOnly}`, TEMPLATE_DIR], path.dirname(cloudOnly));
  t.is(ami.code, 1, ami.output);
  t.regex(ami.output, /owner/);
});

test('packer validate fails: an argument Packer 1.6.6 does not know, in a copy of the template', async (t) => {
  const image = IMAGE_CASES[0]![2];
  for (const argument of ['efi_boot = true', 'cd_content = {}', 'iso_checksum_typo = "x"']) {
    const copy = templateCopy();
    edit(path.join(copy, 'sources.pkr.hcl'), '  disk_image       = true\n', `  disk_image       = true\n  ${argument}\n`);
    const { varsFile } = await writeBuild('ubuntu', image);
    const result = await packer(['validate', ...sourceFlags(image), `-var-file=${varsFile}`, copy], path.dirname(varsFile));
    t.is(result.code, 1, `${argument}: ${result.output}`);
    t.regex(result.output, new RegExp(`${argument.split(' ')[0]}`));
  }
});

test('packer validate fails: a vars file with an unknown variable, or a value of the wrong type', async (t) => {
  const image = IMAGE_CASES[1]![2];
  const { varsFile } = await writeBuild('ubuntu', image);
  const text = readFileSync(varsFile, 'utf8');

  writeFileSync(varsFile, `${text}ami_owner = ["099720109477"]\n`);
  const unknown = await packer(['validate', ...sourceFlags(image), `-var-file=${varsFile}`, TEMPLATE_DIR], path.dirname(varsFile));
  t.false(passed(unknown), 'an unknown variable must not pass');
  t.regex(unknown.output, /Undefined variable[\s\S]*"ami_owner"/);

  writeFileSync(varsFile, text.replace(/^(ami_owners *= )\["099720109477"\]$/m, '$1"099720109477"'));
  const wrongType = await packer(['validate', ...sourceFlags(image), `-var-file=${varsFile}`, TEMPLATE_DIR], path.dirname(varsFile));
  t.is(wrongType.code, 1);
  t.regex(wrongType.output, /list of string required/);
});

test('required_plugins lives in packer/init/: Packer 1.6.6 refuses it, alone or inside the template folder', async (t) => {
  const alone = await packer(['validate', 'init']);
  t.is(alone.code, 1);
  t.regex(alone.output, /required_plugins/);

  const topLevel = readdirSync(TEMPLATE_DIR).filter((name) => name.endsWith('.pkr.hcl'));
  t.true(topLevel.length > 0);
  for (const name of topLevel) t.notRegex(readFileSync(path.join(TEMPLATE_DIR, name), 'utf8'), /required_plugins/, name);

  const copy = templateCopy();
  cpSync(path.join(copy, 'init', 'required-plugins.pkr.hcl'), path.join(copy, 'required-plugins.pkr.hcl'));
  const image = IMAGE_CASES[0]![2];
  const { varsFile } = await writeBuild('ubuntu', image);
  const merged = await packer(['validate', ...sourceFlags(image), `-var-file=${varsFile}`, copy], path.dirname(varsFile));
  t.is(merged.code, 1);
  t.regex(merged.output, /required_plugins/);
});

test('packer fmt -check passes on every template folder, and catches a misformatted copy', async (t) => {
  for (const dir of ['.', 'init']) {
    const fmt = await packer(['fmt', '-check', dir]);
    t.is(fmt.code, 0, `${dir}: ${fmt.output}`);
  }
  const copy = templateCopy();
  edit(path.join(copy, 'build.pkr.hcl'), '  staging_dir = ', '  staging_dir      = ');
  t.is((await packer(['fmt', '-check', '.'], copy)).code, 3);
});

// ---------------------------------------------------------------------------------------------------------
// The seed and the scripts

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : [full];
  });
}

test('shellcheck passes on every shell script in packer/, and catches a broken copy', (t) => {
  const scripts = filesUnder(TEMPLATE_DIR).filter((file) => file.endsWith('.sh'));
  t.deepEqual(scripts.map((file) => path.basename(file)).sort(), ['cleanup.sh', 'install-agent.sh']);
  for (const file of scripts) {
    t.true(readFileSync(file, 'utf8').startsWith('#!/bin/sh\n'), file);
    const lint = shellcheck(file);
    t.is(lint.code, 0, `${file}: ${lint.output}`);
  }
  const broken = path.join(tempDir(), 'cleanup.sh');
  writeFileSync(broken, readFileSync(path.join(SCRIPTS_DIR, 'cleanup.sh'), 'utf8').replace('rm -rf "$root$staging"', 'rm -rf $root$staging'));
  t.not(shellcheck(broken).code, 0);
});

test('the NoCloud seed: valid cloud-config that authorizes the public half of the private key Packer logs in with', (t) => {
  const files = renderPackerSeed(newBuildKeyPair());
  t.deepEqual(files.map((file) => [file.name, file.mode]), [['user-data', 0o644], ['meta-data', 0o644], ['build-key', 0o600]]);
  const userData = path.join(SEED_DIR, 'user-data');
  const schema = cloudInitSchema(userData);
  t.is(schema.code, 0, schema.output);
  const text = readFileSync(userData, 'utf8');
  t.true(text.startsWith('#cloud-config\n'));
  const known = knownCloudConfigKeys();
  for (const key of text.split('\n').filter((line) => /^[a-z_]+:/.test(line)).map((line) => line.split(':')[0]!)) t.true(known.has(key), key);

  // OpenSSH derives the public key from the private one: it must be the line user-data authorizes.
  const publicKey = spawnSync('ssh-keygen', ['-y', '-f', path.join(SEED_DIR, 'build-key')], { encoding: 'utf8' });
  t.is(publicKey.status, 0, publicKey.stderr);
  const [type, key] = publicKey.stdout.trim().split(' ');
  t.true(text.includes(`  - ${type} ${key} labimg-packer-build\n`), 'user-data authorizes the public half of build-key');
  t.regex(readFileSync(path.join(SEED_DIR, 'meta-data'), 'utf8'), /^instance-id: \S+$/m);
});

test('every bake gets a key pair of its own, and none is kept in the repository', (t) => {
  const keys = new Set(Array.from({ length: 3 }, () => newBuildKeyPair().authorizedKey));
  t.is(keys.size, 3);
  const inTemplate = filesUnder(TEMPLATE_DIR).filter((file) => /PRIVATE KEY|ssh-ed25519 |ecdsa-sha2-/.test(readFileSync(file, 'utf8')));
  t.deepEqual(inTemplate, []);
});

test('packer validate reads the seed key: a missing or broken one fails the qemu source', async (t) => {
  const image = IMAGE_CASES[0]![2];
  const { varsFile } = await writeBuild('ubuntu', image);
  const broken = tempDir('labimg-packer-seed-');
  cpSync(SEED_DIR, broken, { recursive: true });
  writeFileSync(path.join(broken, 'build-key'), '-----BEGIN EC PRIVATE KEY-----\nnot a key\n-----END EC PRIVATE KEY-----\n', { mode: 0o600 });
  for (const seed of [broken, tempDir('labimg-empty-seed-')]) {
    const result = await packer(['validate', '-only=qemu.cloud', `-var=seed_dir=${seed}`, `-var-file=${varsFile}`, TEMPLATE_DIR], path.dirname(varsFile));
    t.is(result.code, 1, result.output);
    t.regex(result.output, /ssh_private_key_file is invalid/);
  }
});

/** A folder holding only the tools the scripts use, so nothing else on this machine is within their reach. */
const TOOLS = (() => {
  const dir = tempDir('labimg-packer-tools-');
  for (const tool of ['node', 'rm', 'ln', 'find', 'truncate', 'mkdir']) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (!found) throw new Error(`${tool} is not installed`);
    symlinkSync(found, path.join(dir, tool));
  }
  return dir;
})();

const SANDBOXED = ['/etc', '/var', '/home', '/root', '/usr/local', '/srv', '/opt'];
const UNSHARE = spawnSync('sh', ['-c', 'command -v unshare'], { encoding: 'utf8' }).stdout.trim();

/**
 * Runs a packer/scripts script in a mount namespace where every folder it could reach outside the test
 * root is an empty tmpfs, with only `env` in its environment: a path that misses its LABIMG_ROOT prefix
 * then hits nothing real.
 */
function runScript(name: string, env: Record<string, string>): Promise<ToolRun> {
  const mounts = SANDBOXED.map((dir) => `/bin/mount -t tmpfs labimg-sandbox ${dir}`).join(' && ');
  return run(UNSHARE, ['--user', '--map-root-user', '--mount', '--', '/bin/sh', '-c', `${mounts} && exec /bin/sh "$1"`, 'sandbox', path.join(SCRIPTS_DIR, name)], {
    env: { PATH: TOOLS, ...env },
  });
}

/**
 * The scripts' environment exactly as the template hands it to them: Packer itself evaluates build.pkr.hcl's
 * script_environment on a build's vars file (what to install where, what belongs to one instance).
 */
async function scriptEnvironment(varsFile: string): Promise<Record<string, string>> {
  const evaluated = await run('sh', ['-c', `echo 'jsonencode(local.script_environment)' | packer console -var-file="$1" .`, 'sh', varsFile], { cwd: TEMPLATE_DIR, env: PACKER_ENV });
  if (evaluated.code !== 0) throw new Error(`packer console: ${evaluated.output}`);
  return Object.fromEntries((JSON.parse(evaluated.output) as string[]).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
}

let ubuntuScriptEnvironment: Promise<Record<string, string>> | undefined;

/** The environment of the ubuntu profile's bake, for the scripts run against a prepared tree. */
function bakeEnvironment(): Promise<Record<string, string>> {
  ubuntuScriptEnvironment ??= writeBuild('ubuntu', { sshUsername: 'ubuntu', cloud: { url: FOCAL_IMAGE, checksum: FOCAL_SHA256 } }).then(({ varsFile }) => scriptEnvironment(varsFile));
  return ubuntuScriptEnvironment;
}

test('the template hands the scripts where the upload is, each image file with its mode and node path, and every instance path', async (t) => {
  const env = await bakeEnvironment();
  t.is(env.LABIMG_STAGING, STAGING);
  t.deepEqual(env.LABIMG_IMAGE_FILES?.split(' '), [
    `agent.js:0644:${PATHS.agentBundle}`,
    `agent.json:0644:${PATHS.agentConfig}`,
    `install-node.sh:0755:${DELIVERY_PATHS.nodeInstaller}`,
    `labimg-agent.service:0644:${DELIVERY_PATHS.systemdUnit}`,
  ]);
  t.deepEqual(env.LABIMG_INSTANCE_PATHS?.split(' '), Object.values(INSTANCE_PATHS));
});

test('install-agent.sh refuses an image file that is not NAME:MODE:PATH, or a path that climbs out', async (t) => {
  const root = tempDir('labimg-image-');
  for (const bad of ['agent.js:0644:opt/labimg/agent.js', 'agent.js:rw:/opt/labimg/agent.js', '../agent.js:0644:/opt/x', 'agent.js:0644:/opt/../etc/shadow']) {
    const result = await runScript('install-agent.sh', { LABIMG_ROOT: root, LABIMG_STAGING: STAGING, LABIMG_IMAGE_FILES: bad });
    t.is(result.code, 2, `${bad}: ${result.output}`);
    t.regex(result.output, /is not NAME:MODE:PATH/);
  }
  const cleanup = await runScript('cleanup.sh', { LABIMG_ROOT: root, LABIMG_STAGING: STAGING, LABIMG_INSTANCE_PATHS: '/etc/labimg/../../home' });
  t.is(cleanup.code, 2, cleanup.output);
});

test('the scripts refuse to run outside a Packer build unless LABIMG_ROOT names a test root', async (t) => {
  for (const name of ['install-agent.sh', 'cleanup.sh']) {
    const result = await runScript(name, { LABIMG_STAGING: STAGING });
    t.is(result.code, 2, result.output);
    t.regex(result.output, /runs only in a Packer build/);
  }
  const missing = await runScript('cleanup.sh', { LABIMG_ROOT: '/nonexistent/labimg-root' });
  t.is(missing.code, 2);
});

const MACHINE_ID = '4c1d2e3f5a6b7c8d9e0f1a2b3c4d5e6f';
const BOOTSTRAP_TOKEN = 'abcdef.0123456789abcdef';
const ENROLLMENT_TOKEN = 'enroll-7f3c9a1e5b2d4c6f8a0b';

/** What a build VM holds that belongs to it alone, as a first boot and an earlier agent run leave it. */
const INSTANCE_FILES: Record<string, string> = {
  '/etc/ssh/ssh_host_ed25519_key': '-----BEGIN OPENSSH PRIVATE KEY-----\nhost key\n-----END OPENSSH PRIVATE KEY-----\n',
  '/etc/ssh/ssh_host_ed25519_key.pub': 'ssh-ed25519 AAAAhostkey root@labimg-packer-build\n',
  '/etc/ssh/ssh_host_rsa_key': 'rsa host key\n',
  '/var/lib/cloud/instances/labimg-packer-build/user-data.txt': '#cloud-config\n',
  '/var/lib/cloud/data/instance-id': 'labimg-packer-build\n',
  '/var/lib/cloud/seed/nocloud/user-data': '#cloud-config\n',
  '/var/log/cloud-init.log': 'cloud-init ran\n',
  '/var/log/cloud-init-output.log': 'cloud-init output\n',
  [`/var/log/journal/${MACHINE_ID}/system.journal`]: 'journal\n',
  '/var/log/syslog.1': 'yesterday\n',
  '/var/log/apt/history.log.1.gz': 'old apt history\n',
  '/var/log/messages-20240101': 'rotated by date\n',
  '/var/lib/systemd/random-seed': 'entropy\n',
  '/var/lib/dhcp/dhclient.ens3.leases': 'lease { fixed-address 10.0.2.15; }\n',
  '/root/.ssh/authorized_keys': 'ssh-ed25519 AAAAkey packer\n',
  '/home/ubuntu/.ssh/authorized_keys': 'ssh-ed25519 AAAAkey labimg-packer-build\n',
  '/root/.bash_history': 'sudo -i\n',
  '/home/ubuntu/.bash_history': 'ls\n',
  [PATHS.nodeConfig]: '{"role":"worker"}\n',
  [PATHS.nodeSecrets]: `{"bootstrapToken":"${BOOTSTRAP_TOKEN}","enrollmentToken":"${ENROLLMENT_TOKEN}"}\n`,
  [PATHS.kubeadmInitConfig]: 'kind: InitConfiguration\n',
  [PATHS.kubeadmJoinConfig]: `token: ${BOOTSTRAP_TOKEN}\n`,
  [PATHS.calicoInstallation]: 'kind: Installation\n',
  [PATHS.credential]: '{"id":"n-1","secret":"node-credential"}\n',
  [PATHS.joinPublished]: '{}\n',
  '/var/lib/labimg/agent.lock': '4242\n',
  [`${PATHS.outbox}/00000001.json`]: '{"step":"kubeadm-join"}\n',
  [`${PATHS.outboxRejected}/00000002.json`]: '{}\n',
  [`${STAGING}/agent.js`]: 'uploaded\n',
};

/** What the image is made of, which the cleanup must leave exactly as it is. */
const IMAGE_FILES: Record<string, string> = {
  [PATHS.agentBundle]: 'agent\n',
  [PATHS.agentConfig]: '{"kind":"AgentConfig"}\n',
  [DELIVERY_PATHS.nodeInstaller]: '#!/bin/sh\n',
  [DELIVERY_PATHS.systemdUnit]: '[Unit]\n',
  [PATHS.stateFile]: '{"version":1}\n',
  [PATHS.kubeadmImagesConfig]: 'kind: ClusterConfiguration\n',
  '/etc/ssh/sshd_config': 'PasswordAuthentication no\n',
  '/etc/hostname': 'labimg-packer-build\n',
  '/home/ubuntu/.profile': '# profile\n',
  '/var/lib/containerd/io.containerd.content.v1.content/blobs/sha256/ab': 'pulled image\n',
};

function writeTree(root: string, files: Record<string, string>): void {
  for (const [nodePath, content] of Object.entries(files)) {
    const file = path.join(root, nodePath);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content, { mode: nodePath === PATHS.nodeSecrets ? 0o600 : 0o644 });
  }
}

/** A temp tree laid out like the disk of a build VM after the bake. */
function imageTree(): string {
  const root = tempDir('labimg-image-');
  // Emptied or replaced rather than removed: the machine-ids, and logs that services keep writing.
  writeTree(root, {
    ...INSTANCE_FILES,
    ...IMAGE_FILES,
    '/etc/machine-id': `${MACHINE_ID}\n`,
    '/var/lib/dbus/machine-id': `${MACHINE_ID}\n`,
    '/var/log/syslog': 'today\n',
    '/var/log/wtmp': 'logins',
  });
  symlinkSync('/var/lib/cloud/instances/labimg-packer-build', path.join(root, 'var/lib/cloud/instance'));
  spawnSync('chmod', ['0664', path.join(root, 'var/log/wtmp')]);
  return root;
}

function treeFiles(root: string): string[] {
  return filesUnder(root).map((file) => `/${path.relative(root, file)}`);
}

test('cleanup.sh removes what belongs to the build VM and keeps what the bake made', async (t) => {
  const root = imageTree();
  const env = await bakeEnvironment();
  const result = await runScript('cleanup.sh', { ...env, LABIMG_ROOT: root });
  t.is(result.code, 0, result.output);
  // cloud-init clean cannot run here; the script shows it would, and removes the same by hand.
  t.deepEqual(result.output.trim().split('\n'), ['not under LABIMG_ROOT: cloud-init clean --logs --seed']);

  for (const nodePath of Object.keys(INSTANCE_FILES)) t.false(existsSync(path.join(root, nodePath)), `${nodePath} is removed`);
  for (const [nodePath, content] of Object.entries(IMAGE_FILES)) t.is(readFileSync(path.join(root, nodePath), 'utf8'), content, `${nodePath} is kept`);

  t.is(readFileSync(path.join(root, 'etc/machine-id'), 'utf8'), '', 'machine-id is empty: systemd makes a new one on first boot');
  t.true(lstatSync(path.join(root, 'var/lib/dbus/machine-id')).isSymbolicLink());
  t.is(readlinkSync(path.join(root, 'var/lib/dbus/machine-id')), '/etc/machine-id');
  t.deepEqual(readdirSync(path.join(root, 'var/lib/cloud')), []);
  t.deepEqual(readdirSync(path.join(root, 'var/log/journal')), [], 'the journal folder stays, empty');
  for (const log of ['var/log/syslog', 'var/log/wtmp']) t.is(statSync(path.join(root, log)).size, 0, `${log} is emptied`);
  t.is(statSync(path.join(root, 'var/log/wtmp')).mode & 0o777, 0o664, 'an emptied log keeps its mode');
  t.false(existsSync(path.join(root, 'var/lib/cloud/instance')));

  // Nothing of the instance is left anywhere: tokens, credential, machine-id, keys.
  for (const file of filesUnder(root)) {
    const content = readFileSync(file, 'utf8');
    for (const secret of [BOOTSTRAP_TOKEN, ENROLLMENT_TOKEN, 'node-credential', MACHINE_ID, 'PRIVATE KEY']) t.false(content.includes(secret), `${file} holds ${secret}`);
  }

  const before = treeFiles(root);
  const again = await runScript('cleanup.sh', { ...env, LABIMG_ROOT: root });
  t.is(again.code, 0, again.output);
  t.deepEqual(treeFiles(root), before, 'a second run finds nothing more to do');
});

// ---------------------------------------------------------------------------------------------------------
// The whole bake on a stand-in machine: upload, install-agent.sh, cleanup.sh, then an instance boots

/** Stands in for install-node.sh (its download is node-installer.test.ts's): puts this Node where it was asked to. */
const NODE_INSTALLER_STUB = `#!/bin/sh
set -eu
mkdir -p "$LABIMG_NODE_DIR/bin"
ln -s ${process.execPath} "$LABIMG_NODE_DIR/bin/node"
`;

/**
 * A command that fetches packages, keys or images: none may run when an instance of a baked image boots. A control
 * plane's addon manifests are not among them: it fetches each when it creates it (kubectl did, by URL, before the
 * manifests were pinned), into /var/lib/labimg/manifests/, and checks it against its pin.
 */
function downloads(argv: string[]): boolean {
  const [command, ...args] = argv;
  if (command === 'curl') return !args.some((arg) => arg.includes(`${PATHS.movedManifests}/`));
  if (command === 'apt-get' || command === 'yum' || command === 'dnf' || command === 'gpg') return true;
  if (command === 'kubeadm') return args.slice(0, 3).join(' ') === 'config images pull';
  return (command === 'ctr' || command === 'docker' || command === 'crictl') && args.includes('pull');
}

function agentState(machine: FakeMachine): AgentState {
  return JSON.parse(machine.read(PATHS.stateFile) ?? 'null') as AgentState;
}

for (const profileName of ['ubuntu', 'centos-gpu']) {
  test(`${profileName}: the bake installs the agent and runs its bake phase; after cleanup an instance boots without a download`, async (t) => {
    const image = await FakeMachine.create({ config: profileConfig(profileName) });
    t.teardown(() => image.dispose());
    // The upload: the build folder as `labimg build` wrote it, where the file provisioner puts it.
    const { buildDir, varsFile } = await writeBuild(profileName, { sshUsername: 'ubuntu', cloud: { url: FOCAL_IMAGE, checksum: FOCAL_SHA256 } });
    const env = await scriptEnvironment(varsFile);
    // What build.pkr.hcl uploads: the image files its vars file names, and nothing else of the build folder.
    for (const name of (env.LABIMG_IMAGE_FILES ?? '').split(' ').map((file) => file.split(':')[0]!)) cpSync(path.join(buildDir, name), image.path(`${STAGING}/${name}`));
    image.write(`${STAGING}/install-node.sh`, NODE_INSTALLER_STUB, 0o755);
    const ubuntu = profileName.startsWith('ubuntu');
    if (ubuntu) image.write('/lib/systemd/system/apt-daily.timer', '[Timer]\n');

    const install = await runScript('install-agent.sh', {
      ...env,
      LABIMG_ROOT: image.root,
      PATH: `${FAKE_BIN}:${TOOLS}`,
      LABIMG_FAKE_ROOT: image.root,
      LABIMG_FAKE_LOG: image.logFile,
    });
    t.is(install.code, 0, install.output);
    t.regex(install.output, /^not under LABIMG_ROOT: cloud-init status --wait$/m);
    t.regex(install.output, /^not under LABIMG_ROOT: systemctl daemon-reload$/m);
    // Ubuntu's daily apt run would hold the package lock the bake needs.
    t.is(install.output.includes('not under LABIMG_ROOT: systemctl stop apt-daily.timer apt-daily-upgrade.timer\n'), ubuntu);

    // Every file where the contract says, with its mode.
    for (const [name, nodePath, mode] of [
      ['agent.js', PATHS.agentBundle, 0o644],
      ['agent.json', PATHS.agentConfig, 0o644],
      ['install-node.sh', DELIVERY_PATHS.nodeInstaller, 0o755],
      ['labimg-agent.service', DELIVERY_PATHS.systemdUnit, 0o644],
    ] as const) {
      const staged = name === 'install-node.sh' ? NODE_INSTALLER_STUB : readFileSync(path.join(buildDir, name), 'utf8');
      t.is(image.read(nodePath), staged, nodePath);
      t.is(image.mode(nodePath), mode, nodePath);
    }
    t.true(image.exists(`${PATHS.nodeRuntimeDir}/bin/node`), 'install-node.sh put the runtime under the image root');
    t.falsy(image.fakeState<Record<string, { enabled?: boolean }>>('units')['labimg-agent'], 'the unit is installed, not enabled');

    // The bake phase ran: every bake step done, nothing of the boot phase.
    const baked = agentState(image);
    const steps = Object.entries(baked.steps);
    t.true(steps.length > 5);
    for (const [id, record] of steps) {
      t.is(record.phase, 'bake', id);
      t.not(record.status, 'failed', `${id}: ${record.error ?? ''}`);
    }
    t.is(baked.steps['pull-images']?.status, 'done');
    if (profileName === 'centos-gpu') t.is(baked.steps['install-gpu-packages']?.status, 'done');

    writeTree(image.root, INSTANCE_FILES);
    const cleanup = await runScript('cleanup.sh', { ...env, LABIMG_ROOT: image.root });
    t.is(cleanup.code, 0, cleanup.output);
    t.false(image.exists(STAGING));

    // An instance of the image, with its own node.json, as user-data would bring it.
    const instance = FakeMachine.fromImage(image, { node: fixture<NodeConfig>('node-control-plane') });
    t.teardown(() => instance.dispose());
    // The build's agent.json pins the upstream manifests, which the stand-in network rightly fails (it serves
    // fixtures): the instance's copy is pinned to those, as profileConfig does for every agent test.
    const shipped = JSON.parse(instance.read(PATHS.agentConfig) ?? '') as AgentConfig;
    instance.write(PATHS.agentConfig, `${JSON.stringify(pinnedToFixtures(shipped))}\n`, 0o644);
    const boot = await instance.runAgent(['run']);
    t.is(boot.code, 0, boot.stdout + boot.stderr);
    t.deepEqual(instance.commands().map((c) => c.argv).filter(downloads), [], 'no package, key or image is fetched at boot');
    const booted = agentState(instance);
    for (const [id, record] of steps) t.is(booted.steps[id]?.applied, record.applied, `${id} is not applied again`);
    t.is(booted.steps['kubeadm-init']?.status, 'done');
  });
}

// ---------------------------------------------------------------------------------------------------------
// The commands the CLI prints or runs

test('packer invocations: init only where Packer has it, one build per source, the seed for qemu alone', (t) => {
  const both: ImageSources = { sshUsername: 'ubuntu', cloud: { url: FOCAL_IMAGE, checksum: FOCAL_SHA256 }, amazon: FOCAL_AMI };
  const target = { profileName: 'ubuntu', image: both, templateDir: '/opt/labimg/packer', seedDir: '/tmp/seed' };
  const builds = [
    ['packer', 'build', '-only=qemu.cloud', '-var-file=ubuntu.pkrvars.hcl', '-var=seed_dir=/tmp/seed', '/opt/labimg/packer'],
    ['packer', 'build', '-only=amazon-ebs.ami', '-var-file=ubuntu.pkrvars.hcl', '/opt/labimg/packer'],
  ];
  t.deepEqual(packerInvocations({ ...target, packerVersion: 'Packer v1.6.6' }), builds);
  t.deepEqual(packerInvocations({ ...target, packerVersion: 'Packer v1.11.2\n' }), [['packer', 'init', '/opt/labimg/packer/init'], ...builds]);
  t.deepEqual(packerInvocations({ ...target, packerVersion: 'something new' })[0], ['packer', 'init', '/opt/labimg/packer/init'], 'an unreadable version is taken for a current one');
  t.deepEqual(packerInvocations({ ...target, image: { sshUsername: 'ubuntu', amazon: FOCAL_AMI }, packerVersion: '1.6.6' }), [builds[1]]);
  t.deepEqual(parsePackerVersion('Packer v1.6.6'), { major: 1, minor: 6, patch: 6 });
  t.is(parsePackerVersion('command not found'), undefined);
});

test('packer invocations work on this Packer: init is left out, and the build names real sources and a real seed', async (t) => {
  const version = await packer(['version']);
  const image = IMAGE_CASES[2]![2];
  const { buildDir } = await writeBuild('ubuntu-gpu', image);
  const invocations = packerInvocations({ packerVersion: version.output, profileName: 'ubuntu-gpu', image, templateDir: TEMPLATE_DIR, seedDir: SEED_DIR });
  t.is(invocations.length, 2, JSON.stringify(invocations));
  for (const [command, verb, ...rest] of invocations) {
    t.is(verb, 'build');
    // The same command as validate instead of build, in the build folder: the -only names, vars and paths are right.
    const validate = await run(command!, ['validate', ...rest], { cwd: buildDir, env: PACKER_ENV });
    t.true(passed(validate), validate.output);
  }
});

// ---------------------------------------------------------------------------------------------------------
// Image hygiene: what may remain of labimg in an image

/**
 * All of labimg that MAY remain under /etc/labimg and /var/lib/labimg once a bake is cleaned: the image's agent
 * config, the list of images the bake pulled, and the agent's progress, so that an instance finds the bake's
 * steps done. Anything else there is one machine's: a file the agent starts writing is refused here until it
 * is declared, in contract/node-paths.ts, as the image's or the instance's.
 */
const MAY_REMAIN: readonly string[] = ['/etc/labimg/agent.json', '/etc/labimg/kubeadm-images.yaml', '/var/lib/labimg/state.json'];

test('cleanup.sh leaves only what may remain of labimg, even where the whole lab ran as a control plane with a GPU and a mirror', async (t) => {
  const { scenario } = await runMirroredSeedLab();
  const machine = scenario.machine;
  t.teardown(() => machine.dispose());
  t.is(scenario.first.code, 0, scenario.first.stdout + scenario.first.stderr);
  // The run wrote what a baked image once kept by mistake: the moved manifests.
  t.true(machine.exists(PATHS.movedManifests));
  // And what a node with a join endpoint adds: its credential, the published join material, the lock, the outbox;
  // and the NVIDIA RuntimeClass, which a GPU control plane on containerd writes (the seed lab is on Docker).
  writeTree(machine.root, { ...INSTANCE_FILES, [PATHS.nvidiaRuntimeClass]: 'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\n' });

  const cleanup = await runScript('cleanup.sh', { ...(await bakeEnvironment()), LABIMG_ROOT: machine.root });
  t.is(cleanup.code, 0, cleanup.output);
  const left = ['/etc/labimg', '/var/lib/labimg'].flatMap((dir) => (machine.exists(dir) ? treeFiles(machine.path(dir)).map((file) => `${dir}${file}`) : []));
  t.deepEqual(left.filter((file) => !MAY_REMAIN.includes(file)), []);
  t.deepEqual(left.sort(), [...MAY_REMAIN].sort(), 'the image keeps its config and the bake\'s progress');
});
