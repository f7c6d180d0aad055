/**
 * PXE from a real `labimg serve`: a group file maps two MACs to different profiles and roles; each machine
 * gets its own kickstart or autoinstall over the plain-HTTP listener, an unknown MAC gets 404, the token in a
 * machine's config enrolls that machine alone, and an enrolled machine is told to boot from its disk.
 */
import test from 'ava';
import fc from 'fast-check';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import http from 'node:http';
import path from 'node:path';
import { load } from 'js-yaml';
import { RHEL7_KICKSTART, RHEL9_KICKSTART } from './helpers/kickstart-reference';
import type { NodeConfig, NodeSecrets } from '../contract/agent-config';
import { labimg, repoRoot, tempDir } from './helpers/cli';
import { createPoolToken, plainGet, servePxe, type RunningServe } from './helpers/endpoint';
import { startEtcd } from './helpers/etcd';
import { enrollBody, errorOf, parseResponse, rawExchange, send } from './helpers/https-client';
import { ipxeFindings, kickstartFindings, kickstartScripts, landedFiles } from './helpers/pxe-checks';
import { cloudInitSchema, debconfCheck, ignitionValidate, knownCloudConfigKeys, shellcheck } from './helpers/validators';

const CP_MAC = '52:54:00:12:34:56';
const WORKER_MAC = '52-54-00-AB-CD-EF';
const OPERATOR_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl operator@lab';

const GROUPS = `# Two machines of one rack
groups:
  - name: rack1-cp-1
    selector: { mac: "${CP_MAC}" }
    profile: centos
    role: control-plane
    pool: rack1
  - name: rack1-w-1
    selector:
      mac: ${WORKER_MAC}
    profile: ubuntu
    role: worker
    pool: rack1
sshAuthorizedKeys:
  - ${OPERATOR_KEY}
`;



function writeTemp(name: string, content: string): string {
  const file = path.join(tempDir('labimg-pxe-serve-'), name);
  writeFileSync(file, content);
  return file;
}

/** The files a kickstart's %post or an autoinstall late-command writes: path → content, from its here-documents. */
interface Setup {
  serve: RunningServe;
  pxePort: number;
  data: string;
}

async function serveWithGroups(t: { teardown(fn: () => Promise<void>): void }, groups = GROUPS, extraArgs: string[] = [], etcd?: string): Promise<Setup> {
  const data = path.join(tempDir('labimg-pxe-data-'), 'data');
  const store = { data, ...(etcd ? { etcd, etcdPrefix: 'pxe-test/' } : {}) };
  const { serve, pxePort } = await servePxe(t, { store, groups, pool: 'rack1', profile: 'centos', extraArgs });
  return { serve, pxePort, data };
}

