/**
 * One conformance suite for every Store backend: the file store in a temp dir and the etcd store against a real
 * etcd. Each test gets its own namespace (a fresh directory, a fresh etcd key prefix), so tests run concurrently.
 */
import test, { type ExecutionContext } from 'ava';
import { Etcd3 } from 'etcd3';
import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EtcdStore } from '../endpoint/store/etcd-store';
import { FileStore } from '../endpoint/store/file-store';
import { InvalidKey, type Store } from '../endpoint/store/store';
import { startEtcd, type RunningEtcd } from './helpers/etcd';

/** A fresh, empty corner of one backend. */
interface Scope {
  /** A new store instance over this scope's data, closed when the test ends. */
  open(): Store;
  /** Changes whenever `key` is written (etcd's mod revision, the file's inode); undefined when absent. */
  writeStamp(key: string): Promise<string | undefined>;
  /** Every key the backend holds for this scope, temp files included: what actually reached storage. */
  rawKeys(): Promise<string[]>;
}

interface Backend {
  name: string;
  /** How many independent instances may write concurrently: the file store has one owner, etcd many replicas. */
  replicas: number;
  scope(t: ExecutionContext): Scope;
}

let etcd: RunningEtcd | undefined;
let raw: Etcd3 | undefined;
let scopes = 0;

test.before(async () => {
  etcd = await startEtcd();
  raw = new Etcd3({ hosts: etcd.url });
});

test.after.always(async () => {
  raw?.close();
  await etcd?.stop();
});

function closing(t: ExecutionContext, store: Store): Store {
  t.teardown(() => store.close());
  return store;
}

const fileBackend: Backend = {
  name: 'file store',
  replicas: 1,
  scope(t) {
    const dir = tempDir(t);
    return {
      open: () => closing(t, new FileStore(dir)),
      async writeStamp(key) {
        const stat = await fs.stat(path.join(dir, 'kv', `${key}.json`), { bigint: true }).catch(() => undefined);
        return stat && `${stat.ino}:${stat.mtimeNs}`;
      },
      rawKeys: () => filesUnder(path.join(dir, 'kv')),
    };
  },
};

const etcdBackend: Backend = {
  name: 'etcd store',
  replicas: 2,
  scope(t) {
    const prefix = `test-${++scopes}/`;
    const client = raw!.namespace(prefix);
    return {
      open: () => closing(t, new EtcdStore({ endpoints: [etcd!.url], prefix })),
      async writeStamp(key) {
        return (await client.get(key).exec()).kvs[0]?.mod_revision;
      },
      async rawKeys() {
        return client.getAll().keys();
      },
    };
  },
};

const BAD_KEYS = ['../x', 'a//b', '', 'a/.', 'a/..', '.', 'a b', 'x/has space', '/a', 'a/', '.hidden', 'a/b\n'];
const BAD_PREFIXES = ['../', 'a//', '', '/', 'a/./', 'a b/', 'a', 'a/b'];

