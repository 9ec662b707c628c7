import { describe, it, expect } from 'vitest';
import { Dataset } from '../src/data/dataset.js';
import { ValidationError } from '../src/errors.js';

/** n samples of `d` features: x[i, j] = i * 10 + j; label i % classes. */
function toyClassification(n: number, d = 3, classes = 4): Dataset {
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = i * 10 + j;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = i % classes;
  return Dataset.classification(x, d, labels, classes);
}

function toyRegression(n: number): Dataset {
  const x = new Float32Array(n * 2);
  const v = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    x[2 * i] = i;
    x[2 * i + 1] = -i;
    v[2 * i] = i / 2;
    v[2 * i + 1] = i * i;
  }
  return Dataset.regression(x, 2, v, 2);
}

function expectValidation(f: () => unknown, code: string, ...patterns: RegExp[]): void {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a throw').toBeInstanceOf(ValidationError);
  const e = caught as ValidationError;
  expect(e.code).toBe(code);
  for (const re of patterns) expect(e.message).toMatch(re);
}

/** Row i of x as a plain array. */
function row(ds: Dataset, i: number): number[] {
  return Array.from(ds.x.subarray(i * ds.inputSize, (i + 1) * ds.inputSize));
}

describe('Dataset construction', () => {
  it('exposes sizes and targets', () => {
    const c = toyClassification(5);
    expect([c.n, c.inputSize, c.outputSize]).toEqual([5, 3, 4]);
    expect(c.targets.kind).toBe('classes');
    const r = toyRegression(4);
    expect([r.n, r.inputSize, r.outputSize]).toEqual([4, 2, 2]);
    expect(r.targets.kind).toBe('values');
  });

  it('rejects NaN and Inf naming the position', () => {
    const x = new Float32Array([1, 2, 3, NaN, 5, 6]);
    expectValidation(() => Dataset.classification(x, 3, new Int32Array([0, 1]), 2), 'E_NONFINITE', /x/, /NaN/, /row 1, column 0/);
    const v = new Float32Array([0, Infinity]);
    expectValidation(() => Dataset.regression(new Float32Array(2), 1, v, 1), 'E_NONFINITE', /values/, /Infinity/, /row 1/);
  });

  it('rejects labels out of range naming the sample', () => {
    const x = new Float32Array(6);
    expectValidation(
      () => Dataset.classification(x, 2, new Int32Array([0, 3, 1]), 3),
      'E_LABEL_RANGE',
      /\[0, 3\)/,
      /sample 1/,
      /got 3/,
    );
    expectValidation(() => Dataset.classification(x, 2, new Int32Array([0, 1, -1]), 3), 'E_LABEL_RANGE', /sample 2/, /got -1/);
  });

  it('rejects wrong typed arrays', () => {
    const labels = new Int32Array(2);
    expectValidation(
      () => Dataset.classification(new Float64Array(4) as unknown as Float32Array, 2, labels, 2),
      'E_DTYPE',
      /expected a Float32Array for x, got Float64Array\(4\)/,
    );
    expectValidation(
      () => Dataset.classification(new Float32Array(4), 2, new Uint8Array(2) as unknown as Int32Array, 2),
      'E_DTYPE',
      /Int32Array for labels/,
    );
    expectValidation(
      () => Dataset.regression(new Float32Array(4), 2, [1, 2] as unknown as Float32Array, 1),
      'E_DTYPE',
      /values/,
      /array\(2\)/,
    );
  });

  it('rejects an empty dataset', () => {
    expectValidation(
      () => Dataset.classification(new Float32Array(0), 4, new Int32Array(0), 2),
      'E_EMPTY',
      /at least one sample/,
    );
    expectValidation(() => Dataset.regression(new Float32Array(0), 4, new Float32Array(0), 1), 'E_EMPTY');
  });

  it('rejects shape mismatches', () => {
    expectValidation(
      () => Dataset.classification(new Float32Array(7), 3, new Int32Array(2), 2),
      'E_SHAPE',
      /multiple of inputSize 3 for x, got 7/,
    );
    expectValidation(
      () => Dataset.classification(new Float32Array(6), 3, new Int32Array(3), 2),
      'E_SHAPE',
      /expected 2 labels/,
      /got 3/,
    );
    expectValidation(
      () => Dataset.regression(new Float32Array(6), 3, new Float32Array(5), 2),
      'E_SHAPE',
      /expected 4 elements/,
      /got 5/,
    );
  });

  it('rejects bad sizes', () => {
    expectValidation(() => Dataset.classification(new Float32Array(6), 0, new Int32Array(2), 2), 'E_INVALID_ARG', /inputSize/);
    expectValidation(
      () => Dataset.classification(new Float32Array(6), 3, new Int32Array(2), 2.5),
      'E_INVALID_ARG',
      /numClasses/,
      /2\.5/,
    );
    expectValidation(() => Dataset.regression(new Float32Array(6), 3, new Float32Array(2), -1), 'E_INVALID_ARG', /width/);
  });
});

