/**
 * Every control plane: the service that lifts the GPU readiness gate from nodes whose GPUs became allocatable
 * (agent/cli/gate-command.ts). On every control plane, GPU or not: the GPU workers that join it may come from
 * another profile, and a node cannot lift its own gate (agent/gpu/readiness-gate.ts says why). Several control
 * planes each run one; the gate's patch is conditional, so two of them never remove anything twice.
 */
import { isControlPlane } from './step';
import { agentServiceLines, systemdUnitsStep } from './systemd-units-step';

export const GPU_GATE_UNIT_NAME = 'labimg-gpu-gate.service';
export const GPU_GATE_UNIT = `/etc/systemd/system/${GPU_GATE_UNIT_NAME}`;

export const GPU_GATE_SERVICE_UNIT = `[Unit]
Description=labimg: lift the GPU readiness gate
After=network-online.target kubelet.service

[Service]
${agentServiceLines('gpu-gate')}Restart=always
RestartSec=10
SyslogIdentifier=labimg-gpu-gate

[Install]
WantedBy=multi-user.target
`;

export const gpuGate = systemdUnitsStep({
  id: 'gpu-gate',
  title: 'Start the service that lifts the GPU readiness gate',
  applies: isControlPlane,
  files: { [GPU_GATE_UNIT]: GPU_GATE_SERVICE_UNIT },
  unit: GPU_GATE_UNIT_NAME,
});
