/**
 * The endpoint's store for the commands that administer it (pool, nodes, audit): they work on the store
 * directly, the same --data directory or etcd `labimg serve` uses, so there is no admin API to secure: whoever
 * can read the store is already trusted with everything in it.
 */
import type { Registry } from '../endpoint/registry';
import type { Store } from '../endpoint/store/store';
import { storeOptionsOf } from './options';

export interface RegistryUse {
  /**
   * The command only reads: it needs no barrier (endpoint/write-barrier.ts), and a write through its store is
   * refused as the bug it would be.
   */
  readOnly?: boolean;
}

/**
 * The endpoint's modules are imported when a command needs them, not when the CLI starts: node-forge and the
 * server cost every `labimg build` tens of milliseconds otherwise. A command that writes a file store holds a
 * running endpoint's writes while it works, so neither overwrites what the other just wrote.
 */
export async function withRegistry<T>(argv: Parameters<typeof storeOptionsOf>[0], work: (registry: Registry, store: Store) => Promise<T>, use: RegistryUse = {}): Promise<T> {
  const [{ openStore }, { Registry }, { holdEndpointWrites }] = await Promise.all([import('../endpoint/store/open'), import('../endpoint/registry'), import('../endpoint/write-barrier')]);
  const options = storeOptionsOf(argv);
  const opened = await openStore(options);
  const store = use.readOnly ? readOnlyStore(opened) : opened;
  const lowerBarrier = use.readOnly || options.etcd?.length ? async () => {} : await holdEndpointWrites(options.data);
  try {
    return await work(new Registry(store), store);
  } finally {
    await store.close();
    await lowerBarrier();
  }
}

/** `store` for a command that only reads: each write throws, naming its key. */
export function readOnlyStore(store: Store): Store {
  const refuse = (key: string): never => {
    throw new Error(`a command that only reads wrote "${key}" to ${store.description}`);
  };
  return {
    description: store.description,
    get: (key) => store.get(key),
    list: (prefix) => store.list(prefix),
    keys: (prefix) => store.keys(prefix),
    close: () => store.close(),
    put: (key) => refuse(key),
    create: (key) => refuse(key),
    update: (key) => refuse(key),
    delete: (key) => refuse(key),
  };
}
