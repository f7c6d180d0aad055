/**
 * Any node with a join endpoint: a systemd timer that runs `agent.js refresh` every 15 minutes, which renews the
 * node's credential past half its lifetime, delivers any reports still in the outbox, and on a control plane
 * republishes join material before the bootstrap token expires.
 */
import { AGENT_UNIT_PATH } from '../../contract/agent-config';
import { PATHS } from '../../contract/node-paths';
import type { Step, StepContext } from './step';

export const REFRESH_SERVICE = '/etc/systemd/system/labimg-refresh.service';
export const REFRESH_TIMER = '/etc/systemd/system/labimg-refresh.timer';
const REFRESH_TIMER_NAME = 'labimg-refresh.timer';

export const REFRESH_SERVICE_UNIT = `[Unit]
Description=labimg: renew the node credential, deliver reports, refresh published join material
After=network-online.target labimg-agent.service

[Service]
Type=oneshot
Environment=PATH=${AGENT_UNIT_PATH}
ExecStart=${PATHS.nodeRuntimeDir}/bin/node ${PATHS.agentBundle} refresh
SyslogIdentifier=labimg-agent
`;

export const REFRESH_TIMER_UNIT = `[Unit]
Description=labimg: talk to the join endpoint every 15 minutes

[Timer]
OnBootSec=5min
OnUnitActiveSec=15min
RandomizedDelaySec=1min
Persistent=true

[Install]
WantedBy=timers.target
`;

async function unitsCurrent(ctx: StepContext): Promise<boolean> {
  return (await ctx.host.readFile(REFRESH_SERVICE)) === REFRESH_SERVICE_UNIT && (await ctx.host.readFile(REFRESH_TIMER)) === REFRESH_TIMER_UNIT;
}

export const refreshTimer: Step = {
  id: 'refresh-timer',
  phase: 'boot',
  title: 'Start the timer that renews the node credential and keeps published join material fresh',
  applies: (ctx) => ctx.node?.endpoint !== undefined,

  async check(ctx) {
    if (!(await unitsCurrent(ctx))) return false;
    const state = await ctx.host.services.state(REFRESH_TIMER_NAME);
    return state.enabled && state.active;
  },

  async apply(ctx) {
    if (!(await unitsCurrent(ctx))) {
      await ctx.host.writeFile(REFRESH_SERVICE, REFRESH_SERVICE_UNIT, 0o644);
      await ctx.host.writeFile(REFRESH_TIMER, REFRESH_TIMER_UNIT, 0o644);
      await ctx.host.services.daemonReload();
    }
    await ctx.host.services.enable(REFRESH_TIMER_NAME, { now: true });
  },
};
