/**
 * Lab step 4a: kernel modules the pod network needs (br_netfilter makes bridged traffic visible to iptables;
 * overlay backs container images). Loaded now with modprobe and listed in /etc/modules-load.d so
 * systemd-modules-load loads them on every boot.
 */
import { isModuleLoaded } from '../host/facts';
import { managedHeader } from '../text/managed-header';
import type { Step, StepContext } from './step';

export const MODULES_LOAD_FILE = '/etc/modules-load.d/labimg.conf';

export function modulesLoadContent(modules: string[]): string {
  return managedHeader() + modules.map((m) => `${m}\n`).join('');
}

export const kernelModules: Step = {
  id: 'kernel-modules',
  phase: 'bake',
  title: 'Load kernel modules now and at boot',
  applies: (ctx) => ctx.config.host.kernelModules.length > 0,

  async check(ctx) {
    const persisted = await ctx.host.readFile(MODULES_LOAD_FILE);
    return persisted === modulesLoadContent(ctx.config.host.kernelModules) && (await unloaded(ctx)).length === 0;
  },

  async apply(ctx) {
    const wanted = modulesLoadContent(ctx.config.host.kernelModules);
    if ((await ctx.host.readFile(MODULES_LOAD_FILE)) !== wanted) await ctx.host.writeFile(MODULES_LOAD_FILE, wanted, 0o644);
    for (const module of await unloaded(ctx)) await ctx.host.run(['modprobe', module]);
  },
};

async function unloaded(ctx: StepContext): Promise<string[]> {
  const missing: string[] = [];
  for (const module of ctx.config.host.kernelModules) if (!(await isModuleLoaded(ctx.host, module))) missing.push(module);
  return missing;
}
