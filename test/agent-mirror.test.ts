/**
 * The agent under a mirror: ubuntu2404 built with --mirror daocloud, run on a fake machine. kubeadm's stand-in
 * lists and pulls images as kubeadm does, so CoreDNS's path shows whether the mirrored config is right.
 */
import path from 'node:path';
import test from 'ava';
import { parse as parseToml } from 'smol-toml';
import type { NodeConfig } from '../contract/agent-config';
import { compileAgentConfig } from '../builder/compile';
import { loadProfile } from '../builder/profiles';
import { fixture, pinnedToFixtures } from './helpers/agent-machine';
import { documentOfKind, kubeadmDocuments, runScenario, type Scenario } from './helpers/agent-scenario';

let scenario: Scenario;

test.before(async () => {
  const config = pinnedToFixtures(compileAgentConfig(loadProfile('ubuntu2404', { dir: path.resolve(__dirname, '..', 'profiles'), mirror: 'daocloud' })));
  scenario = await runScenario({ config, node: fixture<NodeConfig>('node-control-plane') });
});

test.after.always(() => scenario?.machine.dispose());

test('the agent finishes, and a second run changes nothing', (t) => {
  t.is(scenario.first.code, 0, scenario.first.stderr);
  t.deepEqual(scenario.changesOnSecondRun, []);
});

test("kubeadm gets CoreDNS's repository on the mirror and pulls every image from it", (t) => {
  const cluster = documentOfKind(kubeadmDocuments(scenario.machine, 'init'), 'ClusterConfiguration');
  t.is(cluster.imageRepository, 'k8s.m.daocloud.io');
  t.deepEqual(cluster.dns, { imageRepository: 'k8s.m.daocloud.io/coredns' });
  const pulled = scenario.machine.fakeState<{ containerd: string[] }>('images')?.containerd ?? [];
  t.true(pulled.some((image) => /^k8s\.m\.daocloud\.io\/coredns\/coredns:v\d/.test(image)), pulled.join('\n'));
  t.true(pulled.length >= 7 && pulled.every((image) => image.startsWith('k8s.m.daocloud.io/')), pulled.join('\n'));
});

test('containerd pulls each registry through its DaoCloud host', (t) => {
  for (const [registry, mirror] of [['quay.io', 'https://quay.m.daocloud.io'], ['registry.k8s.io', 'https://k8s.m.daocloud.io'], ['docker.io', 'https://docker.m.daocloud.io']]) {
    const text = scenario.machine.read(`/etc/containerd/certs.d/${registry}/hosts.toml`);
    t.truthy(text, registry);
    t.deepEqual(Object.keys(parseToml(text!).host as object), [mirror]);
  }
  const config = parseToml(scenario.machine.read('/etc/containerd/config.toml')!) as { plugins: Record<string, any> };
  t.is(config.plugins['io.containerd.cri.v1.images'].pinned_images.sandbox, 'k8s.m.daocloud.io/pause:3.10.1');
});

test("apt's sources name the file proxy", (t) => {
  const list = scenario.machine.read('/etc/apt/sources.list.d/kubernetes.list') ?? '';
  t.regex(list, /https:\/\/files\.m\.daocloud\.io\/pkgs\.k8s\.io\/core:\/stable:\/v1\.35\/deb\//);
});
