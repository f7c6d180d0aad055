/**
 * A control plane on a node with two NICs, and a pool whose tokens live shorter than 2 hours: `--advertise-network`
 * and `--bootstrap-token-ttl` from the command line into node.json, the agent's choice of address from the
 * node's real `ip -4 -o addr show`, the token's kubeadm --ttl, and the refresh timer that keeps up with a short
 * lifetime (systemd-analyze verify). And `labimg boot --lan`: the second NIC's qemu arguments and the seed's
 * network-config (a real ISO, read back with isoinfo; rendered by cloud-init's own net-convert).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import { inNetwork, ipv4Addresses, withAdvertiseAddress } from '../agent/kubeadm/advertise-address';
import { tokenTtlMs } from '../agent/steps/publish-join-material';
import { refreshTimerUnit } from '../agent/steps/refresh-timer';

const REFRESH_TIMER_UNIT = refreshTimerUnit();
import type { NodeConfig } from '../contract/agent-config';
import { lanMac, parseLanAddress, parseLanGroup, renderNetworkConfig, UPLINK_MAC } from '../vm/lan';
import { qemuArgs, type VmSpec } from '../vm/qemu';
import { renderMetaData, writeSeed } from '../vm/seed';
import { labimg, tempDir } from './helpers/cli';
import { systemdVerify } from './helpers/validators';

const CONTROL_PLANE: NodeConfig = { apiVersion: 'labimg.dev/v1', kind: 'NodeConfig', role: 'control-plane' };

function nodeJsonOf(userData: string): Record<string, unknown> {
  const config = load(userData) as { write_files: Array<{ path: string; content: string }> };
  return JSON.parse(config.write_files.find((file) => file.path === '/etc/labimg/node.json')!.content) as Record<string, unknown>;
}

test('--advertise-network and --bootstrap-token-ttl land in the control plane\'s node.json only, and bad values name the flag', (t) => {
  const flags = ['--advertise-network', '192.168.76.0/24', '--bootstrap-token-ttl', '6m'];
  const controlPlane = labimg(['render', 'debian12', '--role', 'control-plane', ...flags]);
  t.is(controlPlane.code, 0, controlPlane.stderr);
  t.like(nodeJsonOf(controlPlane.stdout), { role: 'control-plane', advertiseNetwork: '192.168.76.0/24', bootstrapTokenTtlSeconds: 360 });
  const worker = labimg(['render', 'debian12', '--role', 'worker', ...flags]);
  t.is(worker.code, 0, worker.stderr);
  t.deepEqual(nodeJsonOf(worker.stdout), { apiVersion: 'labimg.dev/v1', kind: 'NodeConfig', role: 'worker' });
  const out = tempDir();
  t.is(labimg(['build', 'debian12', '--out', out, ...flags]).code, 0);
  t.like(nodeJsonOf(readFileSync(path.join(out, 'debian12', 'user-data-control-plane.yaml'), 'utf8')), { advertiseNetwork: '192.168.76.0/24', bootstrapTokenTtlSeconds: 360 });

  for (const [flag, value, message] of [
    ['--advertise-network', '192.168.76.10/24', /--advertise-network: .*"192\.168\.76\.10\/24" \(the network is 192\.168\.76\.0\/24\)/],
    ['--advertise-network', 'eth1', /--advertise-network: expected an IPv4 network/],
    ['--bootstrap-token-ttl', '2m', /--bootstrap-token-ttl: expected 5m to 24h/],
    ['--bootstrap-token-ttl', '2d', /--bootstrap-token-ttl: expected 5m to 24h/],
    ['--bootstrap-token-ttl', '6 minutes', /--bootstrap-token-ttl: expected a duration/],
  ] as const) {
    const bad = labimg(['render', 'debian12', flag, value]);
    t.is(bad.code, 1, `${flag} ${value}: ${bad.stderr}`);
    t.regex(bad.stderr, message);
  }
});

test('the control plane advertises its own address in advertiseNetwork, read from this machine\'s real `ip -4 -o addr show`', async (t) => {
  const listed = spawnSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
  t.is(listed.status, 0, listed.stderr);
  const addresses = ipv4Addresses(listed.stdout);
  t.true(addresses.includes('127.0.0.1'), listed.stdout);
  const host = { query: async (argv: string[]) => ({ argv, code: 0, stdout: listed.stdout, stderr: '' }) };
  t.is((await withAdvertiseAddress(host, { ...CONTROL_PLANE, advertiseNetwork: '127.0.0.0/8' })).advertiseAddress, '127.0.0.1');
  // advertiseAddress, when node.json has one, wins; without advertiseNetwork nothing is asked.
  t.is((await withAdvertiseAddress(host, { ...CONTROL_PLANE, advertiseAddress: '10.0.0.10', advertiseNetwork: '127.0.0.0/8' })).advertiseAddress, '10.0.0.10');
  t.is((await withAdvertiseAddress({ query: async () => t.fail('asked') as never }, CONTROL_PLANE)).advertiseAddress, undefined);
  await t.throwsAsync(withAdvertiseAddress(host, { ...CONTROL_PLANE, advertiseNetwork: '198.18.255.0/24' }), { message: /no address of this node is in advertiseNetwork 198\.18\.255\.0\/24 \(it has .*127\.0\.0\.1/ });
  const twoNics = '1: lo    inet 127.0.0.1/8 scope host lo\n2: eth0    inet 10.0.2.15/24 brd 10.0.2.255 scope global dynamic eth0\n3: eth1    inet 192.168.76.10/24 brd 192.168.76.255 scope global eth1\n';
  t.deepEqual(ipv4Addresses(twoNics), ['127.0.0.1', '10.0.2.15', '192.168.76.10']);
  t.true(inNetwork('192.168.76.10', '192.168.76.0/24'));
  t.false(inNetwork('192.168.77.10', '192.168.76.0/24'));
  t.true(inNetwork('10.1.2.3', '0.0.0.0/0'));
  t.false(inNetwork('fe80::1', '192.168.76.0/24'));
});

test('a 6-minute token: the timer runs every 45 s, and every 15 minutes by default', (t) => {
  const node = { bootstrapTokenTtlSeconds: 360 };
  t.is(tokenTtlMs(node), 360_000);
  t.is(tokenTtlMs(undefined), 7_200_000, 'the default is what the agent always used');
  const short = refreshTimerUnit(node);
  t.regex(short, /^OnUnitActiveSec=45s$/m);
  t.regex(short, /^OnBootSec=45s$/m);
  t.regex(short, /^RandomizedDelaySec=11s$/m);
  t.regex(short, /^AccuracySec=1s$/m);
  t.is(refreshTimerUnit({}), REFRESH_TIMER_UNIT);
  t.regex(REFRESH_TIMER_UNIT, /^OnUnitActiveSec=900s$/m);
  t.regex(REFRESH_TIMER_UNIT, /^OnBootSec=300s$/m);
  t.regex(REFRESH_TIMER_UNIT, /^RandomizedDelaySec=60s$/m);
  for (const unit of [short, REFRESH_TIMER_UNIT]) {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'labimg-refresh.service'), '[Service]\nType=oneshot\nExecStart=/bin/true\n');
    const file = path.join(dir, 'labimg-refresh.timer');
    writeFileSync(file, unit);
    const verified = systemdVerify(file);
    t.is(verified.code, 0, verified.output);
  }
});

const SPEC: VmSpec = { accel: 'tcg', memoryMiB: 2048, cpus: 2, disk: '/vm/disk.qcow2', seed: '/vm/seed.iso', offline: true, forwards: [], hostForwards: [], relay: [] };
const after = (args: string[], flag: string) => args.flatMap((arg, i) => (arg === flag ? [args[i + 1] as string] : []));

test('labimg boot --lan: a second NIC on a multicast socket with a MAC of its own, and its address in the seed\'s network-config', (t) => {
  t.deepEqual(after(qemuArgs(SPEC), '-device'), ['virtio-net-pci,netdev=n0', 'virtio-rng-pci'], 'without --lan, one NIC as before');
  const lan = { group: parseLanGroup('230.0.76.1:47600'), address: parseLanAddress('192.168.76.10/24'), mac: lanMac('pool-cp') };
  const args = qemuArgs({ ...SPEC, lan });
  t.deepEqual(after(args, '-netdev').slice(1), ['socket,id=lan,mcast=230.0.76.1:47600']);
  t.deepEqual(after(args, '-device'), [`virtio-net-pci,netdev=n0,mac=${UPLINK_MAC}`, `virtio-net-pci,netdev=lan,mac=${lan.mac}`, 'virtio-rng-pci']);
  t.regex(lan.mac, /^52:54:00(:[0-9a-f]{2}){3}$/);
  t.is(lanMac('pool-cp'), lan.mac, 'the same VM gets the same MAC at every start');
  t.not(lanMac('pool-w1'), lan.mac);
  for (const bad of ['10.0.0.1:47600', '230.0.76.1', '230.0.76.1:0', '230.0.76.1:70000', '300.0.0.1:1']) t.throws(() => parseLanGroup(bad), { message: /MULTICAST-IP:PORT/ }, bad);
  for (const bad of ['192.168.76.10', '192.168.76.10/33', '192.168.76.10/0', 'eth1/24']) t.throws(() => parseLanAddress(bad), { message: /192\.168\.76\.10\/24/ }, bad);

  const dir = tempDir('labimg-seed-');
  const networkConfig = renderNetworkConfig(lan);
  t.deepEqual(load(networkConfig), {
    version: 2,
    ethernets: { eth0: { match: { macaddress: UPLINK_MAC }, dhcp4: true }, eth1: { match: { macaddress: lan.mac }, addresses: ['192.168.76.10/24'] } },
  });
  const iso = writeSeed(dir, Buffer.from('#cloud-config\n'), renderMetaData('labimg-test', 'pool-cp'), networkConfig);
  const files = spawnSync('isoinfo', ['-J', '-f', '-i', iso], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
  t.deepEqual(files, ['/meta-data', '/network-config', '/user-data']);
  t.is(spawnSync('isoinfo', ['-J', '-x', '/network-config', '-i', iso], { encoding: 'utf8' }).stdout, networkConfig);
  // cloud-init's own reading of it (Debian 12's 22.4, which renders ifupdown's interfaces, as in the e2e image).
  const rendered = tempDir('labimg-net-convert-');
  const convert = spawnSync('cloud-init', ['devel', 'net-convert', '-p', path.join(dir, 'network-config'), '-k', 'yaml', '-d', rendered, '-D', 'debian', '-O', 'eni', '-m', `eth0,${UPLINK_MAC}`, '-m', `eth1,${lan.mac}`], { encoding: 'utf8' });
  t.is(convert.status, 0, convert.stderr);
  const interfaces = readFileSync(path.join(rendered, 'etc/network/interfaces.d/50-cloud-init'), 'utf8');
  t.regex(interfaces, /^auto eth0\niface eth0 inet dhcp$/m);
  t.regex(interfaces, /^auto eth1\niface eth1 inet static\n {4}address 192\.168\.76\.10\/24$/m);
  t.notRegex(interfaces, /gateway/, 'the default route stays on the user-mode NIC');
});

test('labimg boot: --lan and --lan-address go together, and a bad one is named before anything starts', (t) => {
  const missing = labimg(['boot', 'debian12', '--disk', '/nonexistent.img', '--lan', '230.0.76.1:47600']);
  t.is(missing.code, 1, missing.stderr);
  t.regex(missing.stderr, /--lan and --lan-address go together/);
  const bad = labimg(['boot', 'debian12', '--disk', '/nonexistent.img', '--lan', '10.0.0.1:47600', '--lan-address', '192.168.76.10/24']);
  t.is(bad.code, 1, bad.stderr);
  t.regex(bad.stderr, /--lan: expected MULTICAST-IP:PORT/);
});
