/**
 * Every delivery path of every profile, as `labimg build` writes it, through the real validator of each
 * artifact: cloud-init's schema (user-data, stub user-data, the autoinstall seed), ignition-validate, packer
 * validate, shellcheck (every shell script an artifact carries), debconf-set-selections --checkonly (the
 * debian-installer preseed), and the kickstart and iPXE checks. Then each
 * artifact is broken on purpose and its validator must fail, and two builds must be byte-identical.
 */
import { DELIVERY_PATHS } from '../contract/node-paths';
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { load } from 'js-yaml';
import { compileAgentConfig } from '../builder/compile';
import { listProfiles, loadProfile } from '../builder/profiles';
import { newBuildKeyPair, renderPackerSeed } from '../builder/render/packer-seed';
import { FLATCAR_NODE_IGNITION_PATH, pxeUnavailable } from '../builder/render/pxe';
import { RHEL7_KICKSTART, RHEL9_KICKSTART } from './helpers/kickstart-reference';
import { filesIn, labimg, repoRoot, tempDir } from './helpers/cli';
import { ipxeFindings, kickstartFindings, kickstartScripts } from './helpers/pxe-checks';
import { cloudInitSchema, debconfCheck, ignitionValidate, knownCloudConfigKeys, packerValidate, shellcheck, type ToolResult } from './helpers/validators';

const PROFILES = listProfiles(path.join(repoRoot, 'profiles')).filter((p) => !p.abstract).map((p) => p.name);
const TEMPLATE_DIR = path.join(repoRoot, 'packer');
const PXE_URL = 'http://10.0.0.5:8080/lab/pxe';
const OPERATOR_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl operator@lab';

/** A pool build, so that every artifact carries what a real one does: endpoint, CA pin, pool, each role's token. */
const INPUTS = (() => {
  const dir = tempDir('labimg-delivery-inputs-');
  const token = path.join(dir, 'enrollment.token');
  writeFileSync(token, `abcd1234.${'x'.repeat(43)}\n`, { mode: 0o600 });
  const controlPlaneToken = path.join(dir, 'control-plane.token');
  writeFileSync(controlPlaneToken, `cpcp5678.${'y'.repeat(43)}\n`, { mode: 0o600 });
  const script = path.join(dir, 'site-proxy.sh');
  writeFileSync(script, '#!/bin/sh\n# The lab\'s proxy, for every login shell.\necho "http_proxy=http://10.0.0.1:3128" >> /etc/environment\n');
  const keys = path.join(dir, 'authorized_keys');
  writeFileSync(keys, `# the lab's operators\n${OPERATOR_KEY}\n`);
  const seed = path.join(dir, 'seed');
  mkdirSync(seed, { mode: 0o700 });
  for (const file of renderPackerSeed(newBuildKeyPair())) writeFileSync(path.join(seed, file.name), file.content, { mode: file.mode });
  return { token, controlPlaneToken, keys, seed, script };
})();

const BUILD_FLAGS = [
  '--endpoint', 'https://10.0.0.5:8443',
  '--endpoint-ca-fingerprint', `sha256:${'c'.repeat(64)}`,
  '--pool', 'lab',
  '--enrollment-token-file', INPUTS.token,
  '--control-plane-token-file', INPUTS.controlPlaneToken,
  '--agent-url', 'https://10.0.0.5:8080/agent.js',
  '--ssh-authorized-keys', INPUTS.keys,
];

/** Whether the profile can be installed over the network (`labimg build` refuses --pxe-url otherwise). */
function hasNetInstall(profile: string): boolean {
  const loaded = loadProfile(profile, { dir: path.join(repoRoot, 'profiles') });
  return pxeUnavailable(compileAgentConfig(loaded).os, loaded.image) === undefined;
}

/** Whether the profile's OS boots with cloud-init (Flatcar takes Ignition alone: no user-data, no scripts for it). */
function bootsWithCloudInit(profile: string): boolean {
  return compileAgentConfig(loadProfile(profile, { dir: path.join(repoRoot, 'profiles') })).os.family !== 'flatcar';
}

