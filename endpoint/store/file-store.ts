/**
 * The default store: one JSON file per key under DIR/kv/, written like the agent writes its state (temp file,
 * fsync, rename, fsync the directory), so a kill -9 at any point leaves either the old value or the new.
 *
 * One server process owns a data directory (see ../data-dir-lock.ts); `update` is serialised per key inside
 * that process. The commands that write the same directory from their own processes (`labimg nodes revoke`) hold
 * the server's writes while they write (../write-barrier.ts: holdWrites, resumeWrites). Readers in other processes
 * (`labimg nodes`) only ever see whole files.
 */
import { randomBytes } from 'node:crypto';
import { close, fsync, open, promises as fs, readFile, write } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { GroupCommit } from '../group-commit';
import { assertValidKey, assertValidPrefix, type Entry, type Store } from './store';

const SUFFIX = '.json';

/**
 * fs.readFile through a promise, rather than fs.promises.readFile: the latter goes through a FileHandle and is
 * 40% to 2× slower per small file (nodejs/node issues #37583 and #52046, read 2026-12-05), and every request
 * of the endpoint reads a few.
 */
const readText = promisify(readFile);
/**
 * The store writes and syncs with file descriptors and callbacks, for the same reason: through a FileHandle a
 * small file's open, write, fsync and close cost 0.16-0.27 ms of CPU, with callbacks 0.10-0.20 (measured here
 * 2026-12-06 on one core, 1,000 files at once), and a burst's enrollments and reports each write a few. Not
 * fs.writeFile's `flush`, which does the same: it came with Node 20.10 (nodejs/node pull 50009), and an older
 * Node 20 ignores it and would not fsync.
 */
const openFile = promisify(open);
const writeToFile = promisify(write);
const fsyncFile = promisify(fsync);
const closeFile = promisify(close);

/**
 * Writes `value` into `file`, which must not exist yet (wx), 0600 (join material and credential hashes live in
 * the store), and fsyncs it before closing it. A write that fails once the file is made removes it: the file is
 * this call's own, and half a value is no value.
 */
async function writeNewFile(file: string, value: string): Promise<void> {
  // wx fails with EEXIST or ENOENT before anything is made; another file of that name is not this call's.
  const fd = await openFile(file, 'wx', 0o600);
  try {
    const data = Buffer.from(value, 'utf8');
    // write(2) may take fewer bytes than it is given.
    for (let done = 0; done < data.length; ) done += (await writeToFile(fd, data, done, data.length - done)).bytesWritten;
    await fsyncFile(fd);
  } catch (error) {
    await closeFile(fd).catch(() => undefined);
    await fs.rm(file, { force: true }).catch(() => undefined);
    throw error;
  }
  await closeFile(fd);
}

export class FileStore implements Store {
  readonly description: string;
  private readonly root: string;
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Folders this process has made or found, so a write makes no mkdir call for them (see ensureDirectory). */
  private readonly directories = new Set<string>();
  /** Per folder, its fsyncs: the renames made while one is under way share the next (see syncDirectory). */
  private readonly directorySyncs = new Map<string, GroupCommit<void>>();
  /** Temp files' names (writeTemp): this store's random prefix and a count. */
  private readonly tempPrefix = randomBytes(6).toString('hex');
  private temps = 0;
  /** Set while another process writes this directory: every write waits for it (holdWrites). */
  private held: { released: Promise<void>; release: () => void } | undefined;
  /** Writes past that gate and not finished yet, and who waits for them to finish. */
  private writesUnderWay = 0;
  private readonly drainWaiters: Array<() => void> = [];

  constructor(dataDir: string) {
    this.root = path.join(path.resolve(dataDir), 'kv');
    this.description = `file store at ${path.resolve(dataDir)}`;
  }

