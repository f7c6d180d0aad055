/**
 * builder/render/yaml-gzip-base64.ts puts long gzip+base64 texts into YAML without js-yaml examining them; its
 * output must be js-yaml's own, byte for byte, for every such text and wherever it stands.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dump, load } from 'js-yaml';
import { dumpWithGzipBase64, dumpWithGzipBase64Verbatim, isLongGzipBase64 } from '../builder/render/yaml-gzip-base64';
import { AGENT_BUNDLE } from './helpers/agent-build';

const jsYaml = (document: unknown) => dump(document, { lineWidth: -1, noRefs: true });

/** gzip of random bytes, so every base64 character and every padding length turns up. */
function randomGzipBase64(size: number): string {
  return gzipSync(randomBytes(size), { level: 1 }).toString('base64');
}

test('write_files with gzip+base64 contents come out as js-yaml writes them', (t) => {
  const agent = gzipSync(readFileSync(AGENT_BUNDLE), { level: 9 }).toString('base64');
  for (let round = 0; round < 200; round++) {
    const texts = [randomGzipBase64(1000 + round * 37), randomGzipBase64(3000 + round), agent];
    const document = {
      write_files: [
        { path: '/etc/labimg/agent.json', permissions: '0600', owner: 'root:root', encoding: 'gzip+base64', content: texts[0] },
        { path: '/usr/local/lib/labimg/agent.js', permissions: '0755', owner: 'root:root', encoding: 'gzip+base64', content: texts[2] },
        { path: '/etc/motd', permissions: '0644', owner: 'root:root', content: 'hello\nworld\n' },
        { path: '/x', permissions: '0644', owner: 'root:root', encoding: 'gzip+base64', content: texts[1] },
      ],
      runcmd: [['systemctl', 'daemon-reload']],
    };
    const written = dumpWithGzipBase64Verbatim(document, { noRefs: true });
    t.is(written, jsYaml(document));
    if (written !== jsYaml(document)) return;
  }
  const nested = { a: { b: [{ c: randomGzipBase64(5000), d: 1 }] } };
  t.is(dumpWithGzipBase64Verbatim(nested, { noRefs: true }), jsYaml(nested));
  t.deepEqual(load(jsYaml(nested)), nested);
});

test('a document that already holds a placeholder, or a text as a sequence item, is left to js-yaml and comes out the same', (t) => {
  const text = randomGzipBase64(4000);
  const documents = [
    { a: 'first: labimg-gzip-base64-0\n', b: text },
    { a: { 'x': 'labimg-gzip-base64-0' }, b: text },
    { list: [text, text] },
    { b: text, c: text },
    { top: text },
  ];
  const verbatim = documents.map((document) => dumpWithGzipBase64Verbatim(document, { noRefs: true }) !== undefined);
  t.deepEqual(verbatim, [false, false, false, true, true], 'which documents take the verbatim way');
  for (const document of documents) t.is(dumpWithGzipBase64(document, { noRefs: true }), jsYaml(document), JSON.stringify(Object.keys(document)));
});

