/**
 * The file store's append-only log (endpoint/store/file-store.ts, frames per endpoint/store/log-frames.ts), on
 * real files in a temp dir: catch-up between two instances over one directory (appends, deletes, a log replaced
 * by another inode, the first log made), torn tails (garbage, a frame cut short, a frame failing its CRC) that
 * readers ignore and the next writer cuts off, a damaged tail past 64 MiB that writes refuse, values over 16 KiB
 * read from the log, compaction past 32 MiB, the import of a pre-log DIR/kv/ folder, and writes that change
 * nothing appending nothing.
 *
 * The log is parsed and built here from the layout comment in log-frames.ts, not with its code, so these tests
 * check the format on disk independently of the implementation.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, promises as fs, mkdtempSync, openSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { FileStore } from '../endpoint/store/file-store';
import { repoRoot } from './helpers/cli';

const MiB = 1024 * 1024;
const HEADER = 16;

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'labimg-kvlog-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function open(t: ExecutionContext, dir: string): FileStore {
  const store = new FileStore(dir);
  t.teardown(() => store.close());
  return store;
}

const logOf = (dir: string): string => path.join(dir, 'kv.log');

/** A frame in the log's layout (kind 1 put, 2 delete), built by the test. */
function frame(kind: 1 | 2, key: string, value = ''): Buffer {
  const keyBytes = Buffer.from(key, 'utf8');
  const valueBytes = Buffer.from(value, 'utf8');
  const header = Buffer.alloc(HEADER);
  header.write('kv', 0, 'latin1');
  header[2] = kind;
  header[3] = 0;
  header.writeUInt32LE(keyBytes.length, 4);
  header.writeUInt32LE(valueBytes.length, 8);
  header.writeUInt32LE(crc32(Buffer.concat([keyBytes, valueBytes]), crc32(header.subarray(2, 12))), 12);
  return Buffer.concat([header, keyBytes, valueBytes]);
}

interface Parsed {
  frames: Array<{ kind: 1 | 2; key: string; value?: string; offset: number; length: number }>;
  /** Each live key's value: the last frame per key wins, a delete removes it. */
  live: Map<string, string>;
  /** The offset after the last whole, intact frame. */
  end: number;
  size: number;
}

/** Reads the log's whole, intact frames up to the first that is not one (the torn or damaged end). */
async function parseLog(dir: string): Promise<Parsed> {
  const bytes = await fs.readFile(logOf(dir));
  const parsed: Parsed = { frames: [], live: new Map(), end: 0, size: bytes.length };
  let at = 0;
  while (bytes.length - at >= HEADER) {
    if (bytes.toString('latin1', at, at + 2) !== 'kv') break;
    const kind = bytes[at + 2];
    if ((kind !== 1 && kind !== 2) || bytes[at + 3] !== 0) break;
    const keyLength = bytes.readUInt32LE(at + 4);
    const valueLength = bytes.readUInt32LE(at + 8);
    const end = at + HEADER + keyLength + valueLength;
    if (keyLength === 0 || (kind === 2 && valueLength !== 0) || end > bytes.length) break;
    if (crc32(bytes.subarray(at + HEADER, end), crc32(bytes.subarray(at + 2, at + 12))) !== bytes.readUInt32LE(at + 12)) break;
    const key = bytes.toString('utf8', at + HEADER, at + HEADER + keyLength);
    if (kind === 1) {
      const value = bytes.toString('utf8', at + HEADER + keyLength, end);
      parsed.frames.push({ kind, key, value, offset: at, length: end - at });
      parsed.live.set(key, value);
    } else {
      parsed.frames.push({ kind, key, offset: at, length: end - at });
      parsed.live.delete(key);
    }
    at = end;
  }
  parsed.end = at;
  return parsed;
}

/** The log parsed, failing the test unless it is whole frames to its last byte. */
async function wholeLog(t: ExecutionContext, dir: string): Promise<Parsed> {
  const parsed = await parseLog(dir);
  t.is(parsed.end, parsed.size, 'the log ends in whole, intact frames');
  return parsed;
}

const sizeOf = async (file: string): Promise<number> => (await fs.stat(file)).size;

