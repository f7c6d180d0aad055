/**
 * PXE, as a bare-metal machine meets it: a VM with an empty disk and network-first firmware (qemu's own iPXE
 * ROM) boots from user networking's DHCP and TFTP, chains to a real `labimg serve` with a group file, gets the
 * install script of its MAC address, the Debian installer's kernel and initrd from `--pxe-assets` over plain
 * HTTP, and the preseed of its folder, and the installer runs unattended from there.
 *
 * How far it runs is this machine's network's to say. The installer's components and the archive's metadata
 * come from Debian's mirror, and this machine reaches the mirror only through a filter that serves part of it
 * (measured 2026-12-06: bookworm's index is whole but 290 of its 439 installer components are refused;
 * trixie's Release.gpg does not verify against its Release, which the installer checks). So the test holds the
 * installer to what it can show here: it fetched the preseed, answered every question up to the mirror from
 * it, and checked the mirror the preseed names. What happens inside the installed system (the late command's
 * script, the agent's first boot) is run by the unit tests against a real root and by the other VM tests.
 */
import test from 'ava';
import { copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dump, load } from 'js-yaml';
import { downloadAssetPath } from '../builder/render/pxe';
import { repoRoot, tempDir } from '../test/helpers/cli';
import { createPool, startServe } from '../test/helpers/endpoint';
import { send } from '../test/helpers/https-client';
import { HOST_FROM_GUEST } from './helpers/world';
import { netbootImages, NETBOOT_PACKAGE } from './helpers/netboot';
import { startPxeVm } from './helpers/pxe-vm';

const CACHE = path.join(repoRoot, '.cache', 'e2e');
const MAC = '52:54:00:e2:e0:01';
/**
 * The kernel and initrd the profile names: this host's copy of the netboot package's (helpers/netboot.ts), in a
 * folder named after the package ("+" is no plain name under assets/).
 */
const NETBOOT_BASE = `http://${HOST_FROM_GUEST}/${NETBOOT_PACKAGE.name}/${NETBOOT_PACKAGE.version.replace(/\+/g, '-')}`;

/** The installer's dialogs, in the order the console drew them: "[?] Title" asks, "[!!] Title" is an error. */
function dialogTitles(console: string): string[] {
  const titles: string[] = [];
  // newt draws a dialog's top edge as "lqq…u TITLE tqq…k" in the VT100 line-drawing set.
  for (const match of console.matchAll(/u ((?:\[[!?]+\] )?[A-Z][^\n]{2,70}?) tq/g)) {
    const title = match[1] as string;
    if (titles.at(-1) !== title) titles.push(title);
  }
  return titles;
}

/**
 * The archive over plain HTTP: this machine's network intercepts HTTPS with a CA of its own (the host trusts it,
 * the installer does not), and d-i calls an https mirror it cannot verify "Bad archive mirror" (seen 2026-12-06).
 */
const MIRROR = 'http://deb.debian.org/debian';

/** debian13 as shipped, with the netboot images this host serves, and the installer on the serial console the test reads. */
function pxeProfile(): string {
  const shipped = load(readFileSync(path.join(repoRoot, 'profiles', 'debian13.yaml'), 'utf8')) as Record<string, any>;
  const image = shipped.image as Record<string, any>;
  return dump({ ...shipped, description: 'debian13 with the netboot images of the PXE test', image: { ...image, netInstall: { ...image.netInstall, kernel: `${NETBOOT_BASE}/linux`, initrd: `${NETBOOT_BASE}/initrd.gz`, repo: MIRROR, console: 'ttyS0,115200n8' } } }, { lineWidth: -1 });
}

