/**
 * The audit trail under a burst: events recorded at the same time are written together (one store entry for
 * many), yet each caller's promise resolves only once its own event is stored, every event is listed once, in
 * the order recorded, and a failed write loses only the events it held.
 */
import test from 'ava';
import { Registry } from '../endpoint/registry';
import { KEYS } from '../endpoint/records';
import { FileStore } from '../endpoint/store/file-store';
import type { Store } from '../endpoint/store/store';
import { tempDir } from './helpers/cli';

test('a burst of audit events is stored in a few entries, every event once and in order, each durable when its promise resolves', async (t) => {
  const data = tempDir('labimg-audit-');
  const store = new FileStore(data);
  t.teardown(() => store.close());
  const registry = new Registry(store);
  await registry.audit({ action: 'pool-created', pool: 'lab' });
  const nodes = Array.from({ length: 600 }, (_, i) => `w-${String(i).padStart(3, '0')}`);
  await Promise.all(
    nodes.map(async (node) => {
      await registry.audit({ action: 'node-enrolled', pool: 'lab', node, source: '10.0.0.1' });
      // Resolved: a reader in another process (a second store over the same files) finds this very event.
      const other = new FileStore(data);
      const stored = (await other.list(KEYS.audit)).map((e) => e.value).join('\n');
      t.true(stored.includes(`"node":"${node}"`), node);
    }),
  );
  const trail = await new Registry(new FileStore(data)).auditTrail();
  t.deepEqual(trail.map((e) => e.node ?? e.action), ['pool-created', ...nodes]);
  const entries = await store.list(KEYS.audit);
  t.true(entries.length < 20, `${entries.length} entries for 601 events`);
  const sizes = entries.map((e) => (e.value.startsWith('[') ? (JSON.parse(e.value) as unknown[]).length : 1));
  t.is(Math.max(...sizes), 256, 'an entry holds 256 events at most, and the burst filled one');
  // An event recorded alone is an entry of its own, as the trail has always been stored.
  t.deepEqual(Object.keys(JSON.parse(entries[0]?.value ?? '{}')), ['at', 'action', 'pool']);
});

test('a failed audit write rejects the events it held and the next events are stored', async (t) => {
  const files = new FileStore(tempDir('labimg-audit-'));
  t.teardown(() => files.close());
  let failNext = true;
  // The real store, but the first audit write fails as a full disk would fail it.
  const failing: Store = Object.assign(Object.create(files) as Store, {
    put: async (key: string, value: string) => {
      if (failNext && key.startsWith(KEYS.audit)) {
        failNext = false;
        throw new Error('ENOSPC: no space left on device');
      }
      return files.put(key, value);
    },
  });
  const registry = new Registry(failing);
  const first = registry.audit({ action: 'node-enrolled', node: 'a' });
  const second = registry.audit({ action: 'node-enrolled', node: 'b' });
  await t.throwsAsync(first, { message: /ENOSPC/ });
  await t.throwsAsync(second, { message: /ENOSPC/ });
  await registry.audit({ action: 'node-enrolled', node: 'c' });
  t.deepEqual((await registry.auditTrail()).map((e) => e.node), ['c']);
});