test('catch-up: an instance already open reads what another appended, and the other sees its delete', async (t) => {
  const dir = tempDir(t);
  const a = open(t, dir);
  const b = open(t, dir);
  // b looks before there is any log: the log a then makes is a new file for it.
  t.is(await b.get('nodes/x'), undefined);
  t.deepEqual(await b.list('nodes/'), []);
  await a.put('nodes/x', '"x1"');
  t.is(await b.get('nodes/x'), '"x1"');

  await a.put('nodes/x', '"x2"');
  t.true(await a.create('nodes/y', '"y"'));
  t.is(await a.update('nodes/z', () => '"z"'), '"z"');
  t.is(await b.get('nodes/x'), '"x2"', 'b caught up with the appends a made after b read the log');
  t.deepEqual(await b.keys('nodes/'), ['nodes/x', 'nodes/y', 'nodes/z']);
  t.false(await b.create('nodes/y', '"b"'), "b's create sees a's key");

  await b.delete('nodes/x');
  t.is(await a.get('nodes/x'), undefined, "a sees b's delete");
  t.deepEqual(await a.list('nodes/'), [
    { key: 'nodes/y', value: '"y"' },
    { key: 'nodes/z', value: '"z"' },
  ]);
  t.is(await a.update('nodes/y', (current) => `[${current}]`), '["y"]', "a's update starts from the log as it is");
  t.is(await b.get('nodes/y'), '["y"]');

  const log = await wholeLog(t, dir);
  t.deepEqual(
    log.frames.map((f) => [f.kind, f.key]),
    [
      [1, 'nodes/x'],
      [1, 'nodes/x'],
      [1, 'nodes/y'],
      [1, 'nodes/z'],
      [2, 'nodes/x'],
      [1, 'nodes/y'],
    ],
  );
});

test('catch-up: a log replaced by another file (another inode) is read again from its start', async (t) => {
  const dir = tempDir(t);
  const a = open(t, dir);
  await a.put('nodes/old', '"old"');
  await a.put('nodes/kept', '"v1"');
  t.is(await a.get('nodes/old'), '"old"');
  const before = (await fs.stat(logOf(dir))).ino;

  // What another process's compaction does: a new file, renamed over the log. Here it also drops a key.
  const temp = path.join(dir, '.kv.log.replace');
  await fs.writeFile(temp, Buffer.concat([frame(1, 'nodes/kept', '"v2"'), frame(1, 'nodes/new', '"new"')]), { mode: 0o600 });
  await fs.rename(temp, logOf(dir));
  t.not((await fs.stat(logOf(dir))).ino, before);

  t.is(await a.get('nodes/old'), undefined, 'a key only the old file had is gone');
  t.deepEqual(await a.list('nodes/'), [
    { key: 'nodes/kept', value: '"v2"' },
    { key: 'nodes/new', value: '"new"' },
  ]);
  // And a's next append goes to the new file, not the old inode it had open.
  await a.put('nodes/after', '"after"');
  const log = await wholeLog(t, dir);
  t.deepEqual([...log.live.keys()].sort(), ['nodes/after', 'nodes/kept', 'nodes/new']);
  t.is(await open(t, dir).get('nodes/after'), '"after"');
});

/** What a writer may leave after its last whole frame, each with the key it would have written (if any). */
const TORN_TAILS: Array<[string, (dir: string) => Buffer]> = [
  ['text garbage', () => Buffer.from('this is not a frame\n')],
  ['fewer bytes than a header', () => frame(1, 'nodes/torn', '"torn"').subarray(0, 9)],
  ['a real frame cut short in its value', () => {
    const whole = frame(1, 'nodes/torn', JSON.stringify('t'.repeat(500)));
    return whole.subarray(0, whole.length - 7);
  }],
  ['a header whose lengths run past the end of the file', () => frame(1, 'nodes/torn', '"torn"').subarray(0, HEADER + 4)],
];

