/**
 * Starting the endpoint: open the store, load (or on first start make) the CA, issue this process's server
 * certificate for every name it can be reached by, listen. Shared by `labimg serve` and the tests, which
 * start the real thing in a child process.
 */
import type { AddressInfo } from 'node:net';
import { networkInterfaces, hostname } from 'node:os';
import { lockDataDir } from './data-dir-lock';
import type { EndpointLog } from './log';
import { caFingerprintOf, issueServerIdentity, keyTypeOf, loadOrCreateCa } from './pki';
import type { PxeCatalog } from '../contract/pxe-catalog';
import { DEFAULT_CREDENTIAL_POLICY, Registry } from './registry';
import { EndpointServer, type EndpointLimits } from './server';
import { FileStore } from './store/file-store';
import { openStore, type StoreOptions } from './store/open';
import { WriteBarrierWatch } from './write-barrier';

export interface ServeOptions extends StoreOptions {
  host: string;
  port: number;
  /** Extra DNS names or addresses for the server certificate (a load balancer's name, a NAT address). */
  names?: string[];
  log: EndpointLog;
  limits?: Partial<EndpointLimits>;
  /** The agent bundle to serve under /v1/agent/ for stub user-data. */
  agentBundle?: Buffer;
  /** How long node credentials live; DEFAULT_CREDENTIAL_POLICY's when left out. */
  credentialTtlMs?: number;
  /** PXE: what /pxe/ serves, and the plain-HTTP listener iPXE reaches it on. */
  pxe?: { catalog: PxeCatalog; host: string; port: number };
}

export interface RunningEndpoint {
  url: string;
  port: number;
  caFingerprint: string;
  caCreated: boolean;
  /** "ECDSA P-256", or "RSA-2048" for a CA made before labimg used P-256. */
  caKeyType: string;
  /** The plain-HTTP PXE base, when PXE is served. */
  pxeUrl?: string;
  close(): Promise<void>;
}

export async function startEndpoint(options: ServeOptions): Promise<RunningEndpoint> {
  // etcd replicas share state by design; only the file store needs its directory to itself.
  const unlock = options.etcd?.length ? async () => {} : await lockDataDir(options.data);
  const store = await openStore(options);
  let barriers: WriteBarrierWatch | undefined;
  try {
    // Before the first write: a command that writes the directory now holds it (write-barrier.ts).
    if (store instanceof FileStore) barriers = await WriteBarrierWatch.start(options.data, store, (error) => options.log.warn(`write barrier in ${options.data}: ${error.message}`));
    const credentials = options.credentialTtlMs === undefined ? DEFAULT_CREDENTIAL_POLICY : { ...DEFAULT_CREDENTIAL_POLICY, ttlMs: options.credentialTtlMs };
    const registry = new Registry(store, { credentials });
    const { ca, created } = await loadOrCreateCa(store);
    const identity = issueServerIdentity(ca, certificateNames(options));
    const caFingerprint = caFingerprintOf(ca.certPem);
    const server = new EndpointServer({ registry, identity, log: options.log, limits: options.limits, agentBundle: options.agentBundle, pxe: options.pxe?.catalog, caFingerprint });
    const address = await server.listen(options.port, options.host);
    let pxeAddress: AddressInfo | undefined;
    try {
      if (options.pxe) pxeAddress = await server.listenPxe(options.pxe.port, options.pxe.host);
    } catch (error) {
      await server.close();
      throw error;
    }
    return {
      url: `https://${shownAddress(address)}:${address.port}`,
      port: address.port,
      caFingerprint,
      caCreated: created,
      caKeyType: keyTypeOf(ca.certPem),
      ...(pxeAddress ? { pxeUrl: `http://${shownAddress(pxeAddress)}:${pxeAddress.port}/pxe` } : {}),
      async close() {
        await server.close();
        await barriers?.stop();
        await store.close();
        await unlock();
      },
    };
  } catch (error) {
    await barriers?.stop();
    await store.close();
    await unlock();
    throw error;
  }
}

function shownAddress(address: AddressInfo): string {
  return address.family === 'IPv6' ? `[${address.address}]` : address.address;
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
