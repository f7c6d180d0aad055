/**
 * The parts of the fleet page above its tables: the filter form, counts by state, the histograms and the slowest
 * steps. Plain HTML and inline SVG that need no script; every value from the network goes through escapeHtml.
 */
import type { FleetView, NodeState } from '../contract/endpoint-api';
import { FILTER_FIELDS, histogram, slowestSteps, timeToFinalMs, timeToGpuMs, type FleetFilters, type HistogramBin } from './fleet-aggregates';
import { escapeHtml, formatDuration } from './html';

/** Every state, in the order the counts list them. */
const STATE_LABELS: Record<NodeState, string> = {
  ready: 'ready',
  failed: 'failed',
  'in-progress': 'in progress',
  'enrolled-no-report': 'enrolled, no report',
  departed: 'departed',
};

/**
 * A GET form over the page itself: a select per field with every value the whole fleet has, so it works without
 * a script (the page's script submits it on change).
 */
export function filterForm(all: FleetView, filters: FleetFilters): string {
  const selects = FILTER_FIELDS.map((field) => {
    const values = [...new Set(all.nodes.map((n) => n[field]))].sort();
    const options = [`<option value="">all</option>`, ...values.map((v) => `<option${filters[field] === v ? ' selected' : ''}>${escapeHtml(v)}</option>`)];
    return `<label>${field} <select name="${field}">${options.join('')}</select></label>`;
  });
  return `<form class="filters" method="get" action="/fleet">${selects.join(' ')} <button type="submit">Filter</button></form>`;
}

export function stateCounts(byState: Record<NodeState, number>): string {
  const items = (Object.keys(STATE_LABELS) as NodeState[]).map((s) => `<li class="${s}" data-state="${s}"><b>${byState[s]}</b> ${STATE_LABELS[s]}</li>`);
  return `<ul class="counts" aria-label="nodes by state">${items.join('')}</ul>`;
}

/** Time to final and, once a GPU node has one, time to GPU, as histograms; then the slowest steps. */
export function aggregates(view: FleetView): string {
  const finals = view.nodes.map(timeToFinalMs).filter((v): v is number => v !== undefined);
  const gpus = view.nodes.map(timeToGpuMs).filter((v): v is number => v !== undefined);
  const charts = [
    histogramFigure('time-to-final', 'Time to final', 'the run, from its first step to ready', finals),
    ...(gpus.length > 0 ? [histogramFigure('time-to-gpu', 'Time to GPU', 'after the kernel booted, to a GPU pods can be given', gpus)] : []),
  ];
  return `<section class="aggregates">${charts.join('')}${slowestTable(view)}</section>`;
}

const CHART_WIDTH = 320;
const CHART_HEIGHT = 110;

function histogramFigure(id: string, title: string, what: string, values: number[]): string {
  const caption = `<figcaption><b>${title}</b> · ${values.length} ${values.length === 1 ? 'node' : 'nodes'}, ${what}</figcaption>`;
  if (values.length === 0) return `<figure id="${id}">${caption}<p class="note">No node has got there yet.</p></figure>`;
  return `<figure id="${id}">${caption}${histogramSvg(histogram(values), title)}</figure>`;
}

/** Bars with their counts above them and each bin's range below; a bar's <title> says both. */
function histogramSvg(bins: HistogramBin[], title: string): string {
  const top = Math.max(...bins.map((b) => b.count));
  const slot = CHART_WIDTH / bins.length;
  const plot = CHART_HEIGHT - 34;
  const bars = bins.map((bin, i) => {
    const h = top === 0 ? 0 : (bin.count / top) * plot;
    const x = Math.round(i * slot * 10) / 10;
    const w = Math.max(1, Math.round((slot - 4) * 10) / 10);
    const range = `${formatDuration(bin.fromMs)}–${formatDuration(bin.toMs)}`;
    return (
      `<g class="bin" data-from-ms="${bin.fromMs}" data-to-ms="${bin.toMs}" data-count="${bin.count}">` +
      `<rect x="${x}" y="${Math.round((14 + plot - h) * 10) / 10}" width="${w}" height="${Math.round(h * 10) / 10}"><title>${bin.count} in ${range}</title></rect>` +
      `<text x="${x + w / 2}" y="${Math.round((12 + plot - h) * 10) / 10}" class="count">${bin.count}</text>` +
      `<text x="${x}" y="${CHART_HEIGHT - 8}" class="tick">${formatDuration(bin.fromMs)}</text></g>`
    );
  });
  return `<svg class="histogram" viewBox="0 0 ${CHART_WIDTH} ${CHART_HEIGHT}" width="${CHART_WIDTH}" role="img" aria-label="${title}: nodes per bin">${bars.join('')}</svg>`;
}

function slowestTable(view: FleetView): string {
  const steps = slowestSteps(view.nodes);
  if (steps.length === 0) return '';
  const rows = steps.map(
    (s) =>
      `<tr data-step="${escapeHtml(s.step)}"><td>${escapeHtml(s.phase)}</td><td>${escapeHtml(s.step)}</td><td>${formatDuration(s.medianMs)}</td>` +
      `<td>${formatDuration(s.maxMs)} (<a href="/fleet/nodes/${escapeHtml(s.slowestNode)}">${escapeHtml(s.slowestNode)}</a>)</td><td>${s.nodes}</td></tr>`,
  );
  return (
    `<figure id="slowest-steps"><figcaption><b>Slowest steps</b> · by median across nodes</figcaption>` +
    `<table><thead><tr><th>Phase</th><th>Step</th><th>Median</th><th>Slowest</th><th>Nodes</th></tr></thead><tbody>${rows.join('')}</tbody></table></figure>`
  );
}
