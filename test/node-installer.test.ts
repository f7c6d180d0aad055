import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderNodeInstaller } from '../builder/render/node-installer';
import { tempDir } from './helpers/cli';
import { shellcheck } from './helpers/validators';

/** A tarball laid out like the real ones (one top directory, bin/node inside) whose "node" is a script. */
function fakeRuntimeTarball(): { url: string; sha256: string } {
  const work = tempDir('labimg-node-');
  const top = path.join(work, 'package', 'bin');
  mkdirSync(top, { recursive: true });
  writeFileSync(path.join(top, 'node'), '#!/bin/sh\necho v16.20.2\n');
  chmodSync(path.join(top, 'node'), 0o755);
  const tarball = path.join(work, 'node.tgz');
  const tar = spawnSync('tar', ['-czf', tarball, '-C', work, 'package']);
  if (tar.status !== 0) throw new Error(tar.stderr.toString());
  return { url: `file://${tarball}`, sha256: createHash('sha256').update(readFileSync(tarball)).digest('hex') };
}

function runInstaller(script: string, nodeDir: string) {
  const file = path.join(tempDir(), 'install-node.sh');
  writeFileSync(file, script, { mode: 0o755 });
  return spawnSync('sh', [file], { encoding: 'utf8', env: { ...process.env, LABIMG_NODE_DIR: nodeDir } });
}

test('installs the runtime after checking its sha256, then does nothing on the next run', (t) => {
  const tarball = fakeRuntimeTarball();
  const script = renderNodeInstaller({ version: '16.20.2', ...tarball });
  const scriptFile = path.join(tempDir(), 'install-node.sh');
  writeFileSync(scriptFile, script);
  const lint = shellcheck(scriptFile);
  t.is(lint.code, 0, lint.output);

  const nodeDir = path.join(tempDir(), 'lib', 'node');
  const first = runInstaller(script, nodeDir);
  t.is(first.status, 0, first.stderr);
  const version = spawnSync(path.join(nodeDir, 'bin', 'node'), { encoding: 'utf8' });
  t.is(version.stdout.trim(), 'v16.20.2');
  t.deepEqual(readdirSync(path.dirname(nodeDir)), ['node'], 'no staging directory left');

  // Second run: nothing is downloaded (a dead URL would fail otherwise).
  const offline = renderNodeInstaller({ version: '16.20.2', url: 'file:///nonexistent/node.tgz', sha256: tarball.sha256 });
  t.is(runInstaller(offline, nodeDir).status, 0);
});

test('refuses a download whose sha256 does not match and installs nothing', (t) => {
  const tarball = fakeRuntimeTarball();
  const script = renderNodeInstaller({ version: '16.20.2', url: tarball.url, sha256: '0'.repeat(64) });
  const nodeDir = path.join(tempDir(), 'node');
  const result = runInstaller(script, nodeDir);
  t.is(result.status, 1);
  t.regex(result.stderr, /does not match sha256/);
  t.false(existsSync(nodeDir));
});

test('values are shell-quoted, so a URL cannot inject commands', (t) => {
  const script = renderNodeInstaller({ version: '16', url: "https://example.invalid/a'$(touch /tmp/pwned)'.tgz", sha256: 'f'.repeat(64) });
  t.true(script.includes(`url='https://example.invalid/a'\\''$(touch /tmp/pwned)'\\''.tgz'`));
});