test('two MACs, two profiles and roles: each gets its own install script and config, and an unknown MAC gets 404', async (t) => {
  const { serve, pxePort, data } = await serveWithGroups(t);
  const base = `http://127.0.0.1:${pxePort}/pxe`;

  const chain = await plainGet(pxePort, '/pxe/boot.ipxe');
  t.is(chain.status, 200);
  t.deepEqual(ipxeFindings(chain.text), []);
  t.true(chain.text.includes(`chain ${base}/nodes/\${netX/mac:hexhyp}/boot.ipxe`));

  // The CentOS control plane: an iPXE script into anaconda, and its kickstart.
  const cpIpxe = await plainGet(pxePort, '/pxe/nodes/52-54-00-12-34-56/boot.ipxe');
  t.is(cpIpxe.status, 200);
  t.deepEqual(ipxeFindings(cpIpxe.text), []);
  t.true(cpIpxe.text.includes(`inst.ks=${base}/nodes/52-54-00-12-34-56/kickstart.cfg`));
  const kickstart = await plainGet(pxePort, '/pxe/nodes/52-54-00-12-34-56/kickstart.cfg');
  t.is(kickstart.status, 200);
  for (const reference of [RHEL7_KICKSTART, RHEL9_KICKSTART]) t.deepEqual(kickstartFindings(kickstart.text, reference), [], reference.name);
  t.regex(kickstart.text, /^network .*--hostname=rack1-cp-1$/m);
  t.regex(kickstart.text, /^sshkey --username=centos "ssh-ed25519 /m);
  const [post] = kickstartScripts(kickstart.text);
  const lint = shellcheck(writeTemp('post.sh', `#!/bin/bash\n${post!.body}`), 'bash');
  t.is(lint.code, 0, lint.output);
  const cpFiles = landedFiles(post!.body);
  const cpNode = JSON.parse(cpFiles.get('/etc/labimg/node.json')!) as NodeConfig;
  t.like(cpNode, { role: 'control-plane', nodeName: 'rack1-cp-1', pool: 'rack1', endpoint: { url: serve.url, caFingerprint: serve.caFingerprint } });
  t.is((JSON.parse(cpFiles.get('/etc/labimg/agent.json')!) as { profile: string }).profile, 'centos');
  const cpToken = (JSON.parse(cpFiles.get('/etc/labimg/secrets.json')!) as NodeSecrets).enrollmentToken!;
  t.regex(cpToken, /^[a-z0-9]{8}\.[A-Za-z0-9_-]{43}$/);

  // The Ubuntu worker: a script into subiquity and a NoCloud seed; no kickstart.
  const workerIpxe = await plainGet(pxePort, '/pxe/nodes/52-54-00-ab-cd-ef/boot.ipxe');
  t.is(workerIpxe.status, 200);
  t.true(workerIpxe.text.includes(`ds=nocloud-net;s=${base}/nodes/52-54-00-ab-cd-ef/`));
  t.true(workerIpxe.text.includes(`kernel ${base}/assets/ubuntu-20.04.6-live-server-amd64/casper/vmlinuz `));
  const userData = await plainGet(pxePort, '/pxe/nodes/52-54-00-ab-cd-ef/user-data');
  t.is(userData.status, 200);
  const schema = cloudInitSchema(writeTemp('user-data', userData.text));
  t.is(schema.code, 0, schema.output);
  const config = load(userData.text) as { autoinstall: { version: number }; write_files: Array<{ content: string }> };
  t.is(config.autoinstall.version, 1);
  for (const key of Object.keys(config)) t.true(knownCloudConfigKeys().has(key), key);
  const workerFiles = landedFiles(config.write_files[0]!.content);
  t.like(JSON.parse(workerFiles.get('/etc/labimg/node.json')!) as NodeConfig, { role: 'worker', nodeName: 'rack1-w-1', pool: 'rack1' });
  t.is((JSON.parse(workerFiles.get('/etc/labimg/agent.json')!) as { profile: string }).profile, 'ubuntu');
  t.is((await plainGet(pxePort, '/pxe/nodes/52-54-00-ab-cd-ef/meta-data')).status, 200);

  // What a folder does not have, and machines the group file does not name.
  t.is((await plainGet(pxePort, '/pxe/nodes/52-54-00-ab-cd-ef/kickstart.cfg')).status, 404);
  t.is((await plainGet(pxePort, '/pxe/nodes/52-54-00-12-34-56/user-data')).status, 404);
  const unknown = await plainGet(pxePort, '/pxe/nodes/52-54-00-00-00-01/boot.ipxe');
  t.is(unknown.status, 404);
  t.regex(unknown.text, /no machine with MAC 52-54-00-00-00-01 in the PXE group file/);
  t.is((await plainGet(pxePort, '/pxe/nodes/not-a-mac/boot.ipxe')).status, 404);

  // The plain listener serves PXE and nothing else; the HTTPS port serves PXE too.
  for (const target of ['/v1/fleet', '/fleet', '/metrics', '/v1/agent/x.js']) t.is((await plainGet(pxePort, target)).status, 404, target);
  t.is((await send(serve.port, { path: '/pxe/nodes/52-54-00-12-34-56/boot.ipxe' })).status, 200);

  const audit = labimg(['audit', '--data', data]);
  t.regex(audit.stdout, /pxe-config-served +pool=rack1 node=rack1-cp-1 mac=52-54-00-12-34-56 token=\S+ from=127\.0\.0\.1/);
  t.regex(audit.stdout, /pxe-config-served +pool=rack1 node=rack1-w-1 mac=52-54-00-ab-cd-ef/);
  t.false(serve.output().includes(cpToken), 'the token is never logged');
});

const DEBIAN_MAC = '52:54:00:de:b1:2a';
const FLATCAR_MAC = '52:54:00:fc:00:01';
const DI_AND_FLATCAR_GROUPS = `groups:
  - name: rack1-w-2
    selector: { mac: "${DEBIAN_MAC}" }
    profile: debian12
    role: worker
    pool: rack1
  - name: rack1-w-3
    selector: { mac: "${FLATCAR_MAC}" }
    profile: flatcar
    role: worker
    pool: rack1
sshAuthorizedKeys:
  - ${OPERATOR_KEY}
`;

/** The live tokens the pool holds for `node`. */
function machineTokens(data: string, node: string): number {
  const pool = JSON.parse(labimg(['pool', 'list', '--json', '--data', data]).stdout) as Array<{ name: string; tokens: Array<{ node?: string }> }>;
  return pool.find((p) => p.name === 'rack1')!.tokens.filter((tk) => tk.node === node).length;
}

/** The file at `file` in an Ignition config, from its data URL (gzipped or not). */
function ignitionFile(config: string, file: string): string {
  const entry = (JSON.parse(config) as { storage: { files: Array<{ path: string; contents: { compression?: string; source: string } }> } }).storage.files.find((f) => f.path === file)!;
  const bytes = Buffer.from(entry.contents.source.replace(/^data:;base64,/, ''), 'base64');
  return (entry.contents.compression === 'gzip' ? gunzipSync(bytes) : bytes).toString('utf8');
}

test('a Debian machine gets d-i, a preseed without a token, and its token only in labimg-install.sh; a Flatcar machine the Ignition of its PXE image', async (t) => {
  const { serve, pxePort, data } = await serveWithGroups(t, DI_AND_FLATCAR_GROUPS);
  const base = `http://127.0.0.1:${pxePort}/pxe`;
  const folder = `${base}/nodes/52-54-00-de-b1-2a/`;

  const ipxe = await plainGet(pxePort, '/pxe/nodes/52-54-00-de-b1-2a/boot.ipxe');
  t.is(ipxe.status, 200);
  t.deepEqual(ipxeFindings(ipxe.text), []);
  t.regex(ipxe.text, new RegExp(`^kernel ${base}/assets/deb\\.debian\\.org/debian/dists/bookworm/\\S+/linux initrd=main auto=true priority=critical url=${folder}preseed\\.cfg interface=auto hostname=rack1-w-2 \\|\\| goto retry$`, 'm'));

  const preseed = await plainGet(pxePort, '/pxe/nodes/52-54-00-de-b1-2a/preseed.cfg');
  t.is(preseed.status, 200);
  const check = debconfCheck(writeTemp('preseed.cfg', preseed.text));
  t.true(check.passes, check.output);
  t.regex(preseed.text, /^d-i netcfg\/get_hostname string rack1-w-2$/m);
  t.is(machineTokens(data, 'rack1-w-2'), 0, 'the preseed carries no token, so none was minted for it');

  const script = await plainGet(pxePort, '/pxe/nodes/52-54-00-de-b1-2a/labimg-install.sh');
  t.is(script.status, 200);
  const lint = shellcheck(writeTemp('labimg-install.sh', script.text), 'bash');
  t.is(lint.code, 0, lint.output);
  const files = landedFiles(script.text);
  t.like(JSON.parse(files.get('/etc/labimg/node.json')!) as NodeConfig, { role: 'worker', nodeName: 'rack1-w-2', pool: 'rack1', endpoint: { url: serve.url, caFingerprint: serve.caFingerprint } });
  const token = (JSON.parse(files.get('/etc/labimg/secrets.json')!) as NodeSecrets).enrollmentToken!;
  t.regex(token, /^[a-z0-9]{8}\.[A-Za-z0-9_-]{43}$/);
  t.is(files.get('/home/debian/.ssh/authorized_keys'), `${OPERATOR_KEY}\n`);
  t.is(machineTokens(data, 'rack1-w-2'), 1, 'minted for the script');
  t.is((await plainGet(pxePort, '/pxe/nodes/52-54-00-de-b1-2a/kickstart.cfg')).status, 404);

  // Flatcar: its PXE image with the Ignition that installs it to disk, carrying the node's own.
  const flatcarIpxe = await plainGet(pxePort, '/pxe/nodes/52-54-00-fc-00-01/boot.ipxe');
  t.deepEqual(ipxeFindings(flatcarIpxe.text), []);
  t.true(flatcarIpxe.text.includes(`flatcar_production_pxe.vmlinuz initrd=main flatcar.first_boot=1 ignition.config.url=${base}/nodes/52-54-00-fc-00-01/ignition.json `));
  const ignition = await plainGet(pxePort, '/pxe/nodes/52-54-00-fc-00-01/ignition.json');
  t.is(ignition.status, 200);
  const outer = ignitionValidate(writeTemp('ignition.json', ignition.text));
  t.true(outer.passes, outer.output);
  const node = ignitionFile(ignition.text, '/opt/labimg-install/node.ign');
  const inner = ignitionValidate(writeTemp('node.ign', node));
  t.true(inner.passes, inner.output);
  t.like(JSON.parse(ignitionFile(node, '/etc/labimg/node.json')) as NodeConfig, { role: 'worker', nodeName: 'rack1-w-3', pool: 'rack1' });
  t.regex((JSON.parse(ignitionFile(node, '/etc/labimg/secrets.json')) as NodeSecrets).enrollmentToken!, /^[a-z0-9]{8}\./);
  t.is(machineTokens(data, 'rack1-w-3'), 1);

  // Enrolled from its disk: the Debian machine is told to boot it, and its script is not served again.
  const enrolled = await send(serve.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody('rack1-w-2', 'worker') });
  t.is(enrolled.status, 200, enrolled.text);
  t.regex((await plainGet(pxePort, '/pxe/nodes/52-54-00-de-b1-2a/boot.ipxe')).text, /^exit$/m);
  t.is((await plainGet(pxePort, '/pxe/nodes/52-54-00-de-b1-2a/labimg-install.sh')).status, 409);
  t.regex(labimg(['audit', '--data', data]).stdout, /pxe-config-served +pool=rack1 node=rack1-w-2 mac=52-54-00-de-b1-2a/);
  t.false(serve.output().includes(token), 'the token is never logged');
});

