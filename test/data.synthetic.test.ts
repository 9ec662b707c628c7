import { describe, it, expect } from 'vitest';
import {
  evaluateSyntheticFunction,
  spiralClassification,
  syntheticFunctionInfo,
  syntheticFunctionNames,
  syntheticGrid,
  syntheticRegression,
} from '../src/data/synthetic.js';
import type { Dataset } from '../src/data/dataset.js';

function valuesOf(ds: Dataset): Float32Array {
  if (ds.targets.kind !== 'values') throw new Error('expected value targets');
  return ds.targets.values;
}

function labelsOf(ds: Dataset): Int32Array {
  if (ds.targets.kind !== 'classes') throw new Error('expected class targets');
  return ds.targets.labels;
}

describe('syntheticRegression', () => {
  it('lists 1-D and 2-D functions', () => {
    const one = syntheticFunctionNames(1);
    const two = syntheticFunctionNames(2);
    expect(one).toEqual(expect.arrayContaining(['sin', 'sines', 'step', 'abs']));
    expect(two).toEqual(expect.arrayContaining(['bumps', 'sincos']));
    expect(syntheticFunctionNames().sort()).toEqual([...one, ...two].sort());
    for (const name of one) expect(syntheticFunctionInfo(name).dims).toBe(1);
    for (const name of two) expect(syntheticFunctionInfo(name).dims).toBe(2);
  });

  it('every function gives a valid, seeded, deterministic dataset', () => {
    for (const fn of syntheticFunctionNames()) {
      const dims = syntheticFunctionInfo(fn).dims;
      const a = syntheticRegression({ fn, n: 200, seed: 5, noise: 0.1, dims });
      const b = syntheticRegression({ fn, n: 200, seed: 5, noise: 0.1, dims });
      const c = syntheticRegression({ fn, n: 200, seed: 6, noise: 0.1, dims });
      expect([a.n, a.inputSize, a.outputSize]).toEqual([200, dims, 1]);
      expect(Array.from(a.x)).toEqual(Array.from(b.x));
      expect(Array.from(valuesOf(a))).toEqual(Array.from(valuesOf(b)));
      expect(Array.from(a.x)).not.toEqual(Array.from(c.x));
      for (const v of a.x) expect(v >= -1 && v <= 1).toBe(true);
    }
  });

  it('noise-free values are the function; noise has the requested spread', () => {
    const clean = syntheticRegression({ fn: 'sin', n: 100, seed: 1 });
    for (let i = 0; i < 100; i++) expect(valuesOf(clean)[i]).toBeCloseTo(Math.sin(Math.PI * clean.x[i]!), 6);
    const sc = syntheticRegression({ fn: 'sincos', n: 50, seed: 2, dims: 2 });
    for (let i = 0; i < 50; i++) {
      expect(valuesOf(sc)[i]).toBeCloseTo(Math.sin(Math.PI * sc.x[2 * i]!) * Math.cos(Math.PI * sc.x[2 * i + 1]!), 6);
    }
    const noisy = syntheticRegression({ fn: 'abs', n: 4000, seed: 3, noise: 0.2 });
    const truth = evaluateSyntheticFunction('abs', noisy.x);
    let ss = 0;
    for (let i = 0; i < 4000; i++) ss += (valuesOf(noisy)[i]! - truth[i]!) ** 2;
    expect(Math.sqrt(ss / 4000)).toBeGreaterThan(0.18);
    expect(Math.sqrt(ss / 4000)).toBeLessThan(0.22);
  });

  it('honours range and checks arguments', () => {
    const ds = syntheticRegression({ fn: 'step', n: 100, seed: 1, range: [2, 3] });
    for (const v of ds.x) expect(v >= 2 && v <= 3).toBe(true);
    expect(() => syntheticRegression({ fn: 'sin', n: 10, seed: 1, dims: 2 })).toThrow(
      /expected dims 1 for function 'sin', got 2/,
    );
    expect(() => syntheticRegression({ fn: 'nope' as 'sin', n: 10, seed: 1 })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_ARG' }),
    );
    expect(() => syntheticRegression({ fn: 'sin', n: 0, seed: 1 })).toThrow(/for n/);
    expect(() => syntheticRegression({ fn: 'sin', n: 5, seed: 1, noise: -1 })).toThrow(/for noise/);
    expect(() => syntheticRegression({ fn: 'sin', n: 5, seed: 1, range: [1, 1] })).toThrow(/range/);
  });

  it('grids cover the range with ends included', () => {
    const g1 = syntheticGrid({ fn: 'abs', pointsPerAxis: 5 });
    expect(Array.from(g1.x)).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(Array.from(valuesOf(g1))).toEqual([1, 0.5, 0, 0.5, 1]);
    const g2 = syntheticGrid({ fn: 'bumps', pointsPerAxis: 3 });
    expect(g2.n).toBe(9);
    expect([g2.x[2 * 5], g2.x[2 * 5 + 1]]).toEqual([1, 0]); // sample iy * 3 + ix = 1 * 3 + 2
  });
});

