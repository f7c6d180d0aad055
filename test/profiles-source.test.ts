import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { load } from 'js-yaml';
import { formatPath } from '../builder/profiles/findings';
import { mergeChain, mergeNodes } from '../builder/profiles/merge';
import { parseSource, type MapNode, type SourceNode } from '../builder/profiles/source';
import { closestMatch } from '../builder/profiles/suggest';
import { locate, locateKey, toPlain } from '../builder/profiles/tree';

function parse(text: string, file = 'test.yaml'): SourceNode {
  const result = parseSource(text, file);
  if (!result.ok) throw new Error(result.finding.message);
  if (!result.root) throw new Error('empty document');
  return result.root;
}

function parseMap(text: string, file: string): MapNode {
  const root = parse(text, file);
  if (root.kind !== 'map') throw new Error('not a mapping');
  return root;
}

const at = (file: string, line: number, column: number) => ({ file, line, column });

test('values keep the line and column where they were written', (t) => {
  const root = parse(['a: 1', 'b:', '  - "quoted"', '  - {c: d}', 'empty:', 'block: |', '  text', ''].join('\n'));
  t.deepEqual(locate(root, ['a']), at('test.yaml', 1, 4));
  t.deepEqual(locate(root, ['b']), at('test.yaml', 3, 3));
  t.deepEqual(locate(root, ['b', 0]), at('test.yaml', 3, 5), 'a quoted value starts at its quote');
  t.deepEqual(locate(root, ['b', 1, 'c']), at('test.yaml', 4, 9));
  t.deepEqual(locate(root, ['empty']), at('test.yaml', 5, 1), 'an empty value is where its key is');
  t.deepEqual(locateKey(root, ['b']), at('test.yaml', 2, 1));
  t.deepEqual(locate(root, ['b', 1, 'missing', 'deeper']), at('test.yaml', 4, 5), 'a missing path stops at the deepest node that exists');
});

test('scalars get the types YAML 1.2 gives them', (t) => {
  const root = parse(['number: 20.04', 'text: "20.04"', 'version: 1.28.15', 'flag: true', 'nothing: ~', 'octal: 0o17', ''].join('\n'));
  t.deepEqual(toPlain(root), { number: 20.04, text: '20.04', version: '1.28.15', flag: true, nothing: null, octal: 15 });
});

test('every scalar has the value js-yaml load gives it, tags and styles included', (t) => {
  const text = [
    '%TAG !core! tag:yaml.org,2002:',
    '---',
    'plain: [20.04, 1.28.15, true, ~, 0o17, 0x1F, -.inf, 1e3, "", yes]',
    'tagged: [!!str 12, !core!str true, !!int "7", !!float 1, !!null "", ! 12]',
    "quoted: ['20.04', \"1\\t2\", 'it''s']",
    'blocks:', '  literal: |', '    two', '    lines', '  folded: >-', '    one', '    line',
    '&a 12: *a',
    '',
  ].join('\n');
  const root = parse(text);
  const expected = load(text) as Record<string, unknown>;
  const plain = toPlain(root) as Record<string, unknown>;
  for (const key of Object.keys(expected)) t.deepEqual(plain[key], expected[key], key);
  t.deepEqual(Object.keys(plain), Object.keys(expected));
});

test('every shipped profile reads as js-yaml load reads it', (t) => {
  const dir = path.join(__dirname, '..', 'profiles');
  const files = readdirSync(dir).filter((name) => name.endsWith('.yaml'));
  t.true(files.length > 10);
  for (const name of files) {
    const text = readFileSync(path.join(dir, name), 'utf8');
    // Through JSON: toPlain's maps have no prototype, load's have Object's; the values are what is compared.
    t.deepEqual(JSON.parse(JSON.stringify(toPlain(parse(text, name)))), JSON.parse(JSON.stringify(load(text))), name);
  }
});

test('anchors and aliases resolve to the anchored value', (t) => {
  const root = parse(['base: &pool {encapsulation: VXLAN}', 'copy: *pool', ''].join('\n'));
  t.deepEqual(toPlain(root), { base: { encapsulation: 'VXLAN' }, copy: { encapsulation: 'VXLAN' } });
  t.deepEqual(locate(root, ['copy', 'encapsulation']), at('test.yaml', 1, 29));
});