describe('subset, take, split', () => {
  it('subset copies the chosen rows and targets in order', () => {
    const ds = toyClassification(6);
    const sub = ds.subset(new Int32Array([4, 1, 4]));
    expect(sub.n).toBe(3);
    expect(row(sub, 0)).toEqual([40, 41, 42]);
    expect(row(sub, 1)).toEqual([10, 11, 12]);
    expect(sub.targets.kind === 'classes' && Array.from(sub.targets.labels)).toEqual([0, 1, 0]);
    sub.x[0] = -1;
    expect(ds.x[12]).toBe(40); // a copy, not a view
    const r = toyRegression(5).subset(new Int32Array([3]));
    expect(r.targets.kind === 'values' && Array.from(r.targets.values)).toEqual([1.5, 9]);
    expectValidation(() => ds.subset(new Int32Array([0, 6])), 'E_INVALID_ARG', /indices\[1\]/, /\[0, 6\)/);
    expectValidation(() => ds.subset(new Int32Array(0)), 'E_EMPTY');
  });

  it('take gives the first samples', () => {
    const t = toyClassification(10).take(3);
    expect(t.n).toBe(3);
    expect(row(t, 2)).toEqual([20, 21, 22]);
    expectValidation(() => toyClassification(10).take(11), 'E_INVALID_ARG', /count/);
  });

  it('split is a deterministic partition with floor/ceil sizes', () => {
    const ds = toyClassification(103);
    const a = ds.split(0.2, 7);
    expect([a.train.n, a.validation.n]).toEqual([83, 20]);
    const all = [...a.trainIndices, ...a.validationIndices].sort((p, q) => p - q);
    expect(all).toEqual(Array.from({ length: 103 }, (_, i) => i));
    // rows follow the indices
    for (let k = 0; k < a.validation.n; k++) expect(row(a.validation, k)[0]).toBe(a.validationIndices[k]! * 10);

    const again = ds.split(0.2, 7);
    expect(Array.from(again.validationIndices)).toEqual(Array.from(a.validationIndices));
    expect(Array.from(again.train.x)).toEqual(Array.from(a.train.x));
    const other = ds.split(0.2, 8);
    expect(Array.from(other.validationIndices)).not.toEqual(Array.from(a.validationIndices));

    expect(toyClassification(100).split(0.29, 1).validation.n).toBe(29);
    expectValidation(() => toyClassification(3).split(0.1, 1), 'E_EMPTY', /non-empty/);
    expectValidation(() => ds.split(1, 1), 'E_INVALID_ARG', /validationFraction/);
    expectValidation(() => ds.split(0, 1), 'E_INVALID_ARG');
  });
});

