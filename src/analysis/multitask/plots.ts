/**
 * Figures of the multi-task analysis, as Vega-Lite specs for src/plot's renderer:
 *  - a units x tasks heatmap of normalised task variance, units sorted by cluster (with a cluster
 *    strip beside it); at most `maxRows` rows, consecutive units of a cluster averaged into a row;
 *  - per-cluster bars of mean normalised task variance per task;
 *  - grouped bars of test accuracy per task and model (e.g. multi-task bias, single-task bias, mask).
 */
import { VEGA_LITE_SCHEMA, type PlotRow, type VegaLitePanel } from '../../plot/line.js';
import type { VegaLiteSpec } from '../../plot/render.js';
import { heatmapOrder, type TaskVarianceAnalysis } from './report.js';

export interface HeatmapOptions {
  maxRows?: number;
  title?: string;
}

/** Heatmap rows: consecutive units of one cluster averaged into a row (bins never cross clusters). */
export function heatmapRows(
  analysis: TaskVarianceAnalysis,
  maxRows = 400,
): { rows: PlotRow[]; strip: PlotRow[]; unitsPerRow: number } {
  const { normalized, clustering, report } = analysis;
  const labels = clustering.best.labels;
  const order = heatmapOrder(normalized, labels);
  const n = order.length;
  const per = Math.max(1, Math.ceil(n / maxRows));
  const rows: PlotRow[] = [];
  const strip: PlotRow[] = [];
  let row = 0;
  for (let start = 0; start < n; ) {
    const c = labels[order[start]!]!;
    let end = start;
    while (end < n && end - start < per && labels[order[end]!]! === c) end++;
    const K = report.tasks.length;
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let t = start; t < end; t++) s += normalized.profiles[order[t]!]![k]!;
      rows.push({ row, task: report.tasks[k]!, ntv: s / (end - start), cluster: `C${c}` });
    }
    strip.push({ row, cluster: `C${c}`, what: 'cluster' });
    row++;
    start = end;
  }
  return { rows, strip, unitsPerRow: per };
}

/** A units x tasks heatmap of normalised task variance, units sorted by cluster, with a cluster strip. */
export function taskVarianceHeatmap(analysis: TaskVarianceAnalysis, opts: HeatmapOptions = {}): VegaLiteSpec {
  const { rows, strip, unitsPerRow } = heatmapRows(analysis, opts.maxRows ?? 400);
  const tasks = analysis.report.tasks;
  const nRows = strip.length;
  const height = Math.min(640, Math.max(200, nRows * 2));
  const clusters = analysis.report.clusters.map((c) => `C${c.id}`);
  // Unrounded, unpadded bands: rows of a fractional pixel height still fill the whole canvas
  // (rounded steps left up to a third of it empty below the last row).
  const fill = { round: false, paddingInner: 0, paddingOuter: 0 };
  const y = { field: 'row', type: 'ordinal', axis: null, sort: 'ascending', scale: fill };
  const stripPanel: VegaLitePanel = {
    data: { values: strip },
    width: 18,
    height,
    mark: { type: 'rect' },
    encoding: {
      x: { field: 'what', type: 'nominal', title: null, axis: { labelAngle: -45 } },
      y,
      color: { field: 'cluster', type: 'nominal', title: 'cluster', scale: { domain: clusters, scheme: 'tableau20' } },
    },
  };
  const heat: VegaLitePanel = {
    data: { values: rows },
    width: Math.max(160, 44 * tasks.length),
    height,
    mark: { type: 'rect' },
    encoding: {
      x: { field: 'task', type: 'nominal', title: 'task', sort: tasks, axis: { labelAngle: -45 }, scale: fill },
      y,
      color: { field: 'ntv', type: 'quantitative', title: 'NTV', scale: { scheme: 'viridis', domain: [0, 1] } },
    },
  };
  const kept = analysis.report.keptUnits;
  return {
    $schema: VEGA_LITE_SCHEMA,
    background: 'white',
    title: {
      text: opts.title ?? 'Normalised task variance, units sorted by cluster',
      subtitle: `${kept} of ${analysis.report.units} units (silent units left out), ${analysis.report.clusters.length} clusters${unitsPerRow > 1 ? `; each row averages up to ${unitsPerRow} units of a cluster` : ''}`,
    },
    hconcat: [stripPanel, heat],
    spacing: 4,
    resolve: { scale: { color: 'independent', y: 'shared' } },
  } as unknown as VegaLiteSpec;
}

/** Mean normalised task variance per task, one small bar chart per cluster. */
export function clusterBars(analysis: TaskVarianceAnalysis, opts: { title?: string; columns?: number } = {}): VegaLiteSpec {
  const rows: PlotRow[] = [];
  for (const c of analysis.report.clusters) {
    c.meanProfile.forEach((v, k) => {
      rows.push({ cluster: `C${c.id} (${c.size})`, task: analysis.report.tasks[k]!, ntv: v });
    });
  }
  return {
    $schema: VEGA_LITE_SCHEMA,
    background: 'white',
    title: opts.title ?? 'Mean normalised task variance per cluster',
    data: { values: rows },
    facet: { field: 'cluster', type: 'nominal', title: null, sort: analysis.report.clusters.map((c) => `C${c.id} (${c.size})`) },
    columns: opts.columns ?? Math.min(4, analysis.report.clusters.length),
    spec: {
      width: Math.max(120, 18 * analysis.report.tasks.length),
      height: 110,
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'task', type: 'nominal', sort: analysis.report.tasks, title: null, axis: { labelAngle: -45 } },
        y: { field: 'ntv', type: 'quantitative', title: 'mean NTV', scale: { domain: [0, 1] } },
        color: { field: 'task', type: 'nominal', sort: analysis.report.tasks, legend: null, scale: { scheme: 'tableau10' } },
      },
    },
  } as unknown as VegaLiteSpec;
}

export interface AccuracyRow {
  task: string;
  /** Which model / condition, e.g. 'multi-task bias', 'single-task bias', 'mask'. */
  model: string;
  accuracy: number;
}

/** Grouped bars: test accuracy per task, one bar per model, with the value printed above. */
export function accuracyBars(
  rows: AccuracyRow[],
  opts: { title?: string; models?: string[]; tasks?: string[] } = {},
): VegaLiteSpec {
  const tasks = opts.tasks ?? [...new Set(rows.map((r) => r.task))];
  const models = opts.models ?? [...new Set(rows.map((r) => r.model))];
  const data = rows.map((r) => ({ ...r, label: (100 * r.accuracy).toFixed(1) }));
  return {
    $schema: VEGA_LITE_SCHEMA,
    background: 'white',
    title: opts.title ?? 'Test accuracy per task',
    data: { values: data },
    width: Math.max(220, tasks.length * (18 * models.length + 24)),
    height: 240,
    encoding: {
      x: { field: 'task', type: 'nominal', sort: tasks, title: 'task', axis: { labelAngle: -30 } },
      xOffset: { field: 'model', type: 'nominal', sort: models },
      y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy', scale: { domain: [0, 1] } },
      color: { field: 'model', type: 'nominal', sort: models, title: null, scale: { scheme: 'tableau10' } },
    },
    layer: [
      { mark: { type: 'bar' } },
      { mark: { type: 'text', dy: -4, fontSize: 8, angle: 0 }, encoding: { text: { field: 'label' } } },
    ],
  } as unknown as VegaLiteSpec;
}
