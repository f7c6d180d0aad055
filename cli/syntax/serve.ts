/** `labimg serve`'s flags and help; its work (../commands/serve.ts) is imported only when it runs. */
import type { Argv } from 'yargs';
import { storeOptions, storeOptionsOf, type GlobalOptions } from '../options';

const work = () => import('../commands/serve');

export function addServeCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
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
        .option('pxe-assets', { type: 'string', describe: 'folder served as /pxe/assets/ (installer kernels copied out of ISOs)' })
        .option('credential-ttl', { type: 'string', describe: 'how long a node credential is accepted (nodes renew it at half); 30d when absent' })
        .option('max-connections', { type: 'number', describe: 'open connections in all, per listener; from the open-file limit when absent (README: Limits)' })
        .option('max-connections-per-address', { type: 'number', describe: 'open connections from one address (a NAT), per listener; half of --max-connections, 2048 at most, when absent' }),
    async (argv) =>
      (await work()).serve({
        store: storeOptionsOf(argv),
        listen: argv.listen,
        names: argv.name,
        profilesDir: argv.profiles,
        pxeGroups: argv['pxe-groups'],
        pxeListen: argv['pxe-listen'],
        pxeAssets: argv['pxe-assets'],
        credentialTtl: argv['credential-ttl'],
        maxConnections: argv['max-connections'],
        maxConnectionsPerAddress: argv['max-connections-per-address'],
      }),
  );
}
