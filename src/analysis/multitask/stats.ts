/**
 * Small statistics for the multi-task analysis: task variance normalisation (after Yang et al.,
 * "Task representations in neural networks trained to perform many cognitive tasks", Nat.
 * Neurosci. 2019), ranks with ties averaged, Pearson and Spearman correlation.
 */
import { ValidationError } from '../../errors.js';

/** Default: a unit whose task variances sum to less than this is silent and left out (Yang et al. use 1e-3). */
export const DEFAULT_MIN_TOTAL_VARIANCE = 1e-3;

export interface NormalizedTaskVariance {
  /** Units kept (total variance >= minTotalVariance), as indices into the layer. */
  units: Int32Array;
  /** Per kept unit, its profile over tasks: TV[j][k] / max_k' TV[j][k'] (each row peaks at 1). */
  profiles: number[][];
  /** Per kept unit, the raw task variances. */
  raw: number[][];
  /** Units left out as silent. */
  excluded: number;
}

/**
 * Normalised task variance. `variance[k][j]` is the variance of unit j's activity over task k's
 * inputs. Each unit's profile is divided by its maximum over tasks; units whose variances sum to
 * less than `minTotalVariance` are excluded (they carry no task information).
 */
export function normalizeTaskVariance(
  variance: ArrayLike<number>[],
  minTotalVariance = DEFAULT_MIN_TOTAL_VARIANCE,
): NormalizedTaskVariance {
  const K = variance.length;
  if (K === 0) throw new ValidationError('E_EMPTY', 'expected task variances of at least one task');
  const H = variance[0]!.length;
  for (const v of variance)
    if (v.length !== H) throw new ValidationError('E_SHAPE', `expected ${H} units for every task, got ${v.length}`);
  const units: number[] = [];
  const profiles: number[][] = [];
  const raw: number[][] = [];
  for (let j = 0; j < H; j++) {
    let total = 0;
    let max = 0;
    const row: number[] = new Array(K);
    for (let k = 0; k < K; k++) {
      const v = variance[k]![j]!;
      if (!(v >= 0)) throw new ValidationError('E_NONFINITE', `expected a variance >= 0 for unit ${j}, task ${k}, got ${v}`);
      row[k] = v;
      total += v;
      if (v > max) max = v;
    }
    if (total < minTotalVariance || max <= 0) continue;
    units.push(j);
    raw.push(row);
    profiles.push(row.map((v) => v / max));
  }
  return { units: Int32Array.from(units), profiles, raw, excluded: H - units.length };
}

/** Ranks 1..n of `x`, ties given the average of the ranks they span. */
export function averageRanks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a]! - x[b]! || a - b);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && x[order[j + 1]!]! === x[order[i]!]!) j++;
    const r = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) ranks[order[t]!] = r;
    i = j + 1;
  }
  return ranks;
}

/** Pearson correlation; NaN when either side has zero variance or fewer than 2 points. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  if (y.length !== n) throw new ValidationError('E_SHAPE', `expected two samples of equal length, got ${n} and ${y.length}`);
  if (n < 2) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  return sxy / Math.sqrt(sxx * syy);
}

/** Spearman rank correlation: Pearson correlation of the average ranks (ties averaged). */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (y.length !== x.length)
    throw new ValidationError('E_SHAPE', `expected two samples of equal length, got ${x.length} and ${y.length}`);
  return pearson(averageRanks(x), averageRanks(y));
}

/** Mean of a sample (NaN for none). */
export function mean(x: ArrayLike<number>): number {
  if (x.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s / x.length;
}