/**
 * Runs a served script as its installer would, with the real curl: `interpreter` over `script`, the target root
 * moved to a temporary folder, and stand-ins first on PATH for what would act on this machine (systemctl) or
 * needs the installed system's users (chown).
 */
async function runAsInstaller(interpreter: string, script: string): Promise<{ status: number | null; stderr: string; calls: string }> {
  const bin = tempDir('labimg-pxe-installer-bin-');
  const calls = path.join(bin, 'calls.log');
  for (const name of ['systemctl', 'chown', 'curtin']) {
    writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >> '${calls}'\n`, { mode: 0o755 });
  }
  const file = writeTemp('script', script);
  // Not spawnSync: the script waits on the endpoint, which other tests of this process are talking to.
  const child = spawn(interpreter, [file], { env: { PATH: `${bin}:/usr/bin:/bin`, LABIMG_TARGET_ROOT: tempDir('labimg-pxe-target-') }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const status = await new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
  return { status, stderr, calls: existsSync(calls) ? readFileSync(calls, 'utf8') : '' };
}

test("the install scripts labimg serve hands out say, with curl and the install's token, that the install has finished; the machine then boots its disk", async (t) => {
  const { serve, pxePort, data } = await serveWithGroups(t, DI_AND_FLATCAR_GROUPS);
  // debian-installer: labimg-install.sh, which late_command runs in the new system.
  const script = await plainGet(pxePort, '/pxe/nodes/52-54-00-de-b1-2a/labimg-install.sh');
  t.regex((await plainGet(pxePort, '/pxe/nodes/52-54-00-de-b1-2a/boot.ipxe')).text, /^kernel /m);
  const debian = await runAsInstaller('bash', script.text);
  t.is(debian.status, 0, debian.stderr);
  t.regex(debian.calls, /^systemctl enable labimg-agent\.service$/m);
  t.regex((await plainGet(pxePort, '/pxe/nodes/52-54-00-de-b1-2a/boot.ipxe')).text, /^exit$/m, 'the reboot that ends the install boots the disk');
  t.regex(labimg(['audit', '--data', data]).stdout, /pxe-install-finished +pool=rack1 node=rack1-w-2 mac=52-54-00-de-b1-2a/);

  // Flatcar: the script the PXE image's install unit runs after flatcar-install, a 0700 file of its own.
  const ignition = await plainGet(pxePort, '/pxe/nodes/52-54-00-fc-00-01/ignition.json');
  const config = JSON.parse(ignition.text) as { storage: { files: Array<{ path: string; mode: number }> }; systemd: { units: Array<{ contents: string }> } };
  t.is(config.storage.files.find((file) => file.path === '/opt/labimg-install/finished.sh')?.mode, 0o700);
  t.regex(config.systemd.units[0]!.contents, /^ExecStart=\/usr\/bin\/flatcar-install .*\nExecStart=\/opt\/labimg-install\/finished\.sh\nExecStartPost=\/usr\/bin\/systemctl reboot$/m);
  const flatcar = await runAsInstaller('sh', ignitionFile(ignition.text, '/opt/labimg-install/finished.sh'));
  t.is(flatcar.status, 0, flatcar.stderr);
  t.regex((await plainGet(pxePort, '/pxe/nodes/52-54-00-fc-00-01/boot.ipxe')).text, /^exit$/m);
  t.false(serve.output().includes(ignitionFile(ignition.text, '/opt/labimg-install/finished.sh').match(/Bearer ([^']+)/)![1]!), 'the token is never logged');
});

test("kickstart's %post and autoinstall's late-command say so too, each from where its installer runs it", async (t) => {
  const { pxePort } = await serveWithGroups(t);
  const kickstart = await plainGet(pxePort, '/pxe/nodes/52-54-00-12-34-56/kickstart.cfg');
  const [post] = kickstartScripts(kickstart.text);
  const centos = await runAsInstaller('bash', `#!/bin/bash\n${post!.body}`);
  t.is(centos.status, 0, centos.stderr);
  t.regex((await plainGet(pxePort, '/pxe/nodes/52-54-00-12-34-56/boot.ipxe')).text, /^exit$/m);

  const userData = await plainGet(pxePort, '/pxe/nodes/52-54-00-ab-cd-ef/user-data');
  const lateCommand = (load(userData.text) as { write_files: Array<{ content: string }> }).write_files[0]!.content;
  const ubuntu = await runAsInstaller('bash', lateCommand);
  t.is(ubuntu.status, 0, ubuntu.stderr);
  t.regex(ubuntu.calls, /^curtin in-target --target=\S+ -- systemctl enable labimg-agent\.service$/m);
  t.regex((await plainGet(pxePort, '/pxe/nodes/52-54-00-ab-cd-ef/boot.ipxe')).text, /^exit$/m);
});

