/**
 * Where the endpoint keeps its state: a small key-value interface with exactly the operations the fleet
 * needs, so the file store (one server, the default) and etcd (several stateless replicas) are
 * interchangeable. Keys are "/"-separated paths of safe segments (see keys.ts); values are JSON text.
 *
 * Every write is durable when its promise resolves: a SIGKILL or power cut right after loses nothing that
 * was acknowledged, which is what lets the endpoint answer a report with 200 and the agent delete it.
 */

export interface Entry {
  key: string;
  value: string;
}

export interface Store {
  /** Human-readable, for logs: "file store at /var/lib/labimg" or "etcd at http://…". */
  readonly description: string;
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
  /** Writes only when the key does not exist yet; true when this call wrote it. Atomic across replicas. */
  create(key: string, value: string): Promise<boolean>;
  /**
   * Read-modify-write without lost updates, also across replicas: `change` gets the current value (undefined
   * when absent) and returns the new one, or undefined to leave it as it is. It may be called more than once
   * when another writer got there first, so it must be pure. Resolves to the value now stored.
   */
  update(key: string, change: (current: string | undefined) => string | undefined): Promise<string | undefined>;
  /** Every entry whose key starts with `prefix` (which should end in "/"), in key order. */
  list(prefix: string): Promise<Entry[]>;
  /** The keys `list` would give, without reading their values: for pruning a prefix that holds many. */
  keys(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

/** A key with an empty, "."/".." or unsafe segment: a bug in the caller, since every key is built by keys.ts. */
export class InvalidKey extends Error {
  constructor(key: string) {
    super(`invalid store key "${key}"`);
    this.name = 'InvalidKey';
  }
}

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function assertValidKey(key: string): void {
  const segments = key.split('/');
  if (segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..' || s.length > 255)) throw new InvalidKey(key);
}

export function assertValidPrefix(prefix: string): void {
  if (!prefix.endsWith('/')) throw new InvalidKey(prefix);
  assertValidKey(prefix.slice(0, -1));
}
