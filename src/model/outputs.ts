/**
 * Keras-style conveniences shared by the model kinds: `predict`'s explicit output choice
 * (logits or softmax probabilities) and `fit(x, y, options)` over typed arrays.
 */
import { Dataset } from '../data/dataset.js';
import { ValidationError } from '../errors.js';
import { describe, expectOneOf, expectOptions } from '../util/validate.js';

/** What `predict` returns: raw `logits` (the default, as before) or softmax `probabilities`. */
export type PredictOutput = 'logits' | 'probabilities';
export const PREDICT_OUTPUTS = ['logits', 'probabilities'] as const satisfies readonly PredictOutput[];

/** Validates predict's `output` option (default 'logits'). */
export function expectPredictOutput(v: unknown): PredictOutput {
  return expectOneOf('output', v ?? 'logits', PREDICT_OUTPUTS);
}

/**
 * Row-wise softmax of logits [n, O] in place, in float64 with the row maximum subtracted;
 * -Infinity entries (padding of multi-task rows) get probability 0. Returns `x`.
 */
export function softmaxRows(x: Float32Array, O: number): Float32Array {
  for (let r = 0; r < x.length; r += O) {
    let max = -Infinity;
    for (let o = 0; o < O; o++) max = Math.max(max, x[r + o]!);
    let sum = 0;
    for (let o = 0; o < O; o++) sum += Math.exp(x[r + o]! - max);
    for (let o = 0; o < O; o++) x[r + o] = Math.exp(x[r + o]! - max) / sum;
  }
  return x;
}

/** Labels or targets `y` of fit(x, y): class ids for a classifier, float values for regression. */
export type FitTargets = Int32Array | Uint8Array | Uint16Array | Float32Array | readonly number[];

/**
 * A Dataset from x [n, inputSize] and y: class ids (n of them, any integer array) when
 * `classes` is given, else float targets [n, outputSize].
 */
export function datasetFromArrays(
  x: unknown,
  y: unknown,
  inputSize: number,
  outputSize: number,
  classifier: boolean,
  what = 'x',
): Dataset {
  if (!(x instanceof Float32Array))
    throw new ValidationError('E_DTYPE', `expected a Float32Array for ${what}, got ${describe(x)}`);
  if (x.length % inputSize !== 0)
    throw new ValidationError('E_SHAPE', `expected ${what} length a multiple of inputSize ${inputSize}, got ${x.length}`);
  const n = x.length / inputSize;
  const isArray = ArrayBuffer.isView(y) || Array.isArray(y);
  if (!isArray) throw new ValidationError('E_DTYPE', `expected a typed array or number[] for y, got ${describe(y)}`);
  const arr = y as ArrayLike<number>;
  if (classifier) {
    if (arr.length !== n)
      throw new ValidationError('E_SHAPE', `expected ${n} labels (one per row of ${what}), got ${arr.length}`);
    const labels = arr instanceof Int32Array ? arr : Int32Array.from(arr);
    return Dataset.classification(x, inputSize, labels, outputSize);
  }
  if (arr.length !== n * outputSize)
    throw new ValidationError(
      'E_SHAPE',
      `expected ${n * outputSize} target values (${n} rows x ${outputSize}), got ${arr.length}`,
    );
  return Dataset.regression(x, inputSize, arr instanceof Float32Array ? arr : Float32Array.from(arr), outputSize);
}

/** `fit(x, y, options)`'s options: those of fit over a Dataset, with validationData also as `[x, y]`. */
export type ArrayFitOptions<O extends { validationData?: unknown }> = Omit<O, 'validationData'> & {
  validationData?: O['validationData'] | [Float32Array, FitTargets];
};

/**
 * Resolves fit's two call forms, `fit(data, options)` and `fit(x, y, options)`, to a Dataset
 * and options (a `[x, y]` validationData becomes a Dataset too).
 */
export function fitArguments<O extends { validationData?: unknown }>(
  a: unknown,
  b: unknown,
  c: unknown,
  toDataset: (x: unknown, y: unknown, what: string) => unknown,
): { data: unknown; options: O } {
  const arrays = a instanceof Float32Array || (ArrayBuffer.isView(a) && b !== undefined && ArrayBuffer.isView(b));
  if (!arrays) return { data: a, options: expectOptions('fit options', b as O | undefined) };
  const options = { ...expectOptions('fit options', c as Record<string, unknown> | undefined) };
  const v = options.validationData;
  if (Array.isArray(v)) {
    if (v.length !== 2)
      throw new ValidationError('E_INVALID_ARG', `expected [x, y] for validationData, got an array of ${v.length}`);
    options.validationData = toDataset(v[0], v[1], 'validationData x');
  }
  return { data: toDataset(a, b, 'x'), options: options as O };
}
