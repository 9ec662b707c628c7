/** Direct access to the frozen-weight generator (for tests, analysis and other backends). */
import { fromNativeError } from '../errors.js';
import { nativeFor, type BackendName } from '../native/binding.js';
import { expectInt, expectNumber, expectOneOf, expectObject } from '../util/validate.js';

export type WeightDistribution = 'uniform' | 'normal' | 'zeros';

/**
 * The [rows, cols] matrix the library uses for (seed, stream): element (r, c) is a pure
 * function of (seed, stream, r, c). `a` is the uniform half-width or the normal's sigma.
 * Layer l of an MLP uses stream 2l for its weights and 2l+1 for its initial biases.
 */
export async function generateWeights(opts: {
  rows: number;
  cols: number;
  seed: number;
  stream: number;
  dist: WeightDistribution;
  a: number;
  backend?: BackendName;
}): Promise<Float32Array> {
  expectObject('generateWeights options', opts);
  const rows = expectInt('rows', opts.rows, 1);
  const cols = expectInt('cols', opts.cols, 1);
  const seed = expectInt('seed', opts.seed, 0, Number.MAX_SAFE_INTEGER);
  const stream = expectInt('stream', opts.stream, 0, 0xffffffff);
  const dist = expectOneOf('dist', opts.dist, ['uniform', 'normal', 'zeros'] as const);
  const a = expectNumber('a', opts.a, 0);
  const backend = opts.backend ?? 'cpu';
  try {
    return await nativeFor(backend).fillWeights(backend, rows, cols, seed, stream, dist, a);
  } catch (err) {
    throw fromNativeError(err);
  }
}
