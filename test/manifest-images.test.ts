/**
 * Moving the images inside an addon's manifest onto a mirror's registries. The moved text is read back by
 * PyYAML (python3-yaml, which cloud-init depends on): a YAML 1.1 parser, as kubectl's is, so a string that
 * YAML 1.1 reads as a boolean or a number would show up here as one.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { loadAll } from 'js-yaml';
import { movedImage, moveManifestImages } from '../agent/kube/manifest-images';

const MANIFEST = readFileSync(path.join(__dirname, 'fixtures', 'manifests', 'tigera-operator.yaml'), 'utf8');
const MOVES = { 'quay.io': 'quay.m.daocloud.io', 'docker.io': 'registry.example.cn/hub' };

/** The documents as a YAML 1.1 parser reads them. */
function yaml11(text: string): unknown[] {
  const script = 'import json, sys, yaml\nprint(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d is not None]))';
  return JSON.parse(execFileSync('python3', ['-c', script], { input: text, encoding: 'utf8' })) as unknown[];
}

test('every image on a moved registry moves; the rest of each document is as it was', (t) => {
  const { text, moved } = moveManifestImages(MANIFEST, MOVES);
  t.deepEqual(moved, [
    'busybox:1.36 → registry.example.cn/hub/library/busybox:1.36',
    'quay.io/tigera/operator:v1.36.5 → quay.m.daocloud.io/tigera/operator:v1.36.5',
    'quay.io/tigera/helper@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef → quay.m.daocloud.io/tigera/helper@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  ]);
  const expected = yaml11(MANIFEST) as Array<Record<string, any>>;
  const pod = expected[3]!.spec.template.spec;
  pod.initContainers[0].image = 'registry.example.cn/hub/library/busybox:1.36';
  pod.containers[0].image = 'quay.m.daocloud.io/tigera/operator:v1.36.5';
  pod.containers[1].image = pod.containers[1].image.replace('quay.io/', 'quay.m.daocloud.io/');
  t.deepEqual(yaml11(text), expected);
});

test('strings YAML 1.1 would read as booleans or numbers stay strings for kubectl', (t) => {
  const [, , configMap] = yaml11(moveManifestImages(MANIFEST, MOVES).text) as Array<Record<string, any>>;
  t.deepEqual(configMap!.data, { enabled: 'on', verbose: 'yes', mode: '0755' });
});

test('a schema property called image is not an image', (t) => {
  const [, crd] = loadAll(moveManifestImages(MANIFEST, MOVES).text) as Array<Record<string, any>>;
  t.deepEqual(crd!.spec.versions[0].schema.openAPIV3Schema.properties.image, { type: 'string', description: 'an image property of the schema, not an image' });
});

test('a manifest with nothing to move comes back byte for byte, comments included', (t) => {
  t.deepEqual(moveManifestImages(MANIFEST, { 'nvcr.io': 'nvcr.m.daocloud.io' }), { text: MANIFEST, moved: [] });
  t.deepEqual(moveManifestImages(MANIFEST, {}), { text: MANIFEST, moved: [] });
});

test('moving twice moves nothing more, even where a target is itself a moved registry', (t) => {
  const once = moveManifestImages(MANIFEST, MOVES).text;
  t.deepEqual(moveManifestImages(once, MOVES), { text: once, moved: [] });
  const chained = { 'quay.io': 'docker.io/quaycopy', 'docker.io': 'registry.example.cn/hub' };
  t.is(movedImage('quay.io/tigera/operator:v1', chained), 'docker.io/quaycopy/tigera/operator:v1');
  t.is(movedImage('docker.io/quaycopy/tigera/operator:v1', chained), undefined);
});

test('registries are matched by host, as containerd reads a reference', (t) => {
  t.is(movedImage('nginx', MOVES), 'registry.example.cn/hub/library/nginx');
  t.is(movedImage('calico/node:v3.27.4', MOVES), 'registry.example.cn/hub/calico/node:v3.27.4');
  t.is(movedImage('docker.io/calico/node:v3.27.4', MOVES), 'registry.example.cn/hub/calico/node:v3.27.4');
  t.is(movedImage('quay.io.example.com/x:1', MOVES), undefined);
  t.is(movedImage('localhost:5000/x:1', MOVES), undefined);
});
