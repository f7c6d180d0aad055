import test from 'ava';
import { cidrContains, cidrsOverlap, parseIpv4Cidr, type Ipv4Cidr } from '../builder/profiles/cidr';
import { isImageRepository, isPinnedImageReference } from '../contract/image-reference';

function cidr(text: string): Ipv4Cidr {
  const parsed = parseIpv4Cidr(text);
  if (!parsed.ok) throw new Error(`test table holds an invalid CIDR ${text}`);
  return parsed.cidr;
}

const cidrs: Array<[string, 'ok' | 'syntax' | 'host-bits']> = [
  ['10.244.0.0/16', 'ok'],
  ['10.96.0.0/12', 'ok'],
  ['0.0.0.0/0', 'ok'],
  ['192.168.1.7/32', 'ok'],
  ['10.244.0.0/33', 'syntax'],
  ['10.244.0.256/24', 'syntax'],
  ['10.244.0.0', 'syntax'],
  ['010.244.0.0/16', 'syntax'],
  ['10.244.0.0/16 ', 'syntax'],
  ['fd00::/8', 'syntax'],
  // The lab's Ubuntu command line once read --pod-network-cidr 192.168.1.90/16.
  ['192.168.1.90/16', 'host-bits'],
  ['10.244.0.1/16', 'host-bits'],
];
for (const [text, expected] of cidrs) {
  test(`CIDR ${JSON.stringify(text)} is ${expected}`, (t) => {
    const parsed = parseIpv4Cidr(text);
    t.is(parsed.ok ? 'ok' : parsed.reason, expected);
  });
}

test('a CIDR with host bits names the network it probably meant', (t) => {
  t.deepEqual(parseIpv4Cidr('192.168.1.90/16'), { ok: false, reason: 'host-bits', network: '192.168.0.0/16' });
});

const overlaps: Array<[string, string, boolean]> = [
  ['10.244.0.0/16', '10.96.0.0/12', false],
  ['10.96.0.0/12', '10.100.0.0/16', true],
  ['10.244.0.0/16', '10.245.0.0/16', false],
  ['10.0.0.0/8', '10.244.0.0/16', true],
  ['10.111.255.255/32', '10.96.0.0/12', true],
  ['10.112.0.0/32', '10.96.0.0/12', false],
];
for (const [a, b, expected] of overlaps) {
  test(`${a} and ${b} ${expected ? 'overlap' : 'are apart'}`, (t) => {
    t.is(cidrsOverlap(cidr(a), cidr(b)), expected);
    t.is(cidrsOverlap(cidr(b), cidr(a)), expected);
  });
}

test('containment is one-way', (t) => {
  t.true(cidrContains(cidr('10.244.0.0/16'), cidr('10.244.128.0/17')));
  t.true(cidrContains(cidr('10.244.0.0/16'), cidr('10.244.0.0/16')));
  t.false(cidrContains(cidr('10.244.128.0/17'), cidr('10.244.0.0/16')));
  t.false(cidrContains(cidr('10.244.0.0/16'), cidr('192.168.0.0/16')));
});

const repositories: Array<[string, boolean]> = [
  ['registry.k8s.io', true],
  ['registry.aliyuncs.com/google_containers', true],
  ['localhost:5000/mirror', true],
  ['10.0.0.5:5000', true],
  ['registry.k8s.io/kube-apiserver:v1.28.15', false],
  ['registry.k8s.io/', false],
  ['Registry.k8s.io/Upper', false],
  ['google_containers', false],
  ['', false],
];
for (const [text, expected] of repositories) {
  test(`image repository ${JSON.stringify(text)} is ${expected ? 'valid' : 'invalid'}`, (t) => {
    t.is(isImageRepository(text), expected);
  });
}

const references: Array<[string, boolean]> = [
  ['registry.k8s.io/pause:3.9', true],
  ['registry.aliyuncs.com/google_containers/pause:3.6', true],
  ['pause:3.9', true],
  ['library/busybox:1.36', true],
  [`registry.k8s.io/pause@sha256:${'0'.repeat(64)}`, true],
  ['localhost:5000/pause:3.9', true],
  ['registry.k8s.io/pause', false],
  ['registry.k8s.io/pause:', false],
  ['registry.k8s.io/Pause:3.9', false],
  ['registry.k8s.io/pause:3.9 ', false],
];
for (const [text, expected] of references) {
  test(`image reference ${JSON.stringify(text)} is ${expected ? 'pinned' : 'not a pinned reference'}`, (t) => {
    t.is(isPinnedImageReference(text), expected);
  });
}
