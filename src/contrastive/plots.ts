/**
 * Figures of the contrastive rules (Vega-Lite specs; render with src/plot's renderVegaLiteSvg):
 * gradient-estimate error against beta per estimator, accuracy curves per rule, and the
 * random-phase rule's timeline of phases with one unit's bias.
 */
import { concatPlots, linePanel, linePlot, type PlotRow } from '../plot/line.js';
import type { VegaLiteSpec } from '../plot/render.js';
import { ValidationError } from '../errors.js';
import { describe, expectArrayLike, expectInt } from '../util/validate.js';

/** Plot rows: an array of objects. */
function expectRows<T>(name: string, rows: T[]): T[] {
  if (!Array.isArray(rows) || rows.some((r) => typeof r !== 'object' || r === null))
    throw new ValidationError('E_INVALID_ARG', `expected an array of row objects for ${name}, got ${describe(rows)}`);
  return rows;
}

/** Rows { estimator, beta, relError }: log-log lines per estimator. */
export function errorVsBetaPlot(rows: { estimator: string; beta: number; relError: number }[]): VegaLiteSpec {
  return linePlot({
    data: expectRows('rows', rows),
    x: { field: 'beta', title: 'beta (nudge)', scale: 'log' },
    y: { field: 'relError', title: 'relative error vs exact gradient', scale: 'log' },
    series: { field: 'estimator', title: 'estimator' },
    points: true,
    title: 'Bias-gradient estimates against the exact equilibrium gradient',
  });
}

/** Rows { rule, epoch, accuracy }: test (validation) accuracy per epoch and rule. */
export function accuracyCurvesPlot(rows: { rule: string; epoch: number; accuracy: number }[], title: string): VegaLiteSpec {
  return linePlot({
    data: expectRows('rows', rows),
    x: { field: 'epoch', title: 'epoch' },
    y: { field: 'accuracy', title: 'test accuracy', zero: false },
    series: { field: 'rule', title: 'rule' },
    points: true,
    title,
  });
}

/**
 * The random-phase rule over time from a phase log [type (1 nudged, 0 free), length, bias] per
 * phase: the phase type as a step trace and the logged unit's bias at each phase end.
 */
export function phaseTimelinePlot(log: Float32Array, unit: number): VegaLiteSpec {
  expectArrayLike('log', log);
  expectInt('unit', unit, 0);
  const phases: PlotRow[] = [];
  const bias: PlotRow[] = [];
  let t = 0;
  for (let i = 0; i + 2 < log.length; i += 3) {
    const type = log[i]!,
      len = log[i + 1]!;
    phases.push({ step: t, phase: type }, { step: t + len, phase: type });
    t += len;
    bias.push({ step: t, bias: log[i + 2]! });
  }
  return concatPlots(
    [
      linePanel({
        data: phases,
        x: { field: 'step', title: 'relaxation step' },
        y: { field: 'phase', title: 'phase (1 nudged, 0 free)', domain: [0, 1] },
        height: 90,
        width: 520,
      }),
      linePanel({
        data: bias,
        x: { field: 'step', title: 'relaxation step' },
        y: { field: 'bias', title: `bias of hidden unit ${unit}`, zero: false },
        height: 200,
        width: 520,
      }),
    ],
    { title: 'Random-phase rule: phases and one unit bias', columns: 1 },
  );
}
