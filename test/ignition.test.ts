import { DELIVERY_PATHS, PATHS } from '../contract/node-paths';
import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { type Role } from '../contract/agent-config';
import { nodeConfigFor, ROLES, secretsFor } from '../builder/build';
import { compileAgentConfig, nodeRuntimeOf } from '../builder/compile';
import { listProfiles, loadProfile } from '../builder/profiles';
import { toJsonFile, toNodeJsonFile, type NodeInputs } from '../builder/render/node-files';
import { renderIgnitionConfig, type IgnitionConfig, type IgnitionFile } from '../builder/render/ignition';
import { renderSystemdUnit } from '../builder/render/systemd-unit';
import { agentPath, repoRoot, tempDir } from './helpers/cli';
import { fakeNodeTarball } from './helpers/node-tarball';

const profilesDir = path.join(repoRoot, 'profiles');
const PROFILES = listProfiles(profilesDir).filter((p) => !p.abstract).map((p) => p.name);
/** The Ignition that Debian's `ignition` package puts into initramfs images; the same build as ignition-validate. */
const IGNITION = '/usr/lib/dracut/modules.d/30ignition/ignition';

const join = { apiServerEndpoint: '10.0.0.10:6443', caCertHashes: [`sha256:${'a'.repeat(64)}`], token: 'q7x2k9.m4n8p1r5t3v6w0y2' };
const enrollment = { url: 'https://10.0.0.5:8443', caFingerprint: `sha256:${'c'.repeat(64)}`, pool: 'lab', tokens: { worker: 'enrollment-token-for-ignition-test', 'control-plane': 'control-plane-token-for-ignition-test' } };

function agentBundle(): Buffer {
  if (!existsSync(agentPath)) throw new Error(`${agentPath} is missing: the test command builds it first (npm test)`);
  return readFileSync(agentPath);
}

const compiled = new Map<string, Pick<NodeInputs, 'agentConfig' | 'nodeRuntime'>>();

function inputsFor(profileName: string, role: Role, withSecrets: boolean): NodeInputs {
  let fromProfile = compiled.get(profileName);
  if (!fromProfile) {
    const profile = loadProfile(profileName, { dir: profilesDir });
    fromProfile = { agentConfig: compileAgentConfig(profile), nodeRuntime: nodeRuntimeOf(profile) };
    compiled.set(profileName, fromProfile);
  }
  return {
    ...fromProfile,
    node: withSecrets ? nodeConfigFor(role, join, enrollment) : nodeConfigFor(role),
    secrets: withSecrets ? secretsFor(role, join, enrollment) : undefined,
    agentBundle: agentBundle(),
  };
}

/**
 * `ignition-validate` refuses what it cannot parse or check (exit 1), but only warns, with exit 0, on a key
 * it does not know. So a config passes only with exit 0 AND no output at all.
 */
