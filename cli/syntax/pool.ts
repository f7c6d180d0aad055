/** `labimg pool`'s flags and help; its work (../commands/pool.ts) is imported only when it runs. */
import type { Argv } from 'yargs';
import { ROLES, type Role } from '../../contract/agent-config';
import { storeOptions, type GlobalOptions } from '../options';

const work = () => import('../commands/pool');

const outOption = { type: 'string', describe: 'write the token to this file, mode 0600 whatever the umask (replacing any file there), instead of stdout' } as const;

export function addPoolCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
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
            .option('role', { choices: ROLES, default: 'worker' as Role, describe: 'role of the --user-data' })
            .option('out', outOption),
        async (argv) =>
          (await work()).createPool(argv, { name: argv.name, profile: argv.profile, profilesDir: argv.profiles, ttl: argv.ttl, endpoint: argv.endpoint, userData: argv['user-data'], role: argv.role, out: argv.out }),
      )
      .command(
        'token-create <pool>',
        'print a new enrollment token for a pool (shown once); it enrolls nodes in the role it grants, whatever they ask for',
        (c) =>
          c
            .positional('pool', { type: 'string', demandOption: true })
            .option('role', { choices: ROLES, default: 'worker' as Role, describe: 'the role it grants' })
            .option('uses', { type: 'number', describe: 'how many nodes it enrolls (a control-plane token: 1 unless given)' })
            .option('node', { type: 'string', describe: 'the one node name it enrolls' })
            .option('ttl', { type: 'string', describe: 'token lifetime (30m, 24h, 7d)' })
            .option('out', outOption),
        async (argv) => (await work()).createToken(argv, argv.pool, { role: argv.role, uses: argv.uses, node: argv.node, ttl: argv.ttl, out: argv.out }),
      )
      .command(
        'token-revoke <id>',
        'revoke an enrollment token by its id (the part before the dot)',
        (c) => c.positional('id', { type: 'string', demandOption: true }),
        async (argv) => (await work()).revokeToken(argv, argv.id),
      )
      .command(
        'join-material-reset <pool>',
        "forget the pool's join material, so that its control plane's next publication may set a new API server endpoint and CA",
        (c) => c.positional('pool', { type: 'string', demandOption: true }),
        async (argv) => (await work()).resetJoinMaterial(argv, argv.pool),
      )
      .command(
        'identity <pool>',
        "let the pool's workers enroll with their cloud's signed instance identity document instead of a token",
        (c) =>
          c
            .positional('pool', { type: 'string', demandOption: true })
            .option('provider', { choices: ['aws', 'aliyun'] as const, demandOption: true, describe: 'the cloud that signs the documents' })
            .option('certificate', { type: 'string', array: true, demandOption: true, describe: "file with the cloud's published signing certificate (AWS: each region's RSA-2048 one)" })
            .option('account', { type: 'string', array: true, demandOption: true, describe: 'account id whose instances may enroll' })
            .option('region', { type: 'string', array: true, describe: 'only instances in this region' })
            .option('image', { type: 'string', array: true, describe: 'only instances made from this image' })
            .option('launch-window', { type: 'string', describe: 'AWS: how long after launch a document is taken (default 1h)' }),
        async (argv) =>
          (await work()).setPoolIdentity(argv, argv.pool, {
            provider: argv.provider,
            certificates: argv.certificate,
            accounts: argv.account,
            regions: argv.region,
            images: argv.image,
            launchWindow: argv['launch-window'],
          }),
      )
      .command('list', 'list pools and their enrollment tokens (ids only)', (c) => c.option('json', { type: 'boolean', default: false }), async (argv) => (await work()).listPools(argv, { json: argv.json }))
      .demandCommand(1, 'name a pool command: create, token-create, token-revoke, join-material-reset, identity, list'),
  );
}
