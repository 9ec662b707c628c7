/** Vega-Lite figures of the dynamics studies (rendered to SVG by src/plot). */
import { concatPlots, linePanel, linePlot, type PlotRow } from '../plot/line.js';
import type { VegaLiteSpec } from '../plot/render.js';
import type { ConvergenceStudy, OdeComparison, RankStudy, StabilityStudy } from './experiments.js';
import { DYNAMICS_RULES } from './modes.js';
import type { SimulationResult } from './simulate.js';

const RULE_ORDER = [...DYNAMICS_RULES];
const floor = (v: number): number => Math.max(v, 1e-17);

/** Loss against updates, one line per run. */
export function lossFigure(runs: SimulationResult[], title = 'Teacher-student loss'): VegaLiteSpec {
  const data: PlotRow[] = runs.flatMap((r) => r.k.map((k, i) => ({ rule: r.rule, k, loss: floor(r.loss[i]!) })));
  return linePlot({
    data,
    x: { field: 'k', title: 'update k' },
    y: { field: 'loss', title: 'loss (1/2 |y - y*|^2)', scale: 'log' },
    series: { field: 'rule', order: RULE_ORDER },
    points: false,
    title,
  });
}

/** a, b, w of every mode: simulation (solid) and ODE (dashed) against time lr * k. */
export function odeFigure(c: OdeComparison): VegaLiteSpec {
  const panels = (['a', 'b', 'w'] as const).map((coord) => {
    const data: PlotRow[] = [];
    c.t.forEach((t, r) => {
      const sim = c.simulation[r]!;
      const ode = c.ode[r];
      for (const [i, v] of sim[coord].entries()) data.push({ t, value: v, mode: `mode ${i}`, source: 'simulation' });
      for (const [i, v] of (ode?.[coord] ?? []).entries()) data.push({ t, value: v, mode: `mode ${i}`, source: 'ODE' });
    });
    return linePanel({
      data,
      x: { field: 't', title: 'time lr x k' },
      y: { field: 'value', title: coord },
      series: { field: 'mode' },
      dash: { field: 'source', order: ['simulation', 'ODE'] },
      points: false,
      width: 300,
      height: 220,
      title: coord,
    });
  });
  return concatPlots(panels, { title: `${c.rule}: per-mode ODE vs simulation (lr ${c.lr})` });
}

/** Singular values of W_K - W_0 over the first, one line per rule (log scale; exact zeros drawn at 1e-17). */
export function rankFigure(r: RankStudy): VegaLiteSpec {
  const data: PlotRow[] = r.results.flatMap((x) => x.svW.map((v, i) => ({ rule: x.rule, index: i + 1, sv: floor(v) })));
  return linePlot({
    data,
    x: { field: 'index', title: 'singular value index' },
    y: { field: 'sv', title: 'sigma_i / sigma_1 of W_K - W_0', scale: 'log' },
    series: { field: 'rule', order: ['bptt', 'eprop', 'tbptt', 'rflo'] },
    title: `Rank of the learned change (H = ${r.hidden}, I = ${r.inputSize}, O = ${r.outputSize})`,
  });
}

/** Largest non-zero real part of the Jacobian's eigenvalues over the optimal manifold, and the runs that leave. */
export function stabilityFigure(s: StabilityStudy): VegaLiteSpec {
  const rows: PlotRow[] = s.rows.map((r) => ({
    s: r.s,
    maxRe: r.maxRe,
    rule: r.rule === 'rflo' || r.rule === 'eprop' ? `${r.rule} a-hat ${r.aHat > 0 ? '+1' : '-1'}` : r.rule,
  }));
  const map = linePanel({
    data: rows,
    x: { field: 's', title: 'readout a = s on the optimal manifold' },
    y: { field: 'maxRe', title: 'max Re(eigenvalue), zero mode excluded' },
    series: { field: 'rule' },
    points: false,
    title: 'Stability (positive: unstable)',
  });
  const leave = linePanel({
    data: s.leave.flatMap((l) =>
      l.t.map((t, i) => ({ t, distance: floor(l.distance[i]!), run: `${l.source} a-hat ${l.aHat > 0 ? '+1' : '-1'}` })),
    ),
    x: { field: 't', title: 'time lr x k' },
    y: { field: 'distance', title: 'distance from the optimal point (s = 1)', scale: 'log' },
    series: { field: 'run' },
    points: false,
    title: 'RFLO started next to s = 1',
  });
  return concatPlots([map, leave], { independentLegends: true });
}

/** Final relative loss of every run, by seed, one line per rule. */
export function convergenceFigure(c: ConvergenceStudy): VegaLiteSpec {
  const data: PlotRow[] = c.runs.map((r) => ({ rule: r.rule, seed: r.seed, loss: floor(Math.min(r.finalRelativeLoss, 1e6)) }));
  const s = c.summary.map((x) => `${x.rule} ${x.converged}/${x.runs}`).join(', ');
  return linePlot({
    data,
    x: { field: 'seed' },
    y: { field: 'loss', title: 'final loss / zero-student loss', scale: 'log' },
    series: { field: 'rule', order: RULE_ORDER },
    title: 'Convergence over seeds',
    subtitle: `converged: ${s}`,
  });
}
