/**
 * Stub user-data: for clouds whose user-data limit the full file passes (EC2: 16,384 B), a cloud-config
 * without the agent that fetches agent.js, checks its sha256 and only then lets the unit run it. The fetch
 * script runs for real here, against a plain HTTP server and against a real `labimg serve`.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { load } from 'js-yaml';
import type { Manifest } from '../builder/manifest';
import { agentPath, labimg, tempDir } from './helpers/cli';
import { createPool, startServe } from './helpers/endpoint';
import { cloudInitSchema, shellcheck } from './helpers/validators';

const PROFILES = ['centos', 'centos-gpu', 'ubuntu', 'ubuntu1804', 'ubuntu-gpu'];
const ROLES = ['control-plane', 'worker'];
const AGENT_URL = 'https://files.example.com/labimg/agent.js';
const EC2_LIMIT = 16_383;

interface WriteFileEntry {
  path: string;
  permissions: string;
  encoding?: string;
  content: string;
}

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

function build(profile: string, extra: string[]): { dir: string; stdout: string } {
  const out = tempDir();
  const result = labimg(['build', profile, '--out', out, ...extra]);
  if (result.code !== 0) throw new Error(`labimg build ${profile} failed (${result.code}):\n${result.stderr}`);
  return { dir: path.join(out, profile), stdout: result.stdout };
}

function writeFilesOf(file: string): WriteFileEntry[] {
  return (load(readFileSync(file, 'utf8')) as { write_files: WriteFileEntry[] }).write_files;
}

/** The fetch script of a stub, written out to run. */
function fetcherOf(stub: string): string {
  const entry = writeFilesOf(stub).find((f) => f.path === '/opt/labimg/fetch-agent.sh');
  if (!entry) throw new Error(`${stub} writes no fetch-agent.sh`);
  const file = path.join(tempDir(), 'fetch-agent.sh');
  writeFileSync(file, entry.content, { mode: 0o755 });
  return file;
}

/** Runs the script asynchronously: the HTTP servers it talks to live in this process and must keep answering. */
function runFetcher(script: string, target: string, seconds = 60): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', [script], { env: { ...process.env, LABIMG_AGENT_PATH: target, LABIMG_AGENT_FETCH_SECONDS: String(seconds) } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

