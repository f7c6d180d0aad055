/**
 * Time to GPU: how far into its boot a GPU node reached each milestone on its way to a GPU that pods can be given.
 * Each milestone is one boot step reaching its state (gpuMilestones says which reports count); the step ids are
 * named here once, for the agent's steps and for every view that shows the figure (the fleet page, `labimg nodes`,
 * /metrics).
 */
import { RUN_COMPLETE_STEP } from './agent-config';

export interface GpuMilestone {
  /** The boot step that marks it. */
  step: string;
  /** Its part of a metric name, after kubelet's kubelet_node_startup_<stage>_duration_seconds. */
  metric: string;
  title: string;
}

export const GPU_MILESTONES = [
  { step: 'gpu-driver', metric: 'driver_loaded', title: 'driver loaded' },
  { step: 'gpu-switch', metric: 'runtime_switched', title: 'runtime switched' },
  { step: 'node-registered', metric: 'registration', title: 'kubelet registered' },
  { step: 'gpu-allocatable', metric: 'gpu_allocatable', title: 'GPU allocatable' },
] as const satisfies readonly GpuMilestone[];

export type GpuMilestoneStep = (typeof GPU_MILESTONES)[number]['step'];

/** How `labimg nodes` and the fleet page name each milestone in a line of all four ("driver 41.0 s · GPU 1m 35s"). */
export const GPU_MILESTONE_LABELS: Readonly<Record<GpuMilestoneStep, string>> = {
  'gpu-driver': 'driver',
  'gpu-switch': 'runtime',
  'node-registered': 'registered',
  'gpu-allocatable': 'GPU',
};

/** One milestone a node reached in its latest boot: how many seconds after the kernel booted. */
export interface GpuMilestoneTime {
  step: GpuMilestoneStep;
  seconds: number;
}

/**
 * What the milestones need of a step's latest report: the endpoint's per-step summaries fit. `received` is the
 * order the endpoint got the reports in (larger is later); where a summary has none (stored before it was
 * kept), the node's `at` orders it, before every summary that has one.
 */
export interface BootTimedStep {
  step: string;
  status: 'started' | 'done' | 'skipped' | 'failed';
  at: string;
  sinceBootMs?: number;
  received?: number;
}

/**
 * The seconds after boot at which the node reached each milestone, in its latest boot only, in milestone order;
 * the ones not reached (yet) are left out. Time to GPU overall is the `gpu-allocatable` one.
 *
 * Only a step's latest report is known, and a milestone counts from a report that carries sinceBootMs and says it
 * was reached: `done`, or `skipped`, which the agent sends when a step finds its state already in place (a driver
 * the kernel loaded at boot, a Node kubeadm init already waited for): reached by then, which is what the figure
 * can say. The waits (node-registered, gpu-allocatable) run only where GPUs are expected in that boot
 * (agent/steps/gpu-ready.ts), so a boot the agent completed (RUN_COMPLETE_STEP) without either had no usable GPU:
 * its gpu-driver and gpu-switch reports are no milestones (a node joined as a CPU node, gpu.onFailure cpu).
 * Telling the latest boot apart:
 *
 * - Reports arrive in the order the node made them: the agent's outbox is one queue, numbered on disk and sent
 *   oldest first, one at a time, across reboots (agent/outbox.ts, agent/endpoint/outbox-sender.ts). So the
 *   endpoint's receive order is the node's order, even where the node's wall clock (`at`) jumped at boot or by
 *   an NTP step, which is why this never orders by `at` when `received` is there.
 * - Within one boot the time since boot only grows. Walking the steps' latest reports (any status) in receive
 *   order, the latest boot starts at the last report whose sinceBootMs is below the one before it: everything
 *   received before that belongs to an earlier boot, whatever its numbers.
 * - That misses a reboot whose first report came later into its boot than the previous boot's last one. The
 *   milestones are steps every boot runs again in this order, so a second rule covers the common case: a
 *   milestone counts only when its report came after the latest report of every milestone before it. A node
 *   whose new boot has reported `gpu-driver started` has not reached "GPU allocatable" in this boot, however
 *   recent the previous boot's report of it is. A node whose new boot has reported nothing since is still
 *   shown with the previous boot's milestones: nothing that reached the endpoint says otherwise.
 */
export function gpuMilestones(steps: Iterable<BootTimedStep>): GpuMilestoneTime[] {
  const timed = [...steps].filter((s): s is BootTimedStep & { sinceBootMs: number } => s.sinceBootMs !== undefined).sort(byArrival);
  const uptimes = timed.map((s) => s.sinceBootMs);
  let bootStart = 0;
  uptimes.forEach((uptime, i) => {
    if (i > 0 && uptime < (uptimes[i - 1] as number)) bootStart = i;
  });
  const latestBoot = new Map(timed.slice(bootStart).map((s) => [s.step, s]));
  const position = new Map(timed.map((s, index) => [s.step, index]));

  const waited = latestBoot.has(GPU_MILESTONES[2].step) || latestBoot.has(GPU_MILESTONES[3].step);
  if (latestBoot.has(RUN_COMPLETE_STEP) && !waited) return [];

  const reached: GpuMilestoneTime[] = [];
  let earlierMilestonesUntil = -1; // the receive position of the latest report of any milestone step so far
  for (const { step } of GPU_MILESTONES) {
    const report = latestBoot.get(step);
    const at = position.get(step);
    const isReached = report?.status === 'done' || report?.status === 'skipped';
    if (isReached && at !== undefined && at > earlierMilestonesUntil) reached.push({ step, seconds: report.sinceBootMs / 1000 });
    if (at !== undefined) earlierMilestonesUntil = Math.max(earlierMilestonesUntil, at);
  }
  return reached;
}

function byArrival(a: BootTimedStep, b: BootTimedStep): number {
  return (a.received ?? 0) - (b.received ?? 0) || (a.at < b.at ? -1 : a.at > b.at ? 1 : 0);
}
