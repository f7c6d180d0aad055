/**
 * Many small durable writes as a few: items added while a write is under way are written together by the next
 * one (a group commit, as databases do with their log). Each add resolves only once the write holding its item
 * has finished, so a caller still answers only after what it added is durable; a failed write rejects the adds
 * it held, and the next write goes on without them.
 *
 * Under a burst of enrollments this turns a thousand audit records, each a file created and fsynced (or an etcd
 * round trip), into a handful; alone, an item is written at once, as before.
 */
export class GroupCommit<T> {
  /** The items waiting for the next write, and that write's outcome, which their adds return. */
  private waiting?: { items: T[]; written: Promise<void> };
  private running: Promise<void> = Promise.resolve();

  /** `most`: items per write at most, so that one write stays within what the store takes in one value. */
  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly most: number,
  ) {}

  add(item: T): Promise<void> {
    if (this.waiting && this.waiting.items.length < this.most) {
      this.waiting.items.push(item);
      return this.waiting.written;
    }
    // A full batch waits for its write all the same; this item starts the one after it.
    const batch: { items: T[]; written?: Promise<void> } = { items: [item] };
    const written = this.running.then(() => {
      // From here on the batch is closed: what is added now waits for the write after this one.
      if (this.waiting === batch) this.waiting = undefined;
      return this.write(batch.items);
    });
    batch.written = written;
    this.waiting = batch as { items: T[]; written: Promise<void> };
    this.running = written.catch(() => undefined);
    return written;
  }
}