function build(profile: string, extra: string[] = []): string {
  const out = tempDir('labimg-delivery-');
  const pxe = hasNetInstall(profile) ? ['--pxe-url', PXE_URL] : [];
  const scripts = bootsWithCloudInit(profile) ? ['--user-script', INPUTS.script] : [];
  const result = labimg(['build', profile, '--out', out, ...BUILD_FLAGS, ...scripts, ...pxe, ...extra]);
  if (result.code !== 0) throw new Error(`labimg build ${profile} failed (${result.code}):\n${result.stderr}`);
  return path.join(out, profile);
}

function writeTemp(name: string, content: string): string {
  const file = path.join(tempDir('labimg-delivery-part-'), name);
  writeFileSync(file, content);
  return file;
}

interface WriteFilesEntry {
  path: string;
  content: string;
  encoding?: string;
}

/** What each validator says about one artifact, as [what was checked, result]. */
type Check = [string, ToolResult | { code: number; output: string }];

function cloudConfigChecks(file: string): Check[] {
  const text = readFileSync(file, 'utf8');
  const checks: Check[] = [[`${file}: cloud-init schema`, cloudInitSchema(file)]];
  const known = knownCloudConfigKeys();
  const unknown = Object.keys(load(text) as object).filter((key) => !known.has(key));
  checks.push([`${file}: top-level keys`, { code: unknown.length, output: `unknown keys: ${unknown.join(', ')}` }]);
  // Shell the user-data writes and a unit runs: the stub's agent fetcher.
  const writeFiles = (load(text) as { write_files?: unknown }).write_files;
  for (const entry of Array.isArray(writeFiles) ? (writeFiles as WriteFilesEntry[]) : []) {
    if (entry.path === DELIVERY_PATHS.agentFetcher) checks.push([`${file}: ${entry.path} shellcheck`, shellcheck(writeTemp('fetch-agent.sh', entry.content))]);
  }
  return checks;
}

/** Multipart user-data, split by cloud-init's own parser; each part then goes through its own checks. */
function mimeChecks(file: string): Check[] {
  const split = spawnSync('/usr/bin/python3', [path.join(repoRoot, 'test/helpers/cloud-init-parts.py'), file], { encoding: 'utf8' });
  const checks: Check[] = [[`${file}: cloud-init splits it into parts it runs`, { code: split.status ?? -1, output: split.stderr + split.stdout.slice(0, 2000) }]];
  if (split.status !== 0) return checks;
  const parts = JSON.parse(split.stdout) as Array<{ type: string; filename: string; content: string }>;
  const yaml = file.replace(/\.mime$/, '.yaml');
  checks.push([`${file}: its cloud-config part is ${path.basename(yaml)}`, { code: parts[0]?.content === readFileSync(yaml, 'utf8') ? 0 : 1, output: parts.map((p) => p.type).join(', ') }]);
  for (const part of parts.slice(1)) {
    const script = writeTemp(part.filename, part.content);
    checks.push([`${file}: part ${part.filename} is a shell script`, { code: part.type === 'text/x-shellscript' ? 0 : 1, output: part.type }]);
    checks.push([`${file}: part ${part.filename} shellcheck`, shellcheck(script)]);
  }
  return checks;
}

function autoinstallChecks(file: string): Check[] {
  const checks = cloudConfigChecks(file);
  const config = load(readFileSync(file, 'utf8')) as { write_files: WriteFilesEntry[]; autoinstall: { 'user-data': unknown } };
  const target = writeTemp('installed-user-data.yaml', `#cloud-config\n${JSON.stringify(config.autoinstall['user-data'])}\n`);
  checks.push([`${file}: the installed system's user-data, cloud-init schema`, cloudInitSchema(target)]);
  for (const entry of config.write_files) checks.push([`${file}: ${entry.path} shellcheck`, shellcheck(writeTemp('late-command.sh', entry.content), 'bash')]);
  return checks;
}

