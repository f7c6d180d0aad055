/**
 * `labimg nodes`: every enrolled node, as the fleet page shows it (the departed ones with --departed, or in --json);
 * --watch redraws it, with each node's steps as a text timeline under the table. `nodes revoke NAME` refuses a node's credential from now on; `nodes forget NAME` releases its
 * name for a new enrollment.
 */
import type { FleetView } from '../../contract/endpoint-api';
import { formatFleetTable } from '../../endpoint/fleet-table';
import { formatTextTimeline } from '../../endpoint/fleet-text-timeline';
import { terminalColumns } from '../terminal-width';
import { withRegistry } from '../endpoint-store';

export interface NodesOptions {
  json: boolean;
  watch: boolean;
  /** List the departed nodes in the table too; --json always carries every node, with its state. */
  departed: boolean;
  /** Seconds between redraws with watch. */
  interval: number;
}

export async function showNodes(store: Parameters<typeof withRegistry>[0], options: NodesOptions): Promise<void> {
  await withRegistry(store, async (registry) => {
    for (;;) {
      const view = await registry.fleet();
      const text = options.json ? `${JSON.stringify(view, null, 2)}\n` : formatFleetTable(view, new Date(), { departed: options.departed }) + (options.watch ? timeline(view, options.departed) : '');
      // Clear and home the terminal between frames; plain output otherwise, for pipes and logs.
      process.stdout.write(options.watch && process.stdout.isTTY ? `\x1b[2J\x1b[H${text}` : text);
      if (!options.watch) return;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0.2, options.interval) * 1000));
    }
  }, { readOnly: true });
}

/** The text timeline of the nodes the table lists, after a blank line; "" when none has a step yet. */
function timeline(view: FleetView, departed: boolean): string {
  const listed = departed ? view : { ...view, nodes: view.nodes.filter((n) => n.state !== 'departed') };
  const lines = formatTextTimeline(listed, terminalColumns());
  return lines.length === 0 ? '' : `\n${lines.join('\n')}\n`;
}

export async function revokeNode(store: Parameters<typeof withRegistry>[0], name: string): Promise<void> {
  await withRegistry(store, async (registry) => {
    const record = await registry.revokeNode(name);
    process.stdout.write(`revoked the credential of node ${name} (pool ${record.pool}); its name stays taken until \`labimg nodes forget ${name}\`\n`);
  });
}

export async function forgetNode(store: Parameters<typeof withRegistry>[0], name: string): Promise<void> {
  await withRegistry(store, async (registry) => {
    const record = await registry.forgetNode(name);
    process.stdout.write(`forgot node ${name} (pool ${record.pool}): its credential is refused and its name is free to enroll again\n`);
  });
}