for (const backend of [fileBackend, etcdBackend]) {
  const named = (title: string): string => `${backend.name}: ${title}`;

  test(named('get of an absent key is undefined'), async (t) => {
    const store = backend.scope(t).open();
    t.is(await store.get('nodes/none'), undefined);
  });

  test(named('put then get round-trips the value, and put overwrites'), async (t) => {
    const store = backend.scope(t).open();
    const value = JSON.stringify({ name: 'gpu-01', note: 'ünïcode ✓', nested: { list: [1, 2] } });
    await store.put('nodes/gpu-01', value);
    t.is(await store.get('nodes/gpu-01'), value);
    await store.put('nodes/gpu-01', '"second"');
    t.is(await store.get('nodes/gpu-01'), '"second"');
  });

  test(named('a value written by one instance is read by a new instance'), async (t) => {
    const scope = backend.scope(t);
    const writer = scope.open();
    await writer.put('tokens/abc', '{"uses":1}');
    t.true(await writer.create('tokens/def', '"created"'));
    await writer.close();
    const reader = scope.open();
    t.is(await reader.get('tokens/abc'), '{"uses":1}');
    t.is(await reader.get('tokens/def'), '"created"');
    t.deepEqual(await reader.list('tokens/'), [
      { key: 'tokens/abc', value: '{"uses":1}' },
      { key: 'tokens/def', value: '"created"' },
    ]);
  });

  test(named('create writes once, then answers false without overwriting'), async (t) => {
    const store = backend.scope(t).open();
    t.true(await store.create('claims/x', '"first"'));
    t.false(await store.create('claims/x', '"second"'));
    t.is(await store.get('claims/x'), '"first"');
    await store.put('claims/y', '"put"');
    t.false(await store.create('claims/y', '"created"'), 'a key written by put exists too');
    t.is(await store.get('claims/y'), '"put"');
  });

  test(named(`50 concurrent creates on one key from ${backend.replicas} instance(s): exactly one wins`), async (t) => {
    const scope = backend.scope(t);
    const stores = Array.from({ length: backend.replicas }, () => scope.open());
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => stores[i % stores.length]!.create('claims/race', `"v${i}"`)),
    );
    const winners = results.flatMap((won, i) => (won ? [i] : []));
    t.is(winners.length, 1, `winners: ${winners.join(', ')}`);
    t.is(await stores[0]!.get('claims/race'), `"v${winners[0]}"`, 'the stored value is the winner’s');
  });

  test(named(`50 concurrent updates from ${backend.replicas} instance(s) lose nothing`), async (t) => {
    const scope = backend.scope(t);
    const stores = Array.from({ length: backend.replicas }, () => scope.open());
    const increment = (current: string | undefined): string => String(Number(current ?? '0') + 1);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => stores[i % stores.length]!.update('counters/c', increment)),
    );
    t.is(await stores[0]!.get('counters/c'), '50');
    // Each update resolves to the value it stored, so every count from 1 to 50 is seen exactly once.
    t.deepEqual(
      results.map(Number).sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
  });

  if (backend.replicas > 1) {
    test(named('updates from two instances interleave without lost updates'), async (t) => {
      const scope = backend.scope(t);
      const [a, b] = [scope.open(), scope.open()];
      const append = (tag: string) => (current: string | undefined) =>
        JSON.stringify([...(JSON.parse(current ?? '[]') as string[]), tag]);
      await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).update('log', append(`e${i}`))));
      const entries = JSON.parse((await a.get('log')) ?? '[]') as string[];
      t.deepEqual([...entries].sort(), Array.from({ length: 20 }, (_, i) => `e${i}`).sort());
    });
  }

  test(named('update sees the current value and resolves to the stored one'), async (t) => {
    const store = backend.scope(t).open();
    const seen: Array<string | undefined> = [];
    t.is(await store.update('k', (current) => (seen.push(current), 'one')), 'one');
    t.is(await store.update('k', (current) => (seen.push(current), 'two')), 'two');
    t.deepEqual(seen, [undefined, 'one']);
    t.is(await store.get('k'), 'two');
  });

  test(named('update returning undefined or the same value writes nothing'), async (t) => {
    const scope = backend.scope(t);
    const store = scope.open();
    t.is(await store.update('absent', () => undefined), undefined);
    t.is(await store.get('absent'), undefined);
    t.deepEqual(await scope.rawKeys(), [], 'nothing reached storage');

    await store.put('present', '"v"');
    const before = await scope.writeStamp('present');
    t.truthy(before);
    t.is(await store.update('present', () => undefined), '"v"');
    t.is(await store.update('present', (current) => current), '"v"');
    t.is(await scope.writeStamp('present'), before, 'the key was not rewritten');
    await store.put('present', '"v"');
    t.not(await scope.writeStamp('present'), before, 'a put of the same value does rewrite (the stamp works)');
  });

  test(named('list returns the keys under the prefix, nested ones included, in key order'), async (t) => {
    const store = backend.scope(t).open();
    const keys = ['a/b/2', 'ab/x', 'a/Z', 'a', 'a/b.c', 'b/1', 'a/0', 'a/b-c', 'a/a', 'a/b/c/d', 'ab'];
    for (const key of keys) await store.put(key, JSON.stringify(key));
    const expected = ['a/0', 'a/Z', 'a/a', 'a/b-c', 'a/b.c', 'a/b/2', 'a/b/c/d'];
    t.deepEqual(
      await store.list('a/'),
      expected.map((key) => ({ key, value: JSON.stringify(key) })),
    );
    t.deepEqual((await store.list('a/b/')).map((e) => e.key), ['a/b/2', 'a/b/c/d']);
    t.deepEqual((await store.list('ab/')).map((e) => e.key), ['ab/x']);
    t.deepEqual(await store.list('none/'), []);
  });

  test(named('delete removes the key; deleting an absent key is fine; create works again'), async (t) => {
    const store = backend.scope(t).open();
    await store.put('nodes/x', '"x"');
    await store.put('nodes/y', '"y"');
    await store.delete('nodes/x');
    t.is(await store.get('nodes/x'), undefined);
    t.deepEqual((await store.list('nodes/')).map((e) => e.key), ['nodes/y']);
    await t.notThrowsAsync(store.delete('nodes/x'));
    await t.notThrowsAsync(store.delete('never/was'));
    t.true(await store.create('nodes/x', '"again"'), 'a deleted key no longer exists for create');
    t.is(await store.get('nodes/x'), '"again"');
  });

  test(named('invalid keys and prefixes are rejected with InvalidKey by every method'), async (t) => {
    const scope = backend.scope(t);
    const store = scope.open();
    let changeCalls = 0;
    for (const key of BAD_KEYS) {
      const calls: Array<[string, () => Promise<unknown>]> = [
        ['get', () => store.get(key)],
        ['put', () => store.put(key, '"v"')],
        ['create', () => store.create(key, '"v"')],
        ['update', () => store.update(key, () => (changeCalls++, '"v"'))],
        ['delete', () => store.delete(key)],
      ];
      for (const [method, call] of calls) {
        await t.throwsAsync(call, { instanceOf: InvalidKey }, `${method}(${JSON.stringify(key)})`);
      }
    }
    for (const prefix of BAD_PREFIXES) {
      await t.throwsAsync(() => store.list(prefix), { instanceOf: InvalidKey }, `list(${JSON.stringify(prefix)})`);
    }
    t.is(changeCalls, 0, 'update never ran change for an invalid key');
    t.deepEqual(await scope.rawKeys(), [], 'nothing reached storage');
  });
}

