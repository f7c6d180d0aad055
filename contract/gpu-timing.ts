/**
 * Time to GPU: how far into its boot a GPU node reached each milestone on its way to a GPU that pods can be given.
 * Each milestone is the `done` report of one boot step; the step ids are named here once, for the agent's steps
 * and for every view that shows the figure (the fleet page, `labimg nodes`, /metrics).
 */
export interface GpuMilestone {
  /** The boot step whose `done` report marks it. */
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