test('only long base64 of a gzip stream is taken for one', (t) => {
  t.true(isLongGzipBase64(randomGzipBase64(2000)));
  t.false(isLongGzipBase64(randomGzipBase64(10)), 'short');
  t.false(isLongGzipBase64(randomBytes(2000).toString('base64').replace(/^./, '+')), 'not gzip: starts with an indicator-free but non-gzip character');
  t.false(isLongGzipBase64(`${randomGzipBase64(2000)} `), 'a space');
  t.false(isLongGzipBase64(`${randomGzipBase64(2000).slice(0, -4)}a=b=`), 'padding inside');
  t.false(isLongGzipBase64(`${randomGzipBase64(2000).slice(0, 1000)}\n${randomGzipBase64(2000).slice(1000)}`), 'a line break');
  // 2,000 bytes end in a group of two bytes, "XYZ=", whose Z carries 2 unused bits, which an encoder writes as 0.
  // With them set it decodes to the same bytes, but is not base64 as an encoder writes it.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const canonical = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08]), randomBytes(1997)]).toString('base64');
  t.regex(canonical, /^H4sI[^=]+[AEIMQUYcgkosw048]=$/, 'a last character with its unused bits 0');
  t.true(isLongGzipBase64(canonical));
  t.false(isLongGzipBase64(`${canonical.slice(0, -2)}${alphabet[alphabet.indexOf(canonical.at(-2)!) | 0b11]}=`), 'unused bits set');
  t.false(isLongGzipBase64(randomGzipBase64(2000).replace(/\+/g, '-').replace(/\//g, '_')), 'base64url');
});

/** A late-command script as builder/render/pxe/target-script.ts writes one: base64 lines in a here-document. */
function scriptWithBase64Lines(gzipBase64: string[], width = 76): string {
  const lines = (text: string) => text.match(new RegExp(`.{1,${width}}`, 'g'))!.join('\n');
  return [
    '#!/bin/bash',
    'set -euo pipefail',
    ...gzipBase64.flatMap((text, i) => [`# /file${i}`, `base64 -d <<'LABIMG_FILE' | gzip -dc > "$root/file${i}"`, lines(text), 'LABIMG_FILE', `chmod 0644 "$root/file${i}"`]),
    '',
  ].join('\n');
}

test('base64 lines inside a script come out as js-yaml writes the script, a literal block', (t) => {
  const agent = gzipSync(readFileSync(AGENT_BUNDLE), { level: 9 }).toString('base64');
  for (let round = 0; round < 60; round++) {
    // Every length of the last line, including none (a multiple of the width) and every padding.
    const texts = [randomGzipBase64(1000 + round * 13), randomGzipBase64(2000 + round * 7), agent];
    const document = {
      write_files: [{ path: '/run/labimg/install-into-target.sh', permissions: '0700', owner: 'root:root', content: scriptWithBase64Lines(texts) }],
      autoinstall: { version: 1, 'late-commands': ['bash /run/labimg/install-into-target.sh'] },
    };
    const written = dumpWithGzipBase64Verbatim(document, { noRefs: true });
    t.not(written, undefined, 'the verbatim way is taken');
    t.is(written, jsYaml(document));
    if (written !== jsYaml(document)) return;
  }
  // Base64 whose last line is as wide as the others: the line after it (the here-document's end) is no base64.
  const whole = { script: scriptWithBase64Lines([randomGzipBase64(6000).slice(0, 76 * 60)]) };
  t.not(dumpWithGzipBase64Verbatim(whole, { noRefs: true }), undefined);
  t.is(dumpWithGzipBase64Verbatim(whole, { noRefs: true }), jsYaml(whole), 'a last line as wide as the others');
  const width64 = { script: scriptWithBase64Lines([randomGzipBase64(5000)], 64) };
  t.is(dumpWithGzipBase64Verbatim(width64, { noRefs: true }), jsYaml(width64), 'lines of another width');
});

test('base64 lines in a text js-yaml does not write as a literal block, or at its edges, are left to js-yaml', (t) => {
  const text = randomGzipBase64(4000);
  const lines = text.match(/.{1,76}/g)!.join('\n');
  const documents: Array<[string, unknown]> = [
    // A tab makes js-yaml quote the whole text: its line breaks become "\n".
    ['quoted for a tab', { script: `echo\t1\n${lines}\nend\n` }],
    // The first line, and the last: they decide the block's header.
    ['first line', { script: `${lines}\nend\n` }],
    ['last line', { script: `start\n${lines}` }],
    ['last line with its break', { script: `start\n${lines}\n` }],
    // A key: js-yaml writes a text with line breaks there its own way.
    ['in a key', { [`start\n${lines}\nend`]: 1 }],
    // An empty line right before: js-yaml's layout is still a literal block, but only one the check can tell.
    ['after an empty line', { script: `start\n\n${lines}\nend\n` }],
    ['a placeholder already there', { script: `start\nlabimg-gzip-base64-0\n${lines}\nend\n` }],
  ];
  for (const [why, document] of documents) {
    t.is(dumpWithGzipBase64(document, { noRefs: true }), jsYaml(document), why);
  }
  const taken = documents.map(([why, document]) => [why, dumpWithGzipBase64Verbatim(document, { noRefs: true }) !== undefined]);
  t.deepEqual(Object.fromEntries(taken), {
    'quoted for a tab': false,
    'first line': false,
    // The run stops before the text's last line, which js-yaml writes with the rest.
    'last line': true,
    'last line with its break': false,
    'in a key': false,
    'after an empty line': false,
    'a placeholder already there': false,
  });
});