function kickstartChecks(file: string): Check[] {
  const text = readFileSync(file, 'utf8');
  const checks: Check[] = [RHEL7_KICKSTART, RHEL9_KICKSTART].map((reference) => {
    const findings = kickstartFindings(text, reference);
    return [`${file}: ${reference.name} kickstart reference`, { code: findings.length, output: findings.join('\n') }];
  });
  const scripts = kickstartScripts(text);
  checks.push([`${file}: has a %post`, { code: scripts.length > 0 ? 0 : 1, output: 'no %pre or %post section' }]);
  for (const { section, body } of scripts) checks.push([`${file}: ${section} shellcheck`, shellcheck(writeTemp('section.sh', `#!/bin/bash\n${body}`), 'bash')]);
  return checks;
}

/** Flatcar's PXE Ignition, and the node's Ignition it carries for flatcar-install, each through ignition-validate. */
function flatcarPxeChecks(file: string): Check[] {
  const config = JSON.parse(readFileSync(file, 'utf8')) as { storage?: { files?: Array<{ path: string; contents: { source: string } }> } };
  const carried = config.storage?.files?.find((entry) => entry.path === FLATCAR_NODE_IGNITION_PATH);
  const checks: Check[] = [[`${file}: ignition-validate`, ignitionValidate(file)]];
  if (!carried) return [...checks, [`${file}: carries the node's Ignition`, { code: 1, output: `no ${FLATCAR_NODE_IGNITION_PATH}` }]];
  const node = gunzipSync(Buffer.from(carried.contents.source.replace(/^data:;base64,/, ''), 'base64'));
  return [...checks, [`${file}: the node's Ignition it carries, ignition-validate`, ignitionValidate(writeTemp('node.ign', node.toString('utf8')))]];
}

function ipxeChecks(file: string): Check[] {
  const findings = ipxeFindings(readFileSync(file, 'utf8'));
  return [[`${file}: iPXE commands and labels`, { code: findings.length, output: findings.join('\n') }]];
}

/**
 * The checksum lists the profiles name (file:https://…/SHA256SUMS), served on loopback: packer validate
 * fetches the list and refuses an image it does not name, but this machine reaches no image host. Each list
 * names the image the vars file points at, as the real one does.
 */