test('file store: files are 0600 and no temp file is left behind', async (t) => {
  const dir = tempDir(t);
  const store = closing(t, new FileStore(dir));
  await store.put('nodes/a', '"a"');
  t.true(await store.create('nodes/b', '"b"'));
  await store.update('nodes/c', () => '"c"');
  await store.update('nodes/a', () => '"a2"');
  const files = await filesUnder(path.join(dir, 'kv'));
  t.deepEqual(files, ['nodes/a', 'nodes/b', 'nodes/c']);
  for (const name of ['a', 'b', 'c']) {
    const { mode } = await fs.stat(path.join(dir, 'kv', 'nodes', `${name}.json`));
    t.is(mode & 0o777, 0o600, `nodes/${name}`);
  }
});

test('file store: a leftover temp file is not listed', async (t) => {
  const dir = tempDir(t);
  const store = closing(t, new FileStore(dir));
  await store.put('nodes/a', '"a"');
  // What a kill -9 between writing and renaming leaves behind.
  await fs.writeFile(path.join(dir, 'kv', 'nodes', '.b.json.abc.tmp'), '"half"');
  await fs.writeFile(path.join(dir, 'kv', 'nodes', '.a.json.def.tmp'), '"half"');
  t.deepEqual(await store.list('nodes/'), [{ key: 'nodes/a', value: '"a"' }]);
  t.is(await store.get('nodes/b'), undefined);
  t.is(await store.get('nodes/a'), '"a"');
});

test('file store: a folder removed behind its back is made again by the next write', async (t) => {
  const dir = tempDir(t);
  const store = closing(t, new FileStore(dir));
  await store.put('nodes/a', '"a"');
  await fs.rm(path.join(dir, 'kv', 'nodes'), { recursive: true });
  await store.put('nodes/b', '"b"');
  t.true(await store.create('nodes/c', '"c"'));
  t.deepEqual(await new FileStore(dir).list('nodes/'), [
    { key: 'nodes/b', value: '"b"' },
    { key: 'nodes/c', value: '"c"' },
  ]);
});

