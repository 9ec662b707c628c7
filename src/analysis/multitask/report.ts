/**
 * What the biases learn: task variance of every hidden unit, clusters of units by their
 * task-variance profiles, how the learned bias relates to task variance within each cluster, which
 * units are active per task, and (given a mask-learning model of the same frozen weights) how the
 * bias-learning and mask-learning variance profiles agree.
 *
 * Definitions (see docs/multitask.md):
 *  - task variance TV[j][k]: population variance of unit j's activity over task k's inputs, the
 *    unit computed under task k's own biases (or gates);
 *  - normalised task variance NTV[j][k] = TV[j][k] / max_k' TV[j][k'], for units with
 *    sum_k TV[j][k] >= minTotalVariance (default 1e-3; the others are silent and excluded);
 *  - clusters: k-means on the NTV profiles (kmeans.ts), k by the best mean silhouette in [kMin, kMax];
 *  - a cluster is specialised for task k when its mean NTV for k exceeds its mean NTV for every other task;
 *  - Spearman(TV[., k], b_k) over the units of each cluster (average ranks for ties);
 *  - active fraction of task k: units whose activity exceeds the threshold (default 0) on at least
 *    `minActiveFraction` (default 1%) of task k's inputs, over all units of the layer;
 *    engaged fraction of task k: units with NTV[j][k] >= `engagedThreshold` (default 0.5), over all units.
 */
import { expectArrayLike, expectOptions, describe, expectNumber, expectObject, expectInt } from '../../util/validate.js';
import { ValidationError } from '../../errors.js';
import type { ActivityStats } from '../../multitask/model.js';
import { chooseK, type ChooseKResult } from './kmeans.js';
import {
  DEFAULT_MIN_TOTAL_VARIANCE,
  mean,
  normalizeTaskVariance,
  pearson,
  spearman,
  type NormalizedTaskVariance,
} from './stats.js';

export interface AnalysisOptions {
  minTotalVariance?: number;
  kMin?: number;
  /** Default min(20, 2K + 2). */
  kMax?: number;
  seed?: number;
  restarts?: number;
  silhouetteSample?: number;
  minActiveFraction?: number;
  engagedThreshold?: number;
}

export interface ClusterSummary {
  id: number;
  size: number;
  /** Mean NTV of the cluster's units per task (in task order). */
  meanProfile: number[];
  /** The task with the highest mean NTV. */
  dominantTask: string;
  /** Tasks for which this cluster is specialised (its mean NTV for the task beats every other task). */
  specialisedFor: string[];
  /** Mean NTV of the dominant task minus the highest mean NTV of any other task (how selective the cluster is). */
  margin: number;
  /** Spearman(TV[., k], bias_k) over the cluster's units, per task (null below 3 units or without biases). */
  spearmanBiasVsVariance: (number | null)[];
}

export interface TaskVarianceReport {
  tasks: string[];
  layer: number;
  units: number;
  samplesPerTask: number[];
  definitions: Record<string, string>;
  minTotalVariance: number;
  excludedUnits: number;
  keptUnits: number;
  kSelection: {
    criterion: 'silhouette';
    kMin: number;
    kMax: number;
    seed: number;
    restarts: number;
    silhouetteSample: number;
    scores: { k: number; silhouette: number; inertia: number }[];
    chosen: number;
  };
  clusters: ClusterSummary[];
  perTask: Record<
    string,
    {
      specialisedClusters: number[];
      hasSpecialisedCluster: boolean;
      activeFraction: number;
      engagedFraction: number;
      meanTaskVariance: number;
      /** Spearman(TV[., k], bias_k) over every kept unit. */
      spearmanBiasVsVariance: number | null;
    }
  >;
  /** Every task has at least one specialised cluster. */
  everyTaskHasSpecialisedCluster: boolean;
}

export interface TaskVarianceAnalysis {
  report: TaskVarianceReport;
  normalized: NormalizedTaskVariance;
  clustering: ChooseKResult;
}

/** Checks the shape of activity statistics (as `MultitaskModel.activityStats` returns them). */
function checkActivityStats(name: string, s: ActivityStats): void {
  expectObject(name, s);
  const units = expectInt(`${name}.units`, s.units, 1);
  if (!Array.isArray(s.tasks) || s.tasks.some((t) => typeof t !== 'string'))
    throw new ValidationError('E_INVALID_ARG', `expected an array of task names for ${name}.tasks, got ${describe(s.tasks)}`);
  for (const key of ['mean', 'variance', 'active'] as const) {
    const rows = s[key];
    if (!Array.isArray(rows) || rows.length !== s.tasks.length)
      throw new ValidationError('E_SHAPE', `expected ${s.tasks.length} rows for ${name}.${key}, got ${describe(rows)}`);
    rows.forEach((r, k) => {
      if (expectArrayLike(`${name}.${key}[${k}]`, r).length !== units)
        throw new ValidationError('E_SHAPE', `expected ${units} values for ${name}.${key}[${k}], got ${r.length}`);
    });
  }
}

