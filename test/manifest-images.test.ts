/**
 * Moving the images inside an addon's manifest onto a mirror's registries. The objects come from PyYAML
 * (python3-yaml, which cloud-init depends on), a YAML 1.1 parser as kubectl's is, standing in for kubectl's own
 * reading of the manifest; the agent's copy is read back by it too, so a string that YAML 1.1 reads as a boolean
 * or a number would show up here as one. What kubectl prints is read back from Python's json.dumps with Go's
 * layout (four spaces, sorted keys), the layout of kubectl's JSON printer.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { movedImage, moveObjectImages } from '../agent/kube/manifest-images';
import { parseJsonSequence } from '../agent/text/json-sequence';
import { manifestStream } from '../agent/text/manifest-stream';

const MANIFEST = readFileSync(path.join(__dirname, 'fixtures', 'manifests', 'tigera-operator.yaml'), 'utf8');
const MOVES = { 'quay.io': 'quay.m.daocloud.io', 'docker.io': 'registry.example.cn/hub' };

function python(script: string, input: string): string {
  return execFileSync('python3', ['-c', script], { input, encoding: 'utf8' });
}

/** The documents as a YAML 1.1 parser reads them. */
function yaml11(text: string): Array<Record<string, any>> {
  return JSON.parse(python('import json, sys, yaml\nprint(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d is not None]))', text)) as Array<Record<string, any>>;
}

/** The documents printed one after another as Go's json.MarshalIndent(obj, "", "    ") lays them out. */
function printedLikeKubectl(text: string): string {
  const script = 'import json, sys, yaml\nfor d in yaml.safe_load_all(sys.stdin):\n    if d is not None: print(json.dumps(d, indent=4, sort_keys=True, ensure_ascii=False))';
  return python(script, text);
}

test('every image on a moved registry moves; the rest of each object is as it was', (t) => {
  const objects = yaml11(MANIFEST);
  const moved = moveObjectImages(objects, MOVES);
  t.deepEqual(moved, [
    'busybox:1.36 → registry.example.cn/hub/library/busybox:1.36',
    'quay.io/tigera/operator:v1.36.5 → quay.m.daocloud.io/tigera/operator:v1.36.5',
    'quay.io/tigera/helper@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef → quay.m.daocloud.io/tigera/helper@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
  ]);
  const expected = yaml11(MANIFEST);
  const pod = expected[3]!.spec.template.spec;
  pod.initContainers[0].image = 'registry.example.cn/hub/library/busybox:1.36';
  pod.containers[0].image = 'quay.m.daocloud.io/tigera/operator:v1.36.5';
  pod.containers[1].image = pod.containers[1].image.replace('quay.io/', 'quay.m.daocloud.io/');
  t.deepEqual(objects, expected);
  // The node's copy, as kubectl will read it.
  t.deepEqual(yaml11(manifestStream(objects)), expected);
});

test("kubectl's printed objects are read back one by one, braces and quotes inside strings included", (t) => {
  const objects = parseJsonSequence(printedLikeKubectl(MANIFEST), 'kubectl');
  t.deepEqual(objects, yaml11(MANIFEST));
  const tricky = [{ a: '} {', b: ['"]', '\\'] }, { c: { d: '{"e": 1}' } }];
  const printed = tricky.map((value) => `${JSON.stringify(value, null, 4)}\n`).join('');
  t.deepEqual(parseJsonSequence(printed, 'kubectl'), tricky);
  t.deepEqual(parseJsonSequence('', 'kubectl'), []);
});

test('output that is not a sequence of JSON objects is an error that says where', (t) => {
  t.throws(() => parseJsonSequence('{"a": 1}\nerror: oops', 'kubectl -f x'), { message: /^kubectl -f x: expected a JSON object at offset 9, found "error: oops"/ });
  t.throws(() => parseJsonSequence('{"a": 1}\n{"b": ', 'kubectl'), { message: /ends inside a JSON value that began at offset 9/ });
  t.throws(() => parseJsonSequence('{"a": 1,}', 'kubectl'), { message: /the JSON value at offset 0 does not parse/ });
});

test('strings YAML 1.1 would read as booleans or numbers stay strings in the copy kubectl reads', (t) => {
  const configMap = yaml11(MANIFEST)[2]!;
  t.deepEqual(configMap.data, { enabled: 'on', verbose: 'yes', mode: '0755' }, 'the fixture quotes them');
  t.deepEqual(yaml11(manifestStream([configMap]))[0]!.data, { enabled: 'on', verbose: 'yes', mode: '0755' });
});

test('a schema property called image is not an image', (t) => {
  const objects = yaml11(MANIFEST);
  moveObjectImages(objects, MOVES);
  t.deepEqual(objects[1]!.spec.versions[0].schema.openAPIV3Schema.properties.image, { type: 'string', description: 'an image property of the schema, not an image' });
});

test('nothing moves where the table names none of the registries', (t) => {
  const objects = yaml11(MANIFEST);
  t.deepEqual(moveObjectImages(objects, { 'nvcr.io': 'nvcr.m.daocloud.io' }), []);
  t.deepEqual(moveObjectImages(objects, {}), []);
  t.deepEqual(objects, yaml11(MANIFEST));
});

test('moving twice moves nothing more, even where a target is itself a moved registry', (t) => {
  const objects = yaml11(MANIFEST);
  moveObjectImages(objects, MOVES);
  const once = structuredClone(objects);
  t.deepEqual(moveObjectImages(objects, MOVES), []);
  t.deepEqual(objects, once);
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
