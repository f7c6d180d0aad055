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
