/**
 * The self-joining pool, end to end over real sockets and real processes: `labimg serve`, one control-plane
 * agent and 20 worker agents, each its own process with its own temp root and kubeadm stand-in. Nobody types
 * `kubeadm join`: the control plane publishes join material, the workers enroll with the pool token, wait for
 * it, and join. In the middle the endpoint is killed with SIGKILL and started again on the same data; every
 * report written before and after must end up in the store exactly once.
 *
 * Node credentials live 20 s here (30 days by default), so the nodes renew them while the pool forms: in their
 * boot runs when a request comes past half the lifetime (a renewal that falls in the outage is tried again once
 * the endpoint is back), else through their refresh timer (`agent.js refresh`: each worker's fires once its
 * renewal is due; the control plane's runs every 3 s once its boot is done, as systemd would every 15 min).
 *
 * Run twice: with the default file store and with etcd (a real etcd started by the test).
 */
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { caCertHash } from '../agent/kubeadm/ca-cert-hash';
import type { NodeConfig } from '../contract/agent-config';
import { RUN_COMPLETE_STEP } from '../contract/agent-config';
import { Registry } from '../endpoint/registry';
import { EtcdStore } from '../endpoint/store/etcd-store';
import { FileStore } from '../endpoint/store/file-store';
import { tempDir } from './helpers/cli';
import { startEtcd } from './helpers/etcd';
import { createPool, createPoolToken, startServe, type RunningServe, type ServeOptions } from './helpers/endpoint';
import { FakeMachine, profileConfig, type AgentRun } from './helpers/agent-machine';
import { documentOfKind, kubeadmDocuments } from './helpers/agent-scenario';

const WORKERS = 20;
const PROFILE = 'ubuntu';
const CREDENTIAL_TTL = ['--credential-ttl', '20s'];

interface Member {
  name: string;
  machine: FakeMachine;
  run?: Promise<AgentRun>;
}

function nodeConfig(name: string, role: NodeConfig['role'], serve: RunningServe): NodeConfig {
  return {
    apiVersion: 'labimg.dev/v1',
    kind: 'NodeConfig',
    role,
    pool: 'lab',
    nodeName: name,
    ...(role === 'control-plane' ? { advertiseAddress: '10.0.0.10' } : {}),
    endpoint: { url: serve.url, caFingerprint: serve.caFingerprint },
  };
}

/** An instance of the pool's image with its own identity, as an autoscaling group launches it. */
function launch(image: FakeMachine, name: string, role: NodeConfig['role'], serve: RunningServe, token: string): Member {
  return { name, machine: FakeMachine.fromImage(image, { node: nodeConfig(name, role, serve), secrets: { enrollmentToken: token } }) };
}

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function agentFailure(m: Member, run: AgentRun): string {
  return `${m.name} exited ${run.code} (${run.signal ?? 'no signal'}):\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`;
}

/** `agent.js refresh` every `intervalMs`, as the timer runs it, until stopped; stop() waits for a run under way. */
function refreshTimer(m: Member, intervalMs: number): { runs: AgentRun[]; stop(): Promise<void> } {
  const runs: AgentRun[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      runs.push(await m.machine.runAgent(['refresh']));
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    runs,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/**
 * A node's refresh timer, firing once its credential's renewal is due (by its credential file), until the node
 * has renewed it. On a loaded machine a node can be idle long enough for its 20-second credential to expire;
 * then its first firing enrolls it again (with its token, as the README says) and a later one renews.
 */
async function refreshUntilRenewed(m: Member, registry: Registry, tries = 3): Promise<AgentRun[]> {
  const runs: AgentRun[] = [];
  for (let i = 0; i < tries; i += 1) {
    const held = JSON.parse(m.machine.read('/var/lib/labimg/credential.json') ?? '{}') as { renewAfter?: string };
    const wait = Date.parse(held.renewAfter ?? '') - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait + 100));
    runs.push(await m.machine.runAgent(['refresh']));
    if ((await registry.auditTrail()).some((e) => e.action === 'credential-rotated' && e.node === m.name)) break;
  }
  return runs;
}

