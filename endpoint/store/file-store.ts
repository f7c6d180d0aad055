/**
 * The default store: one append-only log, DIR/kv.log (log-frames.ts), and in memory an index of where each key's
 * newest value lies in it (the design of Bitcask, Riak's store). A write appends a frame; writes that arrive
 * while an append is under way go into the next one, so a burst of a thousand new nodes costs a handful of
 * fdatasyncs instead of three new files and their fsyncs per node. The file per key this replaced cost the endpoint
 * 1.6-1.8 ms of CPU per node beyond the handshake in `npm run bench:join-burst`, the log 0.8-0.9, and no store
 * at all 0.6 (measured 2026-12-07).
 *
 * Durable when it resolves: a write resolves only once the append holding it has been fdatasynced, and a kill -9
 * or a power cut at any point leaves the log ending in whole frames or in a torn one, which is where it ends.
 * Damage in the middle (whole frames after bytes that are not one) is no torn append: every operation then fails,
 * rather than read a state without the frames after it or cut them off (damageAfter).
 *
 * Who writes. One server process owns a data directory (../data-dir-lock.ts) and appends; the commands that write
 * the same directory from their own processes (`labimg nodes revoke`) hold the server's writes while they append
 * (../write-barrier.ts: holdWrites, resumeWrites), so the log has one writer at a time. Readers in any process
 * look at the log's size and inode before each operation and read what was appended or rewritten since: a
 * revocation a command appended is what the endpoint's next read sees.
 *
 * Space. A value is superseded by its key's next write, and the log is rewritten with only the live frames once
 * it is past 32 MiB and more than half of it is superseded (compact). Values up to 16 KiB (node records, tokens)
 * are held in memory; larger ones (report histories) are read from the log when asked for.
 *
 * Data directories from before 2026-12-07 hold one JSON file per key under DIR/kv/. They are read as they are,
 * and the first write moves them into the log and removes the folder (startLog).
 */
import { randomBytes } from 'node:crypto';
import { close, closeSync, fdatasync, fstatSync, fsync, fsyncSync, ftruncateSync, linkSync, mkdirSync, open, openSync, read, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, unlinkSync, writev, type Dirent } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { GroupCommit } from '../group-commit';
import { encodeFrame, frameIntact, FrameKind, HEADER_BYTES, MAGIC_BYTES, readHeader } from './log-frames';
import { assertValidKey, assertValidPrefix, type Entry, type Store } from './store';

export const LOG_FILE = 'kv.log';
/** The layout before the log: one JSON file per key under this folder. */
export const LEGACY_FOLDER = 'kv';
const LEGACY_SUFFIX = '.json';

/** Values this size or smaller are kept in memory; larger ones are read from the log. */
const INLINE_VALUE_BYTES = 16 * 1024;
/** The log is rewritten once it is this large and more than half of it is superseded frames. */
const COMPACT_FROM_BYTES = 32 * 1024 * 1024;
/**
 * Frames appended together at most. Of report histories (512 KiB at most each, node-reports.ts) that is 33 MiB,
 * within what a writer cuts as a torn append (MOST_TORN_BYTES).
 */
const FRAMES_PER_APPEND = 64;
/**
 * Bytes after the last whole frame that a writer cuts off as a torn append (a power cut in the middle of one).
 * More than the largest append can leave is not a torn append but a damaged log, and is refused, not cut.
 */
const MOST_TORN_BYTES = 64 * 1024 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;
const RESTORE_ADVICE = 'Stop labimg serve, keep a copy of the file, and restore the data directory from a backup';

const readAt = promisify(read);
const writeVector = promisify(writev);
const dataSync = promisify(fdatasync);
const fileSync = promisify(fsync);
const openFile = promisify(open);
const closeFile = promisify(close);

/** Where a key's value lies: in the log, and in memory too when it is small. */
interface Located {
  /** The log file the offset is in (a compaction makes a new one); none for a value read from DIR/kv/. */
  file?: LogFile;
  offset: number;
  length: number;
  value?: string;
  /** The whole frame's bytes, for the share of the log that is live. */
  frameBytes: number;
}

/**
 * An open log file. A compaction or another process's rewrite replaces the file; reads already under way on the
 * old one finish on it, and it closes when the last of them has.
 */
class LogFile {
  private reads = 0;
  private retired = false;