  async get(key: string): Promise<string | undefined> {
    assertValidKey(key);
    try {
      return await readText(this.fileOf(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async put(key: string, value: string): Promise<void> {
    assertValidKey(key);
    await this.serialisedWrite(key, () => this.write(key, value));
  }

  async create(key: string, value: string): Promise<boolean> {
    assertValidKey(key);
    return this.serialisedWrite(key, async () => {
      const target = this.fileOf(key);
      const temp = await this.writeTemp(target, value);
      try {
        // link() fails with EEXIST instead of replacing: the one atomic "create if absent" a filesystem offers.
        await fs.link(temp, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw error;
      } finally {
        await fs.unlink(temp);
      }
      await this.syncDirectory(path.dirname(target));
      return true;
    });
  }

  async update(key: string, change: (current: string | undefined) => string | undefined): Promise<string | undefined> {
    assertValidKey(key);
    return this.serialisedWrite(key, async () => {
      const current = await this.get(key);
      const next = change(current);
      if (next === undefined || next === current) return current;
      await this.write(key, next);
      return next;
    });
  }

  async list(prefix: string): Promise<Entry[]> {
    assertValidPrefix(prefix);
    const entries: Entry[] = [];
    await this.walk(this.dirOf(prefix), prefix, entries, true);
    return entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async keys(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    const entries: Entry[] = [];
    await this.walk(this.dirOf(prefix), prefix, entries, false);
    return entries.map((e) => e.key).sort();
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.serialisedWrite(key, async () => {
      await fs.rm(this.fileOf(key), { force: true });
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
  }

  private fileOf(key: string): string {
    return `${path.join(this.root, ...key.split('/'))}${SUFFIX}`;
  }

  private dirOf(prefix: string): string {
    return path.join(this.root, ...prefix.slice(0, -1).split('/'));
  }

  /** The entries under `dir`, with their values when `read` (else an empty value). */
  private async walk(dir: string, prefix: string, into: Entry[], read: boolean): Promise<void> {
    let names: import('node:fs').Dirent[];
    try {
      names = await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of names) {
      if (entry.name.startsWith('.')) continue; // temp files in flight
      if (entry.isDirectory()) {
        await this.walk(path.join(dir, entry.name), `${prefix}${entry.name}/`, into, read);
      } else if (entry.name.endsWith(SUFFIX) && !read) {
        into.push({ key: `${prefix}${entry.name.slice(0, -SUFFIX.length)}`, value: '' });
      } else if (entry.name.endsWith(SUFFIX)) {
        try {
          const value = await fs.readFile(path.join(dir, entry.name), 'utf8');
          into.push({ key: `${prefix}${entry.name.slice(0, -SUFFIX.length)}`, value });
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // deleted while listing
        }
      }
    }
  }

  private async write(key: string, value: string): Promise<void> {
    const target = this.fileOf(key);
    const temp = await this.writeTemp(target, value);
    try {
      await fs.rename(temp, target);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
    await this.syncDirectory(path.dirname(target));
  }

  /** A fully written, fsynced temp file beside `target` (same filesystem, so rename and link are atomic). */
  private async writeTemp(target: string, value: string): Promise<string> {
    const dir = path.dirname(target);
    await this.ensureDirectory(dir);
    // A short name of its own: the target's name may already be near the filesystem's 255-byte limit. Random
    // once per store, counted after: another process writing the same folder (labimg pool) has its own prefix.
    this.temps += 1;
    const temp = path.join(dir, `.tmp-${this.tempPrefix}-${this.temps.toString(36)}`);
    try {
      await writeNewFile(temp, value);
    } catch (error) {
      // The folder went away behind this process's back (someone removed it): make it again, once.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.directories.delete(dir);
      await this.ensureDirectory(dir);
      await writeNewFile(temp, value);
    }
    return temp;
  }

  /** Makes `dir` and the folders above it, once per process: most writes go to folders made long ago. */
  private async ensureDirectory(dir: string): Promise<void> {
    if (this.directories.has(dir)) return;
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    this.directories.add(dir);
  }

  /**
   * Makes every rename or link into `dir` done so far durable. Renames that arrive while an fsync of the folder
   * is under way share the next one (a group commit): an fsync covers every entry changed before it started,
   * so under a burst the folder is synced a few times instead of once per write.
   */
  private syncDirectory(dir: string): Promise<void> {
    let syncs = this.directorySyncs.get(dir);
    if (!syncs) {
      syncs = new GroupCommit<void>(() => syncDirectory(dir), Number.POSITIVE_INFINITY);
      this.directorySyncs.set(dir, syncs);
    }
    return syncs.add(undefined);
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

/**
 * Makes a rename or link durable across a power cut; some filesystems refuse fsync on a directory. With a file
 * descriptor, like writeNewFile: under a burst each folder is synced again and again.
 */
async function syncDirectory(dir: string): Promise<void> {
  let fd: number | undefined;
  try {
    fd = await openFile(dir, 'r');
    await fsyncFile(fd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw error;
  } finally {
    if (fd !== undefined) await closeFile(fd);
  }
}
