/**
 * Lab steps 7d and 8b: the runtimes start now and at boot; the kubelet is only enabled — it crash-loops
 * until kubeadm init/join writes its config, and kubeadm starts it then.
 */
import { containerd } from '../runtime/containerd';
import type { Daemon } from '../runtime/daemon';
import { docker } from '../runtime/docker';
import { kubelet } from '../runtime/kubelet';
import type { Step, StepContext } from './step';

/** In this order: Docker needs containerd running. */
const DAEMONS: readonly Daemon[] = [containerd, docker, kubelet];

function daemons(ctx: StepContext): Daemon[] {
  return DAEMONS.filter((daemon) => daemon.present(ctx.config));
}

async function needsWork(ctx: StepContext, daemon: Daemon): Promise<boolean> {
  const state = await ctx.host.services.state(daemon.unit);
  return !state.enabled || (daemon.startWhenEnabled && !state.active);
}

export const enableServices: Step = {
  id: 'enable-services',
  phase: 'bake',
  title: 'Enable and start the container runtime; enable the kubelet',
  applies: () => true,

  async check(ctx) {
    for (const daemon of daemons(ctx)) if (await needsWork(ctx, daemon)) return false;
    return true;
  },

  async apply(ctx) {
    for (const daemon of daemons(ctx)) {
      if (!(await needsWork(ctx, daemon))) continue;
      await ctx.host.services.enable(daemon.unit, { now: daemon.startWhenEnabled });
    }
  },
};
