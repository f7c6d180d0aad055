/**
 * Everything iPXE fetches is plain HTTP. The iPXE in PC firmware has no HTTPS (iPXE leaves DOWNLOAD_PROTO_HTTPS
 * out of BIOS builds; see builder/render/pxe/layout.ts for the sources), so an https kernel, initrd or chain
 * target loops in the script's retry forever. Checked on the files as written: every PXE-capable profile built by
 * `labimg build --pxe-url`, and every script a real `labimg serve` hands out on its PXE listener.
 */
import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { compileAgentConfig } from '../builder/compile';
import { listProfiles, loadProfile } from '../builder/profiles';
import { pxeUnavailable } from '../builder/render/pxe';
import { filesIn, labimg, repoRoot, tempDir } from './helpers/cli';
import { plainGet, startServe } from './helpers/endpoint';

const PXE_URL = 'http://10.0.0.5:8080/lab/pxe';

/** Every profile `labimg build` writes a boot.ipxe for. */
const PXE_PROFILES = listProfiles(path.join(repoRoot, 'profiles'))
  .filter((p) => !p.abstract)
  .map((p) => p.name)
  .filter((name) => {
    const profile = loadProfile(name, { dir: path.join(repoRoot, 'profiles') });
    return pxeUnavailable(compileAgentConfig(profile).os, profile.image) === undefined;
  });

/** The URL each line that makes iPXE download something fetches: kernel, initrd (with or without --name), chain. */
const FETCH_LINE = /^(kernel|initrd|chain)\b(?: --name \S+)? (\S+)/gm;

function fetchedUrls(script: string): Array<{ command: string; url: string }> {
  return [...script.matchAll(FETCH_LINE)].map((match) => ({ command: match[1]!, url: match[2]! }));
}

function build(profile: string, pxeUrl = PXE_URL): { dir: string; stdout: string } {
  const out = tempDir('labimg-pxe-http-');
  const result = labimg(['build', profile, '--out', out, '--pxe-url', pxeUrl]);
  if (result.code !== 0) throw new Error(`labimg build ${profile} failed (${result.code}):\n${result.stderr}`);
  return { dir: path.join(out, profile), stdout: result.stdout };
}


test('the RHEL-family and Ubuntu profiles are among those checked', (t) => {
  for (const name of ['centos', 'centos-gpu', 'rocky9', 'ubuntu']) t.true(PXE_PROFILES.includes(name), name);
});

for (const profile of PXE_PROFILES) {
  test(`labimg build ${profile} --pxe-url: every kernel, initrd and chain line of every iPXE script fetches over http://`, (t) => {
    const { dir } = build(profile);
    const scripts = filesIn(dir).filter((name) => name.endsWith('.ipxe'));
    t.deepEqual(scripts, ['pxe/nodes/control-plane/boot.ipxe', 'pxe/nodes/worker/boot.ipxe']);
    for (const name of scripts) {
      const script = readFileSync(path.join(dir, name), 'utf8');
      const fetched = fetchedUrls(script);
      t.deepEqual(fetched.map((f) => f.command), ['kernel', 'initrd'], name);
      for (const { command, url } of fetched) t.regex(url, /^http:\/\/10\.0\.0\.5:8080\/lab\/pxe\/assets\/\S+$/, `${name}: ${command}`);
    }
  });
}

test("centos's boot.ipxe fetches the kernel and initrd from the PXE base's assets/, not from the mirror over https", (t) => {
  const { dir, stdout } = build('centos');
  const script = readFileSync(path.join(dir, 'pxe/nodes/worker/boot.ipxe'), 'utf8');
  const tree = 'mirrors.aliyun.com/centos-vault/7.9.2009/os/x86_64';
  t.regex(script, new RegExp(`^kernel http://10\\.0\\.0\\.5:8080/lab/pxe/assets/${tree.replace(/\./g, '\\.')}/images/pxeboot/vmlinuz initrd=main `, 'm'));
  t.true(script.includes(`\ninitrd --name main http://10.0.0.5:8080/lab/pxe/assets/${tree}/images/pxeboot/initrd.img || goto retry\n`));
  // The installer fetches the tree itself, with TLS: that stays https.
  t.true(script.includes(` inst.repo=https://${tree}/ `));
  t.true(
    stdout.includes(
      `PXE: serve images/pxeboot/vmlinuz and images/pxeboot/initrd.img, downloaded from https://${tree}/ and checked against the sha256 its .treeinfo lists under [checksums], at ${PXE_URL}/assets/${tree}/images/pxeboot/\n`,
    ),
    stdout,
  );
});

