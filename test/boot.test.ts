/**
 * `labimg boot`'s parts that need no VM: the qemu command line, the agent's progress read from the console,
 * the NoCloud seed (a real ISO, read back with isoinfo), and the cloud image download checked against a
 * checksum list. The VMs themselves run in `npm run test:e2e`.
 */
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { cachedCloudImage, digestFromList } from '../vm/base-image';
import { writeRelay } from '../vm/guest-forward';
import { overlayDisk } from '../vm/vm';
import { agentEvent, formatEvent, LineSplitter } from '../vm/progress';
import { parseGuestForward, parseHostForward, qemuArgs, type VmSpec } from '../vm/qemu';
import { renderMetaData, writeSeed } from '../vm/seed';
import { labimg, tempDir } from './helpers/cli';

const SPEC: VmSpec = { accel: 'tcg', memoryMiB: 2048, cpus: 2, disk: '/vm/disk.qcow2', seed: '/vm/seed.iso', offline: false, forwards: [], hostForwards: [], relay: ['/usr/bin/node', '/vm/guest-forward-relay.cjs'] };

function after(args: string[], flag: string): string[] {
  return args.flatMap((arg, i) => (arg === flag ? [args[i + 1] as string] : []));
}

test('qemu: TCG on several threads, or KVM with the host CPU; the console on stdout; the disk and the seed', (t) => {
  const tcg = qemuArgs(SPEC);
  t.deepEqual(after(tcg, '-accel'), ['tcg,thread=multi']);
  t.deepEqual(after(tcg, '-cpu'), ['max']);
  t.deepEqual(after(qemuArgs({ ...SPEC, accel: 'kvm' }), '-accel'), ['kvm']);
  t.deepEqual(after(qemuArgs({ ...SPEC, accel: 'kvm' }), '-cpu'), ['host']);
  t.deepEqual(after(tcg, '-serial'), ['stdio']);
  t.deepEqual(after(tcg, '-drive'), ['file=/vm/disk.qcow2,if=virtio,format=qcow2', 'file=/vm/seed.iso,if=virtio,format=raw,readonly=on']);
  t.deepEqual(after(tcg, '-kernel'), [], 'the image boots with its own loader');
  const direct = qemuArgs({ ...SPEC, kernel: { kernel: '/k', initrd: '/i', append: 'root=LABEL=r console=ttyS0' } });
  t.deepEqual([after(direct, '-kernel'), after(direct, '-initrd'), after(direct, '-append')], [['/k'], ['/i'], ['root=LABEL=r console=ttyS0']]);
});

test('qemu: a machine that boots from the network: network first, TFTP and the boot file on user networking, the NIC its MAC, no seed', (t) => {
  const { seed: _seed, ...spec } = SPEC;
  const args = qemuArgs({ ...spec, netBoot: { tftpDir: '/vm/tftp', bootfile: 'boot.ipxe', mac: '52:54:00:e2:e0:01' } });
  t.deepEqual(after(args, '-boot'), ['order=nc']);
  t.deepEqual(after(args, '-drive'), ['file=/vm/disk.qcow2,if=virtio,format=qcow2']);
  t.deepEqual(after(args, '-netdev'), ['user,id=n0,tftp=/vm/tftp,bootfile=boot.ipxe']);
  t.deepEqual(after(args, '-device'), ['virtio-net-pci,netdev=n0,mac=52:54:00:e2:e0:01', 'virtio-rng-pci']);
  t.deepEqual(after(qemuArgs(SPEC), '-boot'), [], 'a cloud image boots from its disk');
});

test('qemu: offline means restrict=on, and each forward a guestfwd relayed per connection to this host\'s loopback', (t) => {
  t.deepEqual(after(qemuArgs(SPEC), '-netdev'), ['user,id=n0']);
  const offline = qemuArgs({ ...SPEC, offline: true, forwards: [parseGuestForward('10.0.2.100:8443=38443'), parseGuestForward('10.0.2.101:80=8080')] });
  const relay = '/usr/bin/node /vm/guest-forward-relay.cjs 127.0.0.1';
  t.deepEqual(after(offline, '-netdev'), [`user,id=n0,restrict=on,guestfwd=tcp:10.0.2.100:8443-cmd:${relay} 38443,guestfwd=tcp:10.0.2.101:80-cmd:${relay} 8080`]);
  // A work folder with a space and a comma: quoted for qemu's split into words, the comma doubled for its options.
  const odd = qemuArgs({ ...SPEC, forwards: [parseGuestForward('10.0.2.100:8443=1')], relay: ['/usr/bin/node', "/my vms/a,b/relay.cjs"] });
  t.deepEqual(after(odd, '-netdev'), ["user,id=n0,guestfwd=tcp:10.0.2.100:8443-cmd:/usr/bin/node '/my vms/a,,b/relay.cjs' 127.0.0.1 1"]);
  const inbound = qemuArgs({ ...SPEC, hostForwards: [parseHostForward('2222=22'), parseHostForward('6443=6443')] });
  t.deepEqual(after(inbound, '-netdev'), ['user,id=n0,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=tcp:127.0.0.1:6443-:6443'], 'only this host\'s loopback reaches in');
  for (const bad of ['22', '2222=', '0=22', '2222=70000', '2222=22=1', 'a=b']) t.throws(() => parseHostForward(bad), { message: /HOST-PORT=GUEST-PORT/ }, bad);
  for (const bad of ['10.0.3.1:80=80', '10.0.2.100:8443', '10.0.2.100:99999=1', '10.0.2.100:80=0', 'x=1']) {
    t.throws(() => parseGuestForward(bad), { message: /GUEST-IP:PORT=HOST-PORT/ }, bad);
  }
});

