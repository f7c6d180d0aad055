/**
 * `labimg pin URL...` against a local HTTP server: the sha256 it prints is the one sha256sum gives for the bytes
 * served, in the form a profile's manifests take, and a profile with the printed lines pasted in validates.
 */
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { cliPath, labimg, repoRoot, tempDir } from './helpers/cli';

const MANIFEST = path.join(repoRoot, 'test/fixtures/manifests/tigera-operator-crds-apart.yaml');
const CRDS = path.join(repoRoot, 'test/fixtures/manifests/operator-crds.yaml');

/** The CLI as a separate process, without blocking this one: the server below answers it. */
function labimgAsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: repoRoot });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function fileServer(t: { teardown(fn: () => void): void }): Promise<string> {
  const server = http.createServer((req, res) => {
    if (req.url === '/calico/v3.31.7/manifests/tigera-operator.yaml') return res.writeHead(200).end(readFileSync(MANIFEST));
    if (req.url === '/calico/v3.31.7/manifests/operator-crds.yaml') return res.writeHead(200).end(readFileSync(CRDS));
    if (req.url === '/moved.yaml') return res.writeHead(302, { location: '/calico/v3.31.7/manifests/tigera-operator.yaml' }).end();
    if (req.url === '/cut.yaml') {
      res.writeHead(200, { 'content-length': '100000' });
      res.write('apiVersion: v1\n');
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    }
    res.writeHead(404).end('not here\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const sha256sum = (file: string) => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];

test('prints each URL with the sha256 sha256sum gives for what it serves, as manifest entries, in order', async (t) => {
  const base = await fileServer(t);
  const crds = `${base}/calico/v3.31.7/manifests/operator-crds.yaml`;
  const operator = `${base}/calico/v3.31.7/manifests/tigera-operator.yaml`;
  const run = await labimgAsync(['pin', crds, operator]);
  t.is(run.code, 0, run.stderr);
  t.is(run.stdout, `- url: ${crds}\n  sha256: ${sha256sum(CRDS)}\n- url: ${operator}\n  sha256: ${sha256sum(MANIFEST)}\n`);

  // Pasted under cni.manifests, the lines make a profile that validates.
  const dir = tempDir('labimg-pin-');
  const indented = run.stdout.split('\n').filter(Boolean).map((line) => `    ${line}`).join('\n');
  writeFileSync(path.join(dir, 'pinned.yaml'), `description: debian12 with its Calico pinned by labimg pin\nextends: debian12\ncni:\n  manifests:\n${indented}\n`);
  const validate = labimg(['validate', path.join(dir, 'pinned.yaml')]);
  t.is(validate.code, 0, validate.stdout + validate.stderr);
});

test('a redirect is followed, and the pin is of the file it leads to', async (t) => {
  const base = await fileServer(t);
  const run = await labimgAsync(['pin', `${base}/moved.yaml`]);
  t.is(run.code, 0, run.stderr);
  t.is(run.stdout, `- url: ${base}/moved.yaml\n  sha256: ${sha256sum(MANIFEST)}\n`);
});

test('a URL that does not serve a file, a download cut short and a non-URL are refused, and no pin is printed for them', async (t) => {
  const base = await fileServer(t);
  const missing = await labimgAsync(['pin', `${base}/nothing.yaml`]);
  t.not(missing.code, 0);
  t.is(missing.stdout, '');
  t.regex(missing.stderr, /nothing\.yaml answered HTTP 404; nothing to pin/);

  const cut = await labimgAsync(['pin', `${base}/cut.yaml`]);
  t.not(cut.code, 0);
  t.is(cut.stdout, '');
  t.regex(cut.stderr, /the download of \S+cut\.yaml broke off after \d+ bytes/);

  const notUrl = await labimgAsync(['pin', 'tigera-operator.yaml']);
  t.not(notUrl.code, 0);
  t.regex(notUrl.stderr, /"tigera-operator\.yaml" is not an http\(s\) URL/);
});
