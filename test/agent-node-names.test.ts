/**
 * What a node is called when nothing names it by hand (node.json's nameFrom, builder/node-naming.ts): its cloud
 * instance id from a stand-in metadata service, or a name derived from /etc/machine-id that systemd's own
 * `systemd-id128 machine-id --app-specific` agrees with; and what a build writes for each profile setting.
 */
import test, { type ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { load } from 'js-yaml';
import { validateNodeConfig, ConfigError } from '../agent/config/load';
import { instanceIdentity, type MetadataOptions } from '../agent/endpoint/instance-metadata';
import { RealHost } from '../agent/host/real-host';
import { silentLogger } from '../agent/log';
import { machineIdName } from '../agent/machine-name';
import { withInstanceName } from '../agent/node-identity';
import { MACHINE_NAME_APP_ID, type NodeConfig } from '../contract/agent-config';
import { labimg, repoRoot, tempDir } from './helpers/cli';
import { makeMetadataSigner, startMetadataService, type IdentityFields } from './helpers/instance-metadata';

const QUICK: MetadataOptions = { timeoutMs: 500, firstDelayMs: 10, maxDelayMs: 40, deadlineMs: 600 };
const INSTANCE: IdentityFields = { instanceId: 'i-0fedcba9876543210', accountId: '123456789012', region: 'us-east-1', imageId: 'ami-0123456789abcdef0', pendingTime: '2026-12-06T08:00:00Z' };
const signer = makeMetadataSigner('Amazon Web Services LLC');

function hostWithMachineId(machineId: string): RealHost {
  const host = new RealHost(tempDir(), silentLogger);
  mkdirSync(`${host.root}/etc`, { recursive: true });
  writeFileSync(`${host.root}/etc/machine-id`, `${machineId}\n`);
  return host;
}

function worker(nameFrom: NodeConfig['nameFrom']): NodeConfig {
  return { apiVersion: 'labimg.dev/v1', kind: 'NodeConfig', role: 'worker', ...(nameFrom ? { nameFrom } : {}) };
}

/** An HTTP server that answers everything with `status`, as a metadata service turned off answers 403. */
async function refusingService(t: ExecutionContext, status: number): Promise<string> {
  const server = http.createServer((_req, res) => res.writeHead(status).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test('the machine-id name is "node-" and the first 16 hex digits of what systemd-id128 derives for labimg', (t) => {
  // This machine's own id: systemd-id128 reads /etc/machine-id and nothing else.
  t.true(existsSync('/etc/machine-id'), 'the test machine has a machine id');
  const machineId = readFileSync('/etc/machine-id', 'utf8').trim();
  const systemd = spawnSync('systemd-id128', ['machine-id', `--app-specific=${MACHINE_NAME_APP_ID}`], { encoding: 'utf8' });
  t.is(systemd.status, 0, systemd.stderr);
  return machineIdName(hostWithMachineId(machineId)).then((name) => {
    t.is(name, `node-${systemd.stdout.trim().slice(0, 16)}`);
    t.false(name.includes(machineId.slice(0, 16)), 'the machine id itself is not exposed');
  });
});

test('two machines get two names; a machine without an id yet gets an error, not a made-up name', async (t) => {
  const a = await machineIdName(hostWithMachineId(randomBytes(16).toString('hex')));
  const b = await machineIdName(hostWithMachineId(randomBytes(16).toString('hex')));
  t.regex(a, /^node-[0-9a-f]{12}4[0-9a-f]{3}$/);
  t.not(a, b);
  // An image's bake leaves /etc/machine-id empty; systemd fills it at first boot.
  await t.throwsAsync(machineIdName(hostWithMachineId('')), { message: /\/etc\/machine-id holds no machine id/ });
});

test('nameFrom instance-id: the instance id; a service that refuses (403) or is not there: the machine-id name', async (t) => {
  const host = hostWithMachineId(randomBytes(16).toString('hex'));
  const machineName = await machineIdName(host);
  const service = await startMetadataService({ provider: 'aws', signer, identity: INSTANCE });
  t.teardown(() => service.close());
  const lookup = (source: Parameters<typeof instanceIdentity>[0]) => instanceIdentity(source, QUICK);

  const fromCloud = await withInstanceName(worker({ from: 'instance-id', provider: 'aws', metadataUrl: service.url }), silentLogger, host, lookup);
  t.is(fromCloud.nodeName, INSTANCE.instanceId);

  const turnedOff = await withInstanceName(worker({ from: 'instance-id', provider: 'aws', metadataUrl: await refusingService(t, 403) }), silentLogger, host, lookup);
  t.is(turnedOff.nodeName, machineName);

  const closed = await refusingService(t, 200).then(async (url) => url.replace(/:\d+$/, ':9')); // port 9 (discard): nothing listens
  const absent = await withInstanceName(worker({ from: 'instance-id', provider: 'aws', metadataUrl: closed }), silentLogger, host, lookup);
  t.is(absent.nodeName, machineName);

  t.is((await withInstanceName(worker({ from: 'machine-id' }), silentLogger, host)).nodeName, machineName);
  t.is((await withInstanceName(worker(undefined), silentLogger, host)).nodeName, undefined, 'no nameFrom: the hostname, as before');
});

test('a node enrolled by identity document does not fall back: the endpoint binds its name to the instance', async (t) => {
  const host = hostWithMachineId(randomBytes(16).toString('hex'));
  const url = await refusingService(t, 403);
  const node: NodeConfig = { ...worker({ from: 'machine-id' }), pool: 'lab', endpoint: { url: 'https://10.0.0.5:8443', caFingerprint: `sha256:${'c'.repeat(64)}`, identity: { provider: 'aws', metadataUrl: url } } };
  await t.throwsAsync(withInstanceName(node, silentLogger, host, (source) => instanceIdentity(source, QUICK)), { message: /HTTP 403/ });
});

test('node.json: nameFrom is checked, the error naming the file and the field', (t) => {
  const bad = (nameFrom: unknown) => t.throws(() => validateNodeConfig({ ...worker(undefined), nameFrom }, '/etc/labimg/node.json'), { instanceOf: ConfigError });
  t.regex(bad('instance-id').message, /\/etc\/labimg\/node\.json: nameFrom\.from must be "instance-id" or "machine-id", got "instance-id"/);
  t.regex(bad({ from: 'instance-id', provider: 'gcp' }).message, /nameFrom\.provider must be "aws" or "aliyun", got "gcp"/);
  t.regex(bad({ from: 'instance-id', provider: 'aws', metadataUrl: 'ftp://x' }).message, /nameFrom\.metadataUrl must be an http or https URL/);
  t.notThrows(() => validateNodeConfig({ ...worker(undefined), nameFrom: { from: 'instance-id', provider: 'aliyun' } }, 'node.json'));
});

// ---- what a build writes ----

function builtNode(profilesDir: string | undefined, profile: string, extra: string[], role = 'worker'): { code: number; stderr: string; node?: NodeConfig } {
  const out = tempDir();
  const run = labimg(['build', profile, '--out', out, ...(profilesDir ? ['--profiles', profilesDir] : []), ...extra]);
  if (run.code !== 0) return { code: run.code, stderr: run.stderr };
  const userData = load(readFileSync(`${out}/${profile}/user-data-${role}.yaml`, 'utf8')) as { write_files: Array<{ path: string; content: string }> };
  const file = userData.write_files.find((f) => f.path === '/etc/labimg/node.json');
  return { code: 0, stderr: run.stderr, node: JSON.parse(file!.content) as NodeConfig };
}

function profileDir(nodeName: string): string {
  const dir = tempDir();
  cpSync(`${repoRoot}/profiles`, dir, { recursive: true });
  writeFileSync(`${dir}/named.yaml`, `extends: ubuntu2204\ndescription: Ubuntu 22.04 whose nodes are named after ${nodeName}\nkubernetes:\n  nodeName: ${nodeName}\n`);
  return dir;
}

test('build: a profile naming nodes after the machine id writes nameFrom into node.json; hostname writes none', (t) => {
  const machine = builtNode(profileDir('machine-id'), 'named', []);
  t.is(machine.code, 0, machine.stderr);
  t.deepEqual(machine.node?.nameFrom, { from: 'machine-id' });
  const plain = builtNode(undefined, 'ubuntu2204', []);
  t.is(plain.code, 0, plain.stderr);
  t.is(plain.node?.nameFrom, undefined);
});

test('build: instance-id needs a cloud to ask, and says how to give one', (t) => {
  const run = builtNode(profileDir('instance-id'), 'named', []);
  t.is(run.code, 1);
  t.regex(run.stderr, /^labimg: profile named names nodes after their instance id \(kubernetes\.nodeName: instance-id\): say which cloud with --autoscaling aws\|aliyun or --identity aws\|aliyun/);
});
