/**
 * What a request without any credential can make the endpoint write is bounded: fetching one machine's PXE config
 * again and again writes one audit record an hour (with the count of the fetches it stands for), and the audit
 * trail is pruned by age and by count, on the file store and on etcd. Enrollments and credential rotations are
 * recorded all the same.
 */
import test, { type ExecutionContext } from 'ava';
import path from 'node:path';
import type { AuditEvent } from '../endpoint/records';
import { PxeRoutes, PXE_AUDIT_WINDOW_MS } from '../endpoint/pxe';
import { Registry, type AuditRetention } from '../endpoint/registry';
import type { RouteRequest } from '../endpoint/routing';
import { EtcdStore } from '../endpoint/store/etcd-store';
import { FileStore } from '../endpoint/store/file-store';
import type { Store } from '../endpoint/store/store';
import type { PxeCatalog, PxeMachine } from '../contract/pxe-catalog';
import { labimg, tempDir } from './helpers/cli';
import { plainGet, servePxe, storeArgs } from './helpers/endpoint';
import { startEtcd, type RunningEtcd } from './helpers/etcd';
import { enrollBody, send } from './helpers/https-client';

const MAC = '52-54-00-ab-cd-ef';
const GROUPS = `groups:
  - name: rack1-w-1
    selector: { mac: "52:54:00:ab:cd:ef" }
    profile: ubuntu
    role: worker
    pool: rack1
`;

let etcd: RunningEtcd | undefined;
let prefixes = 0;

test.before(async () => {
  etcd = await startEtcd();
});

test.after.always(async () => {
  await etcd?.stop();
});

type Backend = 'file' | 'etcd';

function storeOptions(backend: Backend): { data: string; etcd?: string; etcdPrefix?: string } {
  const data = path.join(tempDir('labimg-audit-bounds-'), 'data');
  prefixes += 1;
  return backend === 'etcd' ? { data, etcd: etcd?.url, etcdPrefix: `audit-${process.pid}-${prefixes}/` } : { data };
}

function openStore(t: ExecutionContext, backend: Backend): Store {
  const options = storeOptions(backend);
  const store = backend === 'etcd' ? new EtcdStore({ endpoints: [etcd?.url ?? ''], prefix: options.etcdPrefix }) : new FileStore(options.data);
  t.teardown(() => store.close());
  return store;
}

function auditTrail(store: { data: string; etcd?: string; etcdPrefix?: string }): AuditEvent[] {
  const result = labimg(['audit', '--json', ...storeArgs(store)]);
  if (result.code !== 0) throw new Error(`labimg audit failed (${result.code}):\n${result.stderr}`);
  return JSON.parse(result.stdout) as AuditEvent[];
}

for (const backend of ['file', 'etcd'] as const) {
  test(`${backend}: 60 unauthenticated fetches of one machine's user-data write one audit record; enrollments and rotations are recorded`, async (t) => {
    const store = storeOptions(backend);
    const { serve, pxePort, poolToken } = await servePxe(t, { store, groups: GROUPS, pool: 'rack1', profile: 'ubuntu' });
    const before = auditTrail(store).length;

    for (let i = 0; i < 60; i += 1) {
      const answer = await plainGet(pxePort, `/pxe/nodes/${MAC}/user-data`);
      t.is(answer.status, 200, answer.text);
    }
    const added = auditTrail(store).slice(before);
    // The machine's install token is made once (token-created) and the fetches share one record.
    t.deepEqual(added.map((e) => e.action).sort(), ['pxe-config-served', 'token-created']);
    t.like(added.find((e) => e.action === 'pxe-config-served'), { mac: MAC, node: 'rack1-w-1', pool: 'rack1', source: '127.0.0.1' });

    // Honest events are still recorded, each of them.
    const enrolled = await send(serve.port, { method: 'POST', path: '/v1/enroll', token: poolToken, json: enrollBody('w-9') });
    t.is(enrolled.status, 200, enrolled.text);
    const credential = (enrolled.json as { credential: string }).credential;
    const next = 'n'.repeat(43);
    const rotated = await send(serve.port, { method: 'POST', path: '/v1/nodes/w-9/credential', token: credential, headers: { 'labimg-node-credential': next } });
    t.is(rotated.status, 200, rotated.text);
    const later = auditTrail(store).slice(before + added.length);
    t.deepEqual(later.map((e) => `${e.action} ${e.node}`), ['node-enrolled w-9', 'credential-rotated w-9']);
  });

  test(`${backend}: the audit trail is pruned to its count, the oldest first, as it is written`, async (t) => {
    const store = openStore(t, backend);
    const retention: AuditRetention = { maxEntries: 10, maxAgeMs: 365 * 86_400_000, pruneEvery: 5 };
    const registry = new Registry(store, { audit: retention });
    for (let i = 0; i < 40; i += 1) await registry.audit({ action: 'node-enrolled', node: `w-${String(i).padStart(2, '0')}` });
    // Pruned on the way: the 10 kept plus at most the 4 written since the last prune.
    const kept = (await store.keys('audit/')).length;
    t.true(kept >= 10 && kept <= 14, `${kept} entries`);
    t.is(await registry.pruneAudit(), kept - 10);
    const trail = await registry.auditTrail();
    t.deepEqual(
      trail.map((e) => e.node),
      Array.from({ length: 10 }, (_, i) => `w-${30 + i}`),
    );
  });

  test(`${backend}: audit entries older than the retention's age are pruned, newer ones kept`, async (t) => {
    const store = openStore(t, backend);
    let now = Date.parse('2026-01-01T00:00:00.000Z');
    const registry = new Registry(store, { clock: () => new Date(now), audit: { maxAgeMs: 7 * 86_400_000, maxEntries: 1000, pruneEvery: 1000 } });
    for (let i = 0; i < 5; i += 1) await registry.audit({ action: 'pool-created', pool: `old-${i}` });
    now += 6 * 86_400_000;
    await registry.audit({ action: 'pool-created', pool: 'six-days-later' });
    t.is(await registry.pruneAudit(), 0, 'nothing is older than 7 days yet');
    now += 2 * 86_400_000;
    await registry.audit({ action: 'pool-created', pool: 'eight-days-later' });
    t.is(await registry.pruneAudit(), 5);
    t.deepEqual((await registry.auditTrail()).map((e) => e.pool), ['six-days-later', 'eight-days-later']);
  });
}

