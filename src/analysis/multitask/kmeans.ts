/**
 * Seeded k-means with the number of clusters chosen by the silhouette score.
 *
 * Clustering uses `ml-kmeans` (mljs; k-means++ initialisation with a seed, Lloyd iterations, squared
 * Euclidean distance), restarted `restarts` times with seeds seed, seed+1, ...: the run with the
 * lowest inertia (sum of squared distances to the assigned centroid) is kept. Cluster ids are then
 * put in a canonical order (see {@link canonicalOrder}) so the result does not depend on the
 * library's labelling.
 *
 * The number of clusters is the k in [kMin, kMax] with the highest mean silhouette score
 * (Rousseeuw 1987; Euclidean distance). The silhouette is computed on a seeded subsample of at most
 * `silhouetteSample` points (all points when fewer), since it costs O(n^2).
 */
import { kmeans as mlKmeans } from 'ml-kmeans';
import { ValidationError } from '../../errors.js';
import { Rng } from '../../util/rng.js';
import { expectInt } from '../../util/validate.js';

export interface KMeansResult {
  k: number;
  /** Cluster of every point, in [0, k). */
  labels: Int32Array;
  centroids: number[][];
  /** Sum over points of the squared distance to their centroid. */
  inertia: number;
  /** Points per cluster. */
  sizes: number[];
  seed: number;
}

export interface KMeansOptions {
  seed?: number;
  /** Independent k-means++ starts (default 5); the lowest inertia wins. */
  restarts?: number;
  maxIterations?: number;
}

function sq(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s;
}

function checkPoints(points: number[][]): number {
  if (!Array.isArray(points) || points.length === 0)
    throw new ValidationError('E_EMPTY', 'expected at least one point to cluster');
  const d = points[0]!.length;
  if (d === 0) throw new ValidationError('E_SHAPE', 'expected points with at least one dimension');
  for (const p of points) {
    if (p.length !== d) throw new ValidationError('E_SHAPE', `expected every point to have ${d} dimensions, got ${p.length}`);
    for (const v of p) if (!Number.isFinite(v)) throw new ValidationError('E_NONFINITE', `expected finite coordinates, got ${v}`);
  }
  return d;
}

/**
 * Renumbers clusters: by the dimension where the centroid peaks (ascending), then by that peak
 * value (descending), then by size (descending). For task-variance profiles this groups clusters
 * by the task they prefer.
 */
export function canonicalOrder(centroids: number[][], sizes: number[]): number[] {
  const key = centroids.map((c, i) => {
    let arg = 0;
    for (let d = 1; d < c.length; d++) if (c[d]! > c[arg]!) arg = d;
    return { i, arg, peak: c[arg]!, size: sizes[i]! };
  });
  key.sort((a, b) => a.arg - b.arg || b.peak - a.peak || b.size - a.size || a.i - b.i);
  return key.map((k) => k.i);
}

/** Seeded k-means (see the module comment). */
export function kmeans(points: number[][], k: number, options: KMeansOptions = {}): KMeansResult {
  checkPoints(points);
  expectInt('k', k, 1, points.length);
  const seed = expectInt('seed', options.seed ?? 0, 0, 0x7fffffff);
  const restarts = expectInt('restarts', options.restarts ?? 5, 1);
  const maxIterations = expectInt('maxIterations', options.maxIterations ?? 300, 1);
  let best: { labels: number[]; centroids: number[][]; inertia: number; seed: number } | undefined;
  for (let r = 0; r < restarts; r++) {
    const s = seed + r;
    const res = mlKmeans(points, k, { initialization: 'kmeans++', seed: s, maxIterations, tolerance: 1e-10 });
    let inertia = 0;
    for (let i = 0; i < points.length; i++) inertia += sq(points[i]!, res.centroids[res.clusters[i]!]!);
    if (!best || inertia < best.inertia - 1e-12)
      best = { labels: res.clusters.slice(), centroids: res.centroids.map((c) => c.slice()), inertia, seed: s };
  }
  const sizes0 = new Array<number>(k).fill(0);
  for (const l of best!.labels) sizes0[l]!++;
  const order = canonicalOrder(best!.centroids, sizes0);
  const rename = new Int32Array(k);
  order.forEach((old, i) => {
    rename[old] = i;
  });
  const labels = Int32Array.from(best!.labels, (l) => rename[l]!);
  return {
    k,
    labels,
    centroids: order.map((o) => best!.centroids[o]!),
    inertia: best!.inertia,
    sizes: order.map((o) => sizes0[o]!),
    seed: best!.seed,
  };
}

