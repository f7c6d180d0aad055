/** `labimg nodes`'s flags and help; its work (../commands/nodes.ts) is imported only when it runs. */
import type { Argv } from 'yargs';
import { storeOptions, type GlobalOptions } from '../options';

const work = () => import('../commands/nodes');

export function addNodesCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
  return y.command('nodes', 'show enrolled nodes; revoke a credential, or forget a node to release its name', (nodes) =>
    nodes
      .options(storeOptions)
      .command(
        '$0',
        'show every enrolled node: pool, role, GPU, phase, last report, time per phase, error; the departed ones (powered off on purpose) are counted, and listed with --departed',
        (c) =>
          c
            .option('json', { type: 'boolean', default: false, describe: 'the fleet as JSON: every node, departed ones included, with its state' })
            .option('departed', { type: 'boolean', default: false, describe: 'also list the nodes that left (powered off on purpose), after the others, the latest to leave first' })
            .option('watch', { type: 'boolean', default: false, describe: "redraw until interrupted, with each node's steps as a text timeline under the table" })
            .option('interval', { type: 'number', default: 2, describe: 'seconds between redraws with --watch' }),
        async (argv) => (await work()).showNodes(argv, { json: argv.json, watch: argv.watch, interval: argv.interval, departed: argv.departed }),
      )
      .command(
        'revoke <name>',
        "refuse the node's credential from now on, on every replica; the name stays taken",
        (c) => c.positional('name', { type: 'string', demandOption: true }),
        async (argv) => (await work()).revokeNode(argv, argv.name),
      )
      .command(
        'forget <name>',
        'delete the node and its reports: its credential is refused and its name may enroll again',
        (c) => c.positional('name', { type: 'string', demandOption: true }),
        async (argv) => (await work()).forgetNode(argv, argv.name),
      ),
  );
}