/** A catalog of one machine whose user-data carries its install token, as the real one's config does. */
const MACHINE: PxeMachine = { mac: MAC, node: 'rack1-w-1', profile: 'ubuntu', role: 'worker', pool: 'rack1' };
const CATALOG: PxeCatalog = {
  machine: (mac) => (mac === MAC ? MACHINE : undefined),
  chainScript: () => '#!ipxe\n',
  localBootScript: () => '#!ipxe\nexit\n',
  nodeFile: async (_machine, name, context) => (name === 'user-data' ? Buffer.from(`#cloud-config\n# ${(await context.enrollmentToken()).length}\n`) : undefined),
};

test('fetches within the hour are counted on the next record of the machine; a new install token gets its own at once', async (t) => {
  const store = new FileStore(tempDir('labimg-audit-pxe-'));
  t.teardown(() => store.close());
  let now = Date.parse('2026-12-06T08:00:00.000Z');
  const clock = () => new Date(now);
  const registry = new Registry(store, { clock });
  await registry.createPool('rack1', 'ubuntu');
  const routes = new PxeRoutes(CATALOG, registry, { info: () => {}, warn: () => {} }, () => ({ url: 'https://127.0.0.1:8443', caFingerprint: '' }), clock);
  const fetch = (source: string) =>
    routes.nodeFile({ params: { mac: MAC, file: 'user-data' }, source, req: { headers: { host: '127.0.0.1:8080' }, socket: {} } } as unknown as RouteRequest<'GET /pxe/nodes/:mac/:file'>);

  for (let i = 0; i < 7; i += 1) {
    await fetch(`10.0.0.${i}`);
    now += 5 * 60_000;
  }
  now = Date.parse('2026-12-06T08:00:00.000Z') + PXE_AUDIT_WINDOW_MS;
  await fetch('10.0.0.99');
  // A new install token (the operator revoked the last one) is recorded at once, within the hour.
  const [first] = (await registry.auditTrail()).filter((e) => e.action === 'pxe-config-served');
  await registry.revokeToken(first?.tokenId ?? '');
  now += 60_000;
  await fetch('10.0.0.100');
  await fetch('10.0.0.101');
  const served = (await registry.auditTrail()).filter((e) => e.action === 'pxe-config-served');
  t.deepEqual(
    served.map((e) => ({ source: e.source, repeats: e.repeats, sameToken: e.tokenId === first?.tokenId })),
    [
      { source: '10.0.0.0', repeats: undefined, sameToken: true },
      { source: '10.0.0.99', repeats: 6, sameToken: true },
      { source: '10.0.0.100', repeats: undefined, sameToken: false },
    ],
  );
});

test('a machine token that expired unused is deleted when the next install starts; forgotten and fetched again, a machine never gets an old token back', async (t) => {
  const store = new FileStore(tempDir('labimg-audit-tokens-'));
  t.teardown(() => store.close());
  let now = Date.parse('2026-12-06T08:00:00.000Z');
  const registry = new Registry(store, { clock: () => new Date(now) });
  await registry.createPool('rack1', 'ubuntu');
  const ttl = 4 * 3_600_000;
  const handedOut: string[] = [];
  // Someone fetches the machine's config every 5 hours for a day and a half: each fetch starts a new install.
  for (let i = 0; i < 8; i += 1) {
    handedOut.push((await registry.machineToken('rack1', 'rack1-w-1', 'worker', ttl)).token);
    now += 5 * 3_600_000;
  }
  t.is(new Set(handedOut).size, 8);
  const machineTokens = (await registry.tokens('rack1')).filter((r) => r.node === 'rack1-w-1');
  t.deepEqual(machineTokens.map((r) => r.id), [handedOut[7]?.split('.')[0]], 'only the latest install has a token record');
  t.deepEqual(await registry.checkEnrollmentToken(handedOut[0] ?? ''), { ok: false, reason: 'unknown' });

  // Forgotten, the numbering starts again, yet no earlier token comes back, and the revoked one stays on record.
  await registry.forgetNode('rack1-w-1');
  const again = (await registry.machineToken('rack1', 'rack1-w-1', 'worker', ttl)).token;
  t.false(handedOut.includes(again));
  t.is((await registry.machineInstall('rack1-w-1'))?.generation, 1);
  t.like((await registry.tokens('rack1')).find((r) => r.id === handedOut[7]?.split('.')[0]), { revokedAt: new Date(now).toISOString() });
});
