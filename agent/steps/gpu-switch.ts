/**
 * The GPU switch, on every boot: one image serves CPU and GPU pools.
 * - NVIDIA GPU on the PCI bus and the toolkit's runtime installed → the nvidia runtime becomes the default of
 *   whichever runtime is the CRI (containerd: runtimes.nvidia + default_runtime_name; Docker: daemon.json
 *   runtimes.nvidia + default-runtime), and that runtime is restarted.
 * - No GPU → the runc default is restored (an image may move from a GPU pool to a CPU one).
 * - GPU but no toolkit → warn and keep runc: a GPU the runtime cannot drive would break every pod.
 */
import { decideGpu } from '../gpu/detect';
import { RUNC } from '../runtime/runtime-choice';
import { nvidiaRuntime, runtimeConfigFile, RuntimeConfigFile } from '../runtime/runtime-files';
import type { Step, StepContext } from './step';

interface Target {
  file: RuntimeConfigFile;
  content: string;
}

async function target(ctx: StepContext): Promise<Target> {
  const decision = await decideGpu(ctx.host, ctx.config.gpu);
  const file = runtimeConfigFile(ctx.config, ctx.config.runtime.cri);
  if (!file) throw new Error(`the CRI is ${ctx.config.runtime.cri} but the agent config has no settings for it`);
  const nvidia = nvidiaRuntime(ctx.config);
  return { file, content: file.render(decision.useNvidia && nvidia ? nvidia : RUNC) };
}

export const gpuSwitch: Step = {
  id: 'gpu-switch',
  phase: 'boot',
  title: 'Choose the default container runtime from the GPUs present',
  applies: (ctx) => ctx.config.gpu !== undefined,

  async check(ctx) {
    // Logged here, not in apply: when nothing needs changing the admin still wants to see the decision.
    const decision = await decideGpu(ctx.host, ctx.config.gpu);
    if (decision.warning) ctx.log.warn(decision.warning);
    else ctx.log.info(decision.summary);
    const { file, content } = await target(ctx);
    return (await ctx.host.readFile(file.path)) === content;
  },

  async apply(ctx) {
    const { file, content } = await target(ctx);
    await ctx.host.writeFile(file.path, content, 0o644);
    await ctx.host.services.restart(file.unit);
  },
};
