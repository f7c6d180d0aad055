/**
 * The store for several stateless endpoint replicas: every key lives in etcd as PREFIX+KEY, so installations
 * can share one etcd cluster. etcd acknowledges a write only once a quorum has it on disk, which gives the
 * durability store.ts asks for; `create` and `update` are single etcd transactions, which gives atomicity
 * across replicas without any lock.
 *
 * etcd3 retries a call that failed with a network error on another endpoint (three attempts). For a
 * transaction whose reply was lost that replay can misreport: `create` may answer false for a key it wrote,
 * and `update` may apply `change` once more. Rare (an etcd member dying between commit and reply), and the
 * price of failing over between endpoints without a second dependency.
 */
import { Etcd3, type IKeyValue, type Namespace } from 'etcd3';
import { assertValidKey, assertValidPrefix, type Entry, type Store } from './store';

export interface EtcdStoreOptions {
  /** Client URLs, e.g. ["http://10.0.0.5:2379"]. */
  endpoints: string[];
  /** Prepended to every key; ends in "/" so that "lab/" and "lab2/" cannot see each other's keys. */
  prefix?: string;
}

export class EtcdStore implements Store {
  readonly description: string;
  private readonly client: Etcd3;
  private readonly kv: Namespace;

  constructor(options: EtcdStoreOptions) {
    const prefix = options.prefix ?? 'labimg/';
    if (options.endpoints.length === 0) throw new Error('etcd store needs at least one endpoint');
    if (!prefix.endsWith('/')) throw new Error(`etcd key prefix "${prefix}" must end in "/"`);
    this.description = `etcd at ${options.endpoints.join(', ')} (prefix ${prefix})`;
    this.client = new Etcd3({ hosts: options.endpoints });
    this.kv = this.client.namespace(prefix);
  }

  async get(key: string): Promise<string | undefined> {
    assertValidKey(key);
    return (await this.read(key))?.value.toString('utf8');
  }

  async put(key: string, value: string): Promise<void> {
    assertValidKey(key);
    await this.call(() => this.kv.put(key).value(value).exec());
  }

  async create(key: string, value: string): Promise<boolean> {
    assertValidKey(key);
    // A key's create revision is 0 exactly when it does not exist (deleting it resets it too).
    const result = await this.call(() =>
      this.kv.if(key, 'Create', '==', 0).then(this.kv.put(key).value(value)).commit(),
    );
    return result.succeeded;
  }

  async update(key: string, change: (current: string | undefined) => string | undefined): Promise<string | undefined> {
    assertValidKey(key);
    let stored = await this.read(key);
    for (;;) {
      const current = stored?.value.toString('utf8');
      const next = change(current);
      if (next === undefined || next === current) return current;
      // Compare-and-swap on the mod revision we read (0 for an absent key). When another writer got there
      // first, the else branch hands back what it wrote, so the retry needs no extra round trip.
      const expected = stored?.mod_revision ?? 0;
      const result = await this.call(() =>
        this.kv.if(key, 'Mod', '==', expected).then(this.kv.put(key).value(next)).else(this.kv.get(key)).commit(),
      );
      if (result.succeeded) return next;
      stored = result.responses[0]?.response_range?.kvs[0];
    }
  }

  async list(prefix: string): Promise<Entry[]> {
    assertValidPrefix(prefix);
    const response = await this.call(() => this.kv.getAll().prefix(prefix).sort('Key', 'Ascend').exec());
    // The namespace has already stripped the store prefix from each key.
    return response.kvs.map((kv) => ({ key: kv.key.toString('utf8'), value: kv.value.toString('utf8') }));
  }

  async keys(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix);
    // keysOnly: etcd sends no values (the namespace strips the store prefix, as for list).
    return this.call(() => this.kv.getAll().prefix(prefix).sort('Key', 'Ascend').keys());
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.call(() => this.kv.delete().key(key).exec());
  }

  async close(): Promise<void> {
    this.client.close();
  }

  private async read(key: string): Promise<IKeyValue | undefined> {
    return (await this.call(() => this.kv.get(key).exec())).kvs[0];
  }

  /** etcd3's errors name at most one host; an operator needs to know which endpoints this store tried. */
  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw Object.assign(new Error(`${this.description}: ${message}`), { cause: error });
    }
  }
}
