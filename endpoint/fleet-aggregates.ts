/**
 * The fleet page's aggregates: which nodes the filters keep, time to final and time to GPU as histograms across
 * them, and the steps that take longest. Pure: the page lays them out, tests read them from what Chromium renders.
 */
import type { FleetNode, FleetView } from '../contract/endpoint-api';
import { RUN_COMPLETE_STEP } from '../contract/agent-config';
import { tickStep } from './fleet-timeline';

/** The page's filters, from its query string: each names one value, or is absent for all. */
export interface FleetFilters {
  pool?: string;
  role?: string;
  profile?: string;
}

export const FILTER_FIELDS = ['pool', 'role', 'profile'] as const;

export function filtersFrom(query: URLSearchParams): FleetFilters {
  const filters: FleetFilters = {};
  for (const field of FILTER_FIELDS) {
    const value = query.get(field);
    if (value) filters[field] = value;
  }
  return filters;
}

export function filterView(view: FleetView, filters: FleetFilters): FleetView {
  return { ...view, nodes: view.nodes.filter((n) => FILTER_FIELDS.every((f) => filters[f] === undefined || n[f] === filters[f])) };
}

/** The run's duration by its completion report, when the node's latest run completed: its time to final. */
export function timeToFinalMs(node: FleetNode): number | undefined {
  const complete = node.steps?.find((s) => s.step === RUN_COMPLETE_STEP);
  return complete?.status === 'done' && complete.durationMs !== undefined ? complete.durationMs : undefined;
}

/** Seconds after boot at which the GPU became allocatable (the last milestone), in ms; undefined until it did. */
export function timeToGpuMs(node: FleetNode): number | undefined {
  const gpu = node.timeToGpu?.find((m) => m.step === 'gpu-allocatable');
  return gpu === undefined ? undefined : gpu.seconds * 1000;
}

export interface HistogramBin {
  fromMs: number;
  toMs: number;
  count: number;
}

/** `values` counted into bins of one round width from 0 (tickStep's, about six of them); [] for no values. */
export function histogram(values: readonly number[]): HistogramBin[] {
  if (values.length === 0) return [];
  const max = Math.max(...values);
  const width = tickStep(Math.max(1000, max));
  const bins: HistogramBin[] = [];
  for (let from = 0; from <= max; from += width) bins.push({ fromMs: from, toMs: from + width, count: 0 });
  for (const value of values) {
    const bin = bins[Math.min(bins.length - 1, Math.floor(Math.max(0, value) / width))] as HistogramBin;
    bin.count += 1;
  }
  return bins;
}

export interface SlowStep {
  phase: string;
  step: string;
  /** How many nodes finished it (done, skipped or failed) with a duration. */
  nodes: number;
  medianMs: number;
  maxMs: number;
  /** The node that took longest. */
  slowestNode: string;
}

/** The steps by their median duration across nodes, slowest first: where the fleet's time goes. */
export function slowestSteps(nodes: readonly FleetNode[], limit = 5): SlowStep[] {
  const byStep = new Map<string, { phase: string; step: string; times: Array<{ node: string; ms: number }> }>();
  for (const node of nodes) {
    for (const s of node.steps ?? []) {
      if (s.step === RUN_COMPLETE_STEP || s.status === 'started' || s.durationMs === undefined) continue;
      const key = `${s.phase}\n${s.step}`;
      const entry = byStep.get(key) ?? { phase: s.phase, step: s.step, times: [] };
      entry.times.push({ node: node.node, ms: s.durationMs });
      byStep.set(key, entry);
    }
  }
  const steps = [...byStep.values()].map(({ phase, step, times }) => {
    const sorted = times.map((t) => t.ms).sort((a, b) => a - b);
    const slowest = times.reduce((a, b) => (b.ms > a.ms ? b : a));
    return { phase, step, nodes: times.length, medianMs: median(sorted), maxMs: slowest.ms, slowestNode: slowest.node };
  });
  return steps.sort((a, b) => b.medianMs - a.medianMs || b.maxMs - a.maxMs).slice(0, limit);
}

function median(sorted: number[]): number {
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