describe('spiralClassification', () => {
  it('is deterministic by seed with balanced classes', () => {
    const a = spiralClassification({ n: 300, classes: 3, seed: 1, noise: 0.1 });
    const b = spiralClassification({ n: 300, classes: 3, seed: 1, noise: 0.1 });
    const c = spiralClassification({ n: 300, classes: 3, seed: 2, noise: 0.1 });
    expect([a.n, a.inputSize, a.outputSize]).toEqual([300, 2, 3]);
    expect(Array.from(a.x)).toEqual(Array.from(b.x));
    expect(Array.from(a.x)).not.toEqual(Array.from(c.x));
    const counts = [0, 0, 0];
    for (const k of labelsOf(a)) counts[k]! += 1;
    expect(counts).toEqual([100, 100, 100]);
  });

  it('without noise, each point lies on its class arm', () => {
    const ds = spiralClassification({ n: 300, classes: 3, seed: 4, noise: 0, turns: 1.5 });
    const labels = labelsOf(ds);
    for (let i = 0; i < ds.n; i++) {
      const px = ds.x[2 * i]!;
      const py = ds.x[2 * i + 1]!;
      const r = Math.hypot(px, py);
      expect(r).toBeLessThanOrEqual(1);
      if (r < 1e-3) continue;
      const expected = (2 * Math.PI * labels[i]!) / 3 + 2 * Math.PI * 1.5 * r;
      const diff = Math.atan2(py, px) - expected;
      const wrapped = Math.atan2(Math.sin(diff), Math.cos(diff));
      expect(Math.abs(wrapped)).toBeLessThan(1e-3 / r + 1e-4);
    }
  });

  it('embed lifts to more features with a lift shared across seeds', () => {
    const train = spiralClassification({ n: 60, classes: 2, seed: 1, embed: 32, noise: 0 });
    const sameSeed = spiralClassification({ n: 60, classes: 2, seed: 1, embed: 32, noise: 0 });
    const otherLift = spiralClassification({ n: 60, classes: 2, seed: 1, embed: 32, noise: 0, embedSeed: 99 });
    expect([train.n, train.inputSize, train.outputSize]).toEqual([60, 32, 2]);
    expect(Array.from(train.x)).toEqual(Array.from(sameSeed.x));
    expect(Array.from(train.x)).not.toEqual(Array.from(otherLift.x));
    for (const v of train.x) expect(Math.abs(v)).toBeLessThanOrEqual(1);
    // The lift is one fixed map p -> tanh(W p + b), whatever the sample seed: fit atanh(feature j)
    // as an affine function of the 2-D point on seed 7 and check it predicts seed 8 exactly.
    const pairs = (seed: number): { p: Float32Array; z: Float32Array } => ({
      p: spiralClassification({ n: 200, classes: 2, seed, noise: 0.05 }).x,
      z: spiralClassification({ n: 200, classes: 2, seed, noise: 0.05, embed: 4 }).x,
    });
    const a = pairs(7);
    const b = pairs(8);
    for (let j = 0; j < 4; j++) {
      // normal equations for atanh(z_j) ~ w0 px + w1 py + c over well-conditioned points
      const m = [
        [0, 0, 0],
        [0, 0, 0],
        [0, 0, 0],
      ];
      const r = [0, 0, 0];
      for (let i = 0; i < 200; i++) {
        const z = a.z[i * 4 + j]!;
        if (Math.abs(z) > 0.9) continue;
        const row = [a.p[2 * i]!, a.p[2 * i + 1]!, 1];
        for (let u = 0; u < 3; u++) {
          for (let v = 0; v < 3; v++) m[u]![v]! += row[u]! * row[v]!;
          r[u]! += row[u]! * Math.atanh(z);
        }
      }
      const w = solve3(m, r);
      for (let i = 0; i < 200; i++) {
        const z = b.z[i * 4 + j]!;
        if (Math.abs(z) > 0.9) continue;
        expect(w[0]! * b.p[2 * i]! + w[1]! * b.p[2 * i + 1]! + w[2]!).toBeCloseTo(Math.atanh(z), 3);
      }
    }
    expect(() => spiralClassification({ n: 2, classes: 3, seed: 1 })).toThrow(/for n/);
    expect(() => spiralClassification({ n: 10, seed: 1, embed: 1 })).toThrow(/for embed/);
  });
});

/** Solves the 3x3 system m w = r by Cramer's rule. */
function solve3(m: number[][], r: number[]): number[] {
  const det = (a: number[][]): number =>
    a[0]![0]! * (a[1]![1]! * a[2]![2]! - a[1]![2]! * a[2]![1]!) -
    a[0]![1]! * (a[1]![0]! * a[2]![2]! - a[1]![2]! * a[2]![0]!) +
    a[0]![2]! * (a[1]![0]! * a[2]![1]! - a[1]![1]! * a[2]![0]!);
  const d = det(m);
  return [0, 1, 2].map((c) => det(m.map((row, k) => row.map((v, col) => (col === c ? r[k]! : v)))) / d);
}
