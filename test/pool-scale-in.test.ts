/**
 * An autoscaling pool without a cloud: ten instances of one baked image, each with its own stand-in instance
 * metadata service on loopback (IMDSv2: the token PUT, then the identity document), enroll through a real
 * `labimg serve` with the pool's worker token, join the cluster (the kubeadm stand-in) and get distinct names,
 * their instance ids, from the node.json and secrets.json in the user-data of the launch template that
 * `labimg build --autoscaling aws` writes (what EC2 would hand each instance). Then the group scales in: five
 * machines power off, and each tells the endpoint it is leaving (`agent.js leave`, labimg-leave.service's stop);
 * one reboots and one has its unit stopped by hand, and those send nothing. The fleet shows five departed.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { nodeConfigFor } from '../builder/build';
import { LEAVING_STEP, RUN_COMPLETE_STEP, type NodeConfig, type NodeSecrets } from '../contract/agent-config';
import { Registry } from '../endpoint/registry';
import { FileStore } from '../endpoint/store/file-store';
import { FakeMachine, profileConfig, type AgentRun } from './helpers/agent-machine';
import { documentOfKind, kubeadmDocuments } from './helpers/agent-scenario';
import { labimg, tempDir } from './helpers/cli';
import { createPool, createPoolToken, startServe } from './helpers/endpoint';
import { makeMetadataSigner, startMetadataService, type MetadataStandIn } from './helpers/instance-metadata';

const INSTANCES = 10;
const LEAVING = 5;
const PROFILE = 'ubuntu';
const signer = makeMetadataSigner('Amazon Web Services LLC');

interface Instance {
  id: string;
  metadata: MetadataStandIn;
  machine: FakeMachine;
}

function failure(name: string, run: AgentRun): string {
  return `${name} exited ${run.code} (${run.signal ?? 'no signal'}):\n${run.stdout.slice(-3000)}\n${run.stderr.slice(-2000)}`;
}

/** node.json and secrets.json as the launch template's user-data writes them on every instance of the group. */
function launchTemplateFiles(launchTemplate: string): { node: NodeConfig; secrets: NodeSecrets } {
  const template = JSON.parse(readFileSync(launchTemplate, 'utf8')) as { LaunchTemplateData: { UserData: string } };
  const userData = load(Buffer.from(template.LaunchTemplateData.UserData, 'base64').toString('utf8')) as { write_files: Array<{ path: string; content: string }> };
  const file = (at: string) => JSON.parse(userData.write_files.find((f) => f.path === at)?.content ?? 'null') as unknown;
  return { node: file('/etc/labimg/node.json') as NodeConfig, secrets: file('/etc/labimg/secrets.json') as NodeSecrets };
}

/** A shutdown in progress, as systemd has queued it when labimg-leave.service's ExecStop runs. */
function queueShutdown(machine: FakeMachine, target: 'poweroff.target' | 'reboot.target'): void {
  const service = target === 'poweroff.target' ? 'systemd-poweroff.service' : 'systemd-reboot.service';
  machine.writeFakeState('jobs', [
    { id: 1207, unit: target, type: 'start', state: 'waiting' },
    { id: 1208, unit: service, type: 'start', state: 'waiting' },
    { id: 1311, unit: 'labimg-leave.service', type: 'stop', state: 'running' },
  ]);
}

