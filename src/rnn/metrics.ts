/**
 * Trajectory metrics over the steps a mask selects (default: every step), pooled over
 * sequences and output dimensions:
 *   mse  = mean (y - t)^2
 *   nmse = mse / var(t)            (var over the same steps, per output dimension, averaged)
 *   r2   = 1 - SS_res / SS_tot     (SS_tot about each output dimension's mean)
 */
import { expectArrayLike, describe, expectInt } from '../util/validate.js';
import { ValidationError } from '../errors.js';
import { SequenceDataset } from './sequences.js';

export interface TrajectoryMetrics {
  mse: number;
  nmse: number;
  r2: number;
  /** Number of (sequence, step) pairs scored. */
  count: number;
}

/**
 * Metrics of predictions `y` [n, T, O] against targets [n, T, O]; `mask` [n, T] (non-zero =
 * scored) or a step range applied to every sequence.
 */
export function trajectoryMetrics(
  y: ArrayLike<number>,
  targets: ArrayLike<number>,
  n: number,
  T: number,
  O: number,
  mask?: ArrayLike<number> | { from?: number; to?: number },
): TrajectoryMetrics {
  expectArrayLike('y', y);
  expectArrayLike('targets', targets);
  expectInt('n', n, 1);
  expectInt('T', T, 1);
  expectInt('O', O, 1);
  if (mask !== undefined && (typeof mask !== 'object' || mask === null))
    throw new ValidationError('E_INVALID_ARG', `expected loss weights or a range { from?, to? } for mask, got ${describe(mask)}`);
  if (y.length !== n * T * O || targets.length !== n * T * O) {
    throw new ValidationError('E_SHAPE', `expected ${n * T * O} predictions and targets, got ${y.length} and ${targets.length}`);
  }
  const range = mask && !('length' in mask) ? mask : undefined;
  const arr = mask && 'length' in mask ? mask : undefined;
  const from = range?.from ?? 0;
  const to = range?.to ?? T;
  const keep = (s: number, t: number): boolean => (arr ? arr[s * T + t]! > 0 : t >= from && t < to);
  const sum = new Float64Array(O);
  let count = 0;
  for (let s = 0; s < n; s++)
    for (let t = 0; t < T; t++) {
      if (!keep(s, t)) continue;
      count++;
      for (let o = 0; o < O; o++) sum[o]! += targets[(s * T + t) * O + o]!;
    }
  if (count === 0) return { mse: NaN, nmse: NaN, r2: NaN, count: 0 };
  const mean = Array.from(sum, (v) => v / count);
  let res = 0;
  let tot = 0;
  for (let s = 0; s < n; s++)
    for (let t = 0; t < T; t++) {
      if (!keep(s, t)) continue;
      for (let o = 0; o < O; o++) {
        const i = (s * T + t) * O + o;
        const e = y[i]! - targets[i]!;
        const d = targets[i]! - mean[o]!;
        res += e * e;
        tot += d * d;
      }
    }
  const mse = res / (count * O);
  const variance = tot / (count * O);
  return { mse, nmse: variance > 0 ? mse / variance : NaN, r2: tot > 0 ? 1 - res / tot : NaN, count };
}

/** The loss the native core minimises (see {@link SequenceDataset}), per sequence, in float64. */
export function sequenceLosses(y: ArrayLike<number>, data: SequenceDataset): Float64Array {
  expectArrayLike('y', y);
  if (!(data instanceof SequenceDataset))
    throw new ValidationError('E_INVALID_ARG', `expected a SequenceDataset for data, got ${describe(data)}`);
  if (y.length !== data.n * data.steps * data.outputSize)
    throw new ValidationError('E_SHAPE', `expected ${data.n * data.steps * data.outputSize} predictions, got ${y.length}`);
  const { n, steps: T, outputSize: O } = data;
  const out = new Float64Array(n);
  for (let s = 0; s < n; s++) {
    let wsum = 0;
    for (let t = 0; t < T; t++) wsum += data.lossWeights[s * T + t]!;
    const inv = wsum > 0 ? 1 / wsum : 1;
    let l = 0;
    for (let t = 0; t < T; t++) {
      const w = data.lossWeights[s * T + t]! * inv;
      const v = data.velocityWeights[s * T + t]! * inv;
      for (let o = 0; o < O; o++) {
        const i = (s * T + t) * O + o;
        const e = y[i]! - data.targets[i]!;
        l += (w * e * e) / O;
        if (t > 0 && v !== 0) {
          const dv = y[i]! - y[i - O]!;
          l += (v * dv * dv) / O;
        }
      }
    }
    out[s] = l;
  }
  return out;
}
