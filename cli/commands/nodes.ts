/** `labimg nodes`: every enrolled node, as the fleet page shows it; --watch redraws it. */
import type { Argv } from 'yargs';
import { formatFleetTable } from '../../endpoint/fleet-table';
import { withRegistry } from '../endpoint-store';
import { storeOptions, type GlobalOptions } from '../options';

export interface NodesOptions {
  json: boolean;
  watch: boolean;
  /** Seconds between redraws with watch. */
  interval: number;
}

export async function showNodes(store: Parameters<typeof withRegistry>[0], options: NodesOptions): Promise<void> {
  await withRegistry(store, async (registry) => {
    for (;;) {
      const view = await registry.fleet();
      const text = options.json ? `${JSON.stringify(view, null, 2)}\n` : formatFleetTable(view, new Date());
      // Clear and home the terminal between frames; plain output otherwise, for pipes and logs.
      process.stdout.write(options.watch && process.stdout.isTTY ? `\x1b[2J\x1b[H${text}` : text);
      if (!options.watch) return;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0.2, options.interval) * 1000));
    }
  });
}

export function addNodesCommand(y: Argv<GlobalOptions>): Argv<GlobalOptions> {
  return y.command(
    'nodes',
    'show every enrolled node: pool, role, GPU, phase, last report, time per phase, error',
    (c) =>
      c
        .options(storeOptions)
        .option('json', { type: 'boolean', default: false })
        .option('watch', { type: 'boolean', default: false, describe: 'redraw until interrupted' })
        .option('interval', { type: 'number', default: 2, describe: 'seconds between redraws with --watch' }),
    (argv) => showNodes(argv, { json: argv.json, watch: argv.watch, interval: argv.interval }),
  );
}
