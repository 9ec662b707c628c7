/**
 * Figures of RNN results as Vega-Lite specs (rendered with src/plot's renderVegaLiteSvg):
 * target against network trajectories over time, 2-D reach paths, and eigenvalue spectra in
 * the complex plane with the unit circle.
 */
import { VEGA_LITE_SCHEMA, concatPlots, linePanel, type PlotRow, type VegaLitePanel } from '../plot/line.js';
import type { VegaLiteSpec } from '../plot/render.js';

export interface TrajectoryCurve {
  /** Legend label, e.g. 'target', 'network (teacher-forced)'. */
  label: string;
  /** [T, O] row-major. */
  values: ArrayLike<number>;
}

/**
 * One panel per output dimension: every curve against the step index (from `t0`, default 1:
 * target t is the output after input t, i.e. time t + 1).
 */
export function trajectoryPlot(
  curves: TrajectoryCurve[],
  opts: {
    outputNames: string[];
    steps: number;
    title?: string;
    t0?: number;
    width?: number;
    height?: number;
    marks?: { label: string; step: number }[];
  },
): VegaLiteSpec {
  const O = opts.outputNames.length;
  const t0 = opts.t0 ?? 1;
  const panels: VegaLitePanel[] = opts.outputNames.map((name, o) => {
    const rows: PlotRow[] = [];
    for (const c of curves)
      for (let t = 0; t < opts.steps; t++) rows.push({ t: t + t0, value: c.values[t * O + o]!, curve: c.label });
    const panel = linePanel({
      data: rows,
      x: { field: 't', title: 'time step', nice: false },
      y: { field: 'value', title: name },
      series: { field: 'curve', title: '', order: curves.map((c) => c.label) },
      points: false,
      title: O > 1 ? name : undefined,
      width: opts.width ?? 560,
      height: opts.height ?? 180,
    });
    for (const layer of panel.layer as VegaLitePanel[]) {
      const enc = layer.encoding as Record<string, Record<string, unknown>> | undefined;
      if (enc?.color) enc.color.legend = { labelLimit: 400 };
    }
    // The target is drawn again on top, dashed and wider, so the network's line never hides it.
    const target = curves.find((c) => c.label.startsWith('target'));
    if (target) {
      (panel.layer as VegaLitePanel[]).push({
        transform: [{ filter: { field: 'curve', equal: target.label } }],
        mark: { type: 'line', strokeDash: [6, 4], strokeWidth: 3, opacity: 0.9 },
        encoding: {
          y: { field: 'value', type: 'quantitative' },
          color: { field: 'curve', type: 'nominal', scale: { domain: curves.map((c) => c.label) }, legend: null },
        },
      });
    }
    if (opts.marks?.length) {
      (panel.layer as VegaLitePanel[]).push({
        data: { values: opts.marks.map((m) => ({ t: m.step + t0, label: m.label })) },
        mark: { type: 'rule', strokeDash: [4, 3], color: '#888' },
        encoding: { x: { field: 't', type: 'quantitative' } },
      });
    }
    return panel;
  });
  return concatPlots(panels, { ...(opts.title ? { title: opts.title } : {}), columns: 1 });
}

/** 2-D paths (x, y) per trial: target paths dashed, network solid, coloured by the label's first word (e.g. trained / unseen). */
export function reachPlot(
  trials: { label: string; target: ArrayLike<number>; network: ArrayLike<number>; goal: [number, number] }[],
  opts: { steps: number; title?: string },
): VegaLiteSpec {
  const rows: PlotRow[] = [];
  for (const tr of trials)
    for (const [kind, arr] of [
      ['target', tr.target],
      ['network', tr.network],
    ] as const)
      for (let t = 0; t < opts.steps; t++)
        rows.push({ x: arr[2 * t]!, y: arr[2 * t + 1]!, t, trial: tr.label, set: tr.label.split(' ')[0]!, kind });
  const goals = trials.map((tr) => ({ x: tr.goal[0], y: tr.goal[1], trial: tr.label, set: tr.label.split(' ')[0]! }));
  return {
    $schema: VEGA_LITE_SCHEMA,
    background: 'white',
    title: opts.title ?? 'Centre-out reaching',
    width: 360,
    height: 360,
    layer: [
      {
        data: { values: rows },
        mark: { type: 'line', strokeWidth: 2 },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: { domain: [-1.3, 1.3] } },
          y: { field: 'y', type: 'quantitative', scale: { domain: [-1.3, 1.3] } },
          order: { field: 't', type: 'quantitative' },
          color: { field: 'set', type: 'nominal', title: 'targets' },
          strokeDash: {
            field: 'kind',
            type: 'nominal',
            title: '',
            scale: {
              domain: ['network', 'target'],
              range: [
                [1, 0],
                [4, 3],
              ],
            },
          },
          detail: { field: 'trial', type: 'nominal' },
        },
      },
      {
        data: { values: goals },
        mark: { type: 'point', shape: 'cross', size: 120, filled: true },
        encoding: {
          x: { field: 'x', type: 'quantitative' },
          y: { field: 'y', type: 'quantitative' },
          color: { field: 'set', type: 'nominal' },
        },
      },
    ],
  } as unknown as VegaLiteSpec;
}

export interface SpectrumSeries {
  label: string;
  re: ArrayLike<number>;
  im: ArrayLike<number>;
}

/** Eigenvalues in the complex plane (one colour per spectrum) with the unit circle. */
export function eigenvaluePlot(spectra: SpectrumSeries[], opts: { title?: string; subtitle?: string } = {}): VegaLiteSpec {
  const pts: PlotRow[] = [];
  let lim = 1.1;
  for (const s of spectra)
    for (let i = 0; i < s.re.length; i++) {
      pts.push({ re: s.re[i]!, im: s.im[i]!, spectrum: s.label });
      lim = Math.max(lim, Math.abs(s.re[i]!) * 1.05, Math.abs(s.im[i]!) * 1.05);
    }
  const circle: PlotRow[] = Array.from({ length: 201 }, (_, k) => ({
    re: Math.cos((2 * Math.PI * k) / 200),
    im: Math.sin((2 * Math.PI * k) / 200),
    k,
  }));
  const domain: [number, number] = [-lim, lim];
  return {
    $schema: VEGA_LITE_SCHEMA,
    background: 'white',
    title: opts.subtitle ? { text: opts.title ?? 'Eigenvalues', subtitle: opts.subtitle } : (opts.title ?? 'Eigenvalues'),
    width: 380,
    height: 380,
    layer: [
      {
        data: { values: circle },
        mark: { type: 'line', color: '#999', strokeDash: [4, 3], strokeWidth: 1 },
        encoding: {
          x: { field: 're', type: 'quantitative', scale: { domain } },
          y: { field: 'im', type: 'quantitative', scale: { domain } },
          order: { field: 'k', type: 'quantitative' },
        },
      },
      {
        data: { values: pts },
        mark: { type: 'point', filled: true, size: 14, opacity: 0.7 },
        encoding: {
          x: { field: 're', type: 'quantitative', title: 'Re λ', scale: { domain } },
          y: { field: 'im', type: 'quantitative', title: 'Im λ', scale: { domain } },
          color: {
            field: 'spectrum',
            type: 'nominal',
            title: '',
            sort: spectra.map((s) => s.label),
            scale: { domain: spectra.map((s) => s.label) },
            legend: { orient: 'bottom', direction: 'vertical', labelLimit: 600 },
          },
        },
      },
    ],
  } as unknown as VegaLiteSpec;
}
