/**
 * The seed lab (centos-gpu, Docker) under the aliyun mirror, on a fake machine with a GPU. Docker pulls only
 * Docker Hub through a mirror, so the tigera operator (quay.io) and NVIDIA's device plugin (nvcr.io) move
 * inside their manifests: the control plane downloads each from the mirror, moves its images and creates
 * the copy. The curl stand-in serves the manifests; the kubectl stand-in records what was created.
 */
import test from 'ava';
import type { AgentConfig } from '../contract/agent-config';
import { PATHS } from '../contract/node-paths';
import type { Scenario } from './helpers/agent-scenario';
import { runMirroredSeedLab } from './helpers/seed-lab';

interface KubeObject {
  kind: string;
  name: string;
  source: string;
  spec?: any;
}

let config: AgentConfig;
let scenario: Scenario;

test.before(async () => {
  ({ config, scenario } = await runMirroredSeedLab());
});

test.after.always(() => scenario?.machine.dispose());

const objects = () => scenario.machine.fakeState<KubeObject[]>('kube-objects') ?? [];

test('the agent finishes, and a second run changes nothing', (t) => {
  t.is(scenario.first.code, 0, scenario.first.stdout + scenario.first.stderr);
  t.is(scenario.second.code, 0, scenario.second.stderr);
  t.deepEqual(scenario.changesOnSecondRun, []);
});

test("the manifests are downloaded from the mirror, never from GitHub, and created from the node's copies", (t) => {
  const downloads = scenario.changes.filter((argv) => argv[0] === 'curl' && argv.some((arg) => arg.endsWith('.yaml') || arg.endsWith('.yml')));
  t.deepEqual(
    downloads.map((argv) => argv[argv.length - 1]),
    [config.cni.manifests[0]!.url, config.gpu!.devicePlugin!.manifests[0]!.url],
  );
  t.true(downloads.every((argv) => argv[argv.length - 1]!.startsWith('https://files.m.daocloud.io/raw.githubusercontent.com/')));
  const sources = new Set(objects().map((object) => object.source));
  t.false([...sources].some((source) => /^https?:/.test(source)), [...sources].join('\n'));
  t.true([...sources].some((source) => source.endsWith(`${PATHS.movedManifests}/cni-0-tigera-operator.moved.json`)));
});

test('the operator and the device plugin come from the mirror; Docker Hub is left to Docker', (t) => {
  const deployment = objects().find((object) => object.kind === 'Deployment' && object.name === 'tigera-operator');
  const pod = deployment?.spec.template.spec;
  t.is(pod?.containers[0].image, 'quay.m.daocloud.io/tigera/operator:v1.36.5');
  // Docker pulls Docker Hub through its registry-mirrors: busybox stays as the manifest names it.
  t.is(pod?.initContainers[0].image, 'busybox:1.36');
  // Any registry the mirror copies moves, not only the ones the addons are known to use.
  t.is(pod?.containers[2].image, 'registry.aliyuncs.com/google_containers/pause:3.10.1');
  const plugin = objects().find((object) => object.kind === 'DaemonSet');
  t.is(plugin?.spec.template.spec.containers[0].image, 'nvcr.m.daocloud.io/nvidia/k8s-device-plugin:v0.17.1');
  t.regex(scenario.first.stdout, /image quay\.io\/tigera\/operator:v1\.36\.5 → quay\.m\.daocloud\.io\/tigera\/operator:v1\.36\.5/);
});

test('the Installation is created after the operator, whose CRD it needs', (t) => {
  const kinds = objects().map((object) => object.kind);
  t.true(kinds.indexOf('Installation') > kinds.indexOf('CustomResourceDefinition'));
});