async function serveChecksumLists(): Promise<{ origin: string; close: () => void }> {
  const server = createServer((req, res) => {
    const image = new URL(req.url ?? '/', 'http://x').searchParams.get('image');
    if (!image) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`${'5'.repeat(64)} *${image}\n${'6'.repeat(64)} *other-image.img\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

async function packerChecks(dir: string, file: string): Promise<Check[]> {
  const varsFile = path.join(dir, file);
  const vars = readFileSync(varsFile, 'utf8');
  const list = /^cloud_image_checksum += "file:(https?:\/\/[^"]+)"$/m.exec(vars)?.[1];
  const image = /^cloud_image_url += "([^"]+)"$/m.exec(vars)?.[1];
  const lists = list && image ? await serveChecksumLists() : undefined;
  try {
    const local = lists ? path.join(dir, `local-${file}`) : varsFile;
    if (lists && list && image) writeFileSync(local, vars.replace(`"file:${list}"`, `"file:${lists.origin}${new URL(list).pathname}?image=${path.posix.basename(image)}"`));
    const sources = [image ? 'qemu.cloud' : '', vars.includes('ami_name_filter') ? 'amazon-ebs.ami' : ''].filter(Boolean);
    const checks: Check[] = [];
    for (const source of sources) {
      const result = await packerValidate([`-only=${source}`, `-var-file=${path.basename(local)}`, `-var=seed_dir=${INPUTS.seed}`], TEMPLATE_DIR, dir);
      checks.push([`${file}: packer validate -only=${source}`, result]);
    }
    return checks;
  } finally {
    lists?.close();
  }
}

/** Every validator on every artifact of a build folder; the files no validator covers are returned apart. */
async function validateBuild(dir: string): Promise<{ checks: Check[]; unchecked: string[] }> {
  const checks: Check[] = [];
  const unchecked: string[] = [];
  for (const name of filesIn(dir)) {
    const file = path.join(dir, name);
    if (/^user-data-.*\.yaml$/.test(name)) checks.push(...cloudConfigChecks(file));
    else if (/^user-data-.*\.mime$/.test(name)) checks.push(...mimeChecks(file));
    else if (/^ignition-.*\.json$/.test(name)) checks.push([`${name}: ignition-validate`, ignitionValidate(file)]);
    else if (name.endsWith('.pkrvars.hcl')) checks.push(...(await packerChecks(dir, name)));
    else if (name.endsWith('/labimg-install.sh')) checks.push([`${file}: shellcheck`, shellcheck(file, 'bash')]);
    else if (name.endsWith('.sh')) checks.push([`${name}: shellcheck`, shellcheck(file)]);
    else if (name.endsWith('/preseed.cfg')) checks.push([`${file}: debconf-set-selections --checkonly`, debconfCheck(file)]);
    else if (name.endsWith('/ignition.json')) checks.push(...flatcarPxeChecks(file));
    else if (name.endsWith('/user-data')) checks.push(...autoinstallChecks(file));
    else if (name.endsWith('/kickstart.cfg')) checks.push(...kickstartChecks(file));
    else if (name.endsWith('.ipxe')) checks.push(...ipxeChecks(file));
    else unchecked.push(name);
  }
  return { checks, unchecked };
}

for (const profile of PROFILES) {
  test(`${profile}: every artifact labimg build writes passes its real validator`, async (t) => {
    const dir = build(profile);
    const { checks, unchecked } = await validateBuild(dir);
    for (const [what, result] of checks) t.is(result.code, 0, `${what}\n${result.output}`);
    for (const [what, result] of checks.filter(([what]) => ['ignition-validate', 'packer validate', 'debconf-set-selections'].some((tool) => what.includes(tool)))) {
      t.true('passes' in result && result.passes, `${what} printed:\n${result.output}`);
    }
    // What no validator reads: the agent (a test of its own runs it), its JSON config, the unit (systemd-analyze in
    // build.test.ts), the manifest, and a NoCloud meta-data that is only a comment.
    t.deepEqual(
      unchecked.filter((name) => !['agent.js', 'agent.json', 'labimg-agent.service', 'manifest.json'].includes(name) && !name.endsWith('/meta-data')),
      [],
    );
    const kinds = new Set(checks.map(([what]) => what.replace(/^[^:]*: /, '').split(' ')[0]));
    t.true(kinds.has('ignition-validate') && kinds.has('shellcheck'), [...kinds].join(', '));
    t.true(checks.some(([what]) => what.startsWith('ignition-worker-stub.json:')), 'the Ignition stub is checked');
    if (bootsWithCloudInit(profile)) {
      t.true(kinds.has('cloud-init'), [...kinds].join(', '));
      t.true(checks.some(([what]) => what.endsWith('.mime: cloud-init splits it into parts it runs')), 'the multipart user-data is checked');
      t.true(kinds.has('packer'), `${profile} has a Packer vars file`);
    } else {
      t.false(filesIn(dir).some((name) => name.startsWith('user-data')), 'no cloud-init user-data for an Ignition-only OS');
    }
  });

  test(`${profile}: two builds with the same inputs are byte-identical, modes included`, (t) => {
    const [first, second] = [build(profile, ['--tar']), build(profile, ['--tar'])] as [string, string];
    const names = filesIn(first);
    t.deepEqual(filesIn(second), names);
    for (const name of names) {
      t.true(readFileSync(path.join(first, name)).equals(readFileSync(path.join(second, name))), name);
      t.is(statSync(path.join(first, name)).mode, statSync(path.join(second, name)).mode, name);
    }
    t.true(readFileSync(`${first}.tar.gz`).equals(readFileSync(`${second}.tar.gz`)), 'the archives');
  });
}

/** One deliberate break per artifact kind: [file in the build, how to break it, the check that must fail]. */
const BREAKS: Array<[string, string, (text: string) => string]> = [
  ['centos', 'user-data-worker.yaml', (text) => text.replace(/^write_files:/m, 'write_files: 5\nwrite_file:')],
  ['centos', 'user-data-worker-stub.yaml', (text) => text.replace(/^runcmd:/m, 'runcmd: "systemctl start x"\nruncmd_x:')],
  ['ubuntu', 'pxe/nodes/worker/user-data', (text) => text.replace('version: 1', "version: 'one'")],
  ['centos', 'ignition-worker.json', (text) => text.replace('"version":"3.3.0"', '"version":"3.3.0","extra":1').replace('"version": "3.3.0"', '"version": "3.3.0", "extra": 1')],
  ['centos', 'centos.pkrvars.hcl', (text) => `${text}ami_owner = ["125523088429"]\n`],
  ['centos', 'install-node.sh', (text) => text.replace('\nset -eu\n', '\nset -eu\nif [ -n "$1" ]; then\n')],
  ['centos', 'pxe/nodes/worker/kickstart.cfg', (text) => text.replace(/^skipx$/m, 'skipx\nautopart --noswap')],
  ['centos', 'pxe/nodes/control-plane/kickstart.cfg', (text) => text.replace('set -euo pipefail', 'set -euo pipefail\nif [ $1 = x ]; then echo; fi')],
  ['ubuntu', 'pxe/nodes/worker/boot.ipxe', (text) => text.replace(/^boot /m, 'bot ')],
  ['ubuntu', 'user-data-worker-stub.mime', (text) => text.replace('Content-Type: text/x-shellscript', 'Content-Type: text/x-shelscript')],
  ['debian12', 'pxe/nodes/worker/preseed.cfg', (text) => text.replace('d-i mirror/country string manual', 'd-i mirror/country strng manual')],
  ['debian12', 'pxe/nodes/control-plane/labimg-install.sh', (text) => text.replace('set -euo pipefail', 'set -euo pipefail\nif [ $1 = x ]; then echo; fi')],
  ['flatcar', 'pxe/nodes/worker/ignition.json', (text) => text.replace('"version":"3.3.0"', '"version":"3.3.0","extra":1').replace('"version": "3.3.0"', '"version": "3.3.0", "extra": 1')],
];

test('each validator is real: an artifact broken on purpose fails its check', async (t) => {
  for (const [profile, name, breakIt] of BREAKS) {
    const dir = build(profile);
    const file = path.join(dir, name);
    const original = readFileSync(file, 'utf8');
    const broken = breakIt(original);
    t.not(broken, original, `${name}: the break changed nothing`);
    writeFileSync(file, broken);
    const failed = (await validateBuild(dir)).checks.filter(([, result]) => result.code !== 0 || ('passes' in result && !result.passes));
    t.true(failed.length > 0, `${profile} ${name}: no validator failed`);
    t.true(
      // A broken cloud-config also breaks the multipart user-data that carries it.
      failed.every(([what]) => [file, name, file.replace(/\.yaml$/, '.mime')].some((own) => what.startsWith(`${own}:`))),
      `${name}: only its own checks fail:\n${failed.map(([what]) => what).join('\n')}`,
    );
  }
});

test('labimg build debian12 --pxe-url writes each role a d-i folder: boot.ipxe into the installer, the preseed, and the 0600 script with the secrets', (t) => {
  const dir = build('debian12');
  for (const role of ['control-plane', 'worker']) {
    const folder = `pxe/nodes/${role}`;
    t.deepEqual(
      filesIn(dir).filter((name) => name.startsWith(`${folder}/`)).sort(),
      ['boot.ipxe', 'labimg-install.sh', 'preseed.cfg'].map((name) => `${folder}/${name}`),
    );
    t.regex(readFileSync(path.join(dir, folder, 'boot.ipxe'), 'utf8'), new RegExp(` url=${PXE_URL}/nodes/${role}/preseed\\.cfg `));
    t.is(statSync(path.join(dir, folder, 'labimg-install.sh')).mode & 0o777, 0o600, 'it carries the enrollment token');
    t.is(statSync(path.join(dir, folder, 'preseed.cfg')).mode & 0o777, 0o644);
  }
});