test('guest forward: each connection gets a relay of its own, to the host port and back, ending when both sides end', async (t) => {
  // A server that answers what it was sent once the client has finished sending: it needs both half-closes.
  const server = createTcpServer((socket) => {
    let got = '';
    socket.on('data', (chunk) => (got += chunk));
    socket.on('end', () => socket.end(`seen ${got}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const [node, script] = writeRelay(tempDir('labimg-relay-')) as [string, string];
  const connection = (text: string) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const relay = spawn(node, [script, '127.0.0.1', String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
      let out = '';
      relay.stdout.on('data', (chunk) => (out += chunk));
      relay.on('close', (code) => resolve({ code, out }));
      relay.stdin.end(text);
    });
  try {
    const answers = await Promise.all(['first', 'second', 'third'].map(connection));
    t.deepEqual(answers, [{ code: 0, out: 'seen first' }, { code: 0, out: 'seen second' }, { code: 0, out: 'seen third' }]);
  } finally {
    server.close();
  }
  const refused = await new Promise<number | null>((resolve) => spawn(node, [script, '127.0.0.1', String(port)], { stdio: 'ignore' }).on('close', resolve));
  t.is(refused, 1, 'nothing listening: the relay exits and qemu closes the guest\'s connection');
});

test("progress: the agent's lines as journald forwards them to the console, or with their priority prefix", (t) => {
  t.deepEqual(agentEvent('[  101.123456] labimg-agent[512]: kubeadm-init: Initialize the control plane (kubeadm init)'), {
    kind: 'step',
    step: 'kubeadm-init',
    title: 'Initialize the control plane (kubeadm init)',
  });
  t.deepEqual(agentEvent('<6>swap-off: already done — Turn swap off now and at boot\r'), { kind: 'skipped', step: 'swap-off' });
  t.deepEqual(agentEvent('[  9.1] labimg-agent[512]: step cni failed: kubectl create -f x: exit status 1'), { kind: 'failed', step: 'cni', message: 'kubectl create -f x: exit status 1' });
  t.deepEqual(agentEvent('labimg-agent[600]: done: 4 applied, 17 already in place'), { kind: 'done', summary: '4 applied, 17 already in place' });
  // Not progress: another unit's line, the node installer's curl, the agent's other messages.
  for (const line of ['[  3.0] cloud-init[400]: kubeadm-init: Initialize', '[ 5.0] labimg-agent[500]: curl: (60) SSL certificate problem', '<6>wrote /etc/fstab (0644, 120 bytes)', 'kubeadm-init: Initialize']) {
    t.is(agentEvent(line), undefined, line);
  }
  t.is(formatEvent({ kind: 'step', step: 'cni', title: 'Install the pod network (CNI)' }, 95.4), '[  95s] cni: Install the pod network (CNI)');
  const lines = new LineSplitter();
  t.deepEqual(lines.push('one\ntw'), ['one']);
  t.deepEqual(lines.push('o\nthree\n'), ['two', 'three']);
});

test('the NoCloud seed is an ISO labelled cidata holding user-data and meta-data', (t) => {
  const dir = tempDir('labimg-seed-');
  const iso = writeSeed(dir, Buffer.from('#cloud-config\nruncmd: [[true]]\n'), renderMetaData('labimg-test', 'lab-1'));
  const info = spawnSync('isoinfo', ['-d', '-i', iso], { encoding: 'utf8' });
  t.is(info.status, 0, info.stderr);
  t.regex(info.stdout, /^Volume id: cidata$/m);
  const files = spawnSync('isoinfo', ['-J', '-f', '-i', iso], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
  t.deepEqual(files, ['/meta-data', '/user-data']);
  t.is(spawnSync('isoinfo', ['-J', '-x', '/meta-data', '-i', iso], { encoding: 'utf8' }).stdout, 'instance-id: labimg-test\nlocal-hostname: lab-1\n');
});

test('checksum lists: GNU and BSD lines, sha256 and sha512 by length, only the named file', (t) => {
  const sha256 = 'a'.repeat(64);
  const sha512 = 'B'.repeat(128);
  t.deepEqual(digestFromList(`${'1'.repeat(64)}  other.img\n${sha256} *debian-12.qcow2\n`, 'debian-12.qcow2'), { algorithm: 'sha256', hex: sha256 });
  t.deepEqual(digestFromList(`${sha512}  debian-12-genericcloud-amd64.qcow2\n`, 'debian-12-genericcloud-amd64.qcow2'), { algorithm: 'sha512', hex: sha512.toLowerCase() });
  t.deepEqual(digestFromList(`SHA256 (images/noble.img) = ${sha256}\n`, 'noble.img'), { algorithm: 'sha256', hex: sha256 });
  t.is(digestFromList(`${sha256}  debian-12.qcow2\n`, 'debian-12.raw'), undefined);
  t.is(digestFromList(`${'c'.repeat(40)}  debian-12.qcow2\n`, 'debian-12.qcow2'), undefined, 'a sha1 is not enough');
});

test('the cloud image is downloaded once, checked against its checksum list, and never kept when it does not match', async (t) => {
  const image = Buffer.from('a cloud image, as the distro publishes it\n'.repeat(1000));
  const requests: string[] = [];
  let list = `${createHash('sha512').update(image).digest('hex')}  disk.qcow2\n`;
  const server = createServer((request, response) => {
    requests.push(request.url ?? '');
    if (request.url === '/images/disk.qcow2') return void response.end(image);
    if (request.url === '/images/SHA512SUMS') return void response.end(list);
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/images`;
  const cache = tempDir('labimg-image-cache-');
  const source = { url: `${base}/disk.qcow2`, checksum: `file:${base}/SHA512SUMS` };

  const file = await cachedCloudImage(source, cache);
  t.is(file, path.join(cache, 'disk.qcow2'));
  t.true(readFileSync(file).equals(image));
  t.is(await cachedCloudImage(source, cache), file);
  t.deepEqual(requests, ['/images/SHA512SUMS', '/images/disk.qcow2'], 'the second boot uses the cache');

  list = `${'0'.repeat(128)}  disk.qcow2\n`;
  const other = tempDir('labimg-image-cache-');
  await t.throwsAsync(cachedCloudImage(source, other), { message: /has sha512 [0-9a-f]{128}, but file:.* says 0{128}; nothing was kept/ });
  t.deepEqual(readdirSync(other), []);
  await t.throwsAsync(cachedCloudImage({ url: `${base}/missing.qcow2`, checksum: `sha256:${'0'.repeat(64)}` }, other), { message: /HTTP 404/ });
  t.false(existsSync(path.join(other, 'missing.qcow2')));
});

test('labimg boot refuses what it cannot start, before starting anything', (t) => {
  const work = tempDir('labimg-boot-');
  const cases: Array<[string[], RegExp]> = [
    [['boot', 'flatcar'], /profile flatcar boots with Ignition, not cloud-init/],
    [['boot', 'ubuntu', '--disk', '/x.img', '--kernel', '/k'], /--kernel, --initrd and --append go together/],
    [['boot', 'ubuntu', '--disk', '/x.img', '--guest-forward', '10.0.9.1:80=80'], /--guest-forward: expected GUEST-IP:PORT=HOST-PORT/],
    [['boot', 'ubuntu', '--disk', '/x.img', '--name', 'Lab_1'], /--name: expected a host name/],
    [['boot', 'ubuntu', '--disk', '/x.img', '--timeout', 'soon'], /--timeout: expected a duration/],
    [['boot', 'ubuntu', '--disk', '/x.img', '--host-forward', '22'], /--host-forward: expected HOST-PORT=GUEST-PORT/],
    [['boot', 'ubuntu', '--disk', '/x.img', '--disk-size', '20GB'], /--disk-size: expected a size in M or G such as 20G, got "20GB"/],
  ];
  for (const [args, message] of cases) {
    const result = labimg([...args, '--work', path.join(work, 'vm')]);
    t.is(result.code, 1, args.join(' '));
    t.regex(result.stderr, message, args.join(' '));
  }
  t.false(existsSync(path.join(work, 'vm')), 'no work folder was made');
});

test("the VM's disk: a qcow2 overlay over the image, grown to the size asked, never shrunk, kept for the next start", (t) => {
  const dir = tempDir('labimg-overlay-');
  const base = path.join(dir, 'base.img');
  writeFileSync(base, Buffer.alloc(1 << 20, 7));
  for (const vm of ['a', 'b']) mkdirSync(path.join(dir, vm));
  const info = (file: string) => JSON.parse(spawnSync('qemu-img', ['info', '--output=json', file], { encoding: 'utf8' }).stdout) as Record<string, unknown>;
  const grown = overlayDisk(path.join(dir, 'a'), base, 64 << 20);
  t.like(info(grown), { format: 'qcow2', 'virtual-size': 64 << 20, 'backing-filename-format': 'raw', 'full-backing-filename': base });
  t.like(info(overlayDisk(path.join(dir, 'b'), base, 1 << 19)), { 'virtual-size': 1 << 20 }, 'a size below the image is the image\'s');
  const before = statSync(grown).mtimeMs;
  t.is(overlayDisk(path.join(dir, 'a'), base, 128 << 20), grown);
  t.like(info(grown), { 'virtual-size': 64 << 20 }, 'a second start is the same machine: its disk is left as it is');
  t.is(statSync(grown).mtimeMs, before);
  t.deepEqual(readFileSync(base), Buffer.alloc(1 << 20, 7), 'the image itself is never written');
});