test('syntax errors and extra documents are findings with a position', (t) => {
  const broken = parseSource('a:\n  b: 1\n c: 2\n', 'bad.yaml');
  t.like(broken, { ok: false, finding: { file: 'bad.yaml', line: 3, column: 2, path: '' } });
  const twoDocuments = parseSource('a: 1\n---\nb: 2\n', 'two.yaml');
  t.like(twoDocuments, { ok: false, finding: { line: 1, message: 'expected one YAML document, found 2: a profile is one file, one document' } });
  t.deepEqual(parseSource('# just a comment\n', 'empty.yaml'), { ok: true, root: undefined });
});

test('extends merges maps key by key and replaces lists and scalars', (t) => {
  const parent = parseMap(['host:', '  kernelModules: [overlay, br_netfilter]', '  sysctls: {a: 1, b: 2}', 'name: parent', ''].join('\n'), 'parent.yaml');
  const child = parseMap(['host:', '  kernelModules: [ip_vs]', '  sysctls: {b: 3, c: 4}', 'name: child', ''].join('\n'), 'child.yaml');
  const merged = mergeNodes(parent, child);
  t.deepEqual(toPlain(merged), { host: { kernelModules: ['ip_vs'], sysctls: { a: 1, b: 3, c: 4 } }, name: 'child' });
  t.deepEqual(Object.keys((toPlain(merged) as { host: { sysctls: object } }).host.sysctls), ['a', 'b', 'c'], "the parent's keys first, then the child's new ones");
});

test('every merged value still points at the file that wrote it', (t) => {
  const parent = parseMap(['kubernetes:', '  podSubnet: 10.244.0.0/16', '  serviceSubnet: 10.96.0.0/12', ''].join('\n'), 'parent.yaml');
  const child = parseMap(['kubernetes:', '  serviceSubnet: 10.112.0.0/12', ''].join('\n'), 'child.yaml');
  const merged = mergeChain([parent, child]);
  t.deepEqual(locate(merged, ['kubernetes', 'podSubnet']), at('parent.yaml', 2, 14));
  t.deepEqual(locate(merged, ['kubernetes', 'serviceSubnet']), at('child.yaml', 2, 18));
  t.is(locate(merged, ['kubernetes']).file, 'child.yaml', 'a map both files write belongs to the nearer one');
});

test('description, extends and abstract are never inherited', (t) => {
  const base = parseMap(['description: base', 'abstract: true', 'host: {disableSwap: true}', ''].join('\n'), 'base.yaml');
  const middle = parseMap(['description: middle', 'extends: base', ''].join('\n'), 'middle.yaml');
  const leaf = parseMap(['extends: middle', 'host: {disableFirewall: true}', ''].join('\n'), 'leaf.yaml');
  t.deepEqual(toPlain(mergeChain([base, middle, leaf])), { extends: 'middle', host: { disableSwap: true, disableFirewall: true } });
});

test('field paths read as people write them', (t) => {
  t.is(formatPath(['kubernetes', 'podSubnet']), 'kubernetes.podSubnet');
  t.is(formatPath(['cni', 'calico', 'ipPools', 0, 'cidr']), 'cni.calico.ipPools[0].cidr');
  t.is(formatPath(['host', 'sysctls', 'net.ipv4.ip_forward']), 'host.sysctls["net.ipv4.ip_forward"]');
  t.is(formatPath(['repositories', 'nvidia-container-toolkit', 'baseUrl']), 'repositories.nvidia-container-toolkit.baseUrl');
  t.is(formatPath([]), '');
});

test('did-you-mean finds slips of the keyboard and nothing else', (t) => {
  const fields = ['podSubnet', 'serviceSubnet', 'imageRepository', 'version'];
  t.is(closestMatch('podsubnet', fields), 'podSubnet');
  t.is(closestMatch('serviceSubnett', fields), 'serviceSubnet');
  t.is(closestMatch('verison', fields), 'version');
  t.is(closestMatch('registry', fields), undefined);
  t.is(closestMatch('x', fields), undefined);
});
