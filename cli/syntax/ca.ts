/** `labimg ca`'s flags and help; its work (../commands/ca.ts) is imported only when it runs. */
import type { Argv } from 'yargs';
import { storeOptions, type GlobalOptions } from '../options';

const work = () => import('../commands/ca');

export function addCaCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
  return y.command('ca <command>', 'show the endpoint CA nodes pin, or replace it (changes the pin)', (ca) =>
    ca
      .command('show', 'print the endpoint CA: fingerprint, key type, end of validity', (c) => c.options(storeOptions), async (argv) => (await work()).showCa(argv))
      .command(
        'replace',
        'replace the endpoint CA with a new ECDSA P-256 one; every node pinning the old fingerprint must get new user-data',
        (c) =>
          c.options(storeOptions).option('replacing', {
            type: 'string',
            demandOption: 'name the CA being replaced: --replacing sha256:… as `labimg ca show` prints it',
            describe: 'the fingerprint of the CA being replaced (`labimg ca show`): the acknowledgement that its pin goes',
          }),
        async (argv) => (await work()).replaceEndpointCa(argv, argv.replacing),
      )
      .demandCommand(1, 'name a ca command: show or replace'),
  );
}
