/**
 * The agent must run on Node.js 16: CentOS 7's glibc 2.17 runs no official Node.js newer than that. This runs
 * the bundle under the very runtime the profiles pin (fetched and sha256-checked by
 * scripts/fetch-node-runtime.mjs, which the test command runs first), not merely an esbuild target setting.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { NodeConfig } from '../contract/agent-config';
import { REPO_ROOT } from './helpers/agent-build';
import { FakeMachine, fixture, profileConfig, seedCluster } from './helpers/agent-machine';
import { documentOfKind, kubeadmDocuments, runScenario } from './helpers/agent-scenario';
import { enrollBody, publishBody, send, startEndpoint } from './helpers/https-client';
import { RUN_COMPLETE_STEP } from '../contract/agent-config';
import { caFingerprintOf } from '../endpoint/pki';

const NODE16 = path.join(REPO_ROOT, '.cache', 'node-16.20.2', 'bin', 'node');

test.before(() => {
  if (!existsSync(NODE16)) throw new Error(`${NODE16} is missing: run "node scripts/fetch-node-runtime.mjs" (npm test does)`);
});

test('the pinned runtime really is Node.js 16', (t) => {
  t.is(spawnSync(NODE16, ['--version'], { encoding: 'utf8' }).stdout.trim(), 'v16.20.2');
});

test('under Node 16 the agent runs the whole centos-gpu lab on a GPU host, then changes nothing', async (t) => {
  const scenario = await runScenario({ config: profileConfig('centos-gpu'), node: fixture<NodeConfig>('node-control-plane'), gpu: true, nodeBinary: NODE16 });
  t.teardown(() => scenario.machine.dispose());
  t.is(scenario.first.code, 0, scenario.first.stdout + scenario.first.stderr);
  t.regex(scenario.first.stdout, /kubeadm-init/);
  t.true(scenario.changes.some((argv) => argv[0] === 'kubeadm' && argv[1] === 'init'));
  t.is(scenario.second.code, 0, scenario.second.stderr);
  t.deepEqual(scenario.changesOnSecondRun, []);
});

for (const [name, kubernetes, configVersion, kubeadmApi] of [
  ['rocky9-gpu', '1.35', 3, 'v1beta4'],
  ['ubuntu2404-gpu', '1.35', 3, 'v1beta4'],
  // debian12 runs its agent on this very Node 16 tarball, on Docker's containerd.io 2.x.
  ['debian12-gpu', '1.35', 3, 'v1beta4'],
  ['ubuntu-gpu', '1.28', 2, 'v1beta3'],
] as const) {
  test(`under Node 16 the agent runs the whole ${name} lab (Kubernetes ${kubernetes}, containerd config version ${configVersion}), then changes nothing`, async (t) => {
    const scenario = await runScenario({ config: profileConfig(name), node: fixture<NodeConfig>('node-control-plane'), gpu: true, nodeBinary: NODE16 });
    t.teardown(() => scenario.machine.dispose());
    t.is(scenario.first.code, 0, scenario.first.stdout + scenario.first.stderr);
    t.regex(readFileSync(scenario.machine.path('/etc/containerd/config.toml'), 'utf8'), new RegExp(`^version = ${configVersion}$`, 'm'));
    const init = documentOfKind(kubeadmDocuments(scenario.machine, 'init'), 'InitConfiguration');
    t.is(init.apiVersion, `kubeadm.k8s.io/${kubeadmApi}`);
    t.is(scenario.second.code, 0, scenario.second.stderr);
    t.deepEqual(scenario.changesOnSecondRun, []);
  });
}

test('under Node 16 a worker enrolls over the pinned connection, joins with published material and reports every step', async (t) => {
  const e = await startEndpoint();
  t.teardown(async () => {
    await e.close();
    rmSync(e.dataDir, { recursive: true, force: true });
  });
  await e.registry.createPool('lab', 'ubuntu');
  const { token: cpToken } = await e.registry.createToken('lab', { role: 'control-plane', uses: 1 });
  const { token } = await e.registry.createToken('lab', { role: 'worker' });
  const enrolled = await send(e.port, { method: 'POST', path: '/v1/enroll', token: cpToken, json: enrollBody('cp-1', 'control-plane') });
  // The control plane's material: its token, and the pin of the CA its kubeadm init wrote (the fixture CA).
  const published = { ...publishBody(), caCertHashes: ['sha256:36523713f9926ca2e3a80b456e5265720cf3c5cb4fea999f5cb7f3773bcd9294'] };
  t.is((await send(e.port, { method: 'PUT', path: '/v1/nodes/cp-1/join-material', token: (enrolled.json as { credential: string }).credential, json: published })).status, 204);

  const node: NodeConfig = {
    apiVersion: 'labimg.dev/v1',
    kind: 'NodeConfig',
    role: 'worker',
    pool: 'lab',
    nodeName: 'w-16',
    endpoint: { url: `https://127.0.0.1:${e.port}`, caFingerprint: caFingerprintOf(e.ca.certPem) },
  };
  const machine = await FakeMachine.create({ config: profileConfig('ubuntu'), node, secrets: { enrollmentToken: token }, nodeBinary: NODE16 });
  t.teardown(() => machine.dispose());
  // The cluster behind that material: it issued the published token.
  seedCluster(machine.cluster, [published.token]);
  const run = await machine.runAgent(['run']);
  t.is(run.code, 0, run.stdout + run.stderr);

  const discovery = documentOfKind(kubeadmDocuments(machine, 'join'), 'JoinConfiguration').discovery.bootstrapToken as Record<string, unknown>;
  t.is(discovery.token, published.token);
  t.deepEqual(discovery.caCertHashes, published.caCertHashes);
  const state = JSON.parse(machine.read('/var/lib/labimg/state.json') ?? '{}') as { outboxSeq: number };
  const reports = await e.registry.reports('w-16');
  t.is(reports.length, state.outboxSeq);
  t.true(reports.some((r) => r.step === RUN_COMPLETE_STEP && r.status === 'done'));
});