  constructor(
    readonly fd: number,
    readonly ino: number,
  ) {}

  async readValue(offset: number, length: number): Promise<string> {
    this.reads += 1;
    try {
      const bytes = Buffer.allocUnsafe(length);
      for (let done = 0; done < length; ) {
        const { bytesRead } = await readAt(this.fd, bytes, done, length - done, offset + done);
        if (bytesRead === 0) throw new Error(`the store's log ended at byte ${offset + done}, inside a value it had read before`);
        done += bytesRead;
      }
      return bytes.toString('utf8');
    } finally {
      this.reads -= 1;
      if (this.retired && this.reads === 0) closeSync(this.fd);
    }
  }

  retire(): void {
    if (this.retired) return;
    this.retired = true;
    if (this.reads === 0) closeSync(this.fd);
  }
}

export class FileStore implements Store {
  readonly description: string;
  private readonly dataDir: string;
  private readonly logPath: string;
  private readonly legacyDir: string;
  private readonly queues = new Map<string, Promise<unknown>>();

  /** Every live key, where its value is. */
  private entries = new Map<string, Located>();
  /** Set when the log is damaged in its middle (damageAfter): every operation fails with it. */
  private damaged: Error | undefined;
  /** The log file the index was read from; undefined while there is none. */
  private file: LogFile | undefined;
  /** The offset just after the last whole frame read. */
  private end = 0;
  /** The log's size when last looked at: bytes past `end` are an append under way elsewhere, or a torn one. */
  private size = 0;
  /** The bytes of the live frames, against `end`, for compaction. */
  private liveBytes = 0;
  /** True while the index comes from DIR/kv/ (no log yet). */
  private legacy = false;
  /** The descriptor appends go through (O_APPEND), for `file`. */
  private appendFd: number | undefined;
  /** True while this process appends: the index takes its own frames when the append is durable, not before. */
  private appending = false;
  private readonly appends = new GroupCommit<Buffer>((frames) => this.append(frames), FRAMES_PER_APPEND);

  /** Set while another process writes this directory: every write waits for it (holdWrites). */
  private held: { released: Promise<void>; release: () => void } | undefined;
  /** Writes past that gate and not finished yet, and who waits for them to finish. */
  private writesUnderWay = 0;
  private readonly drainWaiters: Array<() => void> = [];

  constructor(dataDir: string) {
    this.dataDir = path.resolve(dataDir);
    this.logPath = path.join(this.dataDir, LOG_FILE);
    this.legacyDir = path.join(this.dataDir, LEGACY_FOLDER);
    this.description = `file store at ${this.dataDir}`;
  }

  async get(key: string): Promise<string | undefined> {
    assertValidKey(key);
    this.catchUp();
    const found = this.entries.get(key);
    return found && valueOf(found);
  }

  async put(key: string, value: string): Promise<void> {
    assertValidKey(key);
    await this.serialisedWrite(key, () => this.appends.add(encodeFrame({ kind: FrameKind.Put, key, value })));
  }

  async create(key: string, value: string): Promise<boolean> {
    assertValidKey(key);
    return this.serialisedWrite(key, async () => {
      this.catchUp();
      if (this.entries.has(key)) return false;
      await this.appends.add(encodeFrame({ kind: FrameKind.Put, key, value }));
      return true;
    });
  }

  async update(key: string, change: (current: string | undefined) => string | undefined): Promise<string | undefined> {
    assertValidKey(key);
    return this.serialisedWrite(key, async () => {
      const current = await this.get(key);
      const next = change(current);
      if (next === undefined || next === current) return current;
      await this.appends.add(encodeFrame({ kind: FrameKind.Put, key, value: next }));
      return next;
    });
  }

  async list(prefix: string): Promise<Entry[]> {
    assertValidPrefix(prefix);
    const found = this.located(prefix);
    return Promise.all(found.map(async ([key, at]) => ({ key, value: await valueOf(at) })));
  }

  async keys(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    return this.located(prefix).map(([key]) => key);
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.serialisedWrite(key, async () => {
      this.catchUp();
      if (this.entries.has(key)) await this.appends.add(encodeFrame({ kind: FrameKind.Delete, key }));
    });
  }

