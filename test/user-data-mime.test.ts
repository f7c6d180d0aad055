/**
 * Multipart user-data (`labimg build --user-script`): the layout of cloud-init's own make-mime, read back by
 * cloud-init's own parser to the very bytes that went in, whatever the encoding each part needed.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderMultipart, type MimePart } from '../builder/render/mime';
import { labimg, repoRoot, tempDir } from './helpers/cli';

interface Part {
  type: string;
  filename: string;
  content: string;
}

/** cloud-init's UserDataProcessor on `file`: its parts, or its exit status when it finds none it runs. */
function cloudInitParts(file: string): { code: number; parts: Part[] } {
  const result = spawnSync('/usr/bin/python3', [path.join(repoRoot, 'test/helpers/cloud-init-parts.py'), file], { encoding: 'utf8' });
  return { code: result.status ?? -1, parts: result.status === 0 ? (JSON.parse(result.stdout) as Part[]) : [] };
}

function writeTemp(name: string, content: string): string {
  const file = path.join(tempDir('labimg-mime-'), name);
  writeFileSync(file, content);
  return file;
}

/** The header lines of each part, boundary and encoding left out: what make-mime and labimg must agree on. */
function partHeaders(message: string): string[][] {
  const boundary = /boundary="([^"]+)"/.exec(message)![1]!;
  return message
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((part) => part.trim().split('\n\n')[0]!.split('\n').filter((line) => !line.startsWith('Content-Transfer-Encoding') && !line.startsWith('Content-Disposition')));
}

test("cloud-init's parser reads every part back byte for byte: 7bit, long lines (binary) and UTF-8 (base64)", (t) => {
  const parts: MimePart[] = [
    { type: 'text/cloud-config', filename: 'labimg.yaml', content: `#cloud-config\nwrite_files:\n  - path: /x\n    content: ${'QUJD'.repeat(2000)}\n` },
    { type: 'text/x-shellscript', filename: 'plain.sh', content: '#!/bin/sh\necho plain\n' },
    { type: 'text/x-shellscript', filename: 'utf8.sh', content: '#!/bin/sh\n# Größe, 代理\necho "ü"\n' },
    { type: 'text/x-shellscript', filename: 'no-newline.sh', content: '#!/bin/sh\necho last' },
  ];
  const message = renderMultipart(parts);
  t.regex(message, /Content-Transfer-Encoding: binary\n[^\n]*\n\n#cloud-config/);
  t.regex(message, /Content-Transfer-Encoding: 7bit\nContent-Disposition: attachment; filename="plain\.sh"/);
  t.regex(message, /Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="utf8\.sh"/);
  const read = cloudInitParts(writeTemp('user-data', message));
  t.is(read.code, 0);
  t.deepEqual(
    read.parts,
    parts.map(({ type, filename, content }) => ({ type, filename, content: content.endsWith('\n') ? content : `${content}\n` })),
    'every part as it went in (a part that lacked a final newline gains one)',
  );
  t.is(renderMultipart(parts), message, 'the same parts give the same bytes: the boundary comes from their hash');
});

test("the layout is make-mime's: the same part headers cloud-init devel make-mime writes", (t) => {
  const config = writeTemp('labimg.yaml', '#cloud-config\nruncmd: [[echo, hi]]\n');
  const script = writeTemp('site.sh', '#!/bin/sh\necho hi\n');
  const made = spawnSync('cloud-init', ['devel', 'make-mime', '-a', `${config}:cloud-config`, '-a', `${script}:x-shellscript`], { encoding: 'utf8' });
  t.is(made.status, 0, made.stderr);
  const ours = renderMultipart([
    { type: 'text/cloud-config', filename: 'labimg.yaml', content: readFileSync(config, 'utf8') },
    { type: 'text/x-shellscript', filename: 'site.sh', content: readFileSync(script, 'utf8') },
  ]);
  t.deepEqual(partHeaders(ours), partHeaders(made.stdout));
  t.deepEqual(ours.split('\n').slice(1, 2), made.stdout.split('\n').slice(1, 2), 'MIME-Version');
});

test('a part type cloud-init does not run is caught by its parser', (t) => {
  const message = renderMultipart([{ type: 'text/x-shellscript', filename: 'a.sh', content: '#!/bin/sh\n' }]).replace('text/x-shellscript', 'text/x-shelscript');
  t.is(cloudInitParts(writeTemp('user-data', message)).code, 1);
});

test('--user-script: a file that is no script, or two of one name, fails the build with the flag named and writes nothing', (t) => {
  const out = tempDir();
  const notScript = writeTemp('proxy.sh', 'echo no interpreter line\n');
  const first = labimg(['build', 'ubuntu', '--out', out, '--user-script', notScript]);
  t.is(first.code, 1);
  t.regex(first.stderr, /^labimg: --user-script: \S+proxy\.sh must start with "#!" and its interpreter/);
  const a = writeTemp('same.sh', '#!/bin/sh\n');
  const b = writeTemp('same.sh', '#!/bin/sh\n');
  const twice = labimg(['build', 'ubuntu', '--out', out, '--user-script', a, '--user-script', b]);
  t.is(twice.code, 1);
  t.regex(twice.stderr, /two scripts are named same\.sh/);
  t.is(labimg(['build', 'ubuntu', '--out', out, '--user-script', path.join(out, 'missing.sh')]).code, 1);
  t.deepEqual(readdirSync(out), []);
  t.false(existsSync(path.join(out, 'ubuntu')));
});
