/**
 * The paper's accuracy-vs-width figure: test accuracy (mean ± spread over seeds) against hidden
 * width on a log axis, one line per trainable set (bias / readout / full).
 */
import { linePlot, type PlotRow } from './line.js';
import type { VegaLiteSpec } from './render.js';

export interface WidthAccuracyRow {
  width: number;
  /** Trainable set, e.g. 'bias', 'readout', 'full'. */
  train: string;
  seed: number;
  testAccuracy: number;
}

export interface WidthAccuracySummary {
  width: number;
  train: string;
  /** Number of seeds aggregated. */
  seeds: number;
  mean: number;
  /** Sample standard deviation over seeds (0 for one seed). */
  std: number;
  min: number;
  max: number;
}

/** The usual order of trainable sets in tables and legends. */
export const TRAIN_ORDER = ['bias', 'readout', 'full'];

function trainRank(t: string): number {
  const i = TRAIN_ORDER.indexOf(t);
  return i < 0 ? TRAIN_ORDER.length : i;
}

/** Mean, standard deviation, min and max of test accuracy per (train, width), sorted. */
export function summarizeByWidth(rows: WidthAccuracyRow[]): WidthAccuracySummary[] {
  const groups = new Map<string, WidthAccuracyRow[]>();
  for (const r of rows) {
    const key = `${r.train}\u0000${r.width}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const out: WidthAccuracySummary[] = [];
  for (const g of groups.values()) {
    const acc = g.map((r) => r.testAccuracy);
    const n = acc.length;
    const mean = acc.reduce((s, v) => s + v, 0) / n;
    const std = n > 1 ? Math.sqrt(acc.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0;
    out.push({ width: g[0]!.width, train: g[0]!.train, seeds: n, mean, std, min: Math.min(...acc), max: Math.max(...acc) });
  }
  return out.sort((a, b) => trainRank(a.train) - trainRank(b.train) || a.train.localeCompare(b.train) || a.width - b.width);
}

export interface AccuracyVsWidthOptions {
  /** Band around the mean: ± one standard deviation (default) or the min..max range over seeds. */
  spread?: 'std' | 'range';
  title?: string;
  width?: number;
  height?: number;
}

/** Vega-Lite spec of test accuracy vs hidden width (log x), mean ± spread over seeds per trainable set. */
export function accuracyVsWidthPlot(rows: WidthAccuracyRow[], opts: AccuracyVsWidthOptions = {}): VegaLiteSpec {
  const summary = summarizeByWidth(rows);
  const spread = opts.spread ?? 'std';
  const data: PlotRow[] = summary.map((s) => ({
    width: s.width,
    train: s.train,
    seeds: s.seeds,
    mean: s.mean,
    std: s.std,
    lower: spread === 'std' ? s.mean - s.std : s.min,
    upper: spread === 'std' ? s.mean + s.std : s.max,
  }));
  const widths = [...new Set(summary.map((s) => s.width))].sort((a, b) => a - b);
  const maxSeeds = summary.reduce((m, s) => Math.max(m, s.seeds), 0);
  const band = spread === 'std' ? 'mean ± s.d.' : 'mean, min-max';
  return linePlot({
    data,
    x: { field: 'width', title: 'hidden width (neurons)', scale: 'log', values: widths, format: 'd', nice: false, padding: 24 },
    y: { field: 'mean', title: 'test accuracy' },
    series: { field: 'train', title: 'trained', order: TRAIN_ORDER },
    band: { lower: 'lower', upper: 'upper' },
    tooltip: ['train', 'width', 'mean', 'std', 'seeds'],
    title: opts.title ?? 'Test accuracy vs hidden width',
    subtitle: `${band} over ${maxSeeds} seed${maxSeeds === 1 ? '' : 's'}`,
    ...(opts.width !== undefined ? { width: opts.width } : {}),
    ...(opts.height !== undefined ? { height: opts.height } : {}),
  });
}
