/**
 * The default store: one JSON file per key under DIR/kv/, written like the agent writes its state (temp file,
 * fsync, rename, fsync the directory), so a kill -9 at any point leaves either the old value or the new.
 *
 * One server process owns a data directory (see ../data-dir-lock.ts); `update` is serialised per key inside
 * that process, which is all the concurrency a single owner needs. Readers in other processes (`labimg nodes`)
 * only ever see whole files.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { assertValidKey, assertValidPrefix, type Entry, type Store } from './store';

const SUFFIX = '.json';

export class FileStore implements Store {
  readonly description: string;
  private readonly root: string;
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(dataDir: string) {
    this.root = path.join(path.resolve(dataDir), 'kv');
    this.description = `file store at ${path.resolve(dataDir)}`;
  }

  async get(key: string): Promise<string | undefined> {
    assertValidKey(key);
    try {
      return await fs.readFile(this.fileOf(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async put(key: string, value: string): Promise<void> {
    assertValidKey(key);
    await this.serialised(key, () => this.write(key, value));
  }

  async create(key: string, value: string): Promise<boolean> {
    assertValidKey(key);
    return this.serialised(key, async () => {
      const target = this.fileOf(key);
      const temp = await this.writeTemp(target, value);
      try {
        // link() fails with EEXIST instead of replacing: the one atomic "create if absent" a filesystem offers.
        await fs.link(temp, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw error;
      } finally {
        await fs.rm(temp, { force: true });
      }
      await syncDirectory(path.dirname(target));
      return true;
    });
  }

  async update(key: string, change: (current: string | undefined) => string | undefined): Promise<string | undefined> {
    assertValidKey(key);
    return this.serialised(key, async () => {
      const current = await this.get(key);
      const next = change(current);
      if (next === undefined || next === current) return current;
      await this.write(key, next);
      return next;
    });
  }

  async list(prefix: string): Promise<Entry[]> {
    assertValidPrefix(prefix);
    const dir = path.join(this.root, ...prefix.slice(0, -1).split('/'));
    const entries: Entry[] = [];
    await this.walk(dir, prefix, entries);
    return entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.serialised(key, async () => {
      await fs.rm(this.fileOf(key), { force: true });
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()]);
  }

  private fileOf(key: string): string {
    return `${path.join(this.root, ...key.split('/'))}${SUFFIX}`;
  }

  private async walk(dir: string, prefix: string, into: Entry[]): Promise<void> {
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
        await this.walk(path.join(dir, entry.name), `${prefix}${entry.name}/`, into);
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
    await syncDirectory(path.dirname(target));
  }

  /** A fully written, fsynced temp file beside `target` (same filesystem, so rename and link are atomic). */
  private async writeTemp(target: string, value: string): Promise<string> {
    await fs.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    // A short name of its own: the target's name may already be near the filesystem's 255-byte limit.
    const temp = path.join(path.dirname(target), `.tmp-${randomBytes(6).toString('hex')}`);
    // 0600: join material and credential hashes live here.
    const handle = await fs.open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(value, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    return temp;
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

/** Makes a rename or link durable across a power cut; some filesystems refuse fsync on a directory. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: import('node:fs/promises').FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw error;
  } finally {
    await handle?.close();
  }
}