/**
 * Analyses one hidden layer from its activity statistics (MultitaskModel.activity) and, for bias
 * learning, each task's bias vector of that layer (biases[k][j], same task order as `stats`).
 */
export function analyzeTaskVariance(
  stats: ActivityStats,
  biases: ArrayLike<number>[] | undefined,
  options: AnalysisOptions = {},
): TaskVarianceAnalysis {
  checkActivityStats('stats', stats);
  if (biases !== undefined) {
    if (!Array.isArray(biases))
      throw new ValidationError('E_INVALID_ARG', `expected an array of bias vectors for biases, got ${describe(biases)}`);
    biases.forEach((b, i) => {
      expectArrayLike(`biases[${i}]`, b);
    });
  }
  expectOptions('analyzeTaskVariance options', options);
  const K = stats.tasks.length;
  const H = stats.units;
  if (biases && (biases.length !== K || biases.some((b) => b.length !== H))) {
    throw new ValidationError('E_SHAPE', `expected ${K} bias vectors of ${H} units`);
  }
  const minTotalVariance = options.minTotalVariance ?? DEFAULT_MIN_TOTAL_VARIANCE;
  const normalized = normalizeTaskVariance(stats.variance, minTotalVariance);
  if (normalized.profiles.length < 3) {
    throw new ValidationError(
      'E_EMPTY',
      `only ${normalized.profiles.length} units have task variance >= ${minTotalVariance}: nothing to cluster`,
    );
  }
  const seed = options.seed ?? 0;
  const restarts = options.restarts ?? 5;
  const silhouetteSample = options.silhouetteSample ?? 2000;
  const kMin = options.kMin ?? 2;
  const kMax = options.kMax ?? Math.min(20, 2 * K + 2);
  const clustering = chooseK(normalized.profiles, { kMin, kMax, seed, restarts, silhouetteSample });
  const best = clustering.best;

  const members: number[][] = Array.from({ length: best.k }, () => []);
  best.labels.forEach((c, i) => {
    members[c]!.push(i);
  });
  const clusters: ClusterSummary[] = members.map((idx, c) => {
    const meanProfile = stats.tasks.map((_, k) => mean(idx.map((i) => normalized.profiles[i]![k]!)));
    let dom = 0;
    for (let k = 1; k < K; k++) if (meanProfile[k]! > meanProfile[dom]!) dom = k;
    const specialisedFor = stats.tasks.filter((_, k) => meanProfile.every((v, k2) => k2 === k || meanProfile[k]! > v));
    const spearmanBiasVsVariance = stats.tasks.map((_, k) => {
      if (!biases || idx.length < 3) return null;
      const tv = idx.map((i) => normalized.raw[i]![k]!);
      const b = idx.map((i) => biases[k]![normalized.units[i]!]!);
      const r = spearman(tv, b);
      return Number.isFinite(r) ? r : null;
    });
    const second = Math.max(-Infinity, ...meanProfile.filter((_, k) => k !== dom));
    const margin = K > 1 ? meanProfile[dom]! - second : 0;
    return {
      id: c,
      size: idx.length,
      meanProfile,
      dominantTask: stats.tasks[dom]!,
      specialisedFor,
      margin,
      spearmanBiasVsVariance,
    };
  });

  const perTask: TaskVarianceReport['perTask'] = {};
  const minActive = options.minActiveFraction ?? 0.01;
  const engaged = options.engagedThreshold ?? 0.5;
  stats.tasks.forEach((name, k) => {
    const specialisedClusters = clusters.filter((c) => c.specialisedFor.includes(name)).map((c) => c.id);
    let active = 0;
    for (let j = 0; j < H; j++) if (stats.active[k]![j]! >= minActive) active++;
    let eng = 0;
    for (const p of normalized.profiles) if (p[k]! >= engaged) eng++;
    let sp: number | null = null;
    if (biases) {
      const r = spearman(
        normalized.raw.map((row) => row[k]!),
        Array.from(normalized.units, (j) => biases[k]![j]!),
      );
      sp = Number.isFinite(r) ? r : null;
    }
    perTask[name] = {
      specialisedClusters,
      hasSpecialisedCluster: specialisedClusters.length > 0,
      activeFraction: active / H,
      engagedFraction: eng / H,
      meanTaskVariance: mean(stats.variance[k]!),
      spearmanBiasVsVariance: sp,
    };
  });

  const report: TaskVarianceReport = {
    tasks: stats.tasks,
    layer: stats.layer,
    units: H,
    samplesPerTask: stats.count,
    definitions: {
      taskVariance: 'TV[j][k] = population variance of unit j activity over task k inputs, under task k biases/gates',
      normalizedTaskVariance: `NTV[j][k] = TV[j][k] / max_k' TV[j][k'] for units with sum_k TV[j][k] >= ${minTotalVariance}`,
      clustering: `k-means (ml-kmeans, k-means++ seeded, ${restarts} restarts, lowest inertia) on NTV profiles; k in [${clustering.kMin}, ${clustering.kMax}] with the highest mean silhouette (Euclidean, seeded subsample of ${silhouetteSample})`,
      specialised: 'cluster mean NTV for the task > its mean NTV for every other task',
      spearman:
        'Spearman rank correlation (average ranks for ties) between TV[., k] and the task-k bias over the units of a cluster',
      activeFraction: `units whose activity exceeds ${stats.threshold} on at least ${minActive * 100}% of the task's inputs, over all ${H} units`,
      engagedFraction: `units with NTV >= ${engaged} for the task, over all ${H} units`,
    },
    minTotalVariance,
    excludedUnits: normalized.excluded,
    keptUnits: normalized.profiles.length,
    kSelection: {
      criterion: 'silhouette',
      kMin: clustering.kMin,
      kMax: clustering.kMax,
      seed,
      restarts,
      silhouetteSample,
      scores: clustering.scores,
      chosen: best.k,
    },
    clusters,
    perTask,
    everyTaskHasSpecialisedCluster: Object.values(perTask).every((t) => t.hasSpecialisedCluster),
  };
  return { report, normalized, clustering };
}

