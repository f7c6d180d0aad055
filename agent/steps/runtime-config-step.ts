/** The shape shared by the bake steps that write a runtime's config file (containerd, Docker). */
import type { ContainerRuntime } from '../runtime/container-runtime';
import { RUNC } from '../runtime/runtime-choice';
import type { Step } from './step';

export function runtimeConfigStep(id: string, runtime: ContainerRuntime): Step {
  return {
    id,
    phase: 'bake',
    title: `Write ${runtime.configPath}`,
    applies: (ctx) => runtime.present(ctx.config),
    async check(ctx) {
      const current = await ctx.host.readFile(runtime.configPath);
      return current !== undefined && runtime.acceptedConfigs(ctx.config).includes(current);
    },
    async apply(ctx) {
      await runtime.applyConfig(ctx.host, runtime.renderConfig(ctx.config, RUNC));
    },
  };
}