test('labimg build refuses an https --pxe-url, saying why', (t) => {
  const result = labimg(['build', 'centos', '--out', tempDir('labimg-pxe-http-'), '--pxe-url', 'https://10.0.0.5/lab/pxe']);
  t.is(result.code, 1);
  t.regex(result.stderr, /--pxe-url: iPXE fetches boot\.ipxe and the installer's kernel and initrd from https:\/\/10\.0\.0\.5\/lab\/pxe\/, and the iPXE in PC firmware has no HTTPS/);
  t.regex(result.stderr, /serve pxe\/ over plain http:\/\//);
});

test('labimg serve: the chain script and every machine\'s script fetch over http:// from the PXE listener, and it names the assets it lacks', async (t) => {
  const macs = PXE_PROFILES.map((_, i) => `52-54-00-00-00-${(i + 16).toString(16)}`);
  const groups = `groups:\n${PXE_PROFILES.map((profile, i) => `  - name: node-${i}\n    selector: { mac: "${macs[i]}" }\n    profile: ${profile}\n    role: worker\n`).join('')}`;
  const groupsFile = path.join(tempDir('labimg-pxe-http-groups-'), 'groups.yaml');
  writeFileSync(groupsFile, groups);
  // centos's kernel is in place, its initrd is not.
  const assets = tempDir('labimg-pxe-http-assets-');
  const kernel = 'mirrors.aliyun.com/centos-vault/7.9.2009/os/x86_64/images/pxeboot/vmlinuz';
  mkdirSync(path.join(assets, path.dirname(kernel)), { recursive: true });
  writeFileSync(path.join(assets, kernel), 'kernel');
  const serve = await startServe({ data: path.join(tempDir('labimg-pxe-http-data-'), 'data'), extraArgs: ['--pxe-groups', groupsFile, '--pxe-listen', '127.0.0.1:0', '--pxe-assets', assets] });
  const pxePort = serve.pxePort!;
  t.teardown(() => serve.kill());

  const chain = await plainGet(pxePort, '/pxe/boot.ipxe');
  t.deepEqual(fetchedUrls(chain.text), [{ command: 'chain', url: `http://127.0.0.1:${pxePort}/pxe/nodes/\${netX/mac:hexhyp}/boot.ipxe` }]);
  for (const mac of macs) {
    const script = await plainGet(pxePort, `/pxe/nodes/${mac}/boot.ipxe`);
    t.is(script.status, 200, mac);
    const fetched = fetchedUrls(script.text);
    t.deepEqual(fetched.map((f) => f.command), ['kernel', 'initrd'], mac);
    for (const { command, url } of fetched) t.true(url.startsWith(`http://127.0.0.1:${pxePort}/pxe/assets/`), `${mac} ${command}: ${url}`);
  }
  t.is((await plainGet(pxePort, `/pxe/assets/${kernel}`)).text, 'kernel', 'an asset at its host and path');

  const output = serve.output();
  t.false(output.includes(`/pxe/assets/${kernel}:`), 'no warning for the kernel that is there');
  const initrd = kernel.replace(/vmlinuz$/, 'initrd.img');
  t.true(
    output.includes(`PXE: centos, centos-gpu machines fetch /pxe/assets/${initrd}: put a copy of https://${initrd} in ${path.join(assets, initrd)}`),
    output,
  );
  t.true(output.includes('PXE: ubuntu, ubuntu-gpu machines fetch /pxe/assets/ubuntu-20.04.6-live-server-amd64/casper/vmlinuz: put casper/vmlinuz copied out of https://releases.ubuntu.com/'), output);
});