export interface ProfileComparison {
  /** Units kept (non-silent) in both models. */
  units: number;
  /** Over every (unit, task) pair of those units. */
  pearson: number;
  spearman: number;
  /** Per task, across units. */
  perTask: Record<string, { pearson: number; spearman: number }>;
  /** Same, on the raw task variances. */
  rawSpearman: number;
}

/** Agreement of two models' normalised task-variance profiles (e.g. bias vs mask learning, same frozen weights). */
export function compareVarianceProfiles(
  a: ActivityStats,
  b: ActivityStats,
  minTotalVariance = DEFAULT_MIN_TOTAL_VARIANCE,
): ProfileComparison {
  checkActivityStats('a', a);
  checkActivityStats('b', b);
  expectNumber('minTotalVariance', minTotalVariance, 0);
  if (a.units !== b.units || a.tasks.join('\u0000') !== b.tasks.join('\u0000')) {
    throw new ValidationError('E_SHAPE', 'expected activity statistics of the same units and tasks');
  }
  const na = normalizeTaskVariance(a.variance, minTotalVariance);
  const nb = normalizeTaskVariance(b.variance, minTotalVariance);
  const posB = new Map<number, number>();
  nb.units.forEach((u, i) => {
    posB.set(u, i);
  });
  const both: [number, number][] = [];
  na.units.forEach((u, i) => {
    const j = posB.get(u);
    if (j !== undefined) both.push([i, j]);
  });
  const K = a.tasks.length;
  const fa: number[] = [];
  const fb: number[] = [];
  const ra: number[] = [];
  const rb: number[] = [];
  for (const [i, j] of both) {
    for (let k = 0; k < K; k++) {
      fa.push(na.profiles[i]![k]!);
      fb.push(nb.profiles[j]![k]!);
      ra.push(na.raw[i]![k]!);
      rb.push(nb.raw[j]![k]!);
    }
  }
  const perTask: ProfileComparison['perTask'] = {};
  a.tasks.forEach((name, k) => {
    const x = both.map(([i]) => na.profiles[i]![k]!);
    const y = both.map(([, j]) => nb.profiles[j]![k]!);
    perTask[name] = { pearson: pearson(x, y), spearman: spearman(x, y) };
  });
  return { units: both.length, pearson: pearson(fa, fb), spearman: spearman(fa, fb), perTask, rawSpearman: spearman(ra, rb) };
}

/**
 * Unit order for a heatmap: by cluster (canonical order), then by the task where the unit's
 * profile peaks, then by that peak (descending). Returns indices into the kept units.
 */
export function heatmapOrder(normalized: NormalizedTaskVariance, labels: ArrayLike<number>): number[] {
  const idx = normalized.profiles.map((p, i) => {
    let arg = 0;
    for (let k = 1; k < p.length; k++) if (p[k]! > p[arg]!) arg = k;
    return { i, c: labels[i]!, arg, peak: p[arg]! };
  });
  idx.sort((x, y) => x.c - y.c || x.arg - y.arg || y.peak - x.peak || x.i - y.i);
  return idx.map((v) => v.i);
}
