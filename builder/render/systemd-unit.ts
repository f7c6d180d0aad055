import { DELIVERY_PATHS, PATHS } from '../../contract/node-paths';
import { AGENT_UNIT_PATH } from '../../contract/agent-config';

/**
 * The unit that runs the agent on every boot. Oneshot: the agent converges and exits; re-running is
 * safe because every step checks before it acts.
 *
 * - After=cloud-final.service: on a cloud-init boot the agent starts once user-data has landed. The
 *   user-data starts the unit with --no-block, so cloud-final does not wait on it. On hosts without
 *   cloud-init (kickstart, Ignition) the ordering refers to a unit that does not exist and is ignored.
 * - DefaultDependencies=no, with the defaults it would add written out: a target orders itself after
 *   every unit it wants unless that unit sets DefaultDependencies=no, and cloud-final.service is itself
 *   After=multi-user.target, so WantedBy=multi-user.target plus After=cloud-final.service is an ordering
 *   cycle. systemd breaks it by dropping a job; at shutdown it dropped the agent's stop job and the
 *   machine hung. multi-user.target has no reason to wait for a kubeadm init anyway.
 * - No Restart=: systemd 219 (CentOS 7) rejects it for oneshot services; the agent retries itself.
 * - TimeoutStartSec=0: package installs and kubeadm init can take many minutes on a slow mirror.
 * - SyslogIdentifier: the agent prints sd-daemon "<N>" priority prefixes, which journald reads.
 * - journal+console: the console is where a node that never came up can still be read (a cloud's serial
 *   log, `labimg boot`'s progress lines); nothing secret is printed, the agent redacts before it logs.
 * - PATH: AGENT_UNIT_PATH, which adds /opt/bin for Flatcar's kubeadm, kubelet and kubectl.
 */
export function renderSystemdUnit(): string {
  return `[Unit]
Description=labimg agent: prepares this host and joins it to its Kubernetes cluster
DefaultDependencies=no
Requires=sysinit.target
Wants=network-online.target
After=sysinit.target basic.target network-online.target cloud-final.service
Conflicts=shutdown.target
Before=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
Environment=PATH=${AGENT_UNIT_PATH}
ExecStartPre=${DELIVERY_PATHS.nodeInstaller}
ExecStart=${PATHS.nodeRuntimeDir}/bin/node ${PATHS.agentBundle} run
TimeoutStartSec=0
SyslogIdentifier=labimg-agent
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
`;
}
