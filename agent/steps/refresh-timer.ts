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

/**
 * The timer for this node: every 15 minutes, or eight times per token lifetime when that is shorter, in
 * seconds. AccuracySec=1s, since systemd may otherwise fire a timer up to AccuracySec late and that defaults
 * to 1min (systemd.timer(5), https://www.freedesktop.org/software/systemd/man/latest/systemd.timer.html,
 * read 2026-12-06), which a 45-second interval cannot afford.
 */
export function refreshTimerUnit(node?: Pick<NodeConfig, 'bootstrapTokenTtlSeconds'>): string {
  const interval = Math.min(900, Math.floor(tokenTtlMs(node) / 8000));
  return `[Unit]
Description=labimg: talk to the join endpoint

[Timer]
OnBootSec=${Math.min(300, interval)}s
OnUnitActiveSec=${interval}s
RandomizedDelaySec=${Math.min(60, interval >> 2)}s
AccuracySec=1s
Persistent=true

[Install]
WantedBy=timers.target
`;
}


export const refreshTimer = systemdUnitsStep({
  id: 'refresh-timer',
  title: 'Start the timer that renews the credential and join material',
  applies: (ctx) => ctx.node?.endpoint !== undefined,
  files: (ctx) => ({ [REFRESH_SERVICE]: REFRESH_SERVICE_UNIT, [REFRESH_TIMER]: refreshTimerUnit(ctx.node) }),
  unit: 'labimg-refresh.timer',
});