for (const [name, tail] of TORN_TAILS) {
  test(`torn tail (${name}): readers ignore it, the next write cuts it off`, async (t) => {
    const dir = tempDir(t);
    const writer = open(t, dir);
    await writer.put('nodes/a', '"a"');
    await writer.put('nodes/b', '"b"');
    await writer.put('nodes/a', '"a2"');
    const early = open(t, dir);
    t.is(await early.get('nodes/a'), '"a2"', 'an instance that read the log before the torn append');
    await writer.close();

    const goodEnd = await sizeOf(logOf(dir));
    const torn = tail(dir);
    await fs.appendFile(logOf(dir), torn);
    t.is(await sizeOf(logOf(dir)), goodEnd + torn.length);

    for (const reader of [early, open(t, dir)]) {
      t.is(await reader.get('nodes/a'), '"a2"');
      t.is(await reader.get('nodes/b'), '"b"');
      t.is(await reader.get('nodes/torn'), undefined);
      t.deepEqual(await reader.keys('nodes/'), ['nodes/a', 'nodes/b']);
    }
    t.is(await sizeOf(logOf(dir)), goodEnd + torn.length, 'reading does not cut the tail');

    const next = open(t, dir);
    await next.put('nodes/c', '"c"');
    const expected = frame(1, 'nodes/c', '"c"');
    const bytes = await fs.readFile(logOf(dir));
    t.is(bytes.length, goodEnd + expected.length, 'the torn bytes were cut before the append');
    t.deepEqual(bytes.subarray(goodEnd), expected, 'the new frame sits right after the last whole one');
    const log = await wholeLog(t, dir);
    t.deepEqual(Object.fromEntries(log.live), { 'nodes/a': '"a2"', 'nodes/b': '"b"', 'nodes/c': '"c"' });

    const fresh = open(t, dir);
    t.deepEqual(await fresh.list('nodes/'), [
      { key: 'nodes/a', value: '"a2"' },
      { key: 'nodes/b', value: '"b"' },
      { key: 'nodes/c', value: '"c"' },
    ]);
    t.is(await early.get('nodes/c'), '"c"', 'the instance open all along catches up past the cut');
  });
}

test('torn tail: the writer that was open when the tail appeared cuts it off too', async (t) => {
  const dir = tempDir(t);
  const store = open(t, dir);
  await store.put('nodes/a', '"a"');
  const goodEnd = await sizeOf(logOf(dir));
  await fs.appendFile(logOf(dir), Buffer.from('garbage'));
  t.is(await store.get('nodes/a'), '"a"');
  await store.put('nodes/b', '"b"');
  t.is(await sizeOf(logOf(dir)), goodEnd + frame(1, 'nodes/b', '"b"').length);
  await wholeLog(t, dir);
  t.deepEqual(await open(t, dir).keys('nodes/'), ['nodes/a', 'nodes/b']);
});

test('torn tail: a reader sees the frame another writer put in its place, even at the same size', async (t) => {
  const dir = tempDir(t);
  const [writer, reader] = [open(t, dir), open(t, dir)];
  await writer.put('nodes/a', '"a"');
  // A torn append exactly as long as the frame the next put writes: once that put has cut it and appended, the
  // log's size is what the reader saw.
  await fs.appendFile(logOf(dir), Buffer.alloc(frame(1, 'nodes/b', '"b"').length, 0x20));
  const tornSize = await sizeOf(logOf(dir));
  t.is(await reader.get('nodes/b'), undefined);
  await writer.put('nodes/b', '"b"');
  t.is(await sizeOf(logOf(dir)), tornSize);
  t.is(await reader.get('nodes/b'), '"b"');
  t.deepEqual(await reader.keys('nodes/'), ['nodes/a', 'nodes/b']);
});

test('a last frame failing its CRC is where the log ends, and the next write cuts it', async (t) => {
  const dir = tempDir(t);
  const writer = open(t, dir);
  await writer.put('nodes/a', '"a"');
  await writer.close();
  const goodEnd = await sizeOf(logOf(dir));

  const bad = frame(1, 'nodes/bad', '"bad value"');
  bad.writeUInt8(bad.readUInt8(bad.length - 3) ^ 0x01, bad.length - 3); // one bit of the value flipped: the header still reads well, the check fails
  await fs.appendFile(logOf(dir), bad);

  const reader = open(t, dir);
  t.is(await reader.get('nodes/a'), '"a"');
  t.is(await reader.get('nodes/bad'), undefined, 'the frame failing its check is not read');
  t.deepEqual(await reader.keys('nodes/'), ['nodes/a']);

  await reader.put('nodes/c', '"c"');
  t.is(await sizeOf(logOf(dir)), goodEnd + frame(1, 'nodes/c', '"c"').length);
  const log = await wholeLog(t, dir);
  t.deepEqual(Object.fromEntries(log.live), { 'nodes/a': '"a"', 'nodes/c': '"c"' });
  t.deepEqual(await open(t, dir).keys('nodes/'), ['nodes/a', 'nodes/c']);
});

