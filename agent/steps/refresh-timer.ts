/**
 * Any node with a join endpoint: a systemd timer that runs `agent.js refresh` every 15 minutes, which renews the
 * node's credential past half its lifetime, delivers any reports still in the outbox, and on a control plane
 * republishes join material before the bootstrap token expires.
 */
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

export const refreshTimer = systemdUnitsStep({
  id: 'refresh-timer',
  title: 'Start the timer that renews the node credential and keeps published join material fresh',
  applies: (ctx) => ctx.node?.endpoint !== undefined,
  files: { [REFRESH_SERVICE]: REFRESH_SERVICE_UNIT, [REFRESH_TIMER]: REFRESH_TIMER_UNIT },
  unit: 'labimg-refresh.timer',
});
