/**
 * Any node with a join endpoint: a systemd timer that runs `agent.js refresh` every 15 minutes, which renews the
 * node's credential past half its lifetime, delivers any reports still in the outbox, and on a control plane
 * republishes join material before the bootstrap token expires. A control plane whose tokens live shorter than
 * 2 hours (node.json's bootstrapTokenTtlSeconds) runs it eight times per token lifetime, so a new token is
 * published soon after the current one is past half its life.
 */
import type { NodeConfig } from '../../contract/agent-config';
import { tokenTtlMs } from './publish-join-material';
import { agentServiceLines, systemdUnitsStep } from './systemd-units-step';

export const REFRESH_SERVICE = '/etc/systemd/system/labimg-refresh.service';
export const REFRESH_TIMER = '/etc/systemd/system/labimg-refresh.timer';

export const REFRESH_SERVICE_UNIT = `[Unit]
Description=labimg: renew the node credential, deliver reports, refresh published join material
After=network-online.target labimg-agent.service

[Service]
Type=oneshot
${agentServiceLines('refresh')}SyslogIdentifier=labimg-agent
`;

const MINUTE_S = 60;
const DEFAULT_INTERVAL_S = 15 * MINUTE_S;

/** A systemd time span in seconds, in the larger unit where it is whole: "15min", "45s". */
function span(seconds: number): string {
  return seconds % MINUTE_S === 0 ? `${seconds / MINUTE_S}min` : `${seconds}s`;
}

/**
 * The timer for this node: every 15 minutes, or eight times per token lifetime when that is shorter. A short
 * interval gets AccuracySec=1s, since systemd may otherwise fire a timer up to AccuracySec late and that
 * defaults to 1min (systemd.timer(5), https://www.freedesktop.org/software/systemd/man/latest/systemd.timer.html,
 * read 2026-12-06).
 */
export function refreshTimerUnit(node?: Pick<NodeConfig, 'bootstrapTokenTtlSeconds'>): string {
  const interval = Math.min(DEFAULT_INTERVAL_S, Math.floor(tokenTtlMs(node) / 1000 / 8));
  const short = interval < DEFAULT_INTERVAL_S;
  return `[Unit]
Description=labimg: talk to the join endpoint every ${interval % MINUTE_S === 0 ? `${interval / MINUTE_S} minutes` : `${interval} seconds`}

[Timer]
OnBootSec=${span(Math.min(5 * MINUTE_S, interval))}
OnUnitActiveSec=${span(interval)}
RandomizedDelaySec=${span(Math.min(MINUTE_S, Math.floor(interval / 4)))}
${short ? 'AccuracySec=1s\n' : ''}Persistent=true

[Install]
WantedBy=timers.target
`;
}

export const REFRESH_TIMER_UNIT = refreshTimerUnit();

export const refreshTimer = systemdUnitsStep({
  id: 'refresh-timer',
  title: 'Start the timer that renews the node credential and keeps published join material fresh',
  applies: (ctx) => ctx.node?.endpoint !== undefined,
  files: (ctx) => ({ [REFRESH_SERVICE]: REFRESH_SERVICE_UNIT, [REFRESH_TIMER]: refreshTimerUnit(ctx.node) }),
  unit: 'labimg-refresh.timer',
});