test('an install script whose endpoint is gone fails, so the installer stops at its error instead of installing again at every boot', async (t) => {
  const { serve, pxePort } = await serveWithGroups(t, DI_AND_FLATCAR_GROUPS);
  const script = await plainGet(pxePort, '/pxe/nodes/52-54-00-de-b1-2a/labimg-install.sh');
  await serve.kill();
  const run = await runAsInstaller('bash', script.text);
  t.is(run.status, 1);
  t.regex(run.stderr, new RegExp(`labimg: could not tell http://127\\.0\\.0\\.1:${pxePort}/pxe/nodes/52-54-00-de-b1-2a/installed that the install has finished`));
});

async function kickstartTokenOf(pxePort: number, mac: string): Promise<string> {
  const kickstart = await plainGet(pxePort, `/pxe/nodes/${mac}/kickstart.cfg`);
  if (kickstart.status !== 200) throw new Error(`kickstart.cfg of ${mac}: ${kickstart.status} ${kickstart.text}`);
  const [post] = kickstartScripts(kickstart.text);
  return (JSON.parse(landedFiles(post!.body).get('/etc/labimg/secrets.json')!) as NodeSecrets).enrollmentToken!;
}

test("a machine's token enrolls that node in that role alone, every fetch of its config carries the same one, and an enrolled machine boots from disk", async (t) => {
  const { serve, pxePort, data } = await serveWithGroups(t);
  const first = await kickstartTokenOf(pxePort, '52-54-00-12-34-56');
  const token = await kickstartTokenOf(pxePort, '52-54-00-12-34-56');
  t.is(token, first, 'serving the same config twice hands out the same live token');

  const otherName = await send(serve.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody('rack1-cp-2', 'control-plane') });
  t.is(otherName.status, 403);
  t.regex(errorOf(otherName), /issued for control-plane node "rack1-cp-1" alone/);
  const otherRole = await send(serve.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody('rack1-cp-1', 'worker') });
  t.is(otherRole.status, 403);

  t.regex((await plainGet(pxePort, '/pxe/nodes/52-54-00-12-34-56/boot.ipxe')).text, /^kernel /m, 'not installed yet: the install script');
  const enrolled = await send(serve.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody('rack1-cp-1', 'control-plane') });
  t.is(enrolled.status, 200, enrolled.text);
  const afterwards = await plainGet(pxePort, '/pxe/nodes/52-54-00-12-34-56/boot.ipxe');
  t.deepEqual(ipxeFindings(afterwards.text), []);
  t.regex(afterwards.text, /^exit$/m, 'installed: leave iPXE, so the firmware boots the disk');
  t.notRegex(afterwards.text, /^kernel /m);

  // Anyone who knows the MAC and asks for its config now gets no token, and the real node keeps its name.
  const again = await plainGet(pxePort, '/pxe/nodes/52-54-00-12-34-56/kickstart.cfg');
  t.is(again.status, 409);
  t.regex(again.text, /machine 52-54-00-12-34-56 is installed \(its installer finished, or node rack1-cp-1 has enrolled\), so its install config is not served again; `labimg nodes forget rack1-cp-1` before reinstalling it/);
  const pool = JSON.parse(labimg(['pool', 'list', '--json', '--data', data]).stdout) as Array<{ name: string; tokens: Array<{ node?: string }> }>;
  t.is(pool.find((p) => p.name === 'rack1')!.tokens.filter((tk) => tk.node === 'rack1-cp-1').length, 1, 'no token was minted after the enrollment');
});

