/**
 * A pool that forms a cluster through the endpoint: one control plane and three workers, all booted with
 * `labimg boot` from the same baked image with their role's user-data from one pool, offline but for the
 * endpoint, on a network they share (`--lan`: qemu's multicast socket, a second NIC beside the user-mode one).
 *
 *   - The control plane advertises its address on that network (`--advertise-network`), not the 10.0.2.15
 *     every VM has on its own user-mode network, publishes join material with it, and stays up (its checker is
 *     held) while the workers join; its bootstrap tokens live 6 minutes (`--bootstrap-token-ttl 6m`), so its
 *     refresh timer publishes a new one during the run.
 *   - Two workers boot at once: one takes the join material from the endpoint and joins (kubeadm's token
 *     discovery against the control plane's API server, over the shared network); the other was given join
 *     material by hand with another cluster's CA pin, as an operator pasting the wrong `kubeadm join` line
 *     would, and fails with kubeadm's message, which the endpoint has in its failed report.
 *   - Once the endpoint holds a rotated token, a third worker boots and joins with that one.
 */
import test, { type ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadAll } from 'js-yaml';
import { RUN_COMPLETE_STEP } from '../contract/agent-config';
import { repoRoot, tempDir } from '../test/helpers/cli';
import { freePort } from '../test/helpers/endpoint';
import { bakedImage } from './helpers/bake';
import { bootVm, type BootRun } from './helpers/boot-vm';
import { bootImage, type BootImage } from './helpers/image';
import {
  CONTROL_PLANE_LAN_IP,
  heldChecker,
  JoinMaterialWatch,
  joinedTokenId,
  LAN_NETWORK,
  lanAddress,
  lanGroup,
  otherClusterCaHash,
  release,
  RELEASE_PORT_IN_GUEST,
  workerChecker,
} from './helpers/pool-cluster';
import { bootReports, statusesByStep } from './helpers/reports';
import { startWorld, type World } from './helpers/world';

const CACHE = path.join(repoRoot, '.cache', 'e2e');
const POOL = 'e2e-pool';
const TOKEN_TTL = '6m';

let image: BootImage;
let world: World;
let disk: string;
let watch: JoinMaterialWatch;
const group = lanGroup();
const phases: Record<string, number> = {};
const started = Date.now();
let controlPlane: { run: Promise<BootRun>; done?: BootRun; releasePort: number } | undefined;
const workers = new Map<string, BootRun>();

function boot(t: ExecutionContext, name: string, flags: string[], checker: string): Promise<BootRun> {
  return bootVm({ profileFile: world.profileFile, image, name, disk, flags, checker, onLine: (line) => t.log(`${name}: ${line}`) });
}

/** A worker on the pool's network; workers take one vCPU each, so four VMs share this host's cores less badly. */
function workerFlags(host: number, extra: string[] = []): string[] {
  return [...world.offlineFlags(POOL), '--role', 'worker', '--cpus', '1', '--lan', group, '--lan-address', lanAddress(host), ...extra];
}

const seconds = (from: number) => Math.round((Date.now() - from) / 1000);

/** The worker's reports at the endpoint, step by step. */
async function reported(node: string): Promise<Map<string, string[]>> {
  return statusesByStep(await bootReports(world.data, node));
}

test.before(async (t) => {
  image = bootImage();
  world = await startWorld();
  const bakeStarted = Date.now();
  const baked = await bakedImage(image, world.build(), CACHE, [world.filesForward]);
  disk = baked.disk;
  phases.bake = seconds(bakeStarted);
  t.log(`baked image: ${baked.bake ? `baked in ${phases.bake} s` : 'from the cache'}`);
  watch = new JoinMaterialWatch(world.data, POOL);
});

