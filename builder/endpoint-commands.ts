/**
 * The commands that run or administer the join endpoint: `serve`, `pool …`, `nodes`, `audit`. Administration
 * works on the endpoint's store directly (the same --data directory or etcd), so there is no admin API to
 * secure: whoever can read the store is already trusted with everything in it.
 */
import { writeFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Argv } from 'yargs';
import { POOL_NAME_MAX, POOL_NAME_PATTERN } from '../contract/endpoint-api';
import type { Role } from '../contract/agent-config';
import { formatFleetTable } from '../endpoint/fleet-table';
import { consoleLog } from '../endpoint/log';
import type { Registry } from '../endpoint/registry';
import type { PxeCatalog } from '../endpoint/pxe';
import type { StoreOptions } from '../endpoint/store/open';
import type { Store } from '../endpoint/store/store';
import { checkEndpointUrl } from './enrollment-inputs';
import { UserError } from '../contract/errors';

export interface EndpointCommandHooks {
  /** Throws (ProfileError) when the profile does not load and compile; called before a pool is stored. */
  checkProfile(profile: string, profilesDir: string): void;
  /** Renders one role's user-data for a pool; supplied by the CLI, which knows how to build profiles. */
  renderPoolUserData(args: { profile: string; role: Role; url: string; caFingerprint: string; pool: string; token: string; profilesDir: string }): Buffer;
  /** The agent bundle `serve` offers to stub user-data; supplied by the CLI, which ships it beside itself. */
  agentBundle(): Buffer;
  /** What `serve --pxe-groups` hands PXE machines; throws (FindingsError) on a bad group file or profile. */
  pxeCatalog(args: { groupsFile: string; profilesDir: string; assetsDir?: string }): PxeCatalog;
}

const storeOptions = {
  data: { type: 'string', default: 'labimg-endpoint', describe: 'data directory (file store; the CA lives in the store)' },
  etcd: { type: 'string', array: true, describe: 'etcd client URL(s): keep state in etcd so several replicas can serve one fleet' },
  'etcd-prefix': { type: 'string', default: 'labimg/', describe: 'key prefix in etcd' },
} as const;

interface StoreArgs {
  data: string;
  etcd?: string[];
  'etcd-prefix': string;
}

function storeOptionsOf(argv: StoreArgs): StoreOptions {
  return { data: argv.data, etcd: argv.etcd, etcdPrefix: argv['etcd-prefix'] };
}

/**
 * The endpoint's modules are imported when a command needs them, not when the CLI starts: node-forge and the
 * server cost every `labimg build` tens of milliseconds otherwise.
 */
async function withRegistry<T>(argv: StoreArgs, work: (registry: Registry, store: Store) => Promise<T>): Promise<T> {
  const [{ openStore }, { Registry }] = await Promise.all([import('../endpoint/store/open'), import('../endpoint/registry')]);
  const store = await openStore(storeOptionsOf(argv));
  try {
    return await work(new Registry(store), store);
  } finally {
    await store.close();
  }
}

/** "90s", "30m", "24h", "7d" → milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^([1-9][0-9]*)(s|m|h|d)$/.exec(text);
  if (!match?.[1] || !match[2]) throw new UserError(`${flag}: expected a duration such as 30m, 24h or 7d, got "${text}"`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

function parseListen(text: string, flag = '--listen', example = '0.0.0.0:8443'): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]*)):([0-9]{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new UserError(`${flag}: expected HOST:PORT such as ${example}, got "${text}"`);
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

function checkPoolName(name: string): void {
  if (name.length > POOL_NAME_MAX || !new RegExp(POOL_NAME_PATTERN).test(name)) {
    throw new UserError(`pool name "${name}": expected a DNS label (lowercase letters, digits and "-", at most 63)`);
  }
}

/** Writes a file holding a secret: 0600 from the first byte, renamed into place whole. */
function writeSecretFile(file: string, content: Buffer): void {
  const temp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, content, { mode: 0o600, flag: 'wx' });
    renameSync(temp, file);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