test("an installer that says it has finished, with its machine's token, makes the machine boot from its disk before its agent enrolls; no other token can", async (t) => {
  const { serve, pxePort, data } = await serveWithGroups(t);
  const token = await kickstartTokenOf(pxePort, '52-54-00-12-34-56');
  // As the install script's curl sends it, over the plain listener.
  const finished = (mac: string, bearer?: string) =>
    fetch(`http://127.0.0.1:${pxePort}/pxe/nodes/${mac}/installed`, { method: 'POST', headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` } });
  t.is((await finished('52-54-00-12-34-56')).status, 401);
  t.is((await finished('52-54-00-12-34-56', createPoolToken({ data }, 'rack1'))).status, 403, "a pool's token ends no machine's install");
  t.is((await finished('52-54-00-ab-cd-ef', token)).status, 403, "one machine's token ends no other machine's install");
  t.regex((await plainGet(pxePort, '/pxe/nodes/52-54-00-12-34-56/boot.ipxe')).text, /^kernel /m, 'still installing');

  t.is((await finished('52-54-00-12-34-56', token)).status, 204);
  t.is((await finished('52-54-00-12-34-56', token)).status, 204, 'said twice, as a retrying installer would');
  t.regex((await plainGet(pxePort, '/pxe/nodes/52-54-00-12-34-56/boot.ipxe')).text, /^exit$/m, 'the reboot after the install boots the disk');
  t.is((await plainGet(pxePort, '/pxe/nodes/52-54-00-12-34-56/kickstart.cfg')).status, 409);
  t.regex(labimg(['audit', '--data', data]).stdout, /pxe-install-finished +pool=rack1 node=rack1-cp-1 mac=52-54-00-12-34-56 token=\S+ from=127\.0\.0\.1/);

  // Saying so took no use of the token: the installed system's agent enrolls with it.
  const enrolled = await send(serve.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody('rack1-cp-1', 'control-plane') });
  t.is(enrolled.status, 200, enrolled.text);

  // Forgotten, the machine installs again, with a new token; the old one enrolls nothing any more.
  t.is(labimg(['nodes', 'forget', 'rack1-cp-1', '--data', data]).code, 0);
  t.regex((await plainGet(pxePort, '/pxe/nodes/52-54-00-12-34-56/boot.ipxe')).text, /^kernel /m);
  t.not(await kickstartTokenOf(pxePort, '52-54-00-12-34-56'), token);
  t.is((await send(serve.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody('rack1-cp-1', 'control-plane') })).status, 403);
});

test('a machine that finished installing but never enrolled is forgotten by its node name, and its token with it', async (t) => {
  const { serve, pxePort, data } = await serveWithGroups(t);
  const token = await kickstartTokenOf(pxePort, '52-54-00-12-34-56');
  const said = await fetch(`http://127.0.0.1:${pxePort}/pxe/nodes/52-54-00-12-34-56/installed`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  t.is(said.status, 204);
  const forgot = labimg(['nodes', 'forget', 'rack1-cp-1', '--data', data]);
  t.is(forgot.code, 0, forgot.stderr);
  const stale = await send(serve.port, { method: 'POST', path: '/v1/enroll', token, json: enrollBody('rack1-cp-1', 'control-plane') });
  t.is(stale.status, 403, 'the disk of the forgotten install holds a revoked token');
  t.regex((await plainGet(pxePort, '/pxe/nodes/52-54-00-12-34-56/boot.ipxe')).text, /^kernel /m, 'and the machine installs again');
});

for (const backend of ['file store', 'etcd'] as const) {
  test.serial(`forty concurrent fetches of one machine's config leave exactly one live token, and every answer carries it (${backend})`, async (t) => {
    const etcd = backend === 'etcd' ? await startEtcd() : undefined;
    if (etcd) t.teardown(() => etcd.stop());
    const { pxePort, data } = await serveWithGroups(t, GROUPS, [], etcd?.url);
    const tokens = await Promise.all(Array.from({ length: 40 }, () => kickstartTokenOf(pxePort, '52-54-00-12-34-56')));
    t.is(new Set(tokens).size, 1);
    const listed = labimg(['pool', 'list', '--json', '--data', data, ...(etcd ? ['--etcd', etcd.url, '--etcd-prefix', 'pxe-test/'] : [])]);
    const pool = JSON.parse(listed.stdout) as Array<{ name: string; tokens: Array<{ id: string; node?: string; usesLeft?: number }> }>;
    const machineTokens = pool.find((p) => p.name === 'rack1')!.tokens.filter((tk) => tk.node === 'rack1-cp-1');
    t.deepEqual(machineTokens.map((tk) => ({ id: tk.id, usesLeft: tk.usesLeft })), [{ id: tokens[0]!.split('.')[0], usesLeft: 1 }]);
  });
}

test('/pxe/assets/ serves files from --pxe-assets and nothing outside it', async (t) => {
  const assets = tempDir('labimg-pxe-assets-');
  const casper = path.join(assets, 'ubuntu-20.04.6-live-server-amd64', 'casper');
  mkdirSync(casper, { recursive: true });
  const kernel = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
  writeFileSync(path.join(casper, 'vmlinuz'), kernel);
  const secret = writeTemp('secret.txt', 'not for PXE clients\n');
  symlinkSync(secret, path.join(casper, 'escape'));
  const { pxePort } = await serveWithGroups(t, GROUPS, ['--pxe-assets', assets]);

  const served = await new Promise<Buffer>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: pxePort, path: '/pxe/assets/ubuntu-20.04.6-live-server-amd64/casper/vmlinuz' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks)));
    }).on('error', reject);
  });
  t.true(served.equals(kernel));
  t.is((await plainGet(pxePort, '/pxe/assets/ubuntu-20.04.6-live-server-amd64/casper/escape')).status, 404, 'a link out of the folder');
  t.is((await plainGet(pxePort, '/pxe/assets/ubuntu-20.04.6-live-server-amd64/casper')).status, 404, 'a folder');
  t.is((await plainGet(pxePort, '/pxe/assets/../secret.txt')).status, 400);
  t.is((await plainGet(pxePort, '/pxe/assets/missing')).status, 404);
});

