/**
 * One writer at a time in a data directory. `labimg serve` owns its file store (data-dir-lock.ts), but the
 * commands that administer it (`labimg nodes revoke`, `nodes forget`, `pool token-revoke`, ...) write the same
 * files from their own processes, and the file store orders one key's read-modify-write within a process only. A
 * revocation written while the endpoint stored a report of that node was overwritten by the report's summary: the
 * command said the node was revoked and its credential still worked (7 of 20 tries with a node reporting back to
 * back, 2026-12-07).
 *
 * So a command that writes raises a barrier first: it creates DIR/write-barrier, exclusively, holding its pid
 * (contract/pid-lock.ts's line) and a nonce. The endpoint watches DIR: it lets the writes it has begun finish, holds every
 * later one, and answers by writing the barrier's line into DIR/write-barrier.ack. The command writes, removes the
 * barrier, and the endpoint's held writes go on, each starting from what the command wrote. A barrier whose
 * process is gone (a command killed mid-way) holds nothing: the endpoint looks again every second, and the next
 * command removes it (removeDeadBarrier: one command, however many find it at once). Where no endpoint holds
 * DIR, the command goes on at once: an endpoint that starts meanwhile finds the barrier before its first write.
 *
 * The etcd store needs none of this: its updates compare revisions, across processes and replicas alike.
 */