function serveCommand<T extends { profiles: string }>(y: Argv<T>, hooks: EndpointCommandHooks) {
  return y.command(
    'serve',
    'run the join endpoint: enrollment, join material, reports, fleet page, PXE',
    (c) =>
      c
        .options(storeOptions)
        .option('listen', { type: 'string', default: '0.0.0.0:8443', describe: 'address and port to listen on' })
        .option('name', { type: 'string', array: true, describe: 'extra DNS name or IP for the server certificate' })
        .option('pxe-groups', { type: 'string', describe: 'YAML file mapping MAC addresses to profile, role and pool: serve PXE installs under /pxe/' })
        .option('pxe-listen', { type: 'string', default: '0.0.0.0:8080', describe: 'plain-HTTP address and port iPXE reaches /pxe/ at (with --pxe-groups)' })
        .option('pxe-assets', { type: 'string', describe: 'folder served as /pxe/assets/ (installer kernels copied out of ISOs)' }),
    async (argv) => {
      const { host, port } = parseListen(argv.listen);
      const groupsFile = argv['pxe-groups'];
      const assetsDir = argv['pxe-assets'];
      if (assetsDir !== undefined && groupsFile === undefined) throw new UserError('--pxe-assets needs --pxe-groups: PXE is served only for the machines a group file names');
      // Checked before the endpoint starts: a bad group file or profile stops it with every problem listed.
      const pxe = groupsFile === undefined
        ? undefined
        : { catalog: hooks.pxeCatalog({ groupsFile, profilesDir: argv.profiles, assetsDir }), ...parseListen(argv['pxe-listen'], '--pxe-listen', '0.0.0.0:8080') };
      const log = consoleLog();
      const { startEndpoint } = await import('../endpoint/serve');
      const endpoint = await startEndpoint({ ...storeOptionsOf(argv), host, port, names: argv.name, log, agentBundle: hooks.agentBundle(), pxe });
      log.info(`labimg endpoint listening on ${endpoint.url}`);
      if (endpoint.pxeUrl) log.info(`PXE on ${endpoint.pxeUrl}/ (point iPXE at ${endpoint.pxeUrl}/boot.ipxe)`);
      log.info(`CA fingerprint ${endpoint.caFingerprint}${endpoint.caCreated ? ' (new CA, made on this first start)' : ''}`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info(`${signal}: shutting down`);
          void endpoint.close().then(resolve);
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    },
  );
}

function poolCommand<T extends { profiles: string }>(y: Argv<T>, hooks: EndpointCommandHooks) {
  return y.command('pool <command>', 'create pools and manage their enrollment tokens', (pool) =>
    pool
      .options(storeOptions)
      .command(
        'create <name>',
        'create a pool and print its first enrollment token (shown once)',
        (c) =>
          c
            .positional('name', { type: 'string', demandOption: true })
            .option('profile', { type: 'string', demandOption: true, describe: "profile the pool's nodes are built from" })
            .option('ttl', { type: 'string', describe: 'token lifetime (30m, 24h, 7d); no expiry when absent' })
            .option('endpoint', { type: 'string', describe: 'URL nodes reach the endpoint at, for --user-data' })
            .option('user-data', { type: 'string', describe: "also write the pool's user-data (mode 0600) to this file" })
            .option('role', { choices: ['control-plane', 'worker'] as const, default: 'worker' as Role, describe: 'role of the --user-data' }),
        async (argv) => {
          checkPoolName(argv.name);
          const ttlMs = argv.ttl === undefined ? undefined : parseDuration(argv.ttl, '--ttl');
          const userData = argv['user-data'];
          if (userData !== undefined && argv.endpoint === undefined) throw new UserError('--user-data needs --endpoint: the URL nodes reach `labimg serve` at');
          const url = argv.endpoint === undefined ? undefined : checkEndpointUrl(argv.endpoint);
          // Checked before anything is stored, so a bad profile leaves no pool behind.
          hooks.checkProfile(argv.profile, argv.profiles);
          await withRegistry(argv, async (registry, store) => {
            const { caFingerprintOf, loadOrCreateCa } = await import('../endpoint/pki');
            const { ca } = await loadOrCreateCa(store);
            const caFingerprint = caFingerprintOf(ca.certPem);
            await registry.createPool(argv.name, argv.profile);
            const { record, token } = await registry.createToken(argv.name, ttlMs);
            if (userData !== undefined && url !== undefined) {
              const content = hooks.renderPoolUserData({ profile: argv.profile, role: argv.role, url, caFingerprint, pool: argv.name, token, profilesDir: argv.profiles });
              writeSecretFile(userData, content);
              process.stderr.write(`wrote ${userData} (${argv.role}; mode 0600, it holds the token)\n`);
            }
            process.stderr.write(`pool ${argv.name} (profile ${argv.profile}); enrollment token ${record.id}${record.expiresAt ? `, expires ${record.expiresAt}` : ''}\n`);
            process.stderr.write(`endpoint CA fingerprint ${caFingerprint}\n`);
            // The token alone on stdout, so scripts can capture it; it is not shown again.
            process.stdout.write(`${token}\n`);
          });
        },
      )
      .command(
        'token-create <pool>',
        'print a new enrollment token for a pool (shown once)',
        (c) => c.positional('pool', { type: 'string', demandOption: true }).option('ttl', { type: 'string', describe: 'token lifetime (30m, 24h, 7d)' }),
        async (argv) => {
          const ttlMs = argv.ttl === undefined ? undefined : parseDuration(argv.ttl, '--ttl');
          await withRegistry(argv, async (registry) => {
            const { record, token } = await registry.createToken(argv.pool, ttlMs);
            process.stderr.write(`enrollment token ${record.id} for pool ${argv.pool}${record.expiresAt ? `, expires ${record.expiresAt}` : ''}\n`);
            process.stdout.write(`${token}\n`);
          });
        },
      )
      .command(
        'token-revoke <id>',
        'revoke an enrollment token by its id (the part before the dot)',
        (c) => c.positional('id', { type: 'string', demandOption: true }),
        async (argv) => {
          await withRegistry(argv, async (registry) => {
            const record = await registry.revokeToken(argv.id);
            process.stdout.write(`revoked enrollment token ${record.id} of pool ${record.pool}\n`);
          });
        },
      )
      .command(
        'list',
        'list pools and their enrollment tokens (ids only)',
        (c) => c.option('json', { type: 'boolean', default: false }),
        async (argv) => {
          await withRegistry(argv, async (registry) => {
            const tokens = await registry.tokens();
            const rows = (await registry.pools()).map((p) => ({
              ...p,
              tokens: tokens.filter((t) => t.pool === p.name).map(({ secretSha256: _hash, ...shown }) => shown),
            }));
            if (argv.json) {
              process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
              return;
            }
            if (rows.length === 0) process.stdout.write('no pools yet; `labimg pool create NAME --profile P` makes one\n');
            const now = Date.now();
            for (const p of rows) {
              process.stdout.write(`${p.name}  profile ${p.profile}  created ${p.createdAt}\n`);
              for (const t of p.tokens) {
                const state = t.revokedAt
                  ? `revoked ${t.revokedAt}`
                  : t.expiresAt && Date.parse(t.expiresAt) <= now
                    ? `expired ${t.expiresAt}`
                    : t.expiresAt
                      ? `valid until ${t.expiresAt}`
                      : 'valid, no expiry';
                process.stdout.write(`  token ${t.id}  ${state}\n`);
              }
            }
          });
        },
      )
      .demandCommand(1, 'name a pool command: create, token-create, token-revoke, list'),
  );
}

function nodesCommand<T>(y: Argv<T>) {
  return y.command(
    'nodes',
    'show every enrolled node: pool, role, GPU, phase, last report, time per phase, error',
    (c) =>
      c
        .options(storeOptions)
        .option('json', { type: 'boolean', default: false })
        .option('watch', { type: 'boolean', default: false, describe: 'redraw until interrupted' })
        .option('interval', { type: 'number', default: 2, describe: 'seconds between redraws with --watch' }),
    async (argv) => {
      await withRegistry(argv, async (registry) => {
        for (;;) {
          const view = await registry.fleet();
          const text = argv.json ? `${JSON.stringify(view, null, 2)}\n` : formatFleetTable(view, new Date());
          // Clear and home the terminal between frames; plain output otherwise, for pipes and logs.
          process.stdout.write(argv.watch && process.stdout.isTTY ? `\x1b[2J\x1b[H${text}` : text);
          if (!argv.watch) return;
          await new Promise((resolve) => setTimeout(resolve, Math.max(0.2, argv.interval) * 1000));
        }
      });
    },
  );
}

function auditCommand<T>(y: Argv<T>) {
  return y.command(
    'audit',
    'print the audit trail: pools, tokens, enrollments, join material published and issued, PXE configs served',
    (c) => c.options(storeOptions).option('json', { type: 'boolean', default: false }),
    async (argv) => {
      await withRegistry(argv, async (registry) => {
        const events = await registry.auditTrail();
        if (argv.json) {
          process.stdout.write(`${JSON.stringify(events, null, 2)}\n`);
          return;
        }
        for (const e of events) {
          const fields = [e.pool && `pool=${e.pool}`, e.node && `node=${e.node}`, e.mac && `mac=${e.mac}`, e.tokenId && `token=${e.tokenId}`, e.source && `from=${e.source}`, e.certificateKey ? 'with-certificate-key' : undefined];
          process.stdout.write(`${e.at}  ${e.action.padEnd(24)} ${fields.filter(Boolean).join(' ')}\n`);
        }
      });
    },
  );
}

/** Adds serve, pool, nodes and audit to the CLI. */
export function withEndpointCommands<T extends { profiles: string }>(y: Argv<T>, hooks: EndpointCommandHooks) {
  return auditCommand(nodesCommand(poolCommand(serveCommand(y, hooks), hooks)));
}