test('a bad group file stops labimg serve before it starts, with every problem by file, line and field', async (t) => {
  const file = writeTemp(
    'groups.yaml',
    `groups:
  - name: rack1-cp-1
    selector: { mac: "${CP_MAC}" }
    profile: centos
    role: control-plane
  - name: rack1-cp-1
    selector: { mac: "52:54:00:12:34:56" }
    profile: ubuntu1804
    role: master
  - name: Rack_2
    selector: { mac: "52:54:00:12:34" }
    profile: ubuntu
    role: worker
    pools: rack1
`,
  );
  const structural = labimg(['serve', '--data', tempDir(), '--listen', '127.0.0.1:0', '--pxe-groups', file, '--pxe-listen', '127.0.0.1:0']);
  t.is(structural.code, 1);
  const lines = structural.stderr.trim().split('\n');
  t.true(lines.some((line) => /groups\.yaml:9:11: groups\[1\]\.role: expected one of "control-plane", "worker", got "master"/.test(line)), structural.stderr);
  t.true(lines.some((line) => /groups\.yaml:10:11: groups\[2\]\.name: expected a node name/.test(line)), structural.stderr);
  t.true(lines.some((line) => /groups\.yaml:11:22: groups\[2\]\.selector\.mac: expected a MAC address/.test(line)), structural.stderr);
  t.true(lines.some((line) => /groups\.yaml:14:5: groups\[2\]\.pools: unknown field "pools"; did you mean "pool"\?/.test(line)), structural.stderr);
  t.false(structural.stdout.includes('listening'));

  const semantic = writeTemp(
    'groups.yaml',
    `groups:
  - name: rack1-cp-1
    selector: { mac: "${CP_MAC}" }
    profile: centos
    role: control-plane
  - name: rack1-cp-1
    selector: { mac: "52-54-00-12-34-56" }
    profile: debian11
    role: worker
  - name: rack1-w-9
    selector: { mac: "52:54:00:12:34:99" }
    profile: nosuch
    role: worker
`,
  );
  // Every shipped profile installs over the network; Debian 11's installer is one labimg writes nothing for.
  const profiles = path.join(tempDir('labimg-pxe-profiles-'), 'profiles');
  cpSync(path.join(repoRoot, 'profiles'), profiles, { recursive: true });
  writeFileSync(path.join(profiles, 'debian11.yaml'), 'description: Debian 11, as debian12 otherwise\nextends: debian12\nos:\n  versionId: "11"\n');
  const result = labimg(['serve', '--data', tempDir(), '--listen', '127.0.0.1:0', '--profiles', profiles, '--pxe-groups', semantic, '--pxe-listen', '127.0.0.1:0']);
  t.is(result.code, 1);
  t.regex(result.stderr, /groups\.yaml:6:11: groups\[1\]\.name: node name "rack1-cp-1" is already taken by groups\[0\]/);
  t.regex(result.stderr, /groups\.yaml:7:22: groups\[1\]\.selector\.mac: MAC 52-54-00-12-34-56 is already selected by groups\[0\]/);
  t.regex(result.stderr, /groups\.yaml:8:14: groups\[1\]\.profile: profile debian11 cannot be installed over the network: labimg installs Ubuntu 18\.04 and Debian 12 or later with preseed/);
  t.regex(result.stderr, /groups\.yaml:12:14: groups\[2\]\.profile: profile nosuch does not load/);
});