async function requestsServed(port: number): Promise<Map<string, number>> {
  const metrics = await send(port, { path: '/metrics' });
  const served = new Map<string, number>();
  for (const match of metrics.text.matchAll(/^labimg_endpoint_requests_total\{route="([^"]+)",code="200"\} (\d+)$/gm)) served.set(match[1] as string, Number(match[2]));
  return served;
}

test.serial('pxe: an empty machine boots from the network into the Debian installer, which takes every answer from its preseed up to the mirror', async (t) => {
  const images = await netbootImages(CACHE);
  const profiles = tempDir('labimg-e2e-pxe-profiles-');
  // The shipped profiles beside it: debian13 extends debian12, which extends base.
  cpSync(path.join(repoRoot, 'profiles'), profiles, { recursive: true });
  writeFileSync(path.join(profiles, 'debian13-pxe.yaml'), pxeProfile());

  const assets = tempDir('labimg-e2e-pxe-assets-');
  for (const [file, url] of [[images.kernel, `${NETBOOT_BASE}/linux`], [images.initrd, `${NETBOOT_BASE}/initrd.gz`]] as const) {
    const target = path.join(assets, downloadAssetPath(url));
    mkdirSync(path.dirname(target), { recursive: true });
    copyFileSync(file, target);
  }
  const groups = path.join(profiles, 'groups.yaml');
  writeFileSync(groups, `groups:\n  - name: pxe-cp-1\n    selector: { mac: "${MAC}" }\n    profile: debian13-pxe\n    role: control-plane\n    pool: e2e-pxe\n`);

  const data = path.join(tempDir('labimg-e2e-pxe-endpoint-'), 'data');
  mkdirSync(data);
  createPool({ data }, 'e2e-pxe', 'debian13-pxe', ['--profiles', profiles]);
  const serve = await startServe({
    data,
    extraArgs: ['--name', HOST_FROM_GUEST, '--profiles', profiles, '--pxe-groups', groups, '--pxe-listen', '127.0.0.1:0', '--pxe-assets', assets],
  });
  t.teardown(() => serve.kill());
  const pxePort = serve.pxePort!;

  const started = Date.now();
  const vm = startPxeVm({ workDir: tempDir('labimg-e2e-pxe-vm-'), mac: MAC, chainUrl: `http://${HOST_FROM_GUEST}:${pxePort}/pxe/boot.ipxe` });
  t.teardown(() => vm.kill());
  // The installer checks the mirror once the network and the preseed's answers are in; anything it asks
  // before that is a question the preseed left open.
  const deadline = started + 20 * 60_000;
  let titles: string[] = [];
  for (;;) {
    titles = dialogTitles(vm.console());
    const checked = titles.indexOf('Checking the Debian archive mirror');
    if (checked >= 0 && titles.length > checked + 1) break;
    if (titles.some((title) => title.startsWith('[?]') || title.startsWith('[!]'))) break;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  const seconds = (Date.now() - started) / 1000;
  vm.kill();
  t.log(`pxe: ${seconds.toFixed(0)} s from power-on to the installer's mirror check; dialogs: ${titles.join(' → ')}`);

  const served = await requestsServed(serve.port);
  t.true((served.get('GET /pxe/boot.ipxe') ?? 0) >= 1, 'iPXE chained to the endpoint');
  t.true((served.get('GET /pxe/nodes/:mac/:file') ?? 0) >= 2, "the machine's boot.ipxe and preseed.cfg were served");
  t.true((served.get('GET /pxe/assets/**') ?? 0) >= 2, 'the kernel and initrd came from --pxe-assets');
  const checked = titles.indexOf('Checking the Debian archive mirror');
  t.deepEqual(titles.slice(0, checked + 2).filter((title) => title.startsWith('[?]') || title.startsWith('[!] ')), [], `the installer asked what the preseed should have answered; console: ${vm.serialLog}`);
  t.true(titles.includes('Configuring the network with DHCP'), `console: ${vm.serialLog}`);
  t.true(checked >= 0, `the installer never reached the mirror; console: ${vm.serialLog}`);
  // Then the installer takes its components from the mirror. On this machine's network that is where it stops,
  // at "[!!] Download installer components" (see the top of this file).
  const next = titles[checked + 1] ?? '';
  t.notRegex(next, /mirror/i, `the installer refused the mirror the preseed names; console: ${vm.serialLog}`);
  t.log(`pxe: after the mirror check the installer showed "${next}"`);
});
