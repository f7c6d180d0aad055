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
import { crc32 } from 'node:zlib';
import { EtcdStore } from '../endpoint/store/etcd-store';
import { FileStore } from '../endpoint/store/file-store';
import { InvalidKey, type Store } from '../endpoint/store/store';
import { startEtcd, type RunningEtcd } from './helpers/etcd';

/** A fresh, empty corner of one backend. */
interface Scope {
  /** A new store instance over this scope's data, closed when the test ends. */
  open(): Store;
  /** Changes whenever `key` is written (etcd's mod revision, the offset of its last frame in the log); undefined when absent. */
  writeStamp(key: string): Promise<string | undefined>;
  /** Every key the backend holds for this scope, stray files included: what actually reached storage. */
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
        const at = (await readLog(dir)).live.get(key);
        return at === undefined ? undefined : String(at);
      },
      async rawKeys() {
        // The log's live keys, and any other file in the directory under its own name (a temp file left behind).
        const others = (await fs.readdir(dir)).filter((name) => name !== 'kv.log').map((name) => `file:${name}`);
        return [...(await readLog(dir)).live.keys(), ...others].sort();
      },
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

test('file store: the log is 0600 and, after writes of every kind, the only file in the directory', async (t) => {
  const dir = tempDir(t);
  const store = closing(t, new FileStore(dir));
  await store.put('nodes/a', '"a"');
  t.true(await store.create('nodes/b', '"b"'));
  await store.update('nodes/c', () => '"c"');
  await store.update('nodes/a', () => '"a2"');
  await store.put('nodes/d', '"d"');
  await store.delete('nodes/d');
  t.deepEqual(await fs.readdir(dir), ['kv.log'], 'no temp file is left behind, and no DIR/kv/ folder is made');
  t.is((await fs.stat(path.join(dir, 'kv.log'))).mode & 0o777, 0o600);
  const log = await readLog(dir);
  t.deepEqual([...log.live.keys()].sort(), ['nodes/a', 'nodes/b', 'nodes/c']);
  t.is(log.frames.length, 6, 'one frame per write: 4 puts/creates/updates, 1 put, 1 delete');
  t.deepEqual(
    log.frames.filter((f) => f.key === 'nodes/a').map((f) => f.value),
    ['"a"', '"a2"'],
  );
});

test('file store: 300 racing puts and creates, which share their appends, are all there for a new instance', async (t) => {
  const dir = tempDir(t);
  const store = closing(t, new FileStore(dir));
  const names = Array.from({ length: 300 }, (_, i) => `n${i}`);
  const results = await Promise.all(
    names.map((name, i) => (i % 2 === 0 ? store.put(`nodes/${name}`, `"${name}"`) : store.create(`nodes/${name}`, `"${name}"`))),
  );
  t.true(results.every((result, i) => (i % 2 === 0 ? result === undefined : result === true)), 'every create won');
  const reader = closing(t, new FileStore(dir));
  const listed = await reader.list('nodes/');
  t.deepEqual(listed.map((e) => e.value).sort(), names.map((name) => `"${name}"`).sort());
  const log = await readLog(dir);
  t.is(log.frames.length, 300, 'each write appended exactly one frame');
  t.deepEqual(await fs.readdir(dir), ['kv.log'], 'no temp file is left behind');
});

test('file store: a leftover compaction or import temp file in the directory is ignored', async (t) => {
  const dir = tempDir(t);
  const store = closing(t, new FileStore(dir));
  await store.put('nodes/a', '"a"');
  // What a kill -9 in the middle of a compaction or an import leaves behind: a whole log of other values.
  const stray = Buffer.concat([frame(1, 'nodes/a', '"stale"'), frame(1, 'nodes/b', '"half"')]);
  await fs.writeFile(path.join(dir, '.kv.log.abc123'), stray);
  await fs.writeFile(path.join(dir, '.kv.log.def456'), stray.subarray(0, 20));
  t.deepEqual(await store.list('nodes/'), [{ key: 'nodes/a', value: '"a"' }]);
  t.is(await store.get('nodes/b'), undefined);
  const fresh = closing(t, new FileStore(dir));
  t.deepEqual(await fresh.list('nodes/'), [{ key: 'nodes/a', value: '"a"' }]);
  t.is(await fresh.get('nodes/b'), undefined);
  await fresh.put('nodes/c', '"c"');
  t.deepEqual(await closing(t, new FileStore(dir)).list('nodes/'), [
    { key: 'nodes/a', value: '"a"' },
    { key: 'nodes/c', value: '"c"' },
  ]);
  t.deepEqual(await fs.readFile(path.join(dir, '.kv.log.abc123')), stray, 'a file that is not the log is left alone');
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

interface LogFrame {
  kind: 1 | 2;
  key: string;
  value?: string;
  offset: number;
}

/**
 * DIR/kv.log read by the test itself, from the layout in endpoint/store/log-frames.ts (not its code, so that this
 * checks the format independently): every whole, intact frame, and each live key with the offset of its last put.
 * A log that does not end in whole frames is an error here: after writes have resolved, nothing torn is left.
 */
async function readLog(dir: string): Promise<{ frames: LogFrame[]; live: Map<string, number> }> {
  const bytes = await fs.readFile(path.join(dir, 'kv.log')).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return Buffer.alloc(0);
    throw error;
  });
  const frames: LogFrame[] = [];
  const live = new Map<string, number>();
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 16) throw new Error(`kv.log ends inside a frame header at byte ${at}`);
    if (bytes.toString('latin1', at, at + 2) !== 'kv') throw new Error(`no "kv" magic at byte ${at}`);
    const kind = bytes[at + 2];
    if ((kind !== 1 && kind !== 2) || bytes[at + 3] !== 0) throw new Error(`bad kind or reserved byte at byte ${at}`);
    const keyLength = bytes.readUInt32LE(at + 4);
    const valueLength = bytes.readUInt32LE(at + 8);
    const end = at + 16 + keyLength + valueLength;
    if (keyLength === 0 || end > bytes.length) throw new Error(`frame at byte ${at} has a bad length or is cut short`);
    if (kind === 2 && valueLength !== 0) throw new Error(`delete frame at byte ${at} carries a value`);
    const crc = crc32(bytes.subarray(at + 16, end), crc32(bytes.subarray(at + 2, at + 12)));
    if (crc !== bytes.readUInt32LE(at + 12)) throw new Error(`frame at byte ${at} fails its CRC`);
    const key = bytes.toString('utf8', at + 16, at + 16 + keyLength);
    if (kind === 1) {
      frames.push({ kind, key, value: bytes.toString('utf8', at + 16 + keyLength, end), offset: at });
      live.set(key, at);
    } else {
      frames.push({ kind, key, offset: at });
      live.delete(key);
    }
    at = end;
  }
  return { frames, live };
}

/** A frame in the log's layout, built by the test itself (kind 1 put, 2 delete). */
function frame(kind: 1 | 2, key: string, value = ''): Buffer {
  const keyBytes = Buffer.from(key, 'utf8');
  const valueBytes = Buffer.from(value, 'utf8');
  const header = Buffer.alloc(16);
  header.write('kv', 0, 'latin1');
  header[2] = kind;
  header.writeUInt32LE(keyBytes.length, 4);
  header.writeUInt32LE(valueBytes.length, 8);
  header.writeUInt32LE(crc32(Buffer.concat([keyBytes, valueBytes]), crc32(header.subarray(2, 12))), 12);
  return Buffer.concat([header, keyBytes, valueBytes]);
}

/** A loopback port nothing listens on (just released by the kernel). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