import { createHash, randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { link, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../contract/errors';
import { lockLineOwner, ownLockLine } from '../contract/pid-lock';
import { writePrivateFile } from '../contract/private-file';
import { dataDirOwner } from './data-dir-lock';
import type { FileStore } from './store/file-store';

export const BARRIER_FILE = 'write-barrier';
export const BARRIER_ANSWER_FILE = 'write-barrier.ack';

export interface BarrierWaits {
  /** How long a command waits for another command's barrier to go. */
  turnMs: number;
  /** How long it waits for a running endpoint to hold its writes. */
  answerMs: number;
}

/**
 * Another command writes in a few hundred milliseconds; an endpoint answers within one fsync of its own writes.
 * Past these, something is wrong (a stuck disk, a labimg serve that does not know the barrier) and the command
 * says so rather than write beside it.
 */
export const DEFAULT_BARRIER_WAITS: BarrierWaits = { turnMs: 30_000, answerMs: 10_000 };

/**
 * Raises the barrier in `dataDir` and resolves once no endpoint writes there; the function it resolves to takes
 * the barrier down. For a command that writes the file store.
 */
export async function holdEndpointWrites(dataDir: string, waits: BarrierWaits = DEFAULT_BARRIER_WAITS): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const barrier = path.join(dataDir, BARRIER_FILE);
  const line = await raise(barrier, waits.turnMs);
  const lower = () => rm(barrier, { force: true });
  try {
    await endpointHeld(dataDir, line, waits.answerMs);
  } catch (error) {
    await lower();
    throw error;
  }
  return lower;
}

async function raise(barrier: string, turnMs: number): Promise<string> {
  // A nonce after the owner's line: each barrier is answered for itself, never by an answer an endpoint left when
  // it died holding its writes for an earlier barrier of this process (its successor holds nothing yet).
  const line = `${await ownLockLine()}${randomBytes(16).toString('hex')}\n`;
  const deadline = Date.now() + turnMs;
  for (;;) {
    if (await createWhole(barrier, line)) return line;
    const found = await readFile(barrier, 'utf8').catch(() => undefined);
    if (found === undefined) continue; // lowered meanwhile
    const holder = await barrierOwner(found);
    if (holder === undefined) {
      // Left by a command that is gone.
      await removeDeadBarrier(barrier, found);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new UserError(`another labimg command (pid ${holder}) has been writing ${path.dirname(barrier)} for ${turnMs / 1000} s; wait for it to finish, then run this one again`);
    }
    await sleep(50);
  }
}

/**
 * Creates `file` holding `text`, or returns false when it exists. Made whole before it has the name (a temp file
 * linked into place; link fails rather than replace), so no reader ever finds it empty and takes it for a dead
 * command's, as one made by open and then written could be between the two.
 */
async function createWhole(file: string, text: string): Promise<boolean> {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, text, { flag: 'wx', mode: 0o600 });
  try {
    await link(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * Removes the barrier `found` of a command that is gone, unless another command got there first. Two commands
 * that read the same dead barrier would otherwise both remove it, the later after the earlier had raised its own
 * in its place, and both write at once. So only the command that makes its claim (`.removing-` and a digest of the
 * dead barrier, whose nonce no other barrier has) removes it, and only while it is still that barrier. The claims
 * are a few bytes each, one per command that died holding a barrier; those over a day old go with the next one.
 */
async function removeDeadBarrier(barrier: string, found: string): Promise<void> {
  const claim = `${barrier}.removing-${createHash('sha256').update(found).digest('hex').slice(0, 16)}`;
  try {
    await writeFile(claim, '', { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    await sleep(10); // another command removes it
    return;
  }
  if ((await readFile(barrier, 'utf8').catch(() => undefined)) === found) await rm(barrier, { force: true });
  await removeOldClaims(path.dirname(barrier), path.basename(barrier));
}

const CLAIMS_KEPT_MS = 24 * 60 * 60 * 1000;

async function removeOldClaims(dataDir: string, barrierName: string): Promise<void> {
  for (const name of await readdir(dataDir).catch(() => [])) {
    if (!name.startsWith(`${barrierName}.removing-`)) continue;
    const claim = path.join(dataDir, name);
    const { mtimeMs } = await stat(claim).catch(() => ({ mtimeMs: Date.now() }));
    if (Date.now() - mtimeMs > CLAIMS_KEPT_MS) await rm(claim, { force: true });
  }
}

/** Resolves once the endpoint holding `dataDir` answered `line`, or at once when no endpoint holds it. */
async function endpointHeld(dataDir: string, line: string, answerMs: number): Promise<void> {
  const answer = path.join(dataDir, BARRIER_ANSWER_FILE);
  const deadline = Date.now() + answerMs;
  for (;;) {
    const endpoint = await dataDirOwner(dataDir);
    // No endpoint, or this process holds the directory itself (`labimg ca replace`).
    if (endpoint === undefined || endpoint === process.pid) return;
    if ((await readFile(answer, 'utf8').catch(() => '')) === line) return;
    if (Date.now() >= deadline) {
      throw new UserError(
        `the labimg serve that holds ${dataDir} (pid ${endpoint}) did not hold its writes for this command within ${answerMs / 1000} s, ` +
          'so nothing was written; a labimg serve from before 2026-12-07 does not know how: upgrade it, or stop it while this command runs',
      );
    }
    await sleep(10);
  }
}

/**
 * The endpoint's side: watches `dataDir` for barriers and holds `store`'s writes while one stands. Started before
 * the endpoint's first write; stop() when it closes.
 */
export class WriteBarrierWatch {
  /** Whether this endpoint holds its writes, and the barrier line it answered (none yet when the answer failed). */
  private holding = false;
  private answered: string | undefined;
  private checks: Promise<void> = Promise.resolve();
  private readonly watcher: FSWatcher;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly dataDir: string,
    private readonly store: FileStore,
    private readonly onError: (error: Error) => void,
  ) {
    // fs.watch is inotify on Linux (https://nodejs.org/docs/latest-v20.x/api/fs.html#availability, read 2026-12-07)
    // and tells at once; the timer catches what it cannot: a barrier whose command died while it stood, and a
    // file system where inotify sees nothing (NFS).
    this.watcher = watch(dataDir, (_event, name) => {
      if (name === null || name === BARRIER_FILE) void this.check();
    });
    this.watcher.on('error', (error) => onError(error));
    this.timer = setInterval(() => void this.check(), 1000);
    this.timer.unref();
  }

  static async start(dataDir: string, store: FileStore, onError: (error: Error) => void): Promise<WriteBarrierWatch> {
    const watch = new WriteBarrierWatch(dataDir, store, onError);
    await watch.check();
    return watch;
  }

  async stop(): Promise<void> {
    this.watcher.close();
    clearInterval(this.timer);
    await this.checks;
    this.release();
  }

  /** One check at a time, in order: each reads the barrier as it stands when it runs. */
  private check(): Promise<void> {
    this.checks = this.checks.then(() => this.checkOnce()).catch((error: Error) => this.onError(error));
    return this.checks;
  }

  private async checkOnce(): Promise<void> {
    const line = await readFile(path.join(this.dataDir, BARRIER_FILE), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (line !== undefined && (await barrierOwner(line)) !== undefined) {
      if (this.answered === line) return;
      this.holding = true;
      await this.store.holdWrites();
      // Written whole (writePrivateFile: a temp file and a rename): the command compares what it reads with its line.
      writePrivateFile(path.join(this.dataDir, BARRIER_ANSWER_FILE), line);
      this.answered = line;
      return;
    }
    if (this.holding) {
      // The answer goes first: no command may read it once the writes it answered for go on.
      await rm(path.join(this.dataDir, BARRIER_ANSWER_FILE), { force: true });
      this.release();
    }
  }

  private release(): void {
    this.holding = false;
    this.answered = undefined;
    this.store.resumeWrites();
  }
}

/** The live process that raised a barrier: the owner of its first line, the pid lock's; the nonce follows. */
function barrierOwner(barrier: string): Promise<number | undefined> {
  // Barriers have always had the line's newer form; one of the older form is no barrier's.
  return lockLineOwner(barrier.split('\n', 1)[0] ?? '', async () => false);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
