/**
 * A generic line-plot builder over Vega-Lite: long-format rows, one line per series, optional
 * shaded band (e.g. mean ± spread), optional log axes. The accuracy-vs-width and loss-curve
 * figures are built on it; other figures (RNN tasks, multi-task curves) can reuse it.
 */
import type { VegaLiteSpec } from './render.js';

export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** One data row: field name to value. */
export type PlotRow = Record<string, string | number | boolean | null>;

/** A Vega-Lite view that is not top-level (a panel for {@link concatPlots}). */
export type VegaLitePanel = Record<string, unknown>;

export interface AxisOptions {
  /** Row field plotted on this axis. */
  field: string;
  /** Axis title (default: the field name). */
  title?: string;
  /** 'log' for a logarithmic axis (values must be > 0). Default 'linear'. */
  scale?: 'linear' | 'log';
  /** Fixed [min, max] of the scale. */
  domain?: [number, number];
  /** Whether a linear scale must include zero (default false). */
  zero?: boolean;
  /** Explicit tick values (e.g. the widths of a sweep). */
  values?: number[];
  /** d3-format string for tick labels, e.g. 'd', '.2f', '~s'. */
  format?: string;
  /** Round the domain out to nice values (default true; false keeps the data's extent). */
  nice?: boolean;
  /** Pixels of padding added at both ends of the scale. */
  padding?: number;
}

export interface SeriesOptions {
  /** Row field naming the series. */
  field: string;
  /** Legend title (default: the field name). */
  title?: string;
  /** Order of the series in the legend and colour scale (others follow, sorted). */
  order?: string[];
}

export interface LinePlotOptions {
  data: PlotRow[];
  x: AxisOptions;
  y: AxisOptions;
  /** Colour: one line per distinct value of this field. */
  series?: SeriesOptions;
  /** Dash pattern by another field (e.g. train vs validation). */
  dash?: SeriesOptions;
  /** A shaded band between two fields (per series), e.g. mean - sd and mean + sd. */
  band?: { lower: string; upper: string; opacity?: number };
  /** Draw a point at each value (default true). */
  points?: boolean;
  /** Fields shown in the tooltip when the spec is viewed interactively (no effect on SVG output). */
  tooltip?: string[];
  title?: string;
  subtitle?: string;
  /** Plot area size in pixels (default 420 x 280). */
  width?: number;
  height?: number;
}

function distinct(rows: PlotRow[], field: string, order: string[] = []): string[] {
  const seen = new Set<string>();
  for (const r of rows) {
    const v = r[field];
    if (v !== undefined && v !== null) seen.add(String(v));
  }
  const known = order.filter((o) => seen.has(o));
  const rest = [...seen].filter((v) => !order.includes(v)).sort();
  return [...known, ...rest];
}

function positional(axis: AxisOptions): Record<string, unknown> {
  const scale: Record<string, unknown> = { type: axis.scale ?? 'linear' };
  if (axis.domain) scale.domain = axis.domain;
  if ((axis.scale ?? 'linear') === 'linear') scale.zero = axis.zero ?? false;
  if (axis.nice !== undefined) scale.nice = axis.nice;
  if (axis.padding !== undefined) scale.padding = axis.padding;
  const axisDef: Record<string, unknown> = {};
  if (axis.values) axisDef.values = axis.values;
  if (axis.format) axisDef.format = axis.format;
  return { field: axis.field, type: 'quantitative', title: axis.title ?? axis.field, scale, axis: axisDef };
}

function categorical(s: SeriesOptions, rows: PlotRow[]): Record<string, unknown> {
  const domain = distinct(rows, s.field, s.order);
  return { field: s.field, type: 'nominal', title: s.title ?? s.field, scale: { domain }, sort: domain };
}

/** A line plot as a panel (no $schema): use it inside {@link concatPlots}, or use {@link linePlot}. */
export function linePanel(opts: LinePlotOptions): VegaLitePanel {
  const x = positional(opts.x);
  const y = positional(opts.y);
  const shared: Record<string, unknown> = { x };
  const color = opts.series ? categorical(opts.series, opts.data) : undefined;
  const lineEnc: Record<string, unknown> = { y };
  if (color) lineEnc.color = color;
  if (opts.dash) lineEnc.strokeDash = categorical(opts.dash, opts.data);
  if (opts.tooltip?.length) {
    lineEnc.tooltip = opts.tooltip.map((field) => ({
      field,
      type: typeof opts.data[0]?.[field] === 'number' ? 'quantitative' : 'nominal',
    }));
  }
  const layers: VegaLitePanel[] = [];
  if (opts.band) {
    const bandEnc: Record<string, unknown> = {
      y: { ...y, field: opts.band.lower },
      y2: { field: opts.band.upper },
    };
    // The band takes the series colour but stays out of the legend (whose symbols follow the lines).
    if (color) bandEnc.color = color;
    if (opts.dash) bandEnc.detail = { field: opts.dash.field, type: 'nominal' };
    layers.push({ mark: { type: 'area', fillOpacity: opts.band.opacity ?? 0.18 }, encoding: bandEnc });
  }
  layers.push({ mark: { type: 'line', point: opts.points ?? true, strokeWidth: 2 }, encoding: lineEnc });
  const panel: VegaLitePanel = {
    data: { values: opts.data },
    width: opts.width ?? 420,
    height: opts.height ?? 280,
    encoding: shared,
    layer: layers,
  };
  if (opts.title) panel.title = opts.subtitle ? { text: opts.title, subtitle: opts.subtitle } : opts.title;
  return panel;
}

/** A complete line-plot spec (see {@link LinePlotOptions}). */
export function linePlot(opts: LinePlotOptions): VegaLiteSpec {
  return { $schema: VEGA_LITE_SCHEMA, background: 'white', ...linePanel(opts) } as unknown as VegaLiteSpec;
}

/**
 * Panels side by side (wrapping after `columns`), with an optional overall title. Colour and dash
 * scales are shared by default (one legend when the panels plot the same series).
 */
export function concatPlots(
  panels: VegaLitePanel[],
  opts: { title?: string; columns?: number; independentLegends?: boolean } = {},
): VegaLiteSpec {
  if (panels.length === 1 && !opts.title)
    return { $schema: VEGA_LITE_SCHEMA, background: 'white', ...panels[0] } as unknown as VegaLiteSpec;
  const spec: Record<string, unknown> = {
    $schema: VEGA_LITE_SCHEMA,
    background: 'white',
    concat: panels,
    columns: opts.columns ?? panels.length,
    resolve: opts.independentLegends
      ? { scale: { color: 'independent', strokeDash: 'independent' } }
      : { scale: { color: 'shared', strokeDash: 'shared' } },
  };
  if (opts.title) spec.title = opts.title;
  return spec as unknown as VegaLiteSpec;
}
