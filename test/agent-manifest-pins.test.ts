/**
 * Calico and the device plugin are created with cluster-admin, so the node creates them only from the bytes the
 * profile pins: on a fake machine whose network serves a manifest that is not the pinned file, the download is
 * removed and kubectl never reads it, nor creates anything of it.
 *
 * The shipped profiles pin the upstream files (FACTS.md says where each sha256 comes from); this network is a
 * stand-in serving test/fixtures/manifests, so the configs here are pinned to those fixtures (profileConfig).
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import type { NodeConfig } from '../contract/agent-config';
import { FakeMachine, fixture, profileConfig, profileDownloads, shippedConfig } from './helpers/agent-machine';

const controlPlane = fixture<NodeConfig>('node-control-plane');

test('the configs the agent tests run pin each manifest to the fixture served at its URL, and only the pins differ from the shipped ones', (t) => {
  const shipped = shippedConfig('rocky9-gpu');
  const config = profileConfig('rocky9-gpu');
  const served = profileDownloads(config);
  const manifests = [...config.cni.manifests, ...config.gpu!.devicePlugin!.manifests];
  t.is(manifests.length, 3);
  for (const { url, sha256 } of manifests) t.is(sha256, createHash('sha256').update(served[url]!).digest('hex'), url);
  const withoutPins = (c: typeof config) => JSON.parse(JSON.stringify(c).replace(/"sha256":"[a-f0-9]{64}"/g, '"sha256":""')) as unknown;
  t.deepEqual(withoutPins(config), withoutPins(shipped));
  t.notDeepEqual(config.cni.manifests, shipped.cni.manifests, 'the shipped pins are of the upstream files, not the fixtures');
});

test('a Calico manifest that is not the pinned file is removed before kubectl sees it, and nothing is created', async (t) => {
  const config = profileConfig('debian12');
  const [crds, operator] = config.cni.manifests;
  const machine = await FakeMachine.create({ config, node: controlPlane, downloads: { ...profileDownloads(config), [crds!.url]: `${profileDownloads(config)[crds!.url]}\n# one more line\n` } });
  t.teardown(() => machine.dispose());
  const run = await machine.runAgent(['run']);
  t.is(run.code, 1, run.stdout);
  t.regex(run.stdout, new RegExp(`${crds!.url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not the manifest the profile pins \\(sha256 ${crds!.sha256}\\); nothing was created`));
  const lines = machine.commands().map((c) => c.argv.join(' '));
  t.true(lines.some((line) => line.startsWith('curl ') && line.endsWith(crds!.url)), 'it was downloaded');
  t.true(lines.some((line) => line.startsWith('sha256sum --check') && line.includes('cni-0-operator-crds.yaml')), 'and checked');
  t.deepEqual(lines.filter((line) => /^kubectl .*(create|apply)/.test(line)), [], 'kubectl read no manifest, and created nothing');
  t.false(machine.exists('/var/lib/labimg/manifests/cni-0-operator-crds.yaml'), 'the download that failed its check is gone');
  t.false(machine.exists('/var/lib/labimg/manifests/cni-0-operator-crds.checked.json'));
  t.false(lines.some((line) => line.endsWith(operator!.url)), 'the manifests after it are not even downloaded');
});

test('the pinned fixtures pass: every manifest is downloaded, checked, and created from the checked copy', async (t) => {
  const config = profileConfig('debian12');
  const machine = await FakeMachine.create({ config, node: controlPlane });
  t.teardown(() => machine.dispose());
  const run = await machine.runAgent(['run']);
  t.is(run.code, 0, run.stdout);
  const lines = machine.commands().map((c) => c.argv.join(' '));
  for (const [index, name] of ['operator-crds', 'tigera-operator'].entries()) {
    const check = lines.findIndex((line) => line.startsWith('sha256sum --check') && line.includes(`cni-${index}-${name}.yaml.sha256`));
    const create = lines.findIndex((line) => /^kubectl .* create -f \S+$/.test(line) && line.endsWith(`cni-${index}-${name}.checked.json`));
    t.true(check >= 0 && create > check, `${name}: checked before it is created`);
  }
  t.false(lines.some((line) => /^kubectl .* -f https?:/.test(line)), 'kubectl never fetches a URL itself');
});