test('ten instances enroll and join under their instance ids; five power off and the fleet shows them departed', async (t) => {
  const store = { data: tempDir() };
  const serve = await startServe(store);
  const registryStore = new FileStore(store.data);
  const registry = new Registry(registryStore);
  const workerToken = createPool(store, 'lab', PROFILE);
  const controlPlaneToken = createPoolToken(store, 'lab', ['--role', 'control-plane']);
  const enrollment = { url: serve.url, caFingerprint: serve.caFingerprint, pool: 'lab', tokens: { 'control-plane': controlPlaneToken } };
  // The group's launch template, as the README's command line writes it.
  const out = tempDir();
  const tokenFile = path.join(out, 'worker.token');
  writeFileSync(tokenFile, `${workerToken}\n`, { mode: 0o600 });
  const build = labimg(['build', PROFILE, '--out', out, '--endpoint', serve.url, '--endpoint-ca-fingerprint', serve.caFingerprint, '--pool', 'lab', '--enrollment-token-file', tokenFile,
    '--autoscaling', 'aws', '--instance-type', 'm5.large', '--image-id', 'ami-0123456789abcdef0']);
  t.is(build.code, 0, build.stderr);
  const launched = launchTemplateFiles(path.join(out, PROFILE, 'autoscaling', 'aws-launch-template.json'));
  t.deepEqual(launched.node.nameFrom, { from: 'instance-id', provider: 'aws' });
  t.is(launched.node.nodeName, undefined);
  const instances: Instance[] = [];
  const image = await FakeMachine.create({ config: profileConfig(PROFILE) });
  let controlPlane: FakeMachine | undefined;
  try {
    const bake = await image.runAgent(['run', '--phase', 'bake']);
    t.is(bake.code, 0, bake.stderr);
    controlPlane = FakeMachine.fromImage(image, {
      node: { ...nodeConfigFor('control-plane', undefined, enrollment), nodeName: 'cp-1', advertiseAddress: '10.0.0.10' },
      secrets: { enrollmentToken: controlPlaneToken },
    });
    for (let i = 0; i < INSTANCES; i += 1) {
      const id = `i-0${randomBytes(8).toString('hex')}`;
      const metadata = await startMetadataService({ provider: 'aws', signer, identity: { instanceId: id, accountId: '123456789012', region: 'us-east-1', imageId: 'ami-0123456789abcdef0' } });
      t.teardown(() => metadata.close());
      // The one thing a test changes: where the metadata service is (on EC2, 169.254.169.254).
      const node: NodeConfig = { ...launched.node, nameFrom: { from: 'instance-id', provider: 'aws', metadataUrl: metadata.url } };
      const machine = FakeMachine.fromImage(image, { node, secrets: launched.secrets });
      // Each instance's own machine id, as systemd writes it at first boot into the emptied file.
      machine.write('/etc/machine-id', `${randomBytes(16).toString('hex')}\n`, 0o444);
      instances.push({ id, metadata, machine });
    }

    // The whole group boots at once with the control plane.
    const runs = await Promise.all([controlPlane, ...instances.map((i) => i.machine)].map((machine) => machine.runAgent(['run', '--phase', 'boot'])));
    runs.forEach((run, i) => t.is(run.code, 0, failure(i === 0 ? 'cp-1' : (instances[i - 1] as Instance).id, run)));

    // Distinct names, each its instance's id: in the endpoint's fleet, in kubeadm's registration, asked with a token.
    const fleet = await registry.fleet();
    t.deepEqual(fleet.nodes.map((n) => n.node).sort(), ['cp-1', ...instances.map((i) => i.id)].sort());
    for (const instance of instances) {
      const registration = documentOfKind(kubeadmDocuments(instance.machine, 'join'), 'JoinConfiguration').nodeRegistration as { name?: string };
      t.is(registration.name, instance.id, `${instance.id} registered under its instance id`);
      const asked = instance.metadata.requests.map((r) => `${r.method} ${r.path} ${r.status}`);
      t.deepEqual(asked.slice(0, 2), ['PUT /latest/api/token 200', 'GET /latest/dynamic/instance-identity/document 200'], 'IMDSv2: a session token first');
      t.like(instance.machine.fakeState<Record<string, { enabled: boolean; active: boolean }>>('units')['labimg-leave'], { enabled: true, active: true });
    }
    t.true(fleet.nodes.every((n) => n.ready), 'every node completed');

    // Scale-in: five power off. One more reboots, and one has its unit stopped by hand: neither is leaving.
    const leaving = instances.slice(0, LEAVING);
    const [rebooting, stoppedByHand] = instances.slice(LEAVING, LEAVING + 2) as [Instance, Instance];
    for (const instance of leaving) queueShutdown(instance.machine, 'poweroff.target');
    queueShutdown(rebooting.machine, 'reboot.target');
    const requestsBefore = instances.map((i) => i.metadata.requests.length);
    const stops = await Promise.all([...leaving, rebooting, stoppedByHand].map((i) => i.machine.runAgent(['leave'])));
    stops.forEach((run, i) => t.is(run.code, 0, failure(`stop ${i}`, run)));
    for (const [i, instance] of leaving.entries()) t.regex(stops[i]?.stdout ?? '', new RegExp(`told ${serve.url.replace(/[.]/g, '\\.')} that ${instance.id} is leaving`));
    t.regex(stops[LEAVING]?.stdout ?? '', /not powering off/);
    t.regex(stops[LEAVING + 1]?.stdout ?? '', /not powering off/);
    t.deepEqual(instances.map((i) => i.metadata.requests.length), requestsBefore, 'leaving asks no metadata service: the name is the enrolled one');

    const after = await registry.fleet();
    const left = after.nodes.filter((n) => n.step === LEAVING_STEP && n.status === 'done').map((n) => n.node).sort();
    t.deepEqual(left, leaving.map((i) => i.id).sort(), 'the five that powered off, and only they, left');
    t.deepEqual(after.nodes.filter((n) => n.state === 'departed').map((n) => n.node).sort(), left);
    for (const instance of [rebooting, stoppedByHand]) {
      const node = after.nodes.find((n) => n.node === instance.id);
      t.is(node?.step, RUN_COMPLETE_STEP);
      t.is(node?.state, 'ready');
    }

    // What the operator sees: five departed, apart from the failed (none) and hidden until asked for.
    const nodes = labimg(['nodes', '--data', store.data]);
    t.is(nodes.code, 0, nodes.stderr);
    t.regex(nodes.stdout, /11 nodes: 6 ready, 0 failed, 0 in progress, 0 enrolled without a report, 5 departed\. Pools: lab 6 \(\+5 departed\)\./);
    for (const instance of leaving) t.false(nodes.stdout.includes(instance.id), `${instance.id} is not listed without --departed`);
    const all = labimg(['nodes', '--departed', '--data', store.data]);
    for (const instance of leaving) t.regex(all.stdout, new RegExp(`^${instance.id} .* departed `, 'm'));

    // A leaving report is one more report: the credential, the node's own name, no secret in the log.
    const stopLogs = stops.map((run) => run.stdout + run.stderr).join('\n');
    t.false(stopLogs.includes(workerToken));
    for (const instance of leaving) {
      const held = JSON.parse(instance.machine.read('/var/lib/labimg/credential.json') ?? '{}') as { credential: string };
      t.false(stopLogs.includes(held.credential));
    }
  } finally {
    await serve.kill();
    await registryStore.close();
    controlPlane?.dispose();
    for (const instance of instances) instance.machine.dispose();
    image.dispose();
  }
});