test('random and mutated requests at the PXE listener: always well-formed HTTP under 500, and it keeps serving', async (t) => {
  const seed = Number(process.env.LABIMG_FUZZ_SEED ?? Math.floor(Math.random() * 0x7fffffff));
  const { serve, pxePort } = await serveWithGroups(t);
  const segment = fc.oneof(
    fc.constantFrom('pxe', 'nodes', 'assets', 'boot.ipxe', 'kickstart.cfg', 'user-data', 'meta-data', '52-54-00-12-34-56', '52-54-00-ab-cd-ef', 'v1', 'fleet', '..', '.', ''),
    fc.string({ maxLength: 12 }),
    fc.stringMatching(/^[0-9a-f]{2}(-[0-9a-f]{2}){5}$/),
  );
  const target = fc.oneof(
    fc.array(segment, { maxLength: 6 }).map((segments) => `/${segments.join('/')}`),
    fc.tuple(fc.constantFrom('52-54-00-12-34-56', '52-54-00-ab-cd-ef'), fc.constantFrom('boot.ipxe', 'kickstart.cfg', 'user-data', 'meta-data')).map(([mac, name]) => `/pxe/nodes/${mac}/${name}`),
    fc.string({ maxLength: 40 }),
  );
  const host = fc.oneof(fc.constant('127.0.0.1'), fc.string({ maxLength: 30 }), fc.constantFrom('[::1]:8080', 'pxe.lab:80', 'a b', '10.0.0.5:99999', ''));
  const request = fc.record({ method: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'BREW', 'get'), target, host });
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(request, async ({ method, target: path, host: hostHeader }) => {
      sent += 1;
      const raw = `${method} ${path.replace(/[\r\n ]/g, '_') || '/'} HTTP/1.1\r\nHost: ${hostHeader.replace(/[\r\n]/g, '')}\r\nConnection: close\r\n\r\n`;
      const answer = await rawExchange(pxePort, raw, { plain: true });
      const response = parseResponse(answer.bytes, { head: method === 'HEAD' });
      if (response.status >= 500) throw new Error(`${response.status} for ${JSON.stringify(raw)}: ${response.body.toString('utf8')}`);
    }),
    { seed, numRuns: 400, interruptAfterTimeLimit: 15_000 },
  );
  t.true(sent > 50, `only ${sent} requests were sent`);
  t.is((await plainGet(pxePort, '/pxe/nodes/52-54-00-12-34-56/boot.ipxe')).status, 200, `still serving (seed ${seed})`);
  t.notRegex(serve.output(), /store error|Error:/, `seed ${seed}`);
});