test('a damaged frame with whole frames after it is damage, not a torn append: every operation fails and nothing is cut', async (t) => {
  const dir = tempDir(t);
  const writer = open(t, dir);
  await writer.put('nodes/a', '"a"');
  await writer.put('nodes/b', '"b"');
  await writer.put('nodes/b', '"revoked"');
  await writer.close();
  const bytes = await fs.readFile(logOf(dir));
  const second = frame(1, 'nodes/a', '"a"').length;
  bytes.writeUInt8(bytes.readUInt8(second + HEADER + 2) ^ 0x01, second + HEADER + 2); // a bit of the second frame's key
  await fs.writeFile(logOf(dir), bytes);
  const third = second + frame(1, 'nodes/b', '"b"').length;

  const store = open(t, dir);
  // Reading on from the first frame alone would miss that nodes/b was revoked; a write would cut the revocation off.
  for (const call of [() => store.get('nodes/a'), () => store.keys('nodes/'), () => store.put('nodes/c', '"c"'), () => store.delete('nodes/a'), () => store.update('nodes/b', () => '"b2"')]) {
    const error = await t.throwsAsync(call);
    t.true(error?.message.includes(logOf(dir)), `names the log: ${error?.message}`);
    t.true(error?.message.includes(`damaged at byte ${second}`), `names where the damage is: ${error?.message}`);
    t.true(error?.message.includes(`from byte ${third}`), `names where whole frames go on: ${error?.message}`);
  }
  t.deepEqual(await fs.readFile(logOf(dir)), bytes, 'the log is as it was');
});

test('more than 64 MiB after the last frame is a damaged log: writes refuse, naming the file and the offset', async (t) => {
  const dir = tempDir(t);
  const writer = open(t, dir);
  await writer.put('nodes/a', '"a"');
  await writer.put('nodes/b', '"b"');
  await writer.close();
  const goodEnd = await sizeOf(logOf(dir));
  const head = await fs.readFile(logOf(dir));
  const damagedSize = goodEnd + 64 * MiB + 1;
  await fs.truncate(logOf(dir), damagedSize); // zeros, and sparse: cheap

  const store = open(t, dir);
  t.is(await store.get('nodes/a'), '"a"', 'reads still see the frames before the damage');
  for (const write of [() => store.put('nodes/c', '"c"'), () => store.delete('nodes/a'), () => store.update('nodes/b', () => '"b2"')]) {
    const error = await t.throwsAsync(write);
    t.true(error?.message.includes(logOf(dir)), `names the log: ${error?.message}`);
    t.regex(error?.message ?? '', new RegExp(`\\b${goodEnd}\\b`), 'names the offset of the end of the last whole frame');
  }
  t.is(await sizeOf(logOf(dir)), damagedSize, 'nothing was cut or appended');
  const after = await fs.readFile(logOf(dir));
  t.deepEqual(after.subarray(0, goodEnd), head);
  t.true(after.subarray(goodEnd).every((byte) => byte === 0), 'nothing was written into the damaged part');
  t.is(await store.get('nodes/a'), '"a"');
  t.is(await store.get('nodes/c'), undefined, 'the refused write is not seen by the store that tried it');
  t.is(await open(t, dir).get('nodes/c'), undefined);
});

test('exactly 64 MiB after the last frame is still a torn append, and is cut', async (t) => {
  const dir = tempDir(t);
  const store = open(t, dir);
  await store.put('nodes/a', '"a"');
  const goodEnd = await sizeOf(logOf(dir));
  await fs.truncate(logOf(dir), goodEnd + 64 * MiB);
  await store.put('nodes/b', '"b"');
  t.is(await sizeOf(logOf(dir)), goodEnd + frame(1, 'nodes/b', '"b"').length);
  t.deepEqual(await open(t, dir).keys('nodes/'), ['nodes/a', 'nodes/b']);
});

