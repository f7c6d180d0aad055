/** `labimg serve`: the join endpoint (enrollment, join material, reports, the fleet page) and PXE by MAC address. */
import { UserError } from '../../contract/errors';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pxeCatalog, pxeGroupAssets } from '../../builder/pxe-catalog';
import { loadPxeGroups } from '../../builder/pxe-groups';
import { consoleLog, type EndpointLog } from '../../endpoint/log';
import type { StoreOptions } from '../../endpoint/store/open';
import { readAgentBundle } from '../package-files';
import { parseDuration } from '../inputs/duration';

interface ListenAddress {
  host: string;
  port: number;
}

export function parseListen(text: string, flag = '--listen', example = '0.0.0.0:8443'): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]*)):([0-9]{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new UserError(`${flag}: expected HOST:PORT such as ${example}, got "${text}"`);
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

export interface ServeOptions {
  store: StoreOptions;
  listen: string;
  /** Extra DNS names or IPs for the server certificate. */
  names?: string[];
  profilesDir: string;
  pxeGroups?: string;
  pxeListen: string;
  pxeAssets?: string;
  /** A duration ("30d"): how long a node credential is accepted before the node must have renewed it. */
  credentialTtl?: string;
  /** Connection caps (endpoint/connections.ts); the defaults follow the open-file limit. */
  maxConnections?: number;
  maxConnectionsPerAddress?: number;
}

/** Runs the endpoint until SIGTERM or SIGINT. */
export async function serve(options: ServeOptions): Promise<void> {
  const { host, port } = parseListen(options.listen);
  const { pxeGroups: groupsFile, pxeAssets: assetsDir } = options;
  if (assetsDir !== undefined && groupsFile === undefined) throw new UserError('--pxe-assets needs --pxe-groups: PXE is served only for the machines a group file names');
  // Checked before the endpoint starts: a bad group file or profile stops it with every problem listed.
  const groups = groupsFile === undefined ? undefined : loadPxeGroups(groupsFile, options.profilesDir);
  const pxe =
    groups === undefined
      ? undefined
      : {
          catalog: pxeCatalog({ groups, profilesDir: options.profilesDir, agentBundle: readAgentBundle(), ...(assetsDir !== undefined ? { assetsDir } : {}) }),
          ...parseListen(options.pxeListen, '--pxe-listen', '0.0.0.0:8080'),
        };
  const log = consoleLog();
  if (groups !== undefined) warnMissingAssets(log, pxeGroupAssets(groups, options.profilesDir), assetsDir);
  const { startEndpoint } = await import('../../endpoint/serve');
  const credentialTtlMs = options.credentialTtl === undefined ? undefined : parseDuration(options.credentialTtl, '--credential-ttl');
  const limits = connectionCaps(options);
  const endpoint = await startEndpoint({ ...options.store, host, port, names: options.names, log, agentBundle: readAgentBundle(), pxe, credentialTtlMs, limits });
  log.info(`labimg endpoint listening on ${endpoint.url}`);
  if (endpoint.pxeUrl) log.info(`PXE on ${endpoint.pxeUrl}/ (point iPXE at ${endpoint.pxeUrl}/boot.ipxe)`);
  log.info(`CA fingerprint ${endpoint.caFingerprint} (${endpoint.caKeyType}${endpoint.caCreated ? ', new CA, made on this first start' : ''})`);
  if (endpoint.caKeyType.startsWith('RSA')) {
    // Its server certificate is P-256 all the same, so handshakes cost what a P-256 CA's do; nothing to do.
    log.info('the CA is RSA (made before labimg used ECDSA P-256) and is kept, since nodes pin it; `labimg ca replace` moves to a P-256 CA (README: "The endpoint CA, and moving a site to a P-256 CA")');
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info(`${signal}: shutting down`);
      void endpoint.close().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

/** --max-connections and --max-connections-per-address, checked; the per-address cap never exceeds the total. */
function connectionCaps(options: ServeOptions): { maxConnections?: number; maxConnectionsPerAddress?: number } {
  const { maxConnections: total, maxConnectionsPerAddress: perAddress } = options;
  for (const [flag, value] of [['--max-connections', total], ['--max-connections-per-address', perAddress]] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) throw new UserError(`${flag}: expected a whole number of connections, 1 or more, got ${value}`);
  }
  return {
    ...(total !== undefined ? { maxConnections: total } : {}),
    ...(perAddress !== undefined || total !== undefined ? { maxConnectionsPerAddress: Math.min(perAddress ?? Math.max(1, Math.min(2048, Math.floor(total! / 2))), total ?? Infinity) } : {}),
  };
}

/**
 * Says which installer kernels and initrds --pxe-assets lacks: iPXE fetches them from /pxe/assets/ over plain
 * HTTP, and a machine whose file is missing only retries, on a console nobody watches. A warning, not an error:
 * the files may be copied in while the endpoint runs.
 */
function warnMissingAssets(log: EndpointLog, needed: ReturnType<typeof pxeGroupAssets>, assetsDir: string | undefined): void {
  for (const { asset, profiles } of needed) {
    if (assetsDir !== undefined && existsSync(path.join(assetsDir, asset.path))) continue;
    const from = asset.inIso !== undefined ? `${asset.inIso} copied out of ${asset.from}` : `a copy of ${asset.from}`;
    const where = assetsDir !== undefined ? path.join(assetsDir, asset.path) : `--pxe-assets DIR, at DIR/${asset.path}`;
    log.warn(`PXE: ${profiles.join(', ')} machines fetch /pxe/assets/${asset.path}: put ${from} in ${where}`);
  }
}
