import { FileStore } from './file-store';
import type { EtcdStoreOptions } from './etcd-store';
import type { Store } from './store';

export interface StoreOptions {
  /** Data directory of the file store. */
  data: string;
  /** etcd client URLs; when given, the store is etcd and `data` is not used for state. */
  etcd?: string[];
  etcdPrefix?: string;
  /** TLS to etcd: its CA, and this client's certificate and key (read from files by the CLI). */
  etcdTls?: EtcdStoreOptions['tls'];
  /** etcd's user and password. */
  etcdAuth?: EtcdStoreOptions['auth'];
}

export async function openStore(options: StoreOptions): Promise<Store> {
  if (options.etcd && options.etcd.length > 0) {
    // Loaded only when asked for: the etcd client and its gRPC stack would add to every CLI start.
    const { EtcdStore } = await import('./etcd-store');
    return new EtcdStore({ endpoints: options.etcd, prefix: options.etcdPrefix, tls: options.etcdTls, auth: options.etcdAuth });
  }
  return new FileStore(options.data);
}