test('values over 16 KiB round-trip through get and list, read from the log rather than memory', async (t) => {
  const dir = tempDir(t);
  const store = open(t, dir);
  // Multi-byte characters, so that a byte length taken for a character length (or back) would show.
  const big = JSON.stringify({ history: Array.from({ length: 8000 }, (_, i) => `ü-${i}-✓`) });
  t.true(Buffer.byteLength(big) > 64 * 1024 && big.length < Buffer.byteLength(big));
  const edge = JSON.stringify('e'.repeat(16 * 1024 - 2)); // 16 KiB exactly: kept in memory
  const overEdge = JSON.stringify('o'.repeat(16 * 1024 - 1)); // one byte more: read from the log
  t.is(Buffer.byteLength(edge), 16 * 1024);
  t.is(Buffer.byteLength(overEdge), 16 * 1024 + 1);
  await store.put('reports/big', big);
  await store.put('reports/edge', edge);
  await store.put('reports/over', overEdge);
  await store.put('reports/small', '"s"');

  const expected = [
    { key: 'reports/big', value: big },
    { key: 'reports/edge', value: edge },
    { key: 'reports/over', value: overEdge },
    { key: 'reports/small', value: '"s"' },
  ];
  t.is(await store.get('reports/big'), big);
  t.deepEqual(await store.list('reports/'), expected);
  const fresh = open(t, dir);
  t.is(await fresh.get('reports/big'), big);
  t.is(await fresh.get('reports/over'), overEdge);
  t.deepEqual(await fresh.list('reports/'), expected);
  t.deepEqual(Object.fromEntries((await wholeLog(t, dir)).live), Object.fromEntries(expected.map((e) => [e.key, e.value])));

  // Probe where each value is read from: change one byte of each value in place in the file (same size, same
  // inode, so no instance reads the log again). A value read from the log shows the change; one held in memory
  // does not.
  const log = await parseLog(dir);
  const valueStart = (key: string): number => {
    const f = log.frames.find((x) => x.key === key)!;
    return f.offset + HEADER + Buffer.byteLength(key) + 1; // the byte after the opening quote or brace
  };
  const handle = await fs.open(logOf(dir), 'r+');
  try {
    for (const key of ['reports/big', 'reports/edge', 'reports/over']) await handle.write(Buffer.from('X'), 0, 1, valueStart(key));
  } finally {
    await handle.close();
  }
  const changed = (value: string): string => `${value[0]}X${value.slice(2)}`;
  t.is(await fresh.get('reports/over'), changed(overEdge), 'a value over 16 KiB is read from the log when asked for');
  t.is(await fresh.get('reports/big'), changed(big));
  t.is(await fresh.get('reports/edge'), edge, 'a value of 16 KiB is held in memory');
  t.deepEqual(
    (await store.list('reports/')).map((e) => e.value),
    [changed(big), edge, changed(overEdge), '"s"'],
    'list reads the large values from the log too',
  );
});

test('a large value is read by an instance that caught up with it, and after its key is rewritten', async (t) => {
  const dir = tempDir(t);
  const a = open(t, dir);
  const b = open(t, dir);
  await a.put('reports/r', '"small"');
  t.is(await b.get('reports/r'), '"small"');
  const big1 = JSON.stringify('1'.repeat(100 * 1024));
  const big2 = JSON.stringify('2'.repeat(50 * 1024));
  await a.put('reports/r', big1);
  await a.put('reports/other', '"o"');
  t.is(await b.get('reports/r'), big1);
  await a.put('reports/r', big2);
  t.is(await b.get('reports/r'), big2);
  t.deepEqual(await b.list('reports/'), [
    { key: 'reports/other', value: '"o"' },
    { key: 'reports/r', value: big2 },
  ]);
});

