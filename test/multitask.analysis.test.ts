/**
 * The analysis of what the biases learn, on small hand-computed cases:
 *   - task variance from MultitaskModel.activity against a float64 computation of every unit's
 *     activity (population variance, per task, each row under its own task's biases);
 *   - the normalisation by each unit's maximum over tasks and the silent-unit cut;
 *   - average ranks, Pearson and Spearman (ties averaged) against values worked out by hand;
 *   - k-means (seeded, restarts, canonical cluster order) and the silhouette score on tiny point
 *     sets whose answers are known; choice of k by silhouette;
 *   - analyzeTaskVariance on planted clusters: finds them, flags specialised clusters, and the
 *     per-cluster Spearman correlation of bias and variance;
 *   - compareVarianceProfiles; the SVG figures render.
 */
import { describe, expect, it } from 'vitest';
import { Dataset, MultitaskDataset, MultitaskModel, Rng, multitaskAnalysis } from '../src/index.js';
import type { ActivityStats } from '../src/multitask/model.js';
import { renderVegaLiteSvg } from '../src/plot/render.js';
import { assertClose, randomNormalF32 } from './helpers/numeric.js';

const {
  averageRanks,
  pearson,
  spearman,
  normalizeTaskVariance,
  kmeans,
  silhouetteScore,
  chooseK,
  analyzeTaskVariance,
  compareVarianceProfiles,
} = multitaskAnalysis;