describe('batches', () => {
  it('covers each index exactly once per epoch with shuffle', () => {
    const ds = toyClassification(53, 3, 5);
    const seen = new Int32Array(53);
    const sizes: number[] = [];
    for (const b of ds.batches(10, { shuffle: true, seed: 3 })) {
      sizes.push(b.size);
      expect(b.indices.length).toBe(b.size);
      expect(b.x.length).toBe(b.size * 3);
      for (let k = 0; k < b.size; k++) {
        const i = b.indices[k]!;
        seen[i]! += 1;
        expect(b.x[k * 3]).toBe(i * 10);
        expect(b.labels![k]).toBe(i % 5);
      }
      expect(b.values).toBeUndefined();
    }
    expect(sizes).toEqual([10, 10, 10, 10, 10, 3]);
    expect(Array.from(seen).every((c) => c === 1)).toBe(true);
    expect(ds.batchCount(10)).toBe(6);
  });

  it('shuffles deterministically by seed, in order without shuffle', () => {
    const ds = toyClassification(40);
    const order = (seed: number): number[] => [...ds.batches(8, { shuffle: true, seed })].flatMap((b) => Array.from(b.indices));
    expect(order(1)).toEqual(order(1));
    expect(order(1)).not.toEqual(order(2));
    const plain = [...ds.batches(8)].flatMap((b) => Array.from(b.indices));
    expect(plain).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('dropLast drops the short tail; regression batches carry values', () => {
    const ds = toyRegression(11);
    const batches = [...ds.batches(4, { dropLast: true, shuffle: true, seed: 9 })];
    expect(batches.map((b) => b.size)).toEqual([4, 4]);
    expect(ds.batchCount(4, true)).toBe(2);
    const b = batches[0]!;
    for (let k = 0; k < b.size; k++) {
      const i = b.indices[k]!;
      expect([b.values![2 * k], b.values![2 * k + 1]]).toEqual([i / 2, i * i]);
    }
    expect(b.labels).toBeUndefined();
  });

  it('checks arguments at the call', () => {
    const ds = toyRegression(3);
    expectValidation(() => ds.batches(0), 'E_INVALID_ARG', /batchSize/);
    expectValidation(() => ds.batches(2, { shuffle: true, seed: -1 }), 'E_INVALID_ARG', /seed/);
  });
});

describe('standardize and scale', () => {
  it('computes per-feature stats and applies them to another set', () => {
    // feature 0 varies, feature 1 is constant
    const train = Dataset.regression(new Float32Array([1, 5, 3, 5, 5, 5]), 2, new Float32Array([0, 1, 2]), 1);
    const { dataset, stats } = train.standardize();
    expect(Array.from(stats.mean)).toEqual([3, 5]);
    expect(stats.std[0]).toBeCloseTo(Math.sqrt(8 / 3), 5);
    expect(stats.std[1]).toBeGreaterThan(0);
    expect(Array.from(dataset.x).every(Number.isFinite)).toBe(true);
    expect(dataset.x[1]).toBe(0); // constant feature -> 0, not NaN
    expect(dataset.x[0]).toBeCloseTo(-2 / Math.sqrt(8 / 3), 5);
    expect(dataset.targets).toBe(train.targets);

    const test = Dataset.regression(new Float32Array([3, 5, 7, 6]), 2, new Float32Array([0, 0]), 1);
    const applied = test.standardize(stats);
    expect(applied.stats).toEqual(stats);
    expect(applied.dataset.x[0]).toBeCloseTo(0, 6);
    expect(applied.dataset.x[2]).toBeCloseTo(4 / Math.sqrt(8 / 3), 5);
    expect(applied.dataset.x[3]).toBeCloseTo(1 / stats.std[1]!, 0);

    // the mean of a standardized training set is 0 and its variance ~1
    const big = toyClassification(50, 4).standardize().dataset;
    let m = 0;
    let v = 0;
    for (let i = 0; i < 50; i++) m += big.x[i * 4 + 2]!;
    for (let i = 0; i < 50; i++) v += big.x[i * 4 + 2]! ** 2;
    expect(m / 50).toBeCloseTo(0, 5);
    expect(v / 50).toBeCloseTo(1, 4);
  });

  it('validates given stats', () => {
    const ds = toyClassification(4, 2);
    expectValidation(
      () => ds.standardize({ mean: new Float32Array(3), std: new Float32Array(3).fill(1) }),
      'E_SHAPE',
      /expected 2 elements/,
    );
    expectValidation(
      () => ds.standardize({ mean: new Float32Array(2), std: new Float32Array([1, 0]) }),
      'E_INVALID_ARG',
      /stats\.std\[1\]/,
    );
    expectValidation(() => ds.standardize({ mean: new Float32Array([0, NaN]), std: new Float32Array(2).fill(1) }), 'E_NONFINITE');
  });

  it('scale multiplies inputs only', () => {
    const ds = toyClassification(2, 2).scale(1 / 255);
    expect(ds.x[3]).toBeCloseTo(11 / 255, 7);
    expect(ds.targets.kind).toBe('classes');
    expectValidation(() => ds.scale(NaN), 'E_INVALID_ARG', /factor/);
    expectValidation(() => ds.scale(1e300), 'E_NONFINITE');
  });
});
