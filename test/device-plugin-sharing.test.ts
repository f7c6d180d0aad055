/**
 * GPU sharing rendered at build time (builder/nvidia-device-plugin.ts): the DaemonSet labimg writes is NVIDIA's
 * static one of v0.17.4 plus the config, checked against that file itself
 * (test/fixtures/manifests/nvidia-device-plugin-v0.17.4-static.yml: deployments/static/nvidia-device-plugin.yml of
 * NVIDIA/k8s-device-plugin at v0.17.4, commit fd56a747defe, copied unchanged on 2026-12-06).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { load as loadYaml } from 'js-yaml';
import { compileAgentConfig } from '../builder/compile';
import { sharedDevicePluginManifest } from '../builder/nvidia-device-plugin';
import { loadProfile } from '../builder/profiles/load';
import { REPO_ROOT } from './helpers/agent-build';

const NVIDIA_STATIC = loadYaml(readFileSync(path.join(REPO_ROOT, 'test/fixtures/manifests/nvidia-device-plugin-v0.17.4-static.yml'), 'utf8')) as any;

function timeSlicingConfig() {
  return compileAgentConfig(loadProfile(path.join(REPO_ROOT, 'test/fixtures/profiles/gpu-time-slicing.yaml'), { dir: path.join(REPO_ROOT, 'profiles') }));
}

/** The one manifest the build renders for the time-slicing fixture. */
function sharedManifest(): { kind: string; items: any[] } {
  const [file, ...others] = timeSlicingConfig().gpu!.devicePlugin!.files!;
  if (!file || others.length > 0) throw new Error('expected exactly one rendered file');
  return JSON.parse(file.content);
}

test("the DaemonSet is NVIDIA's static one of v0.17.4, plus the config file's variable, mount and volume", (t) => {
  const daemonSet = sharedManifest().items.find((item) => item.kind === 'DaemonSet');
  const pod = daemonSet.spec.template.spec;
  const container = pod.containers[0];
  t.deepEqual(container.env.find((e: any) => e.name === 'CONFIG_FILE'), { name: 'CONFIG_FILE', value: '/etc/nvidia-device-plugin/config.yaml' });
  t.deepEqual(container.volumeMounts.find((m: any) => m.name === 'config'), { name: 'config', mountPath: '/etc/nvidia-device-plugin', readOnly: true });
  t.deepEqual(pod.volumes.find((v: any) => v.name === 'config'), { name: 'config', configMap: { name: 'nvidia-device-plugin-config' } });

  container.env = container.env.filter((e: any) => e.name !== 'CONFIG_FILE');
  container.volumeMounts = container.volumeMounts.filter((m: any) => m.name !== 'config');
  pod.volumes = pod.volumes.filter((v: any) => v.name !== 'config');
  t.deepEqual(daemonSet, NVIDIA_STATIC);
});

test('the static manifest is not listed as well: the rendered one takes its place', (t) => {
  t.deepEqual(timeSlicingConfig().gpu!.devicePlugin!.manifests, []);
  t.is(sharedManifest().kind, 'List');
});

test('the image moves where the mirror moves registries inside manifests', (t) => {
  const text = sharedDevicePluginManifest({ kind: 'nvidia', manifests: [], migStrategy: 'mixed' }, { 'nvcr.io': 'registry.example.cn/nvcr' });
  const daemonSet = JSON.parse(text).items[1];
  t.is(daemonSet.spec.template.spec.containers[0].image, 'registry.example.cn/nvcr/nvidia/k8s-device-plugin:v0.17.4');
  t.deepEqual(loadYaml(JSON.parse(text).items[0].data['config.yaml']), { version: 'v1', flags: { migStrategy: 'mixed' } });
});