/**
 * Mean silhouette score of a clustering: for each point, a = mean distance to the other points of
 * its cluster, b = lowest mean distance to the points of another cluster, s = (b - a) / max(a, b)
 * (s = 0 for a point alone in its cluster). Euclidean distance. With `sample` < n, computed over a
 * seeded subsample of the points (distances within the subsample only).
 */
export function silhouetteScore(
  points: number[][],
  labels: ArrayLike<number>,
  options: { sample?: number; seed?: number } = {},
): number {
  checkPoints(points);
  if (labels.length !== points.length)
    throw new ValidationError('E_SHAPE', `expected ${points.length} labels, got ${labels.length}`);
  let idx: number[] = Array.from({ length: points.length }, (_, i) => i);
  const sample = options.sample ?? Infinity;
  if (sample < idx.length) {
    const perm = new Rng((options.seed ?? 0) >>> 0).permutation(idx.length);
    idx = Array.from(perm.subarray(0, sample)).sort((a, b) => a - b);
  }
  const n = idx.length;
  let k = 0;
  for (const i of idx) k = Math.max(k, labels[i]! + 1);
  if (k < 2) return NaN;
  const sums = new Float64Array(k);
  const counts = new Float64Array(k);
  for (const i of idx) counts[labels[i]!]!++;
  let total = 0;
  for (let a = 0; a < n; a++) {
    const i = idx[a]!;
    sums.fill(0);
    const pi = points[i]!;
    for (let b = 0; b < n; b++) {
      if (a === b) continue;
      const j = idx[b]!;
      sums[labels[j]!]! += Math.sqrt(sq(pi, points[j]!));
    }
    const own = labels[i]!;
    if (counts[own]! <= 1) continue; // s = 0
    const ai = sums[own]! / (counts[own]! - 1);
    let bi = Infinity;
    for (let c = 0; c < k; c++) if (c !== own && counts[c]! > 0) bi = Math.min(bi, sums[c]! / counts[c]!);
    if (!Number.isFinite(bi)) continue;
    const m = Math.max(ai, bi);
    total += m > 0 ? (bi - ai) / m : 0;
  }
  return total / n;
}

export interface ChooseKOptions extends KMeansOptions {
  kMin?: number;
  kMax?: number;
  /** Points in the silhouette subsample (default 2000). */
  silhouetteSample?: number;
}

export interface ChooseKResult {
  criterion: 'silhouette';
  kMin: number;
  kMax: number;
  /** Mean silhouette per k tried. */
  scores: { k: number; silhouette: number; inertia: number }[];
  best: KMeansResult;
}

/** k-means for every k in [kMin, kMax] (clamped to the number of distinct points); keeps the best silhouette. */
export function chooseK(points: number[][], options: ChooseKOptions = {}): ChooseKResult {
  checkPoints(points);
  const distinct = new Set(points.map((p) => p.join(','))).size;
  const kMin = expectInt('kMin', options.kMin ?? 2, 2);
  const kMax = Math.min(expectInt('kMax', options.kMax ?? 20, kMin), distinct);
  if (kMax < kMin)
    throw new ValidationError(
      'E_INVALID_ARG',
      `expected at least ${kMin} distinct points to choose k in [${kMin}, ${options.kMax ?? 20}], got ${distinct}`,
    );
  const sample = options.silhouetteSample ?? 2000;
  const seed = options.seed ?? 0;
  const scores: ChooseKResult['scores'] = [];
  let best: KMeansResult | undefined;
  let bestScore = -Infinity;
  for (let k = kMin; k <= kMax; k++) {
    const r = kmeans(points, k, options);
    const s = silhouetteScore(points, r.labels, { sample, seed });
    scores.push({ k, silhouette: s, inertia: r.inertia });
    if (s > bestScore + 1e-12) {
      bestScore = s;
      best = r;
    }
  }
  return { criterion: 'silhouette', kMin, kMax, scores, best: best! };
}
