/**
 * In-memory supervised data: a matrix of inputs and one target per sample.
 *
 * Invariants of every {@link Dataset} (checked by the factories, kept by every method):
 *   - `x` is a Float32Array of length n * inputSize, row-major [n, inputSize], all finite;
 *   - n >= 1;
 *   - targets are either class labels (Int32Array of length n, each in [0, numClasses))
 *     or real values (Float32Array of length n * width, row-major [n, width], all finite).
 *
 * Datasets are treated as immutable: the factories keep the arrays they are given (no copy), and
 * every transformation (subset, split, take, standardize, scale) returns a new Dataset with new
 * arrays. Do not mutate the arrays of a Dataset after handing them over.
 */
import { ValidationError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { describe as describeValue, expectFinite, expectInt, expectNumber } from '../util/validate.js';

/** Class labels: `labels[i]` in [0, numClasses) is the class of sample i. */
export interface ClassTargets {
  kind: 'classes';
  labels: Int32Array;
  numClasses: number;
}

/** Real-valued targets, row-major [n, width]. */
export interface ValueTargets {
  kind: 'values';
  values: Float32Array;
  width: number;
}

export type Targets = ClassTargets | ValueTargets;

/** Per-feature statistics used by {@link Dataset.standardize}; both of length inputSize. */
export interface FeatureStats {
  mean: Float32Array;
  /** Effective standard deviation, sqrt(variance + eps): always > 0. */
  std: Float32Array;
}

/** One minibatch. Arrays are fresh copies, safe to keep. */
export interface Batch {
  /** Indices of the samples in the source dataset, length `size`. */
  indices: Int32Array;
  /** Inputs, row-major [size, inputSize]. */
  x: Float32Array;
  /** Class labels, length `size` (classification datasets only). */
  labels?: Int32Array;
  /** Target values, row-major [size, width] (regression datasets only). */
  values?: Float32Array;
  size: number;
}

export interface BatchOptions {
  /** Visit samples in a seeded random order (default false: in order 0..n-1). */
  shuffle?: boolean;
  /** Seed of the shuffle (default 0). Use a different seed per epoch, e.g. `seed + epoch`. */
  seed?: number;
  /** Skip a final batch smaller than batchSize (default false). */
  dropLast?: boolean;
}

export interface SplitResult {
  train: Dataset;
  validation: Dataset;
  /** Indices (ascending) of the training samples in the source dataset. */
  trainIndices: Int32Array;
  /** Indices (ascending) of the validation samples in the source dataset. */
  validationIndices: Int32Array;
}

export interface StandardizeOptions {
  /** Added to each variance before the square root so constant features give 0, not NaN (default 1e-8). */
  eps?: number;
}

function expectInt32Array(name: string, v: unknown): Int32Array {
  if (!(v instanceof Int32Array)) {
    throw new ValidationError('E_DTYPE', `expected an Int32Array for ${name}, got ${describeValue(v)}`);
  }
  return v;
}

function expectFloat32Array(name: string, v: unknown): Float32Array {
  if (!(v instanceof Float32Array)) {
    throw new ValidationError('E_DTYPE', `expected a Float32Array for ${name}, got ${describeValue(v)}`);
  }
  return v;
}

/** Checks x against inputSize and returns the number of rows (>= 1). */
function rowsOf(x: Float32Array, inputSize: number): number {
  if (x.length % inputSize !== 0) {
    throw new ValidationError(
      'E_SHAPE',
      `expected a length that is a multiple of inputSize ${inputSize} for x, got ${x.length} (${(x.length / inputSize).toFixed(2)} rows)`,
    );
  }
  const n = x.length / inputSize;
  if (n === 0) throw new ValidationError('E_EMPTY', 'expected at least one sample for the dataset, got 0');
  return n;
}

/** Copies rows `indices` of the row-major matrix `src` (row length `width`) into a new array. */
function gatherRows(src: Float32Array, width: number, indices: Int32Array): Float32Array {
  const out = new Float32Array(indices.length * width);
  for (let r = 0; r < indices.length; r++) {
    const from = indices[r]! * width;
    out.set(src.subarray(from, from + width), r * width);
  }
  return out;
}

function gatherInts(src: Int32Array, indices: Int32Array): Int32Array {
  const out = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = src[indices[i]!]!;
  return out;
}

/** Row-major float32 inputs [n, inputSize] with class labels or regression targets; built by the static factories. */
export class Dataset {
  /** Inputs, row-major [n, inputSize], all finite. */
  readonly x: Float32Array;
  /** One target per sample; see {@link Targets}. */
  readonly targets: Targets;
  readonly #inputSize: number;
  readonly #n: number;

  /** Trusted constructor: callers guarantee the invariants. Use the static factories. */
  private constructor(x: Float32Array, inputSize: number, targets: Targets) {
    this.x = x;
    this.#inputSize = inputSize;
    this.#n = x.length / inputSize;
    this.targets = targets;
  }

  /**
   * A classification dataset. `x` is row-major [n, inputSize]; `labels[i]` in [0, numClasses).
   * The arrays are kept, not copied.
   */
  static classification(x: Float32Array, inputSize: number, labels: Int32Array, numClasses: number): Dataset {
    expectInt('inputSize', inputSize, 1);
    expectInt('numClasses', numClasses, 1);
    expectFloat32Array('x', x);
    expectInt32Array('labels', labels);
    const n = rowsOf(x, inputSize);
    if (labels.length !== n) {
      throw new ValidationError('E_SHAPE', `expected ${n} labels (one per row of x) for labels, got ${labels.length}`);
    }
    expectFinite('x', x, inputSize);
    for (let i = 0; i < n; i++) {
      const c = labels[i]!;
      if (c < 0 || c >= numClasses) {
        throw new ValidationError('E_LABEL_RANGE', `expected a label in [0, ${numClasses}) for labels at sample ${i}, got ${c}`);
      }
    }
    return new Dataset(x, inputSize, { kind: 'classes', labels, numClasses });
  }

  /**
   * A regression dataset. `x` is row-major [n, inputSize]; `values` row-major [n, width].
   * The arrays are kept, not copied.
   */
  static regression(x: Float32Array, inputSize: number, values: Float32Array, width: number): Dataset {
    expectInt('inputSize', inputSize, 1);
    expectInt('width', width, 1);
    expectFloat32Array('x', x);
    expectFloat32Array('values', values);
    const n = rowsOf(x, inputSize);
    if (values.length !== n * width) {
      throw new ValidationError(
        'E_SHAPE',
        `expected ${n * width} elements (${n} rows of x times width ${width}) for values, got ${values.length}`,
      );
    }
    expectFinite('x', x, inputSize);
    expectFinite('values', values, width);
    return new Dataset(x, inputSize, { kind: 'values', values, width });
  }

  /** Number of samples (>= 1). */
  get n(): number {
    return this.#n;
  }

  /** Features per sample. */
  get inputSize(): number {
    return this.#inputSize;
  }

  /** numClasses for classification, width for regression. */
  get outputSize(): number {
    return this.targets.kind === 'classes' ? this.targets.numClasses : this.targets.width;
  }

  /** Same targets kind and sizes, new inputs (already known to be valid). */
  #withX(x: Float32Array): Dataset {
    return new Dataset(x, this.#inputSize, this.targets);
  }

  /**
   * A new dataset holding copies of the samples at `indices`, in that order (repeats allowed).
   * Throws E_EMPTY for no indices and E_INVALID_ARG for an index outside [0, n).
   */
  subset(indices: Int32Array): Dataset {
    expectInt32Array('indices', indices);
    if (indices.length === 0) throw new ValidationError('E_EMPTY', 'expected at least one index for indices, got 0');
    const n = this.#n;
    for (let i = 0; i < indices.length; i++) {
      const k = indices[i]!;
      if (k < 0 || k >= n) {
        throw new ValidationError('E_INVALID_ARG', `expected an index in [0, ${n}) for indices[${i}], got ${k}`);
      }
    }
    const x = gatherRows(this.x, this.#inputSize, indices);
    const t = this.targets;
    const targets: Targets =
      t.kind === 'classes'
        ? { kind: 'classes', labels: gatherInts(t.labels, indices), numClasses: t.numClasses }
        : { kind: 'values', values: gatherRows(t.values, t.width, indices), width: t.width };
    return new Dataset(x, this.#inputSize, targets);
  }

  /**
   * Seeded random split. The validation set gets floor(n * validationFraction) samples (computed
   * with a 1e-9 tolerance, so 0.29 * 100 gives 29), the training set the rest; both must be
   * non-empty (E_EMPTY otherwise). Each side keeps the original sample order. The same seed
   * always gives the same split.
   */
  split(validationFraction: number, seed: number): SplitResult {
    expectNumber('validationFraction', validationFraction, 0, 1, { exclusiveMin: true });
    if (validationFraction === 1) {
      throw new ValidationError('E_INVALID_ARG', 'expected a finite number > 0 and < 1 for validationFraction, got 1');
    }
    expectInt('seed', seed, 0, 0xffffffff);
    const n = this.#n;
    const nValidation = Math.floor(n * validationFraction + 1e-9);
    const nTrain = n - nValidation;
    if (nValidation === 0 || nTrain === 0) {
      throw new ValidationError(
        'E_EMPTY',
        `expected both sides of the split to be non-empty for validationFraction ${validationFraction} of ${n} samples, got ${nTrain} train / ${nValidation} validation`,
      );
    }
    const perm = new Rng(seed).permutation(n);
    const validationIndices = perm.slice(0, nValidation).sort();
    const trainIndices = perm.slice(nValidation).sort();
    return {
      train: this.subset(trainIndices),
      validation: this.subset(validationIndices),
      trainIndices,
      validationIndices,
    };
  }

  /** A copy of the first `count` samples, count in [1, n]. */
  take(count: number): Dataset {
    expectInt('count', count, 1, this.#n);
    const idx = new Int32Array(count);
    for (let i = 0; i < count; i++) idx[i] = i;
    return this.subset(idx);
  }

  /**
   * Per-feature standardisation of the inputs: x' = (x - mean) / std. Without `stats` they are
   * computed from this dataset (mean, and std = sqrt(population variance + eps)); pass the stats
   * returned for the training set to apply the same transform to validation or test data.
   * Targets are unchanged.
   */
  standardize(stats?: FeatureStats, opts: StandardizeOptions = {}): { dataset: Dataset; stats: FeatureStats } {
    const d = this.#inputSize;
    const n = this.#n;
    const x = this.x;
    let used: FeatureStats;
    if (stats === undefined) {
      const eps = expectNumber('eps', opts.eps ?? 1e-8, 0, Infinity, { exclusiveMin: true });
      const sum = new Float64Array(d);
      for (let i = 0; i < n; i++) {
        const row = i * d;
        for (let j = 0; j < d; j++) sum[j]! += x[row + j]!;
      }
      const mean = new Float64Array(d);
      for (let j = 0; j < d; j++) mean[j] = sum[j]! / n;
      const sq = new Float64Array(d);
      for (let i = 0; i < n; i++) {
        const row = i * d;
        for (let j = 0; j < d; j++) {
          const t = x[row + j]! - mean[j]!;
          sq[j]! += t * t;
        }
      }
      const std = new Float32Array(d);
      for (let j = 0; j < d; j++) std[j] = Math.sqrt(sq[j]! / n + eps);
      used = { mean: Float32Array.from(mean), std };
    } else {
      const mean = expectFloat32Array('stats.mean', stats.mean);
      const std = expectFloat32Array('stats.std', stats.std);
      if (mean.length !== d || std.length !== d) {
        throw new ValidationError(
          'E_SHAPE',
          `expected ${d} elements (inputSize) for stats.mean and stats.std, got ${mean.length} and ${std.length}`,
        );
      }
      expectFinite('stats.mean', mean);
      expectFinite('stats.std', std);
      for (let j = 0; j < d; j++) {
        if (!(std[j]! > 0)) throw new ValidationError('E_INVALID_ARG', `expected std > 0 for stats.std[${j}], got ${std[j]}`);
      }
      used = { mean, std };
    }
    const out = new Float32Array(x.length);
    const invStd = new Float64Array(d);
    for (let j = 0; j < d; j++) invStd[j] = 1 / used.std[j]!;
    for (let i = 0; i < n; i++) {
      const row = i * d;
      for (let j = 0; j < d; j++) out[row + j] = (x[row + j]! - used.mean[j]!) * invStd[j]!;
    }
    expectFinite('standardized x', out, d);
    return { dataset: this.#withX(out), stats: used };
  }

  /** Inputs multiplied by a finite `factor` (e.g. 1 / 255 for pixels). Targets are unchanged. */
  scale(factor: number): Dataset {
    expectNumber('factor', factor);
    const out = new Float32Array(this.x.length);
    for (let i = 0; i < out.length; i++) out[i] = this.x[i]! * factor;
    expectFinite('scaled x', out, this.#inputSize);
    return this.#withX(out);
  }

  /** Number of batches one epoch of {@link batches} yields. */
  batchCount(batchSize: number, dropLast = false): number {
    expectInt('batchSize', batchSize, 1);
    return dropLast ? Math.floor(this.#n / batchSize) : Math.ceil(this.#n / batchSize);
  }

  /**
   * One epoch of minibatches: every sample exactly once (except the dropped tail with
   * `dropLast`), in order or in a seeded random order. Arguments are checked at the call, not
   * at the first `next()`.
   */
  batches(batchSize: number, opts: BatchOptions = {}): Generator<Batch, void, undefined> {
    expectInt('batchSize', batchSize, 1);
    const shuffle = opts.shuffle ?? false;
    const seed = expectInt('seed', opts.seed ?? 0, 0, 0xffffffff);
    const dropLast = opts.dropLast ?? false;
    const n = this.#n;
    let order: Int32Array;
    if (shuffle) {
      order = new Rng(seed).permutation(n);
    } else {
      order = new Int32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
    }
    return this.#batchesOf(order, batchSize, dropLast);
  }

  *#batchesOf(order: Int32Array, batchSize: number, dropLast: boolean): Generator<Batch, void, undefined> {
    const n = order.length;
    const t = this.targets;
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      if (dropLast && size < batchSize) return;
      const indices = order.slice(start, start + size);
      const batch: Batch = { indices, x: gatherRows(this.x, this.#inputSize, indices), size };
      if (t.kind === 'classes') batch.labels = gatherInts(t.labels, indices);
      else batch.values = gatherRows(t.values, t.width, indices);
      yield batch;
    }
  }
}