function validate(config: string): { passes: boolean; output: string } {
  const file = path.join(tempDir('labimg-ign-'), 'config.ign');
  writeFileSync(file, config);
  const result = spawnSync('ignition-validate', [file], { encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw new Error(`ignition-validate could not run (is Debian's ignition package installed?): ${result.error.message}`);
  const output = `${result.stdout}${result.stderr}`;
  return { passes: result.status === 0 && output === '', output: `exit ${result.status}: ${output}` };
}

/** RFC 2397: `data:[<mediatype>][;base64],<data>`, the data percent-encoded unless base64. */
function decodeDataUrl(url: string): Buffer {
  const match = /^data:([^,]*),(.*)$/s.exec(url);
  if (!match) throw new Error(`not a data URL: ${url.slice(0, 60)}`);
  const [, meta, data] = match as unknown as [string, string, string];
  if (meta.endsWith(';base64')) return Buffer.from(data, 'base64');
  return Buffer.from(data.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
}

/** The bytes Ignition writes for an inline file: the data URL decoded, then gunzipped when it says gzip. */
function landedBytes(file: IgnitionFile): Buffer {
  const raw = decodeDataUrl(file.contents.source);
  return file.contents.compression === 'gzip' ? gunzipSync(raw) : raw;
}

/** Every object in the config that names a `source`, wherever the spec allows one. */
function sources(value: unknown): Array<{ source: string; verification?: { hash?: string } }> {
  if (Array.isArray(value)) return value.flatMap(sources);
  if (value === null || typeof value !== 'object') return [];
  const found = Object.values(value).flatMap(sources);
  return 'source' in value ? [value as { source: string }, ...found] : found;
}

for (const profile of PROFILES) {
  test(`Ignition config of ${profile}: ignition-validate passes it silently, for both roles, with and without secrets`, (t) => {
    for (const role of ROLES) {
      for (const withSecrets of [false, true]) {
        const result = validate(renderIgnitionConfig(inputsFor(profile, role, withSecrets)));
        t.true(result.passes, `${role}${withSecrets ? ' with secrets' : ''}: ${result.output}`);
      }
    }
  });

  test(`Ignition config of ${profile}: decodes to the agent, its config, the installer and the enabled unit`, (t) => {
    for (const role of ROLES) {
      for (const withSecrets of [false, true]) {
        const inputs = inputsFor(profile, role, withSecrets);
        const text = renderIgnitionConfig(inputs);
        t.true(text.endsWith('}\n'));
        const config = JSON.parse(text) as IgnitionConfig;
        t.is(config.ignition.version, '3.3.0');
        const files = new Map(config.storage.files.map((file) => [file.path, file]));
        const bytes = (file: string): Buffer => landedBytes(files.get(file)!);

        t.is(files.get(PATHS.agentBundle)?.contents.compression, 'gzip');
        t.deepEqual(bytes(PATHS.agentBundle), inputs.agentBundle);
        t.deepEqual(JSON.parse(bytes(PATHS.agentConfig).toString('utf8')), inputs.agentConfig);
        t.deepEqual(JSON.parse(bytes(PATHS.nodeConfig).toString('utf8')), inputs.node);
        t.is(files.get(DELIVERY_PATHS.nodeInstaller)?.mode, 0o755);
        t.true(bytes(DELIVERY_PATHS.nodeInstaller).toString('utf8').startsWith('#!/bin/sh\n'));

        const secrets = files.get(PATHS.nodeSecrets);
        if (withSecrets) {
          t.is(secrets?.mode, 384);
          t.deepEqual(JSON.parse(bytes(PATHS.nodeSecrets).toString('utf8')), inputs.secrets);
        } else {
          t.is(secrets, undefined, 'no secrets file without secrets');
        }
        // Nothing but the secrets file carries a token.
        const others = config.storage.files.filter((file) => file.path !== PATHS.nodeSecrets && file.contents.source.startsWith('data:'));
        for (const file of others) {
          const text = landedBytes(file).toString('utf8');
          t.false(Object.values(enrollment.tokens).some((token) => text.includes(token)) || text.includes(join.token), file.path);
        }

        t.deepEqual(config.systemd.units, [{ name: 'labimg-agent.service', enabled: true, contents: renderSystemdUnit() }]);

        // Everything remote has its sha256: Node.js, and where there are no packages the Kubernetes binaries.
        const expected = [
          ...(inputs.nodeRuntime.source === 'tarball' ? [{ source: inputs.nodeRuntime.url, sha256: inputs.nodeRuntime.sha256 }] : []),
          ...(inputs.agentConfig.kubernetes.binaries ?? []).map((binary) => ({ source: binary.url, sha256: binary.sha256 })),
        ];
        const remote = sources(config).filter(({ source }) => /^https?:/.test(source));
        t.deepEqual(remote.map(({ source, verification }) => ({ source, sha256: verification?.hash?.replace(/^sha256-/, '') })), expected);
        for (const binary of inputs.agentConfig.kubernetes.binaries ?? []) t.is(files.get(binary.path)?.mode, 0o755, binary.path);
        t.is(files.get(DELIVERY_PATHS.nodeTarball)?.contents.compression, undefined, 'the hash is of the tarball as served');
      }
    }
  });
}

test('the same inputs give byte-identical Ignition configs', (t) => {
  const inputs = inputsFor('centos-gpu', 'worker', true);
  t.is(renderIgnitionConfig(inputs), renderIgnitionConfig({ ...inputs, agentBundle: Buffer.from(inputs.agentBundle) }));
});

test('ignition-validate is a real check: what it refuses or warns about fails', (t) => {
  const good = JSON.parse(renderIgnitionConfig(inputsFor('ubuntu', 'worker', true))) as IgnitionConfig;
  // `any`: the point is to write what the types forbid.
  const broken: Array<[string, (config: any) => void, RegExp]> = [
    ['spec 3.4.0 (newer than 2.14 knows)', (c) => (c.ignition.version = '3.4.0'), /unsupported config version/],
    ['spec 3.0.0 (sha256 hashes need 3.1.0)', (c) => (c.ignition.version = '3.0.0'), /unrecognized hash function/],
    ['a mode as a string', (c) => (c.storage.files[0].mode = '0644'), /cannot unmarshal string/],
    ['an unknown key (a warning, exit 0)', (c) => (c.systemd.units[0].enable = true), /^exit 0: warning .*Unused key enable/],
  ];
  for (const [name, breakIt, says] of broken) {
    const config = structuredClone(good);
    breakIt(config);
    const result = validate(toJsonFile(config));
    t.false(result.passes, name);
    t.regex(result.output, says, name);
  }
});

/** Serves `body` on loopback for as long as `use` runs. */
async function serving<T>(body: Buffer, use: (url: string) => Promise<T>): Promise<T> {
  const server = createServer((_, response) => response.end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await use(`http://127.0.0.1:${(server.address() as AddressInfo).port}/node.tgz`);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * Runs Ignition's fetch and files stages on `config` with a temp directory as the root, as the initramfs
 * would on first boot. Debian builds Ignition to relabel for SELinux afterwards: the root gets a policy-less
 * SELinux config and `setfiles` is a stand-in that does nothing (nothing of ours is about SELinux).
 */
async function runIgnition(config: string): Promise<{ root: string; ok: boolean; errors: string }> {
  const work = tempDir('labimg-ignition-');
  const root = path.join(work, 'root');
  const stubs = path.join(work, 'bin');
  mkdirSync(path.join(root, 'etc/selinux'), { recursive: true });
  writeFileSync(path.join(root, 'etc/selinux/config'), 'SELINUX=disabled\nSELINUXTYPE=targeted\n');
  mkdirSync(stubs);
  writeFileSync(path.join(stubs, 'setfiles'), '#!/bin/sh\ncat >/dev/null\n', { mode: 0o755 });
  writeFileSync(path.join(work, 'config.ign'), config);
  const common = ['-platform', 'file', '-log-to-stdout', '-config-cache', path.join(work, 'cache.json'), '-state-file', path.join(work, 'state'), '-neednet', path.join(work, 'neednet')];
  const env = { ...process.env, IGNITION_CONFIG_FILE: path.join(work, 'config.ign'), PATH: `${stubs}:${process.env.PATH}` };
  try {
    for (const stage of [['-stage', 'fetch'], ['-stage', 'files', '-root', root]]) {
      await promisify(execFile)(IGNITION, [...stage, ...common], { env, timeout: 60_000, maxBuffer: 64 << 20 });
    }
    return { root, ok: true, errors: '' };
  } catch (error) {
    const output = `${(error as { stdout?: string }).stdout ?? ''}${(error as Error).message}`;
    return { root, ok: false, errors: output.split('\n').filter((line) => line.startsWith('CRITICAL')).join('\n') || output.slice(0, 2000) };
  }
}

test("Ignition itself lands every file, fetches the Node.js tarball against its hash, and install-node.sh uses it", async (t) => {
  const tarball = fakeNodeTarball();
  const served = readFileSync(tarball.file);
  const inputs = inputsFor('ubuntu', 'worker', true);
  const { root, ok, errors } = await serving(served, (url) => runIgnition(renderIgnitionConfig({ ...inputs, nodeRuntime: { source: 'tarball', version: '16.20.2', url, sha256: tarball.sha256 } })));
  t.true(ok, errors);

  const at = (file: string): string => path.join(root, file);
  const mode = (file: string): number => statSync(at(file)).mode & 0o777;
  t.deepEqual(readFileSync(at(PATHS.agentBundle)), inputs.agentBundle);
  t.is(readFileSync(at(PATHS.agentConfig), 'utf8'), toNodeJsonFile(inputs.agentConfig));
  t.is(readFileSync(at(PATHS.nodeConfig), 'utf8'), toNodeJsonFile(inputs.node));
  t.is(readFileSync(at(PATHS.nodeSecrets), 'utf8'), toNodeJsonFile(inputs.secrets));
  t.is(mode(PATHS.nodeSecrets), 0o600);
  t.is(mode(DELIVERY_PATHS.nodeInstaller), 0o755);
  t.is(readFileSync(at(DELIVERY_PATHS.systemdUnit), 'utf8'), renderSystemdUnit());
  t.regex(readFileSync(at('etc/systemd/system-preset/20-ignition.preset'), 'utf8'), /^enable labimg-agent\.service$/m);
  t.deepEqual(readFileSync(at(DELIVERY_PATHS.nodeTarball)), served);

  // The server is gone: the installer can only succeed from what Ignition put on the node.
  const installer = spawnSync('sh', [at(DELIVERY_PATHS.nodeInstaller)], {
    encoding: 'utf8',
    env: { ...process.env, LABIMG_NODE_DIR: at(PATHS.nodeRuntimeDir), LABIMG_NODE_TARBALL: at(DELIVERY_PATHS.nodeTarball) },
  });
  t.is(installer.status, 0, installer.stderr);
  t.is(spawnSync(at(`${PATHS.nodeRuntimeDir}/bin/node`), { encoding: 'utf8' }).stdout.trim(), 'v16.20.2');
  t.false(existsSync(at(DELIVERY_PATHS.nodeTarball)));
});

test('Ignition refuses a Node.js tarball whose sha256 differs from the profile, and writes none', async (t) => {
  const tarball = fakeNodeTarball();
  const wrong = createHash('sha256').update('something else').digest('hex');
  const inputs = inputsFor('ubuntu', 'worker', false);
  const { root, ok, errors } = await serving(readFileSync(tarball.file), (url) => runIgnition(renderIgnitionConfig({ ...inputs, nodeRuntime: { source: 'tarball', version: '16.20.2', url, sha256: wrong } })));
  t.false(ok);
  t.regex(errors, /hash verification failed/);
  t.false(existsSync(path.join(root, DELIVERY_PATHS.nodeTarball)));
});

/** Serves each path's body on loopback for as long as `use` runs; 404 for anything else. */
async function servingFiles<T>(bodies: Record<string, Buffer>, use: (base: string) => Promise<T>): Promise<T> {
  const server = createServer((request, response) => {
    const body = bodies[request.url ?? ''];
    if (body) response.end(body);
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await use(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

const sha256Of = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** flatcar's inputs with Node.js, the Kubernetes binaries and (for a stub) the agent served from `base`. */
function flatcarServed(base: string, bodies: Record<string, Buffer>, pins: Record<string, string> = {}): NodeInputs {
  const inputs = inputsFor('flatcar', 'control-plane', true);
  const binaries = (inputs.agentConfig.kubernetes.binaries ?? []).map((binary) => {
    const route = `/${binary.name}`;
    return { ...binary, url: `${base}${route}`, sha256: pins[route] ?? sha256Of(bodies[route]!) };
  });
  return {
    ...inputs,
    agentConfig: { ...inputs.agentConfig, kubernetes: { ...inputs.agentConfig.kubernetes, binaries } },
    nodeRuntime: { source: 'tarball', version: '16.20.2', url: `${base}/node.tgz`, sha256: sha256Of(bodies['/node.tgz']!) },
  };
}

test('flatcar: Ignition fetches kubelet, kubeadm and kubectl into /opt/bin (0755) against their sha256, and a stub fetches the agent too', async (t) => {
  const bodies: Record<string, Buffer> = {
    '/node.tgz': readFileSync(fakeNodeTarball().file),
    '/agent.js': agentBundle(),
    ...Object.fromEntries(['kubeadm', 'kubelet', 'kubectl'].map((name) => [`/${name}`, Buffer.from(`#!/bin/sh\n# ${name} as dl.k8s.io would serve it\n`)])),
  };
  const { root, ok, errors, stub } = await servingFiles(bodies, async (base) => {
    const inputs = flatcarServed(base, bodies);
    const stub = renderIgnitionConfig(inputs, { url: `${base}/agent.js`, sha256: sha256Of(bodies['/agent.js']!), unverifiedTransport: false });
    return { ...(await runIgnition(stub)), stub };
  });
  t.true(ok, errors);
  t.true(Buffer.byteLength(stub) <= 16_384, `the stub is ${Buffer.byteLength(stub)} B, over EC2's 16,384`);
  t.true(validate(stub).passes);
  for (const name of ['kubeadm', 'kubelet', 'kubectl']) {
    const file = path.join(root, 'opt/bin', name);
    t.deepEqual(readFileSync(file), bodies[`/${name}`], name);
    t.is(statSync(file).mode & 0o777, 0o755, name);
  }
  t.deepEqual(readFileSync(path.join(root, PATHS.agentBundle)), bodies['/agent.js'], 'the stub fetched the agent');
});

test('flatcar: Ignition refuses a Kubernetes binary that is not the pinned file, and writes none', async (t) => {
  const bodies: Record<string, Buffer> = {
    '/node.tgz': readFileSync(fakeNodeTarball().file),
    ...Object.fromEntries(['kubeadm', 'kubelet', 'kubectl'].map((name) => [`/${name}`, Buffer.from(`#!/bin/sh\n# ${name}\n`)])),
  };
  const { root, ok, errors } = await servingFiles(bodies, (base) => runIgnition(renderIgnitionConfig(flatcarServed(base, bodies, { '/kubelet': sha256Of(Buffer.from('the real kubelet')) }))));
  t.false(ok);
  t.regex(errors, /hash verification failed/);
  t.false(existsSync(path.join(root, 'opt/bin/kubelet')));
});
