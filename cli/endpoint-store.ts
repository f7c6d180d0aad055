/**
 * The endpoint's store for the commands that administer it (pool, nodes, audit): they work on the store
 * directly, the same --data directory or etcd `labimg serve` uses, so there is no admin API to secure: whoever
 * can read the store is already trusted with everything in it.
 */
import type { Registry } from '../endpoint/registry';
import type { Store } from '../endpoint/store/store';
import { storeOptionsOf } from './options';

/**
 * The endpoint's modules are imported when a command needs them, not when the CLI starts: node-forge and the
 * server cost every `labimg build` tens of milliseconds otherwise.
 */
export async function withRegistry<T>(argv: Parameters<typeof storeOptionsOf>[0], work: (registry: Registry, store: Store) => Promise<T>): Promise<T> {
  const [{ openStore }, { Registry }] = await Promise.all([import('../endpoint/store/open'), import('../endpoint/registry')]);
  const store = await openStore(storeOptionsOf(argv));
  try {
    return await work(new Registry(store), store);
  } finally {
    await store.close();
  }
}