/** A plain HTTP server answering every request with `body`; counts requests. */
async function fileServer(body: Buffer): Promise<{ url: string; requests: () => number; server: Server }> {
  let requests = 0;
  const server = createServer((_req, res) => {
    requests += 1;
    res.writeHead(200, { 'content-length': String(body.length) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/agent.js`, requests: () => requests, server };
}

for (const profile of PROFILES) {
  test(`${profile}: --agent-url adds stubs under EC2's limit that pass cloud-init's schema and carry no agent`, (t) => {
    const { dir, stdout } = build(profile, ['--agent-url', AGENT_URL]);
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    const bundle = readFileSync(agentPath);
    for (const role of ROLES) {
      const name = `user-data-${role}-stub.yaml`;
      const stub = path.join(dir, name);
      const entry = manifest.files.find((f) => f.name === name);
      t.truthy(entry, `${name} is in the manifest`);
      t.true((entry?.size ?? Infinity) <= EC2_LIMIT, `${name} is ${entry?.size} B`);
      t.true(entry?.userDataLimits?.ec2.fits);
      t.regex(stdout, new RegExp(`${name}\\s+\\d+ B  \\w+  \\(ec2 fits, aliyun fits, openstack fits, azure fits, gce fits\\)`));
      const validated = cloudInitSchema(stub);
      t.is(validated.code, 0, validated.output);
      const files = writeFilesOf(stub);
      t.false(files.some((f) => f.path === '/opt/labimg/agent.js'), 'the agent itself is not in the stub');
      const fetcher = readFileSync(fetcherOf(stub), 'utf8');
      t.true(fetcher.includes(`url='${AGENT_URL}'`));
      t.true(fetcher.includes(`sha256='${sha256(bundle)}'`));
      t.false(fetcher.includes('--insecure'), 'a URL the user hosts is verified as usual');
      const dropIn = files.find((f) => f.path === '/etc/systemd/system/labimg-agent.service.d/fetch-agent.conf');
      t.is(dropIn?.content, '[Service]\nExecStartPre=/opt/labimg/fetch-agent.sh\n');
      // Everything else is the full user-data's, byte for byte.
      const full = writeFilesOf(path.join(dir, `user-data-${role}.yaml`)).filter((f) => f.path !== '/opt/labimg/agent.js');
      t.deepEqual(files.filter((f) => !f.path.includes('fetch-agent')), full);
    }
    t.notRegex(stdout, /EC2 and Alibaba Cloud take 16 KB/, 'no hint once the stubs are there');
  });
}

test('without an agent source the build says how to get a stub, and writes none', (t) => {
  const { dir, stdout } = build('centos', []);
  t.regex(stdout, /EC2 and Alibaba Cloud take 16 KB of user-data: add --agent-url URL \(where you serve agent\.js\) for user-data-ROLE-stub\.yaml and ignition-ROLE-stub\.json, which fetch the agent and check its sha256/);
  t.deepEqual(readdirSync(dir).filter((name) => name.includes('stub')), []);
});

test('the fetch script passes shellcheck, and shellcheck fails a broken copy', (t) => {
  const script = fetcherOf(path.join(build('ubuntu', ['--agent-url', AGENT_URL]).dir, 'user-data-worker-stub.yaml'));
  const checked = shellcheck(script);
  t.is(checked.code, 0, checked.output);
  writeFileSync(script, readFileSync(script, 'utf8').replace('sleep "$pause"', 'sleep $pause_typo[1]'));
  t.not(shellcheck(script).code, 0);
});

test('the fetch script lands the bundle, does nothing when it is there, and never keeps a wrong one', async (t) => {
  t.timeout(120_000);
  const bundle = readFileSync(agentPath);
  const good = await fileServer(bundle);
  const bad = await fileServer(Buffer.concat([bundle, Buffer.from('\n// tampered\n')]));
  t.teardown(() => {
    good.server.close();
    bad.server.close();
  });
  const target = path.join(tempDir(), 'lib', 'agent.js');

  const goodScript = fetcherOf(path.join(build('ubuntu', ['--agent-url', good.url]).dir, 'user-data-worker-stub.yaml'));
  const first = await runFetcher(goodScript, target);
  t.is(first.status, 0, first.stderr);
  t.true(readFileSync(target).equals(bundle));
  t.is(good.requests(), 1);
  const again = await runFetcher(goodScript, target);
  t.is(again.status, 0, again.stderr);
  t.is(good.requests(), 1, 'a bundle already in place with the right hash is not fetched again');

  const elsewhere = path.join(tempDir(), 'agent.js');
  const badScript = fetcherOf(path.join(build('ubuntu', ['--agent-url', bad.url]).dir, 'user-data-worker-stub.yaml'));
  const refused = await runFetcher(badScript, elsewhere, 3);
  t.is(refused.status, 1);
  t.regex(refused.stderr, /could not fetch the agent with sha256 [0-9a-f]{64} from http:\/\/127\.0\.0\.1/);
  t.true(bad.requests() >= 2, 'it kept trying until its deadline');
  t.false(existsSync(elsewhere), 'a bundle with the wrong hash is never put in place');
  t.deepEqual(readdirSync(path.dirname(elsewhere)), [], 'and no partial download is left behind');
});

test('a pool build fetches the agent from the real endpoint it enrolls with, by hash', async (t) => {
  t.timeout(120_000);
  const data = tempDir('labimg-endpoint-');
  const serve = await startServe({ data });
  t.teardown(() => serve.kill());
  const tokenFile = path.join(tempDir(), 'token');
  writeFileSync(tokenFile, `${createPool({ data }, 'lab', 'ubuntu')}\n`, { mode: 0o600 });
  const { dir } = build('ubuntu', ['--endpoint', serve.url, '--endpoint-ca-fingerprint', serve.caFingerprint, '--pool', 'lab', '--enrollment-token-file', tokenFile]);
  const bundle = readFileSync(agentPath);
  const script = fetcherOf(path.join(dir, 'user-data-worker-stub.yaml'));
  t.true(readFileSync(script, 'utf8').includes(`url='${serve.url}/v1/agent/${sha256(bundle)}.js'`));

  const target = path.join(tempDir(), 'agent.js');
  const fetched = await runFetcher(script, target);
  t.is(fetched.status, 0, fetched.stderr);
  t.true(readFileSync(target).equals(bundle));

  // Another hash is not served: the message says which bundle this endpoint has.
  const other = spawnSync('curl', ['-sS', '--insecure', `${serve.url}/v1/agent/${'0'.repeat(64)}.js`], { encoding: 'utf8' });
  t.regex(other.stdout, new RegExp(`this endpoint serves agent ${sha256(bundle)}, not 0{64}`));
});

test('a bad --agent-url names the flag and writes nothing', (t) => {
  const out = tempDir();
  for (const [url, message] of [
    ['files.example.com/agent.js', /--agent-url: expected the URL agent\.js is served at/],
    ['ftp://files.example.com/agent.js', /--agent-url: expected an http or https URL, got "ftp:/],
    ['https://user:secret@files.example.com/agent.js', /--agent-url: a URL with credentials in it would land in user-data/],
  ] as const) {
    const result = labimg(['build', 'ubuntu', '--out', out, '--agent-url', url]);
    t.is(result.code, 1, url);
    t.regex(result.stderr, message);
  }
  t.deepEqual(readdirSync(out), []);
});