test.after.always(async (t) => {
  watch?.stop();
  // A test that failed half-way leaves the control plane held: let it go, so no VM outlives the run.
  if (controlPlane && !controlPlane.done) await release(controlPlane.releasePort, 30_000).catch(() => undefined);
  await controlPlane?.run.catch(() => undefined);
  await world?.close();
  t.log(`phases (s): ${JSON.stringify(phases)}; whole file ${seconds(started)} s`);
});

test.serial('pool: the control plane advertises its shared-network address and publishes it with a token', async (t) => {
  const releasePort = await freePort();
  const flags = [
    ...world.offlineFlags(POOL),
    '--lan', group, '--lan-address', lanAddress(10),
    '--advertise-network', LAN_NETWORK,
    '--bootstrap-token-ttl', TOKEN_TTL,
    '--host-forward', `${releasePort}=${RELEASE_PORT_IN_GUEST}`,
  ];
  const bootStarted = Date.now();
  const run = boot(t, 'pool-cp', flags, heldChecker());
  controlPlane = { run, releasePort };
  let ended = false;
  void run.then(() => (ended = true));
  const first = await watch.until(1, 30 * 60_000, () => ended);
  phases.controlPlaneToPublished = seconds(bootStarted);
  t.log(`control plane: join material at the endpoint ${phases.controlPlaneToPublished} s after boot`);
  t.is(first.apiServerEndpoint, `${CONTROL_PLANE_LAN_IP}:6443`, 'the API server on the shared network, not 10.0.2.15');
  t.regex(first.caCertHashes[0] ?? '', /^sha256:[a-f0-9]{64}$/);
  const ttlMs = Date.parse(first.tokenExpires) - first.seenAt;
  // Measured against the guest's clock (tokenExpires) and this host's (seenAt): a few seconds apart at most.
  t.true(ttlMs > 4 * 60_000 && ttlMs <= 6.5 * 60_000, `the token expires ${Math.round(ttlMs / 1000)} s after the endpoint had it, not about 6 minutes`);
});

test.serial('pool: a worker joins with what the endpoint hands it; one given another cluster\'s CA pin fails with kubeadm\'s message', async (t) => {
  const first = watch.seen[0];
  if (!first) return t.fail('no join material: the control plane test failed');
  // The wrong worker's join material, pasted by hand: this cluster's API server and a real token of it, but the
  // CA pin of another cluster.
  const tokenFile = path.join(tempDir('labimg-e2e-pasted-'), 'bootstrap.token');
  writeFileSync(tokenFile, `${watch.currentToken}\n`, { mode: 0o600 });
  const wrongPin = otherClusterCaHash();
  const pasted = ['--join-api-server', `${CONTROL_PLANE_LAN_IP}:6443`, '--join-ca-cert-hash', wrongPin, '--join-token-file', tokenFile];
  const workersStarted = Date.now();
  const [joined, wrong] = await Promise.all([
    boot(t, 'pool-w1', workerFlags(11), workerChecker()),
    boot(t, 'pool-w-wrong-ca', workerFlags(12, pasted), workerChecker()),
  ]);
  phases.twoWorkers = seconds(workersStarted);
  workers.set('pool-w1', joined);
  t.log(`two workers at once: ${phases.twoWorkers} s (pool-w1 done at ${joined.agentDoneAt} s, pool-w-wrong-ca off after ${Math.round(wrong.seconds)} s)`);

  t.is(joined.code, 0, `${joined.stdout}\nconsole: ${joined.serialLog}`);
  t.is(joined.facts?.agent.activeState, 'active', `console: ${joined.serialLog}`);
  t.true(joined.facts?.calls.some((call) => call.startsWith('kubeadm join --config')), 'kubeadm join ran');
  t.is(joined.facts?.kubelet.active, 'active', 'the kubelet runs after the join');
  t.true(watch.seen.some((seen) => seen.tokenId === joinedTokenId(joined.serialLog)), 'pool-w1 joined with a token the endpoint handed out');
  const joinedReports = await reported('pool-w1');
  t.deepEqual(joinedReports.get('kubeadm-join'), ['started', 'done']);
  t.deepEqual(joinedReports.get(RUN_COMPLETE_STEP), ['done'], 'pool-w1 reported its final phase');

  // kubeadm's own words (token.go validateClusterCA via test/fake-bin/lib/cluster-info.js), naming the real CA's pin.
  const message = `couldn't validate the identity of the API Server: cluster CA found in cluster-info ConfigMap is invalid: none of the public keys "${first.caCertHashes[0]}" are pinned`;
  t.not(wrong.code, 0, 'labimg boot says the agent failed');
  t.regex(wrong.stdout, /kubeadm-join FAILED: /, 'labimg boot shows the failed step');
  const wrongReports = await bootReports(world.data, 'pool-w-wrong-ca');
  const failed = wrongReports.find((report) => report.step === 'kubeadm-join' && report.status === 'failed');
  t.truthy(failed, `the endpoint has no failed kubeadm-join report: ${JSON.stringify(statusesByStep(wrongReports).get('kubeadm-join'))}`);
  t.true(failed?.error?.includes(message), `the failed report says: ${failed?.error}`);
  t.false(wrongReports.some((report) => report.step === RUN_COMPLETE_STEP), 'the wrong worker never reported its final phase');
  t.is(wrong.facts?.agent.activeState, 'failed', "the wrong worker's agent unit failed");
  t.false(wrong.facts?.agentState?.steps['kubeadm-join']?.status === 'done', 'the wrong worker did not join');
});