  /**
   * Holds every write that has not begun, and resolves once those under way have finished: from then on, until
   * resumeWrites, another process may read and write this directory without a write of this one in between.
   * An update holds before it reads, so what it writes afterwards starts from what the other process wrote.
   */
  async holdWrites(): Promise<void> {
    if (!this.held) {
      let release = () => {};
      const released = new Promise<void>((resolve) => (release = resolve));
      this.held = { released, release };
    }
    if (this.writesUnderWay > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  /** Lets the held writes go on, in the order they came. */
  resumeWrites(): void {
    const held = this.held;
    this.held = undefined;
    held?.release();
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()]);
    if (this.appendFd !== undefined) closeSync(this.appendFd);
    this.appendFd = undefined;
    this.file?.retire();
    this.file = undefined;
  }

  /** The live keys under `prefix`, in key order, with where their values are. */
  private located(prefix: string): Array<[string, Located]> {
    this.catchUp();
    const found = [...this.entries].filter(([key]) => key.startsWith(prefix));
    return found.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /**
   * Brings the index up to the log on disk: the frames another process appended since, or the whole log when it
   * is another file than the one read (a compaction, the first log made). One stat when nothing changed.
   */
  private catchUp(): void {
    if (this.appending) return;
    const stat = statSync(this.logPath, { throwIfNoEntry: false });
    if (!stat) {
      if (this.file) this.reset(); // removed behind this store's back: what is left is nothing
      if (!this.legacy) this.readLegacyFolder();
      return;
    }
    if (stat.ino !== this.file?.ino) this.reload();
    else if (stat.size !== this.size || (this.end < stat.size && this.frameStartsAt(this.file, this.end, stat.size))) this.scan(this.file, stat.size);
    if (this.damaged) throw this.damaged;
  }

  /**
   * Whether a frame's header is now where the log's whole frames end: what was a torn tail may have been cut and
   * written over by another process's append, to the same size. Sixteen bytes, read only while there is a tail.
   */
  private frameStartsAt(file: LogFile, at: number, size: number): boolean {
    const header = readHeader(readBytes(file.fd, at, HEADER_BYTES), 0);
    return header !== undefined && at + header.frameLength <= size;
  }

  /**
   * Why the log cannot be trusted past `end`, when whole frames follow the bytes that stopped the scan: not a torn
   * append, which is always the last, but damage in the middle. Reading on would miss what those frames say (a
   * revocation among them), and a write would cut them off, so every operation fails instead, naming both places.
   */
  private damageAfter(file: LogFile, end: number, size: number): Error | undefined {
    const next = nextIntactFrame(file.fd, end + 1, size);
    if (next === undefined) return undefined;
    return new Error(`${this.logPath} is damaged at byte ${end}: the bytes from there are not a frame of the store's log, and whole frames follow from byte ${next}. ${RESTORE_ADVICE}`);
  }

  private reset(): void {
    this.entries = new Map();
    this.file?.retire();
    this.file = undefined;
    if (this.appendFd !== undefined) closeSync(this.appendFd);
    this.appendFd = undefined;
    this.end = this.size = this.liveBytes = 0;
    this.legacy = false;
    this.damaged = undefined;
  }

  /** Reads the log from its start, through a descriptor of its own (the inode it names is the one read). */
  private reload(): void {
    this.reset();
    let fd: number;
    try {
      fd = openSync(this.logPath, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // gone again: read at the next look
      throw error;
    }
    this.file = new LogFile(fd, fstatSync(fd).ino);
    this.scan(this.file, fstatSync(fd).size);
  }

  /** Applies the whole frames from `end` up to `size`; a frame cut short or failing its check stops it there. */
  private scan(file: LogFile, size: number): void {
    this.size = size;
    let chunk: Buffer = Buffer.alloc(0);
    let chunkAt = this.end;
    // The bytes from `at`: at least `length` of them unless the file ends first, a chunk at a time.
    const have = (at: number, length: number) => {
      if (at >= chunkAt && at + length <= chunkAt + chunk.length) return true;
      chunk = readBytes(file.fd, at, Math.min(Math.max(length, READ_CHUNK_BYTES), size - at));
      chunkAt = at;
      return length <= chunk.length;
    };
    let at = this.end;
    while (at < size && have(at, HEADER_BYTES)) {
      const header = readHeader(chunk, at - chunkAt);
      if (!header || at + header.frameLength > size || !have(at, header.frameLength) || !frameIntact(chunk, at - chunkAt, header)) break;
      const keyAt = at - chunkAt + HEADER_BYTES;
      const key = chunk.toString('utf8', keyAt, keyAt + header.keyLength);
      const valueAt = keyAt + header.keyLength;
      const inline = header.kind === FrameKind.Put && header.valueLength <= INLINE_VALUE_BYTES ? chunk.toString('utf8', valueAt, valueAt + header.valueLength) : undefined;
      this.apply(key, header.kind === FrameKind.Put ? { file, offset: at + HEADER_BYTES + header.keyLength, length: header.valueLength, value: inline, frameBytes: header.frameLength } : undefined);
      at += header.frameLength;
    }
    this.end = at;
    this.damaged = at < size ? this.damageAfter(file, at, size) : undefined;
  }

  private apply(key: string, located: Located | undefined): void {
    const previous = this.entries.get(key);
    if (previous) this.liveBytes -= previous.frameBytes;
    if (located) {
      this.entries.set(key, located);
      this.liveBytes += located.frameBytes;
    } else {
      this.entries.delete(key);
    }
  }

  /** DIR/kv/ as the index, every value in memory: a data directory from before the log, until its first write. */
  private readLegacyFolder(): void {
    const walk = (dir: string, prefix: string): boolean => {
      let names: Dirent[];
      try {
        names = readdirSync(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw error;
      }
      for (const entry of names) {
        if (entry.name.startsWith('.')) continue; // a temp file that layout's writer left
        if (entry.isDirectory()) walk(path.join(dir, entry.name), `${prefix}${entry.name}/`);
        else if (entry.name.endsWith(LEGACY_SUFFIX)) {
          const value = readFileSync(path.join(dir, entry.name), 'utf8');
          const key = `${prefix}${entry.name.slice(0, -LEGACY_SUFFIX.length)}`;
          this.entries.set(key, { offset: 0, length: Buffer.byteLength(value), value, frameBytes: 0 });
        }
      }
      return true;
    };
    // A folder of temp files alone is the old layout too, and goes with the first write.
    this.legacy = walk(this.legacyDir, '');
  }

  /** Appends `frames` in one write and makes them durable; the index takes them once they are. */
  private async append(frames: Buffer[]): Promise<void> {
    this.catchUp();
    if (!this.file) await this.startLog();
    const file = this.file as LogFile;
    const fd = (this.appendFd ??= openSync(this.logPath, 'a'));
    this.cutTornTail(file, fd);
    this.appending = true;
    try {
      await appendAll(fd, frames);
      await dataSync(fd);
    } catch (error) {
      // Nothing of a failed append may stay in the log: the frames after it would follow a half-written one.
      try {
        ftruncateSync(fd, this.end);
      } catch {}
      throw error;
    } finally {
      this.appending = false;
    }
    // Normally exactly the frames just written; whatever else is there too, should another writer have appended.
    this.scan(file, fstatSync(fd).size);
    if (this.end > COMPACT_FROM_BYTES && this.liveBytes * 2 < this.end) await this.compact();
  }

  /**
   * Cuts off what follows the last whole frame: a torn append by a writer that died in it. Only a writer does,
   * and a writer has the directory to itself (the barrier), so nothing else is appending there now.
   */
  private cutTornTail(file: LogFile, appendFd: number): void {
    const size = fstatSync(file.fd).size;
    if (size === this.end) return;
    if (size - this.end > MOST_TORN_BYTES) {
      throw new Error(`${this.logPath} is damaged at byte ${this.end}: the ${size - this.end} bytes after it are not frames of the store's log, more than a torn append leaves. ${RESTORE_ADVICE}`);
    }
    ftruncateSync(appendFd, this.end);
    this.size = this.end;
  }

  /** Makes DIR/kv.log, with what DIR/kv/ held when there is such a folder, and removes the folder. */
  private async startLog(): Promise<void> {
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    const temp = await this.writeLiveFrames();
    try {
      // link() fails instead of replacing: another process that made the log first keeps it.
      linkSync(temp, this.logPath);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(temp);
    }
    syncDirectoryNow(this.dataDir);
    if (this.legacy) rmSync(this.legacyDir, { recursive: true, force: true });
    this.reload();
  }

  /** Writes the live frames to a new log and puts it in the old one's place. */
  private async compact(): Promise<void> {
    const temp = await this.writeLiveFrames();
    renameSync(temp, this.logPath);
    syncDirectoryNow(this.dataDir);
    this.reload();
  }

  /** A new file beside the log, 0600 and fsynced, holding a put of every live key: a log of the index alone. */
  private async writeLiveFrames(): Promise<string> {
    const temp = path.join(this.dataDir, `.${LOG_FILE}.${randomBytes(6).toString('hex')}`);
    const fd = await openFile(temp, 'wx', 0o600);
    try {
      let batch: Buffer[] = [];
      let batched = 0;
      for (const [key, at] of this.entries) {
        const frame = encodeFrame({ kind: FrameKind.Put, key, value: await valueOf(at) });
        batch.push(frame);
        batched += frame.length;
        if (batched >= READ_CHUNK_BYTES) {
          await appendAll(fd, batch);
          batch = [];
          batched = 0;
        }
      }
      await appendAll(fd, batch);
      await fileSync(fd);
    } catch (error) {
      await closeFile(fd);
      rmSync(temp, { force: true });
      throw error;
    }
    await closeFile(fd);
    return temp;
  }

  /** A write of `key`: in the key's order, and through the gate holdWrites closes. */
  private serialisedWrite<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.serialised(key, () => this.writing(work));
  }

  private async writing<T>(work: () => Promise<T>): Promise<T> {
    while (this.held) await this.held.released;
    this.writesUnderWay += 1;
    try {
      return await work();
    } finally {
      this.writesUnderWay -= 1;
      if (this.writesUnderWay === 0) for (const drained of this.drainWaiters.splice(0)) drained();
    }
  }

  /** Runs `work` after every earlier operation on the same key has finished. */
  private serialised<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(key, settled);
    void settled.then(() => {
      if (this.queues.get(key) === settled) this.queues.delete(key);
    });
    return result;
  }
}

function valueOf(at: Located): string | Promise<string> {
  return at.value ?? (at.file as LogFile).readValue(at.offset, at.length);
}

/** Up to `length` bytes of the file at `offset`; fewer where it ends. */
function readBytes(fd: number, offset: number, length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const got = readSync(fd, bytes, filled, length - filled, offset + filled);
    if (got === 0) break;
    filled += got;
  }
  return bytes.subarray(0, filled);
}

