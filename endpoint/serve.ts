/**
 * Starting the endpoint: open the store, load (or on first start make) the CA, issue this process's server
 * certificate for every name it can be reached by, listen. Shared by `labimg serve` and the tests, which
 * start the real thing in a child process.
 */
import { networkInterfaces, hostname } from 'node:os';
import { lockDataDir } from './data-dir-lock';
import type { EndpointLog } from './log';
import { caFingerprintOf, issueServerIdentity, loadOrCreateCa } from './pki';
import { Registry } from './registry';
import { EndpointServer, type EndpointLimits } from './server';
import { openStore, type StoreOptions } from './store/open';

export interface ServeOptions extends StoreOptions {
  host: string;
  port: number;
  /** Extra DNS names or addresses for the server certificate (a load balancer's name, a NAT address). */
  names?: string[];
  log: EndpointLog;
  limits?: Partial<EndpointLimits>;
  /** The agent bundle to serve under /v1/agent/ for stub user-data. */
  agentBundle?: Buffer;
}

export interface RunningEndpoint {
  url: string;
  port: number;
  caFingerprint: string;
  caCreated: boolean;
  close(): Promise<void>;
}

export async function startEndpoint(options: ServeOptions): Promise<RunningEndpoint> {
  // etcd replicas share state by design; only the file store needs its directory to itself.
  const unlock = options.etcd?.length ? async () => {} : await lockDataDir(options.data);
  const store = await openStore(options);
  try {
    const registry = new Registry(store);
    const { ca, created } = await loadOrCreateCa(store);
    const identity = issueServerIdentity(ca, certificateNames(options));
    const server = new EndpointServer({ registry, identity, log: options.log, limits: options.limits, agentBundle: options.agentBundle });
    const address = await server.listen(options.port, options.host);
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return {
      url: `https://${shownHost}:${address.port}`,
      port: address.port,
      caFingerprint: caFingerprintOf(ca.certPem),
      caCreated: created,
      async close() {
        await server.close();
        await store.close();
        await unlock();
      },
    };
  } catch (error) {
    await store.close();
    await unlock();
    throw error;
  }
}

/** Every name a node might use to reach this endpoint: loopback, this host's name and addresses, extras. */
function certificateNames(options: ServeOptions): string[] {
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((i): i is NonNullable<typeof i> => i !== undefined)
    .map((i) => i.address.replace(/%.*$/, ''));
  const listening = options.host === '0.0.0.0' || options.host === '::' ? [] : [options.host];
  return ['localhost', '127.0.0.1', '::1', hostname(), ...addresses, ...listening, ...(options.names ?? [])];
}