test.serial('pool: the control plane rotates its token during the run, and a worker booted after that joins with the new one', async (t) => {
  const first = watch.seen[0];
  if (!first) return t.fail('no join material: the control plane test failed');
  const rotationWait = Date.now();
  const rotated = await watch.until(2, 10 * 60_000);
  phases.waitForRotation = seconds(rotationWait);
  t.log(`rotation: token ${rotated.tokenId} at the endpoint ${Math.round((rotated.seenAt - first.seenAt) / 1000)} s after the first`);
  t.not(rotated.tokenId, first.tokenId);
  t.is(rotated.apiServerEndpoint, first.apiServerEndpoint);

  const lateStarted = Date.now();
  const late = await boot(t, 'pool-w-late', workerFlags(13), workerChecker());
  phases.lateWorker = seconds(lateStarted);
  t.is(late.code, 0, `${late.stdout}\nconsole: ${late.serialLog}`);
  const lateToken = joinedTokenId(late.serialLog);
  const rotatedIds = watch.seen.slice(1).map((seen) => seen.tokenId);
  t.true(lateToken !== undefined && rotatedIds.includes(lateToken), `pool-w-late joined with token ${lateToken}, not one published after the rotation (${rotatedIds.join(', ')})`);
  t.deepEqual((await reported('pool-w-late')).get(RUN_COMPLETE_STEP), ['done']);

  // The control plane goes down when the test is done with it: its facts, then power-off.
  const releaseAt = Date.now();
  await release(controlPlane!.releasePort);
  const cp = await controlPlane!.run;
  controlPlane!.done = cp;
  phases.controlPlaneRelease = seconds(releaseAt);
  t.is(cp.code, 0, `${cp.stdout}\nconsole: ${cp.serialLog}`);
  const init = (loadAll(cp.facts?.initConfig ?? '') as Array<Record<string, any>>).find((doc) => doc?.kind === 'InitConfiguration');
  t.is(init?.localAPIEndpoint?.advertiseAddress, CONTROL_PLANE_LAN_IP, 'kubeadm init was told the shared-network address');
  const creates = cp.facts?.calls.filter((call) => call.startsWith('kubeadm token create')) ?? [];
  t.true(creates.length >= 2, `kubeadm token create ran ${creates.length} times`);
  t.true(creates.every((call) => call.includes('--ttl 360s')), creates.join('\n'));
  t.is(cp.facts?.refreshTimer, 'active');
  t.log(`phases (s): ${JSON.stringify(phases)}`);
});
