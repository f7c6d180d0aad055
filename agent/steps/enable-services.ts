/**
 * Lab steps 7d and 8b: the runtimes start now and at boot; the kubelet is only enabled — it crash-loops
 * until kubeadm init/join writes its config, and kubeadm starts it then.
 */
import type { Step, StepContext } from './step';

interface Service {
  unit: string;
  startNow: boolean;
}

function services(ctx: StepContext): Service[] {
  const list: Service[] = [{ unit: 'containerd', startNow: true }];
  if (ctx.config.runtime.docker) list.push({ unit: 'docker', startNow: true });
  list.push({ unit: 'kubelet', startNow: false });
  return list;
}

async function needsWork(ctx: StepContext, service: Service): Promise<boolean> {
  const state = await ctx.host.services.state(service.unit);
  return !state.enabled || (service.startNow && !state.active);
}

export const enableServices: Step = {
  id: 'enable-services',
  phase: 'bake',
  title: 'Enable and start the container runtime; enable the kubelet',
  applies: () => true,

  async check(ctx) {
    for (const service of services(ctx)) if (await needsWork(ctx, service)) return false;
    return true;
  },

  async apply(ctx) {
    for (const service of services(ctx)) {
      if (!(await needsWork(ctx, service))) continue;
      await ctx.host.services.enable(service.unit, { now: service.startNow });
    }
  },
};