test('file store: writes racing into one folder, which share its fsyncs, are all there for another reader', async (t) => {
  const dir = tempDir(t);
  const store = closing(t, new FileStore(dir));
  const names = Array.from({ length: 300 }, (_, i) => `n${i}`);
  await Promise.all(names.map((name, i) => (i % 2 === 0 ? store.put(`nodes/${name}`, `"${name}"`) : store.create(`nodes/${name}`, `"${name}"`))));
  const listed = await new FileStore(dir).list('nodes/');
  t.deepEqual(listed.map((e) => e.value).sort(), names.map((name) => `"${name}"`).sort());
  t.deepEqual(await filesUnder(path.join(dir, 'kv')), names.map((name) => `nodes/${name}`).sort(), 'no temp file is left behind');
});

test('etcd store: keys live under its prefix, invisible to another prefix', async (t) => {
  const a = closing(t, new EtcdStore({ endpoints: [etcd!.url], prefix: 'install-a/' }));
  const b = closing(t, new EtcdStore({ endpoints: [etcd!.url], prefix: 'install-ab/' }));
  await a.put('nodes/x', '"a"');
  t.is(await raw!.get('install-a/nodes/x').string(), '"a"');
  t.is(await b.get('nodes/x'), undefined);
  t.deepEqual(await b.list('nodes/'), []);
  t.true(await b.create('nodes/x', '"b"'));
  t.is(await a.get('nodes/x'), '"a"');
  t.deepEqual(await a.list('nodes/'), [{ key: 'nodes/x', value: '"a"' }]);
});

test('etcd store: the default prefix is labimg/, and a prefix must end in "/"', async (t) => {
  const store = closing(t, new EtcdStore({ endpoints: [etcd!.url] }));
  t.regex(store.description, /^etcd at http:\/\/127\.0\.0\.1:\d+/);
  await store.put('default-prefix-probe', '"p"');
  t.teardown(() => raw!.delete().key('labimg/default-prefix-probe').exec());
  t.is(await raw!.get('labimg/default-prefix-probe').string(), '"p"');
  t.throws(() => new EtcdStore({ endpoints: [etcd!.url], prefix: 'labimg' }), { message: /must end in "\/"/ });
});

test('etcd store: when etcd is unreachable, the error names the endpoints tried', async (t) => {
  const endpoints = [`http://127.0.0.1:${await closedPort()}`, `http://127.0.0.1:${await closedPort()}`];
  const store = closing(t, new EtcdStore({ endpoints }));
  for (const call of [() => store.get('x'), () => store.update('x', () => '"v"'), () => store.list('x/')]) {
    const error = await t.throwsAsync(call);
    for (const endpoint of endpoints) t.true(error?.message.includes(endpoint), `${error?.message} names ${endpoint}`);
  }
});

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'labimg-store-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Store keys of the .json files under `root` (temp files keep their names, so they show up as odd keys). */
async function filesUnder(root: string, prefix = ''): Promise<string[]> {
  const entries = await fs.readdir(path.join(root, prefix), { withFileTypes: true }).catch(() => []);
  const keys: string[] = [];
  for (const entry of entries) {
    const name = `${prefix}${entry.name}`;
    if (entry.isDirectory()) keys.push(...(await filesUnder(root, `${name}/`)));
    else keys.push(name.endsWith('.json') ? name.slice(0, -'.json'.length) : name);
  }
  return keys.sort();
}

/** A loopback port nothing listens on (just released by the kernel). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('file store: two stores writing one folder at once (serve and a pool command) keep apart their temp files', async (t) => {
  const dir = tempDir(t);
  const stores = [closing(t, new FileStore(dir)), closing(t, new FileStore(dir))];
  const names = Array.from({ length: 200 }, (_, i) => `n${i}`);
  // Each store counts its temp files from 1: only their prefixes keep the two apart.
  await Promise.all(names.map((name, i) => stores[i % 2]!.put(`nodes/${name}`, `"${name}"`)));
  t.deepEqual((await new FileStore(dir).list('nodes/')).map((e) => e.value).sort(), names.map((name) => `"${name}"`).sort());
  t.deepEqual(await filesUnder(path.join(dir, 'kv')), names.map((name) => `nodes/${name}`).sort(), 'no temp file is left behind');
});
