/** The shape shared by the bake steps that write a runtime's config file (containerd, Docker). */
import type { CriName } from '../../contract/agent-config';
import { RUNC } from '../runtime/runtime-choice';
import { acceptedContents, runtimeConfigFile, RuntimeConfigFile } from '../runtime/runtime-files';
import type { Step, StepContext } from './step';

export function runtimeConfigStep(id: string, title: string, runtime: CriName): Step {
  const fileOf = (ctx: StepContext): RuntimeConfigFile => {
    const file = runtimeConfigFile(ctx.config, runtime);
    if (!file) throw new Error(`no ${runtime} settings in the agent config`);
    return file;
  };
  return {
    id,
    phase: 'bake',
    title,
    applies: (ctx) => runtimeConfigFile(ctx.config, runtime) !== undefined,
    async check(ctx) {
      const file = fileOf(ctx);
      const current = await ctx.host.readFile(file.path);
      return current !== undefined && acceptedContents(ctx.config, file).includes(current);
    },
    async apply(ctx) {
      const file = fileOf(ctx);
      await ctx.host.writeFile(file.path, file.render(RUNC), 0o644);
      // A running daemon keeps its old settings until restarted; a stopped one reads the file when enabled.
      await ctx.host.services.restartIfActive(file.unit);
    },
  };
}
