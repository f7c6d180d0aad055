/**
 * The GPU switch, on every boot: one image serves CPU and GPU pools.
 * - NVIDIA GPU on the PCI bus and the toolkit's runtime installed → the nvidia runtime becomes the default of
 *   whichever runtime is the CRI (containerd: runtimes.nvidia + default_runtime_name; Docker: daemon.json
 *   runtimes.nvidia + default-runtime), and that runtime is restarted.
 * - No GPU → the runc default is restored (an image may move from a GPU pool to a CPU one).
 * - GPU the gpu-driver step found unusable (no toolkit among the reasons) → runc: a GPU the runtime cannot drive
 *   would break every pod. Then, with gpu.onFailure fail, this step fails with the reason: the node does not join,
 *   and one that joined on an earlier boot keeps running its other pods.
 * - gpu.stack gpu-operator-with-host-driver → runc stays labimg's default whatever the GPU: NVIDIA's GPU operator
 *   writes its runtime to /etc/containerd/conf.d/99-nvidia.toml (controllers/object_controls.go
 *   DefaultContainerdDropInConfigFile, NVIDIA/gpu-operator v26.7.0; read 2026-12-06), which config.toml imports
 *   and which no step rewrites, so later boots keep it; gpu.onFailure still acts on the driver's verdict.
 *   gpu-operator: the operator brings the driver too, and this step does not run.
 */
import type { CriName } from '../../contract/agent-config';
import { decideGpu, type GpuDecision } from '../gpu/detect';
import type { ContainerRuntime } from '../runtime/container-runtime';
import { containerd } from '../runtime/containerd';
import { docker } from '../runtime/docker';
import { nvidiaRuntime, RUNC } from '../runtime/runtime-choice';
import { hostDriverGpu } from '../gpu/stack';
import type { Step, StepContext } from './step';

const CRI_RUNTIMES: Record<CriName, ContainerRuntime> = { containerd, docker };

interface Target {
  runtime: ContainerRuntime;
  content: string;
}

/** With gpu.onFailure fail, GPUs that cannot be used stop the node here, once runc is its default runtime. */
function refuse(ctx: StepContext, decision: GpuDecision): void {
  if (decision.unusable && ctx.config.gpu?.onFailure === 'fail') throw new Error(`${decision.unusable} (gpu.onFailure: fail)`);
}

async function target(ctx: StepContext, decision: GpuDecision): Promise<Target> {
  const runtime = CRI_RUNTIMES[ctx.config.runtime.cri];
  if (!runtime.present(ctx.config)) throw new Error(`the CRI is ${ctx.config.runtime.cri} but the agent config has no settings for it`);
  const nvidia = nvidiaRuntime(ctx.config);
  // With the GPU operator (gpu.stack) labimg's config keeps runc: the operator's toolkit sets its runtime in a
  // drop-in that config imports, so this step only carries out gpu.onFailure on the driver's verdict.
  return { runtime, content: runtime.renderConfig(ctx.config, decision.useNvidia && nvidia && !ctx.config.gpu?.stack ? nvidia : RUNC) };
}

export const gpuSwitch: Step = {
  id: 'gpu-switch',
  phase: 'boot',
  title: 'Choose the default container runtime from the GPUs present',
  applies: (ctx) => hostDriverGpu(ctx.config) !== undefined,

  async check(ctx) {
    const decision = await decideGpu(ctx.host, ctx.config.gpu);
    // Logged here, not in apply: when nothing needs changing the admin still wants to see the decision.
    ctx.log.info(decision.summary);
    const { runtime, content } = await target(ctx, decision);
    const inPlace = (await ctx.host.readFile(runtime.configPath)) === content;
    if (inPlace) refuse(ctx, decision);
    return inPlace;
  },

  async apply(ctx) {
    const decision = await decideGpu(ctx.host, ctx.config.gpu);
    const { runtime, content } = await target(ctx, decision);
    // At boot the CRI must come up with the new default whether or not it was already running.
    await runtime.applyConfig(ctx.host, content, { start: true });
    refuse(ctx, decision);
  },
};
