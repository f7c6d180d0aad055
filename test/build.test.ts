import test from 'ava';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { load } from 'js-yaml';
import { agentPath, filesIn, labimg, repoRoot, tempDir } from './helpers/cli';
import { cloudInitSchema, knownCloudConfigKeys, shellcheck, systemdOrderingCycles, systemdVerify } from './helpers/validators';
import { userDataWarnings, type Manifest } from '../builder/manifest';

const PROFILES = ['centos', 'centos-gpu', 'ubuntu', 'ubuntu1804', 'ubuntu-gpu'];
const ROLES = ['control-plane', 'worker'];

interface WriteFileEntry {
  path: string;
  permissions: string;
  encoding?: string;
  content: string;
}

function build(profile: string, extra: string[] = []): string {
  const out = tempDir();
  const result = labimg(['build', profile, '--out', out, ...extra]);
  if (result.code !== 0) throw new Error(`labimg build ${profile} failed (${result.code}):\n${result.stderr}`);
  return path.join(out, profile);
}

function writeFilesOf(userDataFile: string): WriteFileEntry[] {
  const config = load(readFileSync(userDataFile, 'utf8')) as { write_files: WriteFileEntry[] };
  return config.write_files;
}

/** A file of an Ignition config, its data URL decoded (base64, gzip when the config says so). */
function ignitionFile(config: string, filePath: string): { mode: number; content: Buffer } {
  const { storage } = JSON.parse(readFileSync(config, 'utf8')) as { storage: { files: Array<{ path: string; mode: number; contents: { source: string; compression?: string } }> } };
  const file = storage.files.find((f) => f.path === filePath);
  if (!file) throw new Error(`${config} writes no ${filePath}`);
  const data = Buffer.from(file.contents.source.replace(/^data:[^,]*;base64,/, ''), 'base64');
  return { mode: file.mode, content: file.contents.compression === 'gzip' ? gunzipSync(data) : data };
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

for (const profile of PROFILES) {
  test(`build ${profile}: every user-data passes cloud-init's schema and uses only known modules`, (t) => {
    const dir = build(profile);
    const known = knownCloudConfigKeys();
    for (const role of ROLES) {
      const file = path.join(dir, `user-data-${role}.yaml`);
      const text = readFileSync(file, 'utf8');
      t.true(text.startsWith('#cloud-config\n'), `${file} must start with #cloud-config`);
      const schema = cloudInitSchema(file);
      t.is(schema.code, 0, schema.output);
      const config = load(text) as Record<string, unknown>;
      for (const key of Object.keys(config)) t.true(known.has(key), `${role}: top-level key "${key}" is no cloud-init module key`);
    }
  });
}

test('cloud-init schema really rejects a broken user-data (the check can fail)', (t) => {
  const dir = tempDir();
  const file = path.join(dir, 'broken.yaml');
  writeFileSync(file, '#cloud-config\nruncmd: "systemctl start labimg-agent"\nwrite_files: 5\n');
  const result = cloudInitSchema(file);
  t.not(result.code, 0);
  t.regex(result.output, /write_files/);
});

test("cloud-init's own write_files module lands the agent, its config and unit byte-for-byte", (t) => {
  const dir = build('centos-gpu');
  const root = tempDir('labimg-root-');
  const result = spawnSync('/usr/bin/python3', [path.join(repoRoot, 'test/helpers/cloud-init-write-files.py'), path.join(dir, 'user-data-control-plane.yaml'), root], { encoding: 'utf8' });
  t.is(result.status, 0, result.stderr);

  t.deepEqual(readFileSync(path.join(root, 'opt/labimg/agent.js')), readFileSync(agentPath));
  t.deepEqual(readFileSync(path.join(root, 'etc/labimg/agent.json')), readFileSync(path.join(dir, 'agent.json')));
  t.deepEqual(readFileSync(path.join(root, 'etc/systemd/system/labimg-agent.service')), readFileSync(path.join(dir, 'labimg-agent.service')));
  t.is(statSync(path.join(root, 'opt/labimg/install-node.sh')).mode & 0o777, 0o755);
  const node = JSON.parse(readFileSync(path.join(root, 'etc/labimg/node.json'), 'utf8'));
  t.like(node, { apiVersion: 'labimg.dev/v1', kind: 'NodeConfig', role: 'control-plane' });
  t.false(existsSync(path.join(root, 'etc/labimg/secrets.json')), 'no secrets file without join material');
});

test('the agent travels gzip+base64 and decodes to dist/agent.js', (t) => {
  const dir = build('ubuntu');
  const entry = writeFilesOf(path.join(dir, 'user-data-worker.yaml')).find((f) => f.path === '/opt/labimg/agent.js');
  t.is(entry?.encoding, 'gzip+base64');
  t.deepEqual(gunzipSync(Buffer.from(entry!.content, 'base64')), readFileSync(agentPath));
});

test('manifest lists every file with its real size, sha256 and mode, and user-data against cloud limits', (t) => {
  const dir = build('centos-gpu');
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
  t.is(manifest.profile, 'centos-gpu');
  const onDisk = filesIn(dir).filter((name) => name !== 'manifest.json');
  t.deepEqual(manifest.files.map((f) => f.name), onDisk);
  for (const entry of manifest.files) {
    const content = readFileSync(path.join(dir, entry.name));
    t.is(entry.size, content.length, entry.name);
    t.is(entry.sha256, sha256(content), entry.name);
    t.is(entry.mode, (statSync(path.join(dir, entry.name)).mode & 0o777).toString(8).padStart(4, '0'), entry.name);
  }
  const userData = manifest.files.filter((f) => f.name.startsWith('user-data'));
  t.is(userData.length, 2);
  for (const entry of userData) {
    // Each cloud's limit in raw bytes, as FACTS.md reads them (EC2's 16 KB as Auto Scaling's base64 field holds it).
    const limits = { ec2: 16_383, aliyun: 16_000, openstack: 49_149, azure: 65_535, gce: 262_144 };
    t.deepEqual(Object.keys(entry.userDataLimits ?? {}), Object.keys(limits));
    for (const [cloud, limit] of Object.entries(limits)) t.deepEqual(entry.userDataLimits?.[cloud as keyof typeof limits], { limit, fits: entry.size <= limit }, cloud);
  }
});

test('two builds of the same profile are byte-identical', (t) => {
  const first = build('centos-gpu');
  const second = build('centos-gpu');
  t.deepEqual(filesIn(second), filesIn(first));
  for (const name of filesIn(first)) {
    t.deepEqual(readFileSync(path.join(first, name)), readFileSync(path.join(second, name)), name);
  }
});

test('generated shell passes shellcheck, and shellcheck does catch a mistake', (t) => {
  const dir = build('centos');
  const result = shellcheck(path.join(dir, 'install-node.sh'));
  t.is(result.code, 0, result.output);

  const broken = path.join(tempDir(), 'broken.sh');
  writeFileSync(broken, '#!/bin/sh\nrm -rf $dir/bin\n');
  t.not(shellcheck(broken).code, 0);
});

test('the systemd unit passes systemd-analyze verify', (t) => {
  const dir = build('centos');
  // verify resolves ExecStart= binaries, so give it a tree where they exist.
  const unitDir = tempDir();
  const unit = path.join(unitDir, 'labimg-agent.service');
  writeFileSync(unit, readFileSync(path.join(dir, 'labimg-agent.service'), 'utf8').replace(/\/opt\/labimg\/[^\s]+/g, '/bin/true'));
  const result = systemdVerify(unit);
  t.is(result.code, 0, result.output);
});

test('the agent unit makes no ordering cycle with cloud-init at boot or shutdown, and the check sees one', (t) => {
  const unit = readFileSync(path.join(build('centos'), 'labimg-agent.service'), 'utf8');
  t.deepEqual(systemdOrderingCycles({ 'labimg-agent.service': unit }), []);

  // WantedBy=multi-user.target with After=cloud-final.service, without DefaultDependencies=no: a cycle
  // through cloud-final (After=multi-user.target), which once hung a reboot.
  const cyclic = unit.replace(/^DefaultDependencies=no\n/m, '');
  t.not(cyclic, unit);
  const cycles = systemdOrderingCycles({ 'labimg-agent.service': cyclic });
  t.true(cycles.some((line) => line.includes('labimg-agent.service')), cycles.join('\n'));
});

test('a worker with join material gets secrets.json 0600 and its user-data is 0600', (t) => {
  const tokenFile = path.join(tempDir(), 'token');
  writeFileSync(tokenFile, 'abcdef.0123456789abcdef\n');
  const hash = `sha256:${'a'.repeat(64)}`;
  const dir = build('centos', ['--join-api-server', '10.0.0.10:6443', '--join-ca-cert-hash', hash, '--join-token-file', tokenFile]);
  const files = writeFilesOf(path.join(dir, 'user-data-worker.yaml'));
  const secrets = files.find((f) => f.path === '/etc/labimg/secrets.json');
  t.is(secrets?.permissions, '0600');
  t.deepEqual(JSON.parse(secrets!.content), { bootstrapToken: 'abcdef.0123456789abcdef' });
  const node = JSON.parse(files.find((f) => f.path === '/etc/labimg/node.json')!.content);
  t.deepEqual(node.join, { apiServerEndpoint: '10.0.0.10:6443', caCertHashes: [hash] });
  t.is(statSync(path.join(dir, 'user-data-worker.yaml')).mode & 0o777, 0o600);
  // The control plane's user-data carries no token.
  t.false(readFileSync(path.join(dir, 'user-data-control-plane.yaml'), 'utf8').includes('0123456789abcdef'));
  t.false(readFileSync(path.join(dir, 'agent.json'), 'utf8').includes('0123456789abcdef'));
});

test('bad join input fails with the flag named, never echoing the token, and writes nothing', (t) => {
  const out = tempDir();
  const tokenFile = path.join(out, 'token');
  writeFileSync(tokenFile, 'NOT-A-TOKEN-secretvalue');
  const hash = `sha256:${'b'.repeat(64)}`;

  const badToken = labimg(['build', 'centos', '--out', out, '--join-api-server', '10.0.0.10:6443', '--join-ca-cert-hash', hash, '--join-token-file', tokenFile]);
  t.is(badToken.code, 1);
  t.regex(badToken.stderr, /--join-token-file: .*token does not hold a bootstrap token/);
  t.false(badToken.stderr.includes('secretvalue'));

  const partial = labimg(['build', 'centos', '--out', out, '--join-api-server', '10.0.0.10:6443']);
  t.is(partial.code, 1);
  t.regex(partial.stderr, /give all three, or none/);

  const badHash = labimg(['build', 'centos', '--out', out, '--join-api-server', '10.0.0.10:6443', '--join-ca-cert-hash', 'md5:abc', '--join-token-file', tokenFile]);
  t.regex(badHash.stderr, /--join-ca-cert-hash: expected "sha256:"/);

  const badEndpoint = labimg(['build', 'centos', '--out', out, '--join-api-server', '10.0.0.10', '--join-ca-cert-hash', hash, '--join-token-file', tokenFile]);
  t.regex(badEndpoint.stderr, /--join-api-server: expected HOST:PORT/);

  t.deepEqual(readdirSync(out), ['token']);
});

test('an invalid inherited value fails with the parent file and line, and leaves the previous build untouched', (t) => {
  const profiles = tempDir('labimg-profiles-');
  for (const name of readdirSync(path.join(repoRoot, 'profiles'))) {
    writeFileSync(path.join(profiles, name), readFileSync(path.join(repoRoot, 'profiles', name)));
  }
  const out = tempDir();
  const good = labimg(['build', 'centos', '--out', out, '--profiles', profiles]);
  t.is(good.code, 0, good.stderr);
  const before = readFileSync(path.join(out, 'centos', 'manifest.json'));

  // centos inherits podSubnet from base: the error must point at base.yaml, where the value is written.
  const file = path.join(profiles, 'base.yaml');
  const text = readFileSync(file, 'utf8');
  t.true(text.includes('10.244.0.0/16'));
  writeFileSync(file, text.replace('10.244.0.0/16', '10.244.0.0/33'));
  const bad = labimg(['build', 'centos', '--out', out, '--profiles', profiles]);
  t.is(bad.code, 1);
  const line = text.split('\n').findIndex((l) => l.includes('10.244.0.0/16')) + 1;
  t.regex(bad.stderr, new RegExp(`base\\.yaml:${line}:\\d+: kubernetes\\.podSubnet: expected an IPv4 CIDR`));
  t.deepEqual(readFileSync(path.join(out, 'centos', 'manifest.json')), before);
  t.deepEqual(readdirSync(out), ['centos'], 'no temp directory left behind');
});

test('a pool build: each role carries the endpoint, its CA pin, the pool and its own token, only in secrets.json 0600', (t) => {
  const tokenFile = path.join(tempDir(), 'token');
  const cpTokenFile = path.join(tempDir(), 'cp-token');
  const tokens: Record<string, string> = { worker: `abcd1234.${'Q'.repeat(43)}`, 'control-plane': `cpcp5678.${'R'.repeat(43)}` };
  writeFileSync(tokenFile, `${tokens.worker}\n`);
  writeFileSync(cpTokenFile, `${tokens['control-plane']}\n`);
  const fingerprint = `sha256:${'c'.repeat(64)}`;
  const flags = ['--endpoint', 'https://10.0.0.5:8443', '--endpoint-ca-fingerprint', fingerprint, '--pool', 'lab', '--enrollment-token-file', tokenFile];
  // Without a control-plane token only the workers' configs are written: nothing a worker gets enrolls a control plane.
  const workersOnly = build('ubuntu', flags);
  t.deepEqual(readdirSync(workersOnly).filter((name) => name.includes('control-plane')), []);
  t.true(existsSync(path.join(workersOnly, 'user-data-worker.yaml')));
  const dir = build('ubuntu', [...flags, '--control-plane-token-file', cpTokenFile]);
  for (const role of ['control-plane', 'worker']) {
    const token = tokens[role] as string;
    const other = tokens[role === 'worker' ? 'control-plane' : 'worker'] as string;
    t.false(readFileSync(path.join(dir, `user-data-${role}.yaml`), 'utf8').includes(other), `${role} user-data carries the other role's token`);
    const file = path.join(dir, `user-data-${role}.yaml`);
    t.is(cloudInitSchema(file).code, 0, `${role} user-data passes cloud-init's schema`);
    const files = writeFilesOf(file);
    const node = JSON.parse(files.find((f) => f.path === '/etc/labimg/node.json')!.content);
    t.like(node, { role, pool: 'lab', endpoint: { url: 'https://10.0.0.5:8443', caFingerprint: fingerprint } });
    const secrets = files.find((f) => f.path === '/etc/labimg/secrets.json');
    t.is(secrets?.permissions, '0600');
    t.deepEqual(JSON.parse(secrets!.content), { enrollmentToken: token });
    t.is(statSync(file).mode & 0o777, 0o600);
    // The Ignition config is this instance's too: the token in it, mode 0600, and ignition-validate silent.
    const ignition = path.join(dir, `ignition-${role}.json`);
    t.is(statSync(ignition).mode & 0o777, 0o600);
    const ignitionSecrets = ignitionFile(ignition, '/etc/labimg/secrets.json');
    t.is(ignitionSecrets.mode, 0o600);
    t.deepEqual(JSON.parse(ignitionSecrets.content.toString('utf8')), { enrollmentToken: token });
    const validated = spawnSync('ignition-validate', [ignition], { encoding: 'utf8' });
    t.is(validated.status, 0, validated.stderr);
    t.is(validated.stdout + validated.stderr, '');
  }
  for (const token of Object.values(tokens)) {
    t.false(readFileSync(path.join(dir, 'agent.json'), 'utf8').includes(token));
    t.false(readFileSync(path.join(dir, 'manifest.json'), 'utf8').includes(token));
  }
});

test('a pool build with --identity: workers name their cloud and carry no token, a control plane still its own', (t) => {
  const cpTokenFile = path.join(tempDir(), 'cp-token');
  const cpToken = `cpcp5678.${'R'.repeat(43)}`;
  writeFileSync(cpTokenFile, `${cpToken}\n`);
  const fingerprint = `sha256:${'c'.repeat(64)}`;
  const flags = ['--endpoint', 'https://10.0.0.5:8443', '--endpoint-ca-fingerprint', fingerprint, '--pool', 'lab', '--identity', 'aws'];

  // Without a control-plane token only the workers' configs are written, and nothing in them is secret.
  const out = tempDir();
  const result = labimg(['build', 'ubuntu', '--out', out, ...flags]);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /pool lab: only workers' configs were written, since workers enroll by their aws identity document/);
  const workersOnly = path.join(out, 'ubuntu');
  t.deepEqual(filesIn(workersOnly).filter((name) => name.includes('control-plane')), []);
  for (const name of ['user-data-worker.yaml', 'user-data-worker-stub.yaml']) {
    const file = path.join(workersOnly, name);
    t.is(cloudInitSchema(file).code, 0, `${name} passes cloud-init's schema`);
    const files = writeFilesOf(file);
    t.like(JSON.parse(files.find((f) => f.path === '/etc/labimg/node.json')!.content), {
      role: 'worker',
      pool: 'lab',
      endpoint: { url: 'https://10.0.0.5:8443', caFingerprint: fingerprint, identity: { provider: 'aws' } },
    });
    t.false(files.some((f) => f.path === '/etc/labimg/secrets.json'), `${name} writes no secrets.json`);
    t.is(statSync(file).mode & 0o777, 0o644, `${name} holds no secret, so it is not 0600`);
    t.false(readFileSync(file, 'utf8').includes('enrollmentToken'));
  }
  const ignition = path.join(workersOnly, 'ignition-worker.json');
  t.is(statSync(ignition).mode & 0o777, 0o644);
  t.throws(() => ignitionFile(ignition, '/etc/labimg/secrets.json'), { message: /writes no \/etc\/labimg\/secrets\.json/ });
  t.like(JSON.parse(ignitionFile(ignition, '/etc/labimg/node.json').content.toString('utf8')), { endpoint: { identity: { provider: 'aws' } } });
  const pxeWorker = readFileSync(path.join(workersOnly, 'pxe/nodes/worker/user-data'), 'utf8');
  t.false(pxeWorker.includes('/etc/labimg/secrets.json') || pxeWorker.includes('enrollmentToken'), 'the PXE installer config carries no secret either');
  const manifest = JSON.parse(readFileSync(path.join(workersOnly, 'manifest.json'), 'utf8')) as Manifest;
  const workerFiles = manifest.files.filter((f) => f.name.includes('worker'));
  t.true(workerFiles.length >= 4);
  for (const file of workerFiles) t.is(file.mode, '0644', `${file.name}: the manifest lists it as holding no secret`);

  // With a control-plane token: the control plane's configs carry it (0600) and no identity; the workers' neither.
  const dir = build('ubuntu', [...flags, '--control-plane-token-file', cpTokenFile]);
  const cpFiles = writeFilesOf(path.join(dir, 'user-data-control-plane.yaml'));
  const cpNode = JSON.parse(cpFiles.find((f) => f.path === '/etc/labimg/node.json')!.content) as { endpoint: Record<string, unknown> };
  t.false('identity' in cpNode.endpoint, 'a control plane enrolls with its token');
  t.deepEqual(JSON.parse(cpFiles.find((f) => f.path === '/etc/labimg/secrets.json')!.content), { enrollmentToken: cpToken });
  t.is(statSync(path.join(dir, 'user-data-control-plane.yaml')).mode & 0o777, 0o600);
  for (const name of filesIn(dir).filter((n) => n.includes('worker') || n === 'agent.json' || n === 'manifest.json' || n.endsWith('.pkrvars.hcl'))) {
    t.false(readFileSync(path.join(dir, name), 'utf8').includes(cpToken), `${name} carries the control-plane token`);
  }
});

test('--identity excludes --enrollment-token-file, names its clouds, and goes with the other pool flags', (t) => {
  const out = tempDir();
  const tokenFile = path.join(out, 'token');
  writeFileSync(tokenFile, `abcd1234.${'Q'.repeat(43)}\n`);
  const pool = ['--endpoint', 'https://10.0.0.5:8443', '--endpoint-ca-fingerprint', `sha256:${'c'.repeat(64)}`, '--pool', 'lab'];
  const cases: Array<[string[], RegExp]> = [
    [[...pool, '--identity', 'aws', '--enrollment-token-file', tokenFile], /--identity and --enrollment-token-file exclude each other/],
    [[...pool, '--identity', 'gcp'], /--identity: expected aws or aliyun, .*got "gcp"/],
    [['--identity', 'aws', '--pool', 'lab'], /--endpoint, --endpoint-ca-fingerprint, --pool and --enrollment-token-file \(or --identity\) go together: give all four, or none/],
  ];
  for (const [args, message] of cases) {
    const result = labimg(['build', 'ubuntu', '--out', out, ...args]);
    t.is(result.code, 1, args.join(' '));
    t.regex(result.stderr, message);
  }
  t.false(existsSync(path.join(out, 'ubuntu')), 'nothing written');
});

test('bad pool input names the flag, never echoes the token, and writes nothing', (t) => {
  const out = tempDir();
  const tokenFile = path.join(out, 'token');
  writeFileSync(tokenFile, 'not-a-token-secretvalue');
  const good = ['--endpoint', 'https://10.0.0.5:8443', '--endpoint-ca-fingerprint', `sha256:${'c'.repeat(64)}`, '--pool', 'lab', '--enrollment-token-file', tokenFile];
  const cases: Array<[string[], RegExp]> = [
    [good, /--enrollment-token-file: .*token does not hold an enrollment token/],
    [good.map((a) => (a === 'https://10.0.0.5:8443' ? 'http://10.0.0.5:8443' : a)), /--endpoint: the endpoint is HTTPS only/],
    [good.map((a) => (a.startsWith('sha256:') ? 'sha256:XYZ' : a)), /--endpoint-ca-fingerprint: expected "sha256:" and 64 lowercase hex digits/],
    [good.map((a) => (a === 'lab' ? 'Lab_1' : a)), /--pool: expected a DNS label/],
    [good.slice(0, 4), /give all four, or none/],
  ];
  for (const [args, message] of cases) {
    const result = labimg(['build', 'ubuntu', '--out', out, ...args]);
    t.is(result.code, 1, args.join(' '));
    t.regex(result.stderr, message);
    t.false(result.stderr.includes('secretvalue'));
  }
  t.false(existsSync(path.join(out, 'ubuntu')), 'nothing written');
});

test('a user-data within a quarter of a limit it is meant for gets a warning: stubs for EC2 and Alibaba Cloud, full ones for the rest', (t) => {
  const file = (name: string, size: number) => ({ name, size, sha256: '', mode: '0644', userDataLimits: {} as never });
  const manifest: Manifest = {
    profile: 'p',
    labimgVersion: '0',
    files: [
      file('user-data-worker-stub.yaml', 12_000), // 75% of 16,000: not past it
      file('user-data-control-plane-stub.yaml', 12_300), // 77% of Alibaba Cloud's 16,000 and 75.1% of EC2's 16,383
      file('ignition-worker.json', 40_000), // 81% of OpenStack's 49,149; 61% of Azure's
      file('user-data-worker.yaml', 70_000), // past OpenStack's and Azure's
      { name: 'agent.json', size: 90_000, sha256: '', mode: '0644' }, // not user-data
    ],
  };
  t.deepEqual(userDataWarnings(manifest), [
    "user-data-control-plane-stub.yaml: 12,300 B is 75% of ec2's 16,383 B",
    "user-data-control-plane-stub.yaml: 12,300 B is 77% of aliyun's 16,000 B",
    "ignition-worker.json: 40,000 B is 81% of openstack's 49,149 B",
    "user-data-worker.yaml: 70,000 B is too big for openstack's 49,149 B",
    "user-data-worker.yaml: 70,000 B is too big for azure's 65,535 B",
  ]);
});

test('labimg build warns on stderr about each full user-data past a limit it is meant to fit', (t) => {
  const out = tempDir();
  const result = labimg(['build', 'ubuntu', '--out', out]);
  t.is(result.code, 0, result.stderr);
  const size = statSync(path.join(out, 'ubuntu', 'user-data-worker.yaml')).size;
  const expected = size > 49_149 ? `is too big for openstack's 49,149 B` : `is ${Math.round((size / 49_149) * 100)}% of openstack's 49,149 B`;
  const line = result.stderr.split('\n').find((text) => text.startsWith('warning: user-data-worker.yaml:') && text.includes("openstack's"));
  // Within a quarter of OpenStack's 49,149 B means past 36,861 B.
  t.is(line, size > 36_861 ? `warning: user-data-worker.yaml: ${size.toLocaleString('en-US')} B ${expected}` : undefined, result.stderr);
  t.false(result.stdout.includes('warning:'), 'warnings go to stderr');
});

/** A copy of the installed package (dist/ beside the shipped profiles), for a test that changes dist/. */
function packageCopy(): { cli: string; dist: string } {
  const root = tempDir();
  cpSync(path.join(repoRoot, 'dist'), path.join(root, 'dist'), { recursive: true });
  symlinkSync(path.join(repoRoot, 'profiles'), path.join(root, 'profiles'));
  return { cli: path.join(root, 'dist', 'labimg.js'), dist: path.join(root, 'dist') };
}

function buildWith(cli: string, profile: string): { code: number | null; stderr: string; out: string } {
  const out = tempDir();
  const result = spawnSync(process.execPath, [cli, 'build', profile, '--out', out], { encoding: 'utf8', env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' } });
  return { code: result.status, stderr: result.stderr, out: path.join(out, profile) };
}

test('the agent gzip a build carries is the bundle gzipped: the pair the bundler wrote, another consistent pair, never a stale one', (t) => {
  const { cli, dist } = packageCopy();
  const carriedAgent = (out: string) => gunzipSync(Buffer.from(writeFilesOf(path.join(out, 'user-data-worker.yaml')).find((f) => f.path.endsWith('/agent.js'))!.content, 'base64'));
  // As built: the digests the bundler recorded match both files.
  const shipped = buildWith(cli, 'ubuntu');
  t.is(shipped.code, 0, shipped.stderr);
  t.deepEqual(carriedAgent(shipped.out), readFileSync(path.join(dist, 'agent.js')));

  // An agent rebuilt on its own, with its own gzip: not the recorded pair, so the gzip is inflated and checked.
  const rebuilt = Buffer.concat([readFileSync(path.join(dist, 'agent.js')), Buffer.from('// rebuilt\n')]);
  writeFileSync(path.join(dist, 'agent.js'), rebuilt);
  writeFileSync(path.join(dist, 'agent.js.gz'), gzipSync(rebuilt, { level: 9 }));
  const consistent = buildWith(cli, 'ubuntu');
  t.is(consistent.code, 0, consistent.stderr);
  t.deepEqual(carriedAgent(consistent.out), rebuilt);

  // A gzip of another agent beside it: refused, whether the bundle or the gzip is the stale one.
  writeFileSync(path.join(dist, 'agent.js.gz'), gzipSync(readFileSync(agentPath), { level: 9 }));
  const staleGzip = buildWith(cli, 'ubuntu');
  t.is(staleGzip.code, 1);
  t.regex(staleGzip.stderr, /agent\.js\.gz is not .*agent\.js gzipped \(one of them is stale\)/);
  t.false(existsSync(staleGzip.out), 'nothing written');
  cpSync(path.join(repoRoot, 'dist', 'agent.js.gz'), path.join(dist, 'agent.js.gz'));
  const staleBundle = buildWith(cli, 'ubuntu');
  t.is(staleBundle.code, 1, 'the recorded gzip beside another bundle');
  t.regex(staleBundle.stderr, /one of them is stale/);
});