/**
 * The offset of the first whole, intact frame that starts in [from, size), if any. Only JSON text and keys of
 * safe characters are framed, and a header holds a zero byte at its fourth, which neither does: a value's bytes
 * cannot pass for a frame.
 */
function nextIntactFrame(fd: number, from: number, size: number): number | undefined {
  for (let chunkAt = from; chunkAt < size; chunkAt += READ_CHUNK_BYTES) {
    // Each chunk overlaps the next by a header less one byte, so a header split between them is seen.
    const chunk = readBytes(fd, chunkAt, Math.min(READ_CHUNK_BYTES + HEADER_BYTES - 1, size - chunkAt));
    for (let at = chunk.indexOf(MAGIC_BYTES); at >= 0 && at < READ_CHUNK_BYTES; at = chunk.indexOf(MAGIC_BYTES, at + 1)) {
      const header = readHeader(chunk, at);
      if (!header || chunkAt + at + header.frameLength > size) continue;
      const whole = readBytes(fd, chunkAt + at, header.frameLength);
      if (whole.length === header.frameLength && frameIntact(whole, 0, header)) return chunkAt + at;
    }
  }
  return undefined;
}

/** Writes every byte of `buffers`, in order, at the descriptor's position: writev(2) may take fewer. */
async function appendAll(fd: number, buffers: Buffer[]): Promise<void> {
  for (let pending = buffers; pending.length > 0; ) pending = remainderOf(pending, (await writeVector(fd, pending)).bytesWritten);
}

/** `buffers` less their first `count` bytes (after a short write). */
function remainderOf(buffers: Buffer[], count: number): Buffer[] {
  const rest: Buffer[] = [];
  let skip = count;
  for (const buffer of buffers) {
    if (skip >= buffer.length) skip -= buffer.length;
    else {
      rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
      skip = 0;
    }
  }
  return rest;
}

/** Makes a rename or link in `dir` durable across a power cut; some filesystems refuse fsync on a directory. */
function syncDirectoryNow(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
