import test from 'ava';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderNodeInstaller } from '../builder/render/node-installer';
import { tempDir } from './helpers/cli';
import { fakeNodeTarball } from './helpers/node-tarball';
import { shellcheck } from './helpers/validators';

/**
 * Runs the script for real with its paths moved under temp directories. Without `tarball` no pre-fetched
 * file exists (a cloud-init node), so the script downloads.
 */
function runInstaller(script: string, nodeDir: string, tarball = path.join(tempDir(), 'absent.tar')) {
  const file = path.join(tempDir(), 'install-node.sh');
  writeFileSync(file, script, { mode: 0o755 });
  return spawnSync('sh', [file], { encoding: 'utf8', env: { ...process.env, LABIMG_NODE_DIR: nodeDir, LABIMG_NODE_TARBALL: tarball } });
}

test('installs the runtime after checking its sha256, then does nothing on the next run', (t) => {
  const tarball = fakeNodeTarball();
  const script = renderNodeInstaller({ version: '16.20.2', url: tarball.url, sha256: tarball.sha256 });
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
  const tarball = fakeNodeTarball();
  const script = renderNodeInstaller({ version: '16.20.2', url: tarball.url, sha256: '0'.repeat(64) });
  const nodeDir = path.join(tempDir(), 'node');
  const result = runInstaller(script, nodeDir);
  t.is(result.status, 1);
  t.regex(result.stderr, /does not match sha256/);
  t.false(existsSync(nodeDir));
});

test('uses the tarball Ignition fetched instead of downloading, checks it, and removes it once installed', (t) => {
  const tarball = fakeNodeTarball();
  const prefetched = path.join(tempDir(), 'node.tar');
  copyFileSync(tarball.file, prefetched);
  // A dead URL: the install can only succeed from the pre-fetched file.
  const script = renderNodeInstaller({ version: '16.20.2', url: 'file:///nonexistent/node.tgz', sha256: tarball.sha256 });
  const nodeDir = path.join(tempDir(), 'lib', 'node');
  const result = runInstaller(script, nodeDir, prefetched);
  t.is(result.status, 0, result.stderr);
  t.is(spawnSync(path.join(nodeDir, 'bin', 'node'), { encoding: 'utf8' }).stdout.trim(), 'v16.20.2');
  t.false(existsSync(prefetched), 'the tarball is removed once the runtime is in place');
});

test('refuses a pre-fetched tarball whose sha256 does not match', (t) => {
  const tarball = fakeNodeTarball();
  const prefetched = path.join(tempDir(), 'node.tar');
  copyFileSync(tarball.file, prefetched);
  const script = renderNodeInstaller({ version: '16.20.2', url: tarball.url, sha256: '0'.repeat(64) });
  const nodeDir = path.join(tempDir(), 'node');
  const result = runInstaller(script, nodeDir, prefetched);
  t.is(result.status, 1);
  t.true(result.stderr.includes(`Node.js tarball from ${prefetched} does not match sha256`), result.stderr);
  t.false(existsSync(nodeDir));
});

test('values are shell-quoted, so a URL cannot inject commands', (t) => {
  const script = renderNodeInstaller({ version: '16', url: "https://example.invalid/a'$(touch /tmp/pwned)'.tgz", sha256: 'f'.repeat(64) });
  t.true(script.includes(`url='https://example.invalid/a'\\''$(touch /tmp/pwned)'\\''.tgz'`));
});
