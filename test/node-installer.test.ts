import test from 'ava';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
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
  const script = renderNodeInstaller({ source: 'tarball', version: '16.20.2', url: tarball.url, sha256: tarball.sha256 });
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
  const offline = renderNodeInstaller({ source: 'tarball', version: '16.20.2', url: 'file:///nonexistent/node.tgz', sha256: tarball.sha256 });
  t.is(runInstaller(offline, nodeDir).status, 0);
});

test('refuses a download whose sha256 does not match and installs nothing', (t) => {
  const tarball = fakeNodeTarball();
  const script = renderNodeInstaller({ source: 'tarball', version: '16.20.2', url: tarball.url, sha256: '0'.repeat(64) });
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
  const script = renderNodeInstaller({ source: 'tarball', version: '16.20.2', url: 'file:///nonexistent/node.tgz', sha256: tarball.sha256 });
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
  const script = renderNodeInstaller({ source: 'tarball', version: '16.20.2', url: tarball.url, sha256: '0'.repeat(64) });
  const nodeDir = path.join(tempDir(), 'node');
  const result = runInstaller(script, nodeDir, prefetched);
  t.is(result.status, 1);
  t.true(result.stderr.includes(`Node.js tarball from ${prefetched} does not match sha256`), result.stderr);
  t.false(existsSync(nodeDir));
});

test('values are shell-quoted, so a URL cannot inject commands', (t) => {
  const script = renderNodeInstaller({ source: 'tarball', version: '16', url: "https://example.invalid/a'$(touch /tmp/pwned)'.tgz", sha256: 'f'.repeat(64) });
  t.true(script.includes(`url='https://example.invalid/a'\\''$(touch /tmp/pwned)'\\''.tgz'`));
});

/**
 * A package manager stand-in on PATH ahead of the real one: `install` fails until `update` has run (a fresh
 * cloud image has no package lists), then puts `node` beside itself, running `nodeScript`. Every call is logged.
 */
function packageManagerStandIn(command: string, nodeScript: string): { bin: string; calls: () => string[] } {
  const bin = tempDir();
  const log = path.join(bin, 'calls.log');
  writeFileSync(
    path.join(bin, command),
    `#!/bin/sh
echo "$*" >> '${log}'
case "$1" in
  update) touch '${bin}/lists' ;;
  install)
    [ -f '${bin}/lists' ] || [ '${command}' != apt-get ] || { echo "E: Unable to locate package nodejs" >&2; exit 100; }
    printf '%s\\n' '#!/bin/sh' '${nodeScript}' > '${bin}/node'
    chmod +x '${bin}/node' ;;
esac
`,
    { mode: 0o755 },
  );
  return { bin, calls: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) };
}

function runPackageInstaller(script: string, nodeDir: string, bin: string) {
  const file = path.join(tempDir(), 'install-node.sh');
  writeFileSync(file, script, { mode: 0o755 });
  return spawnSync('sh', [file], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, LABIMG_NODE_DIR: nodeDir } });
}

test("from the distro's package: updates the lists when the install needs it, links bin/node, then does nothing", (t) => {
  const script = renderNodeInstaller({ source: 'package', name: 'nodejs', packageManager: 'apt' });
  const scriptFile = path.join(tempDir(), 'install-node.sh');
  writeFileSync(scriptFile, script);
  const lint = shellcheck(scriptFile);
  t.is(lint.code, 0, lint.output);

  // The installed "node" is the test runner's own Node, so the version check reads a real one.
  const apt = packageManagerStandIn('apt-get', `exec '${process.execPath}' "$@"`);
  const nodeDir = path.join(tempDir(), 'lib', 'node');
  const first = runPackageInstaller(script, nodeDir, apt.bin);
  t.is(first.status, 0, first.stderr);
  t.deepEqual(apt.calls(), ['install -y --no-install-recommends nodejs', 'update', 'install -y --no-install-recommends nodejs']);
  t.is(realpathSync(path.join(nodeDir, 'bin', 'node')), realpathSync(path.join(apt.bin, 'node')));
  t.is(spawnSync(path.join(nodeDir, 'bin', 'node'), ['--version'], { encoding: 'utf8' }).stdout.trim(), process.version);
  t.deepEqual(readdirSync(path.dirname(nodeDir)), ['node'], 'no staging directory left');

  t.is(runPackageInstaller(script, nodeDir, apt.bin).status, 0);
  t.is(apt.calls().length, 3, 'the second run installs nothing');
});

test("refuses a distro Node.js older than the agent's 16.9 and leaves no runtime", (t) => {
  const script = renderNodeInstaller({ source: 'package', name: 'nodejs', packageManager: 'dnf' });
  const dnf = packageManagerStandIn('dnf', 'echo 12');
  const nodeDir = path.join(tempDir(), 'node');
  const result = runPackageInstaller(script, nodeDir, dnf.bin);
  t.is(result.status, 1);
  t.deepEqual(dnf.calls(), ['install -y nodejs']);
  t.regex(result.stderr, /the distro's Node\.js 12 is older than 16\.9, which the agent needs: use agent\.nodeRuntime\.source tarball/);
  t.false(existsSync(nodeDir));
});
