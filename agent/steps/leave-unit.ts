/**
 * Any node with a join endpoint: labimg-leave.service, which does nothing at boot and, when the machine powers
 * off, runs `agent.js leave` (agent/cli/leave-command.ts) so the endpoint shows the node as departed, not failed.
 *
 * systemd stops units in the reverse order of their start (systemd.unit(5), After=: "when two units with an
 * ordering dependency between them are shut down, the inverse of the start-up order is applied";
 * https://www.freedesktop.org/software/systemd/man/latest/systemd.unit.html, read 2026-12-06), so After= the
 * network keeps the network up while it runs. The kubelet's graceful node shutdown has run by then: it delays
 * the shutdown with a logind inhibitor lock before any unit is stopped.
 */
import { AGENT_UNIT_PATH } from '../../contract/agent-config';
import { PATHS } from '../../contract/node-paths';
import { systemdUnitsStep } from './systemd-units-step';

export const LEAVE_UNIT_NAME = 'labimg-leave.service';
export const LEAVE_UNIT = `/etc/systemd/system/${LEAVE_UNIT_NAME}`;

// ExecStart=/bin/true, not none: a oneshot without ExecStart needs a newer systemd than CentOS 7's 219.
export const LEAVE_SERVICE_UNIT = `[Unit]
Description=labimg: report a power-off to the join endpoint
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
Environment=PATH=${AGENT_UNIT_PATH}
ExecStop=${PATHS.nodeRuntimeDir}/bin/node ${PATHS.agentBundle} leave
TimeoutStopSec=30
SyslogIdentifier=labimg-agent

[Install]
WantedBy=multi-user.target
`;

export const leaveUnit = systemdUnitsStep({
  id: 'leave-unit',
  title: 'Start the unit that reports a power-off',
  applies: (ctx) => ctx.node?.endpoint !== undefined,
  files: { [LEAVE_UNIT]: LEAVE_SERVICE_UNIT },
  unit: LEAVE_UNIT_NAME,
});