async function poolScenario(t: ExecutionContext, options: Omit<ServeOptions, 'port'>): Promise<void> {
  const store = { ...options, extraArgs: CREDENTIAL_TTL };
  let serve = await startServe(store);
  const token = createPool(store, 'lab', PROFILE);
  // The control plane's own token, from the README's command: the workers' enrolls workers only.
  const controlPlaneToken = createPoolToken(store, 'lab', ['--role', 'control-plane']);
  // The test reads the same store the endpoint writes (a dynamic import, as openStore does, stalls in ava's workers).
  const registryStore = store.etcd ? new EtcdStore({ endpoints: [store.etcd], prefix: store.etcdPrefix }) : new FileStore(store.data);
  const registry = new Registry(registryStore);
  const members: Member[] = [];
  // One image for the whole pool, baked once (packages, runtime, images), as Packer would.
  const image = await FakeMachine.create({ config: profileConfig(PROFILE) });
  try {
    const bake = await image.runAgent(['run', '--phase', 'bake']);
    t.is(bake.code, 0, bake.stderr);
    const controlPlane = launch(image, 'cp-1', 'control-plane', serve, controlPlaneToken);
    const workers = Array.from({ length: WORKERS }, (_, i) => launch(image, `worker-${String(i + 1).padStart(2, '0')}`, 'worker', serve, token));
    members.push(controlPlane, ...workers);

    // Everyone boots at once, as a freshly scaled pool does: the workers wait for the control plane.
    for (const m of members) m.run = m.machine.runAgent(['run', '--phase', 'boot']);
    // The control plane's refresh timer, once its boot run has let go of the agent lock.
    const timer = (controlPlane.run as Promise<AgentRun>).then(() => refreshTimer(controlPlane, 3_000));

    // The outage: once join material is out and reports are flowing, kill -9 the endpoint, then bring it back.
    await waitFor('join material and the first reports', async () => (await registry.joinMaterial('lab')) !== undefined);
    const before = (await registry.fleet()).nodes.length;
    await serve.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    serve = await startServe({ ...store, port: serve.port });
    t.log(`endpoint killed with SIGKILL and restarted with ${before} nodes enrolled`);

    const runs = await Promise.all(members.map(async (m) => ({ m, run: await (m.run as Promise<AgentRun>) })));
    for (const { m, run } of runs) t.is(run.code, 0, agentFailure(m, run));
    const bootsDone = Date.now();
    const workerTimers = (await Promise.all(workers.map(async (m) => (await refreshUntilRenewed(m, registry)).map((run) => ({ m, run }))))).flat();
    for (const { m, run } of workerTimers) t.is(run.code, 0, agentFailure(m, run));
    const timerRuns = await timer;
    await waitFor('the control plane renewing its credential through its timer', async () =>
      (await registry.auditTrail()).some((e) => e.action === 'credential-rotated' && e.node === controlPlane.name),
    );
    await timerRuns.stop();
    for (const run of timerRuns.runs) t.is(run.code, 0, agentFailure(controlPlane, run));

    // Every node renewed its credential during the run, and holds the one the endpoint takes now.
    const audit = await registry.auditTrail();
    const rotated = new Set(audit.filter((e) => e.action === 'credential-rotated').map((e) => e.node));
    const duringBoot = new Set(audit.filter((e) => e.action === 'credential-rotated' && Date.parse(e.at) < bootsDone).map((e) => e.node));
    t.log(`${audit.filter((e) => e.action === 'credential-rotated').length} credential rotations, ${duringBoot.size} nodes in their boot runs; the control plane's timer ran ${timerRuns.runs.length} times`);
    for (const m of members) {
      t.true(rotated.has(m.name), `${m.name} renewed its credential`);
      const held = JSON.parse(m.machine.read('/var/lib/labimg/credential.json') ?? '{}') as { credential: string };
      t.is((await registry.node(m.name))?.credentialSha256, sha256(held.credential), `${m.name} holds its current credential`);
    }
    const enrolledBy = audit.filter((e) => e.action === 'node-enrolled').map((e) => e.node);
    t.is(enrolledBy.filter((name) => name === controlPlane.name).length, 1, 'the control plane never had to enroll again');

    // Every worker joined with the control plane's current token and the hash of its real CA.
    const issued = controlPlane.machine.fakeState<Array<{ token: string }>>('bootstrap-tokens');
    t.is(issued.length, 1, 'one token created and published');
    const current = issued[issued.length - 1]?.token;
    const caHash = caCertHash(controlPlane.machine.read('/etc/kubernetes/pki/ca.crt') ?? '');
    for (const w of workers) {
      const joins = w.machine.fakeState<Array<{ command: string }>>('kubeadm-configs').filter((c) => c.command === 'join');
      t.is(joins.length, 1, `${w.name} ran kubeadm join once`);
      const discovery = documentOfKind(kubeadmDocuments(w.machine, 'join'), 'JoinConfiguration').discovery.bootstrapToken as Record<string, unknown>;
      t.is(discovery.token, current, `${w.name} joined with the published token`);
      t.deepEqual(discovery.caCertHashes, [caHash], `${w.name} pinned the cluster CA`);
      t.is(discovery.apiServerEndpoint, '10.0.0.10:6443');
      t.falsy(discovery.unsafeSkipCAVerification);
    }

    // Every report the agents wrote is in the store, exactly once; the outboxes are empty.
    for (const m of members) {
      const state = JSON.parse(m.machine.read('/var/lib/labimg/state.json') ?? '{}') as { outboxSeq: number };
      const reports = await registry.reports(m.name);
      const stored = reports.map((r) => `${r.step}:${r.status}`).join(' ');
      t.is(reports.length, state.outboxSeq, `${m.name}: every report written is stored once; stored: ${stored}`);
      t.is(new Set(reports.map((r) => r.id)).size, reports.length);
      t.deepEqual(readdir(m.machine.path('/var/lib/labimg/outbox')), [], `${m.name}: outbox delivered`);
      t.true(reports.some((r) => r.step === RUN_COMPLETE_STEP && r.status === 'done'), `${m.name} reported completion`);
    }
    const fleet = await registry.fleet();
    t.is(fleet.nodes.length, WORKERS + 1);
    t.true(fleet.nodes.every((n) => n.ready && n.pool === 'lab'), 'every node is ready in the fleet view');

    // Join material was issued only to enrolled nodes, and every issuance is in the audit trail.
    const issuedTo = new Set((await registry.auditTrail()).filter((e) => e.action === 'join-material-issued').map((e) => e.node));
    t.deepEqual([...issuedTo].sort(), workers.map((w) => w.name).sort());

    // The refresh timer's job: with the token near expiry, `agent.js refresh` makes and publishes a new one,
    // and a worker booted afterwards joins with it.
    const published = controlPlane.machine.path('/var/lib/labimg/join-published.json');
    const record = JSON.parse(readFileSync(published, 'utf8')) as { tokenExpires: string };
    record.tokenExpires = new Date(Date.now() + 30 * 60_000).toISOString();
    controlPlane.machine.write('/var/lib/labimg/join-published.json', JSON.stringify(record), 0o600);
    const refresh = await controlPlane.machine.runAgent(['refresh']);
    t.is(refresh.code, 0, agentFailure(controlPlane, refresh));
    const tokens = controlPlane.machine.fakeState<Array<{ token: string; ttl: string }>>('bootstrap-tokens');
    t.is(tokens.length, 2, 'refresh created a second token');
    t.is(tokens[1]?.ttl, '7200s');
    t.is((await registry.joinMaterial('lab'))?.token, tokens[1]?.token);
    const late = launch(image, 'worker-late', 'worker', serve, token);
    members.push(late);
    const lateRun = await late.machine.runAgent(['run', '--phase', 'boot']);
    t.is(lateRun.code, 0, agentFailure(late, lateRun));
    t.is(documentOfKind(kubeadmDocuments(late.machine, 'join'), 'JoinConfiguration').discovery.bootstrapToken.token, tokens[1]?.token);

    // No secret reached a log: not the enrollment token, not a bootstrap token, not a node credential.
    const logs = [serve.output(), ...runs.map(({ run }) => run.stdout + run.stderr), ...[...timerRuns.runs, ...workerTimers.map(({ run }) => run)].map((run) => run.stdout + run.stderr), refresh.stdout + refresh.stderr].join('\n');
    t.false(logs.includes(token), 'the enrollment token never appears in a log');
    for (const m of members) t.false(logs.includes((JSON.parse(m.machine.read('/var/lib/labimg/credential.json') ?? '{}') as { credential: string }).credential), `${m.name}'s credential never appears in a log`);
    for (const { token: bootstrap } of tokens) t.false(logs.includes(bootstrap), 'no bootstrap token appears in a log');
  } finally {
    await serve.kill();
    await registryStore.close();
    for (const m of members) m.machine.dispose();
    image.dispose();
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function readdir(dir: string): string[] {
  try {
    return require('node:fs').readdirSync(dir) as string[];
  } catch {
    return [];
  }
}

test.serial('20 workers join a pool through the endpoint, across a kill -9 of it (file store)', async (t) => {
  t.timeout(600_000);
  const data = tempDir('labimg-endpoint-');
  try {
    await poolScenario(t, { data });
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});

test.serial('the same pool joins with the endpoint keeping its state in etcd', async (t) => {
  t.timeout(600_000);
  const etcd = await startEtcd();
  const data = tempDir('labimg-endpoint-');
  try {
    await poolScenario(t, { data: path.join(data, 'unused'), etcd: etcd.url, etcdPrefix: 'pool-test/' });
  } finally {
    await etcd.stop();
    rmSync(data, { recursive: true, force: true });
  }
});
