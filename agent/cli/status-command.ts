/** `agent.js status`: the last recorded outcome of every step, from state.json, and the outbox backlog. */
import { PATHS } from '../../contract/node-paths';
import { RealHost } from '../host/real-host';
import { silentLogger } from '../log';
import { outboxReports } from '../outbox';
import { loadState } from '../state';

export async function statusCommand(root: string): Promise<string> {
  const host = new RealHost(root, silentLogger);
  if (!(await host.exists(PATHS.stateFile))) return `no agent state yet (${PATHS.stateFile} does not exist)\n`;
  const state = await loadState(host, '');
  const lines = [`state updated ${state.updatedAt}`];
  for (const [id, record] of Object.entries(state.steps)) {
    const extra = record.error ? ` — ${record.error.split('\n')[0]}` : '';
    lines.push(`${record.status.padEnd(8)} ${record.phase.padEnd(5)} ${id} (applied ${record.applied}x, ${record.at})${extra}`);
  }
  const pending = (await outboxReports(host)).length;
  lines.push(`${pending} report(s) waiting in ${PATHS.outbox}`);
  return `${lines.join('\n')}\n`;
}