describe('ranks and correlations', () => {
  it('average ranks give ties the mean of the ranks they span', () => {
    expect(Array.from(averageRanks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
    expect(Array.from(averageRanks([3, 3, 3]))).toEqual([2, 2, 2]);
    expect(Array.from(averageRanks([-1, 7, 0, 7, 7]))).toEqual([1, 4, 2, 4, 4]);
  });

  it('Pearson and Spearman on hand-computed cases', () => {
    // perfectly monotone but non-linear: Spearman 1, Pearson < 1
    expect(spearman([1, 2, 3, 4], [1, 8, 27, 64])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3, 4], [1, 8, 27, 64])).toBeLessThan(0.99);
    expect(spearman([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // x = [1,2,3,4,5], y = [2,1,4,3,5]: d = [1,1,1,1,0], sum d^2 = 4, rho = 1 - 6*4/(5*24) = 0.8
    expect(spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])).toBeCloseTo(0.8, 12);
    // with ties: x = [1,2,2,3] -> ranks [1,2.5,2.5,4]; y = [1,2,3,4]; Pearson of ranks:
    // mean 2.5 both; sxy = (-1.5)(-1.5) + 0 + 0 + (1.5)(1.5) = 4.5; sxx = 4.5; syy = 5 -> 4.5/sqrt(22.5)
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(4.5 / Math.sqrt(22.5), 12);
    // Pearson: x = [1,2,3], y = [1,3,2]: sxy = 1*... mean 2; dx = [-1,0,1], dy = [-1,1,0]; sxy = 1; sxx = syy = 2 -> 0.5
    expect(pearson([1, 2, 3], [1, 3, 2])).toBeCloseTo(0.5, 12);
    expect(Number.isNaN(spearman([1, 1, 1], [1, 2, 3]))).toBe(true);
  });
});

describe('task variance', () => {
  it('normalisation divides each unit by its maximum over tasks and drops silent units', () => {
    // 2 tasks x 4 units
    const v = [Float64Array.from([4, 0, 1e-5, 2]), Float64Array.from([1, 0, 1e-5, 2])];
    const n = normalizeTaskVariance(v, 1e-3);
    expect(Array.from(n.units)).toEqual([0, 3]);
    expect(n.excluded).toBe(2);
    expect(n.profiles).toEqual([
      [1, 0.25],
      [1, 1],
    ]);
    expect(n.raw).toEqual([
      [4, 1],
      [2, 2],
    ]);
  });

  it('MultitaskModel.activity matches a float64 computation of each unit over each task', async () => {
    const I = 5;
    const H = 13;
    const rng = new Rng(4);
    const mk = (n: number, seed: number): Dataset =>
      Dataset.classification(randomNormalF32(new Rng(seed), n * I, 1), I, new Int32Array(n), 3);
    const data = MultitaskDataset.fromTasks([
      { name: 'a', data: mk(17, 1) },
      { name: 'b', data: mk(1, 2) },
      { name: 'c', data: mk(40, 3) },
    ]);
    for (const train of ['bias', 'mask'] as const) {
      const m = await MultitaskModel.create({
        inputSize: I,
        hidden: H,
        seed: 6,
        train,
        tasks: data.tasks,
        biasInit: { dist: 'normal', scale: 0.5, relative: false },
      });
      try {
        const learned = await m.getLearned();
        for (const k of Object.keys(learned)) learned[k] = randomNormalF32(rng, learned[k]!.length, 0.5);
        await m.setLearned(learned);
        const st = await m.activity(data, { batchSize: 8, threshold: 0.1 });
        const W = await m.tensor('layers.0.weight');
        const b = await m.tensor('layers.0.bias');
        const gate = train === 'mask' ? await m.tensor('layers.0.gate') : undefined;
        expect(st.tasks).toEqual(['a', 'b', 'c']);
        expect(st.count).toEqual([17, 1, 40]);
        data.tasks.forEach((t, k) => {
          const acts: number[][] = [];
          for (let r = t.offset; r < t.offset + t.n; r++) {
            const row: number[] = [];
            for (let h = 0; h < H; h++) {
              let s = b[k * H + h]!;
              for (let i = 0; i < I; i++) s += data.union.x[r * I + i]! * W[h * I + i]!;
              let a = Math.max(s, 0);
              if (gate) a *= gate[k * H + h]! > 0 ? 1 : 0;
              row.push(a);
            }
            acts.push(row);
          }
          const mean = Array.from({ length: H }, (_, h) => acts.reduce((s, r) => s + r[h]!, 0) / t.n);
          const vari = Array.from({ length: H }, (_, h) => acts.reduce((s, r) => s + (r[h]! - mean[h]!) ** 2, 0) / t.n);
          const active = Array.from({ length: H }, (_, h) => acts.filter((r) => r[h]! > 0.1).length / t.n);
          assertClose(`${train} mean ${t.name}`, st.mean[k]!, mean, 1e-5, 1e-5);
          assertClose(`${train} variance ${t.name}`, st.variance[k]!, vari, 1e-5, 1e-4);
          expect(Array.from(st.active[k]!)).toEqual(active);
        });
        expect(Array.from(st.variance[1]!).every((v) => v === 0)).toBe(true); // one sample: no variance
      } finally {
        m.dispose();
      }
    }
  });
});

describe('k-means and silhouette', () => {
  const blobs = (): number[][] => {
    const rng = new Rng(2);
    const pts: number[][] = [];
    const centres = [
      [0, 0],
      [10, 0],
      [0, 10],
    ];
    for (const c of centres) for (let i = 0; i < 20; i++) pts.push([c[0]! + 0.3 * rng.normal(), c[1]! + 0.3 * rng.normal()]);
    return pts;
  };

  it('finds three well-separated blobs; canonical order by peak dimension', () => {
    const pts = blobs();
    const r = kmeans(pts, 3, { seed: 1, restarts: 3 });
    expect(r.sizes).toEqual([20, 20, 20]);
    // blob (10, 0) peaks in dimension 0 -> cluster 0; (0, 10) peaks in dimension 1 -> 1; (0, 0) last
    expect(r.labels[20]).toBe(0);
    expect(r.labels[40]).toBe(1);
    expect(r.labels[0]).toBe(2);
    for (let b = 0; b < 3; b++) expect(new Set(Array.from(r.labels.subarray(b * 20, b * 20 + 20))).size).toBe(1);
    // same seed, same answer
    expect(Array.from(kmeans(pts, 3, { seed: 1, restarts: 3 }).labels)).toEqual(Array.from(r.labels));
  });

  it('k-means on a 1-D hand case: {0, 1, 10, 11} into 2 clusters', () => {
    const r = kmeans([[0], [1], [10], [11]], 2, { seed: 0 });
    expect(r.centroids.map((c) => c[0])).toEqual([10.5, 0.5]);
    expect(r.inertia).toBeCloseTo(1, 12);
  });

  it('silhouette on a hand-computed case', () => {
    // points 0, 1 (cluster 0) and 4 (cluster 1), 1-D
    // p=0: a = 1, b = 4 -> 0.75; p=1: a = 1, b = 3 -> 2/3; p=4: alone -> 0. mean = (0.75 + 2/3) / 3
    expect(silhouetteScore([[0], [1], [4]], [0, 0, 1])).toBeCloseTo((0.75 + 2 / 3) / 3, 12);
  });

  it('chooses k = 3 for three blobs by the silhouette criterion', () => {
    const r = chooseK(blobs(), { kMin: 2, kMax: 6, seed: 0 });
    expect(r.criterion).toBe('silhouette');
    expect(r.best.k).toBe(3);
    expect(r.scores.map((s) => s.k)).toEqual([2, 3, 4, 5, 6]);
  });
});

/** Synthetic activity statistics with planted task-selective clusters. */
function planted(): { stats: ActivityStats; biases: Float64Array[] } {
  const tasks = ['A', 'B', 'C'];
  const H = 60;
  const rng = new Rng(7);
  const variance = tasks.map(() => new Float64Array(H));
  const biases = tasks.map(() => new Float64Array(H));
  for (let j = 0; j < H; j++) {
    const group = j % 4; // 0: A only, 1: B only, 2: C only, 3: all tasks
    for (let k = 0; k < 3; k++) {
      const high = group === 3 || group === k;
      variance[k]![j] = (high ? 1 : 0.05) * (0.8 + 0.4 * rng.uniform());
      // biases rise with variance inside each cluster
      biases[k]![j] = variance[k]![j]! * 2 + 0.001 * rng.normal();
    }
  }
  for (let j = 56; j < H; j++) for (let k = 0; k < 3; k++) variance[k]![j] = 0; // silent units
  const stats: ActivityStats = {
    tasks,
    units: H,
    layer: 0,
    count: [100, 100, 100],
    mean: tasks.map(() => new Float64Array(H)),
    variance,
    active: variance.map((v) => Float64Array.from(v, (x) => (x > 0.5 ? 0.9 : x > 0 ? 0.5 : 0))),
    threshold: 0,
  };
  return { stats, biases };
}

describe('analyzeTaskVariance', () => {
  it('finds planted clusters, each task has a specialised cluster, Spearman per cluster', async () => {
    const { stats, biases } = planted();
    const { report, clustering } = analyzeTaskVariance(stats, biases, { seed: 0, kMin: 2, kMax: 6 });
    expect(report.excludedUnits).toBe(4);
    expect(report.keptUnits).toBe(56);
    expect(report.kSelection.chosen).toBe(4);
    expect(clustering.best.k).toBe(4);
    expect(report.everyTaskHasSpecialisedCluster).toBe(true);
    expect(report.clusters.map((c) => c.size).sort()).toEqual([14, 14, 14, 14]);
    // every cluster is specialised for the task where its mean profile peaks; the planted
    // single-task clusters by a wide margin, the all-task cluster by a hair
    for (const c of report.clusters) expect(c.specialisedFor).toEqual([c.dominantTask]);
    const margins = report.clusters.map((c) => c.margin).sort((a, b) => a - b);
    expect(margins[0]!).toBeLessThan(0.2);
    for (const m of margins.slice(1)) expect(m).toBeGreaterThan(0.7);
    // biases were planted increasing with variance: strongly positive overall
    for (const t of ['A', 'B', 'C']) expect(report.perTask[t]!.spearmanBiasVsVariance!).toBeGreaterThan(0.8);
    for (const c of report.clusters) for (const r of c.spearmanBiasVsVariance) expect(r).toBeGreaterThan(0.5);
    // engaged: units with NTV >= 0.5 for A: groups 0 and 3 of the kept units = 28 of 60
    expect(report.perTask.A!.engagedFraction).toBeCloseTo(28 / 60, 12);
    expect(report.perTask.A!.activeFraction).toBeCloseTo(56 / 60, 12);
    const { taskVarianceHeatmap, clusterBars, accuracyBars } = multitaskAnalysis;
    const svg = await renderVegaLiteSvg(
      taskVarianceHeatmap({ report, clustering, normalized: normalizeTaskVariance(stats.variance) }, { maxRows: 20 }),
    );
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Normalised task variance');
    expect(
      (
        await renderVegaLiteSvg(clusterBars({ report, clustering, normalized: normalizeTaskVariance(stats.variance) }))
      ).startsWith('<svg'),
    ).toBe(true);
    const acc = await renderVegaLiteSvg(
      accuracyBars([
        { task: 'A', model: 'bias', accuracy: 0.9 },
        { task: 'A', model: 'mask', accuracy: 0.8 },
      ]),
    );
    expect(acc).toContain('90.0');
  });

  it('compareVarianceProfiles: identical profiles correlate 1; scrambled ones less', () => {
    const { stats } = planted();
    const same = compareVarianceProfiles(stats, stats);
    expect(same.units).toBe(56);
    expect(same.pearson).toBeCloseTo(1, 12);
    expect(same.spearman).toBeCloseTo(1, 12);
    const rng = new Rng(1);
    const other: ActivityStats = {
      ...stats,
      variance: stats.variance.map((v) => Float64Array.from(v, (x) => x * (0.5 + rng.uniform()))),
    };
    const c = compareVarianceProfiles(stats, other);
    expect(c.spearman).toBeGreaterThan(0.5);
    expect(c.spearman).toBeLessThan(1);
    expect(Object.keys(c.perTask)).toEqual(['A', 'B', 'C']);
  });
});