test('compaction: past 32 MiB with most of it superseded, the log is rewritten with only the live frames', async (t) => {
  const dir = tempDir(t);
  const a = open(t, dir);
  const keep = JSON.stringify('k'.repeat(MiB));
  const churnValue = (i: number): string => JSON.stringify(`${i}:`.padEnd(MiB, 'c'));
  await a.put('small/a', '"a"');
  await a.put('big/keep', keep);
  await a.put('gone/x', '"deleted before the compaction"');
  await a.delete('gone/x');
  const b = open(t, dir); // open, and with an index of the old file, before the compaction
  t.is(await b.get('big/keep'), keep);
  const first = await fs.stat(logOf(dir));

  let compactedAt: number | undefined;
  let readsBefore: Array<Promise<string | undefined>> = [];
  let readsDuring: Array<Promise<string | undefined>> = [];
  let sawTempFile = false;
  for (let i = 0; i < 45 && compactedAt === undefined; i++) {
    const before = await sizeOf(logOf(dir));
    const frameBytes = frame(1, 'big/churn', churnValue(i)).length;
    const crossing = before + frameBytes > 32 * MiB;
    if (crossing) {
      // Large values whose reads start just before the compaction, in both instances: they finish on the old file.
      readsBefore = [a.get('big/keep'), b.get('big/keep'), a.get('big/keep')];
    }
    const putting = a.put('big/churn', churnValue(i));
    if (crossing) {
      // And, when the compaction's temp file shows up in time, reads started while it is being written.
      let settled = false;
      void putting.then(
        () => (settled = true),
        () => (settled = true),
      );
      while (!settled && !sawTempFile) {
        if (readdirSync(dir).some((name) => name.startsWith('.kv.log.'))) {
          sawTempFile = true;
          readsDuring = [a.get('big/keep'), b.get('big/keep')];
        } else {
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    }
    await putting;
    const now = await fs.stat(logOf(dir));
    if (now.ino !== first.ino) {
      t.true(crossing, `rewritten only once past 32 MiB (${before} + ${frameBytes} bytes)`);
      compactedAt = i;
    } else {
      t.is(now.size, before + frameBytes, 'an append adds exactly its frame');
    }
  }
  t.not(compactedAt, undefined, 'the log was rewritten');
  t.log(`compacted at put ${compactedAt}; reads during the rewrite: ${sawTempFile ? 'started' : 'missed the window'}`);
  const last = churnValue(compactedAt!);

  const after = await fs.stat(logOf(dir));
  t.true(after.size < 4 * MiB, `the log shrank to ${after.size} bytes`);
  t.not(after.ino, first.ino, 'a new file');
  t.is(after.mode & 0o777, 0o600);
  t.deepEqual(readdirSync(dir), ['kv.log'], 'no temp file is left behind');
  const log = await wholeLog(t, dir);
  t.deepEqual(
    log.frames.map((f) => [f.kind, f.key]).sort(),
    [
      [1, 'big/churn'],
      [1, 'big/keep'],
      [1, 'small/a'],
    ],
    'one put per live key, nothing superseded or deleted',
  );
  t.deepEqual(Object.fromEntries(log.live), { 'small/a': '"a"', 'big/keep': keep, 'big/churn': last });

  for (const value of await Promise.all([...readsBefore, ...readsDuring])) t.is(value, keep, 'a read under way finished');

  const expected = [
    { key: 'big/churn', value: last },
    { key: 'big/keep', value: keep },
  ];
  for (const [name, store] of [
    ['the compacting instance', a],
    ['the instance open before', b],
    ['a fresh instance', open(t, dir)],
  ] as const) {
    t.deepEqual(await store.list('big/'), expected, name);
    t.is(await store.get('small/a'), '"a"', name);
    t.is(await store.get('gone/x'), undefined, name);
  }

  // Writes after it go to the new file, and the others see them.
  await a.put('small/b', '"b"');
  await b.put('small/c', '"c"');
  t.is(await b.get('small/b'), '"b"');
  t.is(await a.get('small/c'), '"c"');
  const final = await wholeLog(t, dir);
  t.is((await fs.stat(logOf(dir))).ino, after.ino);
  t.deepEqual([...final.live.keys()].sort(), ['big/churn', 'big/keep', 'small/a', 'small/b', 'small/c']);
  t.deepEqual(await open(t, dir).keys('small/'), ['small/a', 'small/b', 'small/c']);
});

test('a read of a large value under way when another process replaces the log finishes on the old file', async (t) => {
  const dir = tempDir(t);
  const a = open(t, dir);
  const keep = JSON.stringify('k'.repeat(256 * 1024));
  await a.put('small/a', '"a"');
  await a.put('big/keep', keep);
  await a.put('big/keep', keep); // so that its offset in the old file is not the one it will have in the new
  const b = open(t, dir);
  t.is(await b.get('big/keep'), keep);

  // Occupy every thread of libuv's pool with opens of FIFOs no one writes to, so that the read queued after
  // them is still waiting while the log is replaced and b notices: the old file must stay open for it.
  const threads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const fifos = Array.from({ length: threads }, (_, i) => path.join(dir, `fifo-${i}`));
  execFileSync('mkfifo', fifos);
  const blockers = fifos.map((fifo) => fs.open(fifo, 'r'));
  let reading: Promise<string | undefined>;
  let meanwhile: Promise<string | undefined>;
  const writers: number[] = [];
  try {
    reading = b.get('big/keep'); // a pread of the old file, queued behind the blocked threads
    // Another process's compaction: the live frames in a new file, renamed over the log (all synchronous here).
    const temp = path.join(dir, '.kv.log.other');
    writeFileSync(temp, Buffer.concat([frame(1, 'big/keep', keep), frame(1, 'small/a', '"a2"')]), { mode: 0o600 });
    renameSync(temp, logOf(dir));
    meanwhile = b.get('small/a'); // b sees the new inode and reads the new file
  } finally {
    for (const fifo of fifos) writers.push(openSync(fifo, 'r+')); // a reader and a writer: the opens go through
  }
  for (const handle of await Promise.all(blockers)) await handle.close();
  for (const fd of writers) closeSync(fd);
  t.is(await meanwhile, '"a2"', 'b read the new log');
  t.is(await reading, keep, 'the read under way finished on the old file, with its bytes');
  t.is(await b.get('big/keep'), keep, 'and the next read finds it in the new one');
  t.is(await a.get('small/a'), '"a2"');
});

test('compaction: a log past 32 MiB that is mostly live is left as it is', async (t) => {
  const dir = tempDir(t);
  const store = open(t, dir);
  const value = (i: number): string => JSON.stringify(`${i}:`.padEnd(MiB, 'v'));
  await store.put('big/0', value(0));
  const ino = (await fs.stat(logOf(dir))).ino;
  for (let i = 1; i < 34; i++) await store.put(`big/${i}`, value(i));
  await store.put('big/0', value(100)); // one superseded frame of 35
  const stat = await fs.stat(logOf(dir));
  t.true(stat.size > 34 * MiB, `${stat.size} bytes`);
  t.is(stat.ino, ino, 'not rewritten');
  t.is((await wholeLog(t, dir)).frames.length, 35);
  t.is(await open(t, dir).get('big/0'), value(100));
});

test('legacy DIR/kv/ folder: read as it is, and moved into the log by the first write', async (t) => {
  const dir = tempDir(t);
  const legacy = path.join(dir, 'kv');
  const bigLegacy = JSON.stringify('L'.repeat(40 * 1024));
  await fs.mkdir(path.join(legacy, 'nodes'), { recursive: true });
  await fs.mkdir(path.join(legacy, 'tokens'), { recursive: true });
  await fs.mkdir(path.join(legacy, 'reports', 'gpu-01'), { recursive: true });
  await fs.writeFile(path.join(legacy, 'nodes', 'a.json'), '{"name":"a"}');
  await fs.writeFile(path.join(legacy, 'tokens', 't.json'), '{"uses":1}');
  await fs.writeFile(path.join(legacy, 'reports', 'gpu-01', 'history.json'), bigLegacy);
  await fs.writeFile(path.join(legacy, 'nodes', '.tmp-x'), '"half-written"');
  await fs.writeFile(path.join(legacy, 'nodes', '.b.json.abc.tmp'), '"half-written"');
  await fs.writeFile(path.join(legacy, 'nodes', '.c.json'), '"hidden"');
  await fs.mkdir(path.join(legacy, 'nodes', '.trash'));
  await fs.writeFile(path.join(legacy, 'nodes', '.trash', 'd.json'), '"hidden"');

  const store = open(t, dir);
  const early = open(t, dir);
  t.deepEqual(await store.list('nodes/'), [{ key: 'nodes/a', value: '{"name":"a"}' }], 'dot-files and dot-folders are not keys');
  t.deepEqual(await store.keys('tokens/'), ['tokens/t']);
  t.is(await store.get('tokens/t'), '{"uses":1}');
  t.is(await store.get('reports/gpu-01/history'), bigLegacy);
  t.is(await early.get('nodes/a'), '{"name":"a"}');
  t.false(await store.create('nodes/a', '"other"'), 'a legacy key exists for create');
  t.is(await store.update('nodes/a', (current) => current), '{"name":"a"}');
  t.deepEqual(await fs.readdir(dir), ['kv'], 'reading, and writes that change nothing, leave the folder as it is');

  await store.put('nodes/new', '"new"');
  t.deepEqual(await fs.readdir(dir), ['kv.log'], 'DIR/kv/ is gone, and no temp file is left behind');
  t.is((await fs.stat(logOf(dir))).mode & 0o777, 0o600);
  const log = await wholeLog(t, dir);
  t.deepEqual(Object.fromEntries(log.live), {
    'nodes/a': '{"name":"a"}',
    'tokens/t': '{"uses":1}',
    'reports/gpu-01/history': bigLegacy,
    'nodes/new': '"new"',
  });

  for (const [name, reader] of [
    ['the importing instance', store],
    ['an instance that read the folder before', early],
    ['a fresh instance', open(t, dir)],
  ] as const) {
    t.deepEqual(
      await reader.list('nodes/'),
      [
        { key: 'nodes/a', value: '{"name":"a"}' },
        { key: 'nodes/new', value: '"new"' },
      ],
      name,
    );
    t.is(await reader.get('tokens/t'), '{"uses":1}', name);
    t.is(await reader.get('reports/gpu-01/history'), bigLegacy, name);
  }
});

test('legacy DIR/kv/ folder: a delete as the first write imports the other keys', async (t) => {
  const dir = tempDir(t);
  await fs.mkdir(path.join(dir, 'kv', 'nodes'), { recursive: true });
  await fs.writeFile(path.join(dir, 'kv', 'nodes', 'a.json'), '"a"');
  await fs.writeFile(path.join(dir, 'kv', 'nodes', 'b.json'), '"b"');
  const store = open(t, dir);
  await store.delete('nodes/a');
  t.deepEqual(await fs.readdir(dir), ['kv.log']);
  t.deepEqual(await store.list('nodes/'), [{ key: 'nodes/b', value: '"b"' }]);
  t.deepEqual(await open(t, dir).list('nodes/'), [{ key: 'nodes/b', value: '"b"' }]);
  t.deepEqual(Object.fromEntries((await wholeLog(t, dir)).live), { 'nodes/b': '"b"' });
});

test('legacy DIR/kv/ folder holding only temp files goes with the first write', async (t) => {
  const dir = tempDir(t);
  await fs.mkdir(path.join(dir, 'kv', 'nodes'), { recursive: true });
  await fs.writeFile(path.join(dir, 'kv', 'nodes', '.tmp-abc-1'), '"half"');
  const store = open(t, dir);
  t.deepEqual(await store.keys('nodes/'), []);
  await store.put('nodes/a', '"a"');
  t.deepEqual(await fs.readdir(dir), ['kv.log']);
});

test('a new data directory is made 0700, and its log 0600', async (t) => {
  const dir = path.join(tempDir(t), 'data');
  const store = open(t, dir);
  t.is(await store.get('nodes/a'), undefined);
  await store.put('nodes/a', '"a"');
  t.is((await fs.stat(dir)).mode & 0o777, 0o700);
  t.is((await fs.stat(logOf(dir))).mode & 0o777, 0o600);
  t.deepEqual(Object.fromEntries((await wholeLog(t, dir)).live), { 'nodes/a': '"a"' });
});

test('writes that change nothing append nothing: update to the same value or undefined, delete of an absent key, a losing create', async (t) => {
  const dir = tempDir(t);
  const store = open(t, dir);
  await store.put('nodes/a', '{"n":1}');
  const size = await sizeOf(logOf(dir));
  t.is(await store.update('nodes/a', (current) => current), '{"n":1}');
  t.is(await store.update('nodes/a', () => '{"n":1}'), '{"n":1}', 'an equal string, not the same object');
  t.is(await store.update('nodes/a', () => undefined), '{"n":1}');
  t.is(await store.update('nodes/absent', () => undefined), undefined);
  await store.delete('nodes/absent');
  t.false(await store.create('nodes/a', '"other"'));
  t.is(await sizeOf(logOf(dir)), size, 'the log did not grow');

  // The control: an update that changes the value appends exactly its frame.
  t.is(await store.update('nodes/a', () => '{"n":2}'), '{"n":2}');
  t.is(await sizeOf(logOf(dir)), size + frame(1, 'nodes/a', '{"n":2}').length);
  t.is(await open(t, dir).get('nodes/a'), '{"n":2}');
});

test('a writer killed with SIGKILL in the middle of its appends loses nothing it acknowledged, and the next writer goes on', async (t) => {
  const dir = tempDir(t);
  // A real process writing as the endpoint does, many writes at once (so appends are batched), some values over
  // 16 KiB; it prints each key once its put has resolved, and is killed while it writes.
  const script = `
    const { FileStore } = require(${JSON.stringify(path.join(repoRoot, 'endpoint', 'store', 'file-store.ts'))});
    const store = new FileStore(${JSON.stringify(dir)});
    let n = 0;
    const one = async () => { for (;;) { const i = n++; await store.put('nodes/n' + i, JSON.stringify('v'.repeat(i % 7 === 0 ? 20000 : 20) + i)); process.stdout.write(i + '\\n'); } };
    for (let k = 0; k < 32; k++) void one();
  `;
  const child = spawn(process.execPath, ['--import=tsx', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  await new Promise<void>((resolve) => {
    const look = () => (out.split('\n').length > 500 ? resolve() : setTimeout(look, 10));
    look();
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const acknowledged = out.split('\n').filter((line) => /^\d+$/.test(line)).map(Number);
  t.true(acknowledged.length > 500, `${acknowledged.length} writes acknowledged`);

  const reader = open(t, dir);
  for (const i of acknowledged) t.is(await reader.get(`nodes/n${i}`), JSON.stringify('v'.repeat(i % 7 === 0 ? 20000 : 20) + i), `nodes/n${i}`);
  await reader.put('nodes/after', '"after"');
  const log = await wholeLog(t, dir);
  t.is(log.live.get('nodes/after'), '"after"');
  t.true(log.live.size >= acknowledged.length + 1);
});
