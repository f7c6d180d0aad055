/**
 * The GPU readiness gate. A node whose GPUs the agent verified registers with GPU_GATE_TAINT, which keeps ordinary
 * pods off it until `nvidia.com/gpu` is allocatable; then the control plane's gate (gate-command.ts) removes it.
 *
 * Why these choices (sources read 2026-12-06):
 * - The taint is set at registration: kubeadm join hands JoinConfiguration.nodeRegistration.taints to the kubelet
 *   as --register-with-taints (kubernetes cmd/kubeadm/app/phases/kubelet/flags.go, buildKubeletArgMapCommon,
 *   registerTaintsUsingFlags); kubeadm init's mark-control-plane phase applies InitConfiguration's.
 * - The node cannot lift it itself: the NodeRestriction admission plugin refuses a node's update that changes its
 *   own taints, "node %q is not allowed to modify taints" (plugin/pkg/admission/noderestriction/admission.go).
 *   So the side with cluster rights does, and that is the control plane's agent, holding admin.conf already.
 * - Its key is nvidia.com/gpu, NoSchedule, because NVIDIA's device plugin tolerates exactly that
 *   (NVIDIA/k8s-device-plugin deployments/static/nvidia-device-plugin.yml: key nvidia.com/gpu, operator Exists,
 *   effect NoSchedule): the plugin, which makes the GPUs allocatable, must run on the gated node. Its value names
 *   labimg, and the gate removes only a taint with this key, value and effect.
 */
import type { AgentConfig, GpuSpec } from '../../contract/agent-config';
import type { CommandResult, Host } from '../host/host';
import { kubectlArgv } from '../kube/kubectl';
import type { RegistrationExtras } from '../kubeadm/documents';
import type { Taint } from '../kubeadm/types';
import { decideGpu, nvidiaGpus, type GpuDecision } from './detect';
import { hostDriverGpu } from './stack';

export const GPU_RESOURCE = 'nvidia.com/gpu';

export const GPU_GATE_TAINT: Taint = { key: GPU_RESOURCE, value: 'labimg-gpu-not-ready', effect: 'NoSchedule' };

/** The parts of a v1 Node the gate and the node's own wait read. */
export interface NodeObject {
  metadata?: { name?: string };
  spec?: { taints?: Taint[] };
  status?: { allocatable?: Record<string, string> };
}

/** `nvidia.com/gpu` allocatable on the node: an extended resource, so a whole number (0 when absent). */
export function allocatableGpus(node: NodeObject): number {
  const quantity = node.status?.allocatable?.[GPU_RESOURCE];
  return quantity !== undefined && /^\d+$/.test(quantity) ? Number(quantity) : 0;
}

export function gateTaintIndex(node: NodeObject): number {
  return (node.spec?.taints ?? []).findIndex((t) => t.key === GPU_GATE_TAINT.key && t.value === GPU_GATE_TAINT.value && t.effect === GPU_GATE_TAINT.effect);
}

/**
 * The JSON patch (RFC 6902) that lifts the gate from a node as it was read: `test` first, so that if the taints
 * changed since (another control plane lifted it, someone added one) the API server refuses the whole patch
 * instead of removing whatever now sits at that index. Undefined when there is nothing to lift yet.
 */
export function gateLiftPatch(node: NodeObject): string | undefined {
  const index = gateTaintIndex(node);
  if (index < 0 || allocatableGpus(node) === 0) return undefined;
  const path = `/spec/taints/${index}`;
  return JSON.stringify([
    { op: 'test', path, value: node.spec!.taints![index] },
    { op: 'remove', path },
  ]);
}

/**
 * Lifts the gate from node `name` as `node` shows it, with the control plane's admin credential, when its GPUs are
 * allocatable; undefined when there is nothing to lift. A refused patch (the taints changed since) is the caller's
 * to retry with the node as it is now.
 */
export async function liftGate(host: Host, name: string, node: NodeObject): Promise<CommandResult | undefined> {
  const patch = gateLiftPatch(node);
  return patch === undefined ? undefined : host.query(kubectlArgv(host, ['patch', 'node', name, '--type=json', '-p', patch]), { timeoutMs: 60_000 });
}

/**
 * Whether this boot should end with GPUs allocatable: GPUs the agent verified, or, where the GPU operator brings the
 * driver (and nothing can be verified before it runs), NVIDIA GPUs on the PCI bus.
 */
export async function gpusExpected(host: Host, config: AgentConfig, decision?: GpuDecision): Promise<boolean> {
  if (config.gpu?.stack === 'gpu-operator') return (await nvidiaGpus(host)).length > 0;
  return (decision ?? (await decideGpu(host, hostDriverGpu(config)))).useNvidia;
}

/**
 * What a node registers with: the GPU labels of the driver check, and the gate where GPUs are expected. HAMi's
 * device plugin is installed from the operator's own `helm template` output, whose tolerations labimg does not know,
 * so a gate could keep it, and with it the GPUs, off the node: HAMi nodes are not gated. NVIDIA's plugin and the GPU
 * operator's DaemonSets tolerate the gate's key (its chart's daemonsets.tolerations, FACTS.md).
 */
export async function registrationExtras(host: Host, config: AgentConfig): Promise<RegistrationExtras> {
  const decision = await decideGpu(host, hostDriverGpu(config));
  const gated = config.gpu?.devicePlugin?.kind !== 'hami' && (await gpusExpected(host, config, decision));
  return { labels: decision.labels, taints: gated ? [GPU_GATE_TAINT] : [] };
}
