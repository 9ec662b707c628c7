/**
 * Sequence data for recurrent networks: N sequences of T steps, inputs [N, T, I] (I may be 0:
 * autonomous generation), targets [N, T, O], and per step a loss weight (default 1; 0 masks a
 * step, e.g. a washout) and a velocity-penalty weight (default 0; penalises |y_t - y_{t-1}|^2,
 * e.g. at the end of a reach). Each sequence has a condition index that selects its learned
 * initial state when the model keeps one per condition (default 0: the shared one).
 *
 * Target t is compared with the output after input t (y[t+1] = A r[t+1] + c). The loss of a
 * sequence is
 *   ( sum_t w_t |y_t - target_t|^2 / O  +  sum_{t>=1} v_t |y_t - y_{t-1}|^2 / O ) / sum_t w_t
 * (sum_t w_t replaced by 1 when it is 0), and a batch's loss is the mean over its sequences.
 *
 * Immutable like {@link Dataset}: the factory keeps the arrays it is given.
 */
import { ValidationError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { describe, expectFinite, expectInt, expectNumber } from '../util/validate.js';

export interface SequenceDataOptions {
  /** Row-major [n, steps, inputSize]; omit (or empty) when inputSize is 0. */
  inputs?: Float32Array;
  /** Row-major [n, steps, outputSize]. */
  targets: Float32Array;
  steps: number;
  inputSize: number;
  outputSize: number;
  /** [n, steps] loss weight per step (default 1). */
  lossWeights?: Float32Array;
  /** [n, steps] velocity-penalty weight per step (default 0). */
  velocityWeights?: Float32Array;
  /** [n] initial-state row of each sequence (default 0). */
  conditions?: Int32Array;
}

function f32(name: string, v: unknown, length: number): Float32Array {
  if (!(v instanceof Float32Array))
    throw new ValidationError('E_DTYPE', `expected a Float32Array for ${name}, got ${describe(v)}`);
  if (v.length !== length) throw new ValidationError('E_SHAPE', `expected ${length} elements for ${name}, got ${v.length}`);
  return v;
}

/** Sequences for an RNN: inputs [n, T, I], targets [n, T, O] and an optional condition per sequence. */
export class SequenceDataset {
  /** [n, steps, inputSize] */
  readonly inputs: Float32Array;
  /** [n, steps, outputSize] */
  readonly targets: Float32Array;
  /** [n, steps] */
  readonly lossWeights: Float32Array;
  /** [n, steps] */
  readonly velocityWeights: Float32Array;
  /** [n] */
  readonly conditions: Int32Array;
  readonly n: number;
  readonly steps: number;
  readonly inputSize: number;
  readonly outputSize: number;

  private constructor(o: Required<SequenceDataOptions>, n: number) {
    this.inputs = o.inputs;
    this.targets = o.targets;
    this.lossWeights = o.lossWeights;
    this.velocityWeights = o.velocityWeights;
    this.conditions = o.conditions;
    this.steps = o.steps;
    this.inputSize = o.inputSize;
    this.outputSize = o.outputSize;
    this.n = n;
  }

  /** Validates shapes and finiteness (typed errors) and keeps the arrays. */
  static create(o: SequenceDataOptions): SequenceDataset {
    if (typeof o !== 'object' || o === null)
      throw new ValidationError('E_INVALID_ARG', `expected a sequence-data object, got ${describe(o)}`);
    const steps = o.steps;
    if (steps === 0) throw new ValidationError('E_EMPTY', 'expected a sequence length >= 1 for steps, got 0');
    expectInt('steps', steps, 1);
    const I = expectInt('inputSize', o.inputSize, 0);
    const O = expectInt('outputSize', o.outputSize, 1);
    if (!(o.targets instanceof Float32Array))
      throw new ValidationError('E_DTYPE', `expected a Float32Array for targets, got ${describe(o.targets)}`);
    if (o.targets.length === 0) throw new ValidationError('E_EMPTY', 'expected at least one sequence, got 0 targets');
    if (o.targets.length % (steps * O) !== 0) {
      throw new ValidationError(
        'E_SHAPE',
        `expected a multiple of steps * outputSize = ${steps * O} elements for targets, got ${o.targets.length}`,
      );
    }
    const n = o.targets.length / (steps * O);
    const inputs =
      I === 0 ? (o.inputs?.length ? f32('inputs', o.inputs, 0) : new Float32Array(0)) : f32('inputs', o.inputs, n * steps * I);
    expectFinite('inputs', inputs, Math.max(I, 1));
    expectFinite('targets', o.targets, O);
    const lossWeights =
      o.lossWeights === undefined ? new Float32Array(n * steps).fill(1) : f32('lossWeights', o.lossWeights, n * steps);
    const velocityWeights =
      o.velocityWeights === undefined ? new Float32Array(n * steps) : f32('velocityWeights', o.velocityWeights, n * steps);
    expectFinite('lossWeights', lossWeights, steps);
    expectFinite('velocityWeights', velocityWeights, steps);
    for (const [name, arr] of [
      ['lossWeights', lossWeights],
      ['velocityWeights', velocityWeights],
    ] as const) {
      for (let i = 0; i < arr.length; i++) {
        if (arr[i]! < 0)
          throw new ValidationError(
            'E_INVALID_ARG',
            `expected weights >= 0 in ${name}, got ${arr[i]} at sequence ${Math.floor(i / steps)}, step ${i % steps}`,
          );
      }
    }
    let conditions: Int32Array;
    if (o.conditions === undefined) conditions = new Int32Array(n);
    else {
      if (!(o.conditions instanceof Int32Array))
        throw new ValidationError('E_DTYPE', `expected an Int32Array for conditions, got ${describe(o.conditions)}`);
      if (o.conditions.length !== n)
        throw new ValidationError(
          'E_SHAPE',
          `expected ${n} elements (one per sequence) for conditions, got ${o.conditions.length}`,
        );
      conditions = o.conditions;
      for (let i = 0; i < n; i++) {
        if (!(conditions[i]! >= 0))
          throw new ValidationError('E_INVALID_ARG', `expected condition indices >= 0, got ${conditions[i]} at sequence ${i}`);
      }
    }
    return new SequenceDataset(
      { inputs, targets: o.targets, lossWeights, velocityWeights, conditions, steps, inputSize: I, outputSize: O },
      n,
    );
  }

  /** Number of initial-state rows the conditions need (max + 1). */
  get numConditions(): number {
    let m = 0;
    for (let i = 0; i < this.n; i++) m = Math.max(m, this.conditions[i]!);
    return m + 1;
  }

  /** Copies of the sequences at `indices`, in that order. */
  subset(indices: Int32Array | number[]): SequenceDataset {
    const idx = Int32Array.from(indices);
    if (idx.length === 0) throw new ValidationError('E_EMPTY', 'expected at least one index, got 0');
    for (let i = 0; i < idx.length; i++) {
      if (!(idx[i]! >= 0 && idx[i]! < this.n))
        throw new ValidationError('E_INVALID_ARG', `expected an index in [0, ${this.n}) for indices[${i}], got ${idx[i]}`);
    }
    const T = this.steps;
    const take = (src: Float32Array, width: number): Float32Array => {
      const out = new Float32Array(idx.length * T * width);
      idx.forEach((k, r) => {
        out.set(src.subarray(k * T * width, (k + 1) * T * width), r * T * width);
      });
      return out;
    };
    return new SequenceDataset(
      {
        inputs: this.inputSize ? take(this.inputs, this.inputSize) : new Float32Array(0),
        targets: take(this.targets, this.outputSize),
        lossWeights: take(this.lossWeights, 1),
        velocityWeights: take(this.velocityWeights, 1),
        conditions: Int32Array.from(idx, (k) => this.conditions[k]!),
        steps: T,
        inputSize: this.inputSize,
        outputSize: this.outputSize,
      },
      idx.length,
    );
  }

  /** Seeded split into train and validation sequences (validation gets floor(n * fraction)). */
  split(fraction: number, seed = 0): { train: SequenceDataset; validation: SequenceDataset } {
    expectNumber('fraction', fraction, 0, 1, { exclusiveMin: true });
    const nv = Math.floor(this.n * fraction + 1e-9);
    if (nv === 0 || nv === this.n) {
      throw new ValidationError(
        'E_EMPTY',
        `expected both sides of the split to be non-empty for fraction ${fraction} of ${this.n} sequences`,
      );
    }
    const perm = new Rng(seed).permutation(this.n);
    return { train: this.subset(perm.slice(nv).sort()), validation: this.subset(perm.slice(0, nv).sort()) };
  }

  /**
   * The weights as the native core takes them: divided per sequence by sum_t w_t (so a
   * sequence's loss is a weighted mean over its steps).
   */
  normalizedWeights(): { w: Float32Array; v: Float32Array } {
    const T = this.steps;
    const w = new Float32Array(this.n * T);
    const v = new Float32Array(this.n * T);
    for (let s = 0; s < this.n; s++) {
      let sum = 0;
      for (let t = 0; t < T; t++) sum += this.lossWeights[s * T + t]!;
      const inv = sum > 0 ? 1 / sum : 1;
      for (let t = 0; t < T; t++) {
        w[s * T + t] = this.lossWeights[s * T + t]! * inv;
        v[s * T + t] = this.velocityWeights[s * T + t]! * inv;
      }
    }
    return { w, v };
  }
}
