/**
 * A boot step that installs systemd unit files of the agent's own and keeps one of them enabled and running: the
 * refresh timer and the GPU readiness gate are both this. Files are rewritten (and systemd reloaded) only when
 * they differ from what this agent ships.
 */
import { AGENT_UNIT_PATH } from '../../contract/agent-config';
import { PATHS } from '../../contract/node-paths';
import type { Step, StepContext } from './step';

/** The [Service] lines that run the agent with `command`, with the PATH its commands are found on. */
export function agentServiceLines(command: string): string {
  return `Environment=PATH=${AGENT_UNIT_PATH}
ExecStart=${PATHS.nodeRuntimeDir}/bin/node ${PATHS.agentBundle} ${command}
`;
}

export interface SystemdUnitsStep extends Pick<Step, 'id' | 'title' | 'applies'> {
  /** Unit file path → content, or what it is for this node. */
  files: Record<string, string> | ((ctx: StepContext) => Record<string, string>);
  /** The unit enabled and started now: a timer, or a long-running service. */
  unit: string;
}

export function systemdUnitsStep({ files, unit, ...step }: SystemdUnitsStep): Step {
  const filesOf = (ctx: StepContext) => (typeof files === 'function' ? files(ctx) : files);
  const current = async (ctx: StepContext) => {
    for (const [path, content] of Object.entries(filesOf(ctx))) if ((await ctx.host.readFile(path)) !== content) return false;
    return true;
  };
  return {
    ...step,
    phase: 'boot',
    async check(ctx) {
      if (!(await current(ctx))) return false;
      const state = await ctx.host.services.state(unit);
      return state.enabled && state.active;
    },
    async apply(ctx) {
      if (!(await current(ctx))) {
        for (const [path, content] of Object.entries(filesOf(ctx))) await ctx.host.writeFile(path, content, 0o644);
        await ctx.host.services.daemonReload();
      }
      await ctx.host.services.enable(unit, { now: true });
    },
  };
}
