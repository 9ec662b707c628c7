/**
 * The precision of a model's frozen weights, one option shared by every model kind that has a
 * large frozen product (MLP, multi-task MLP, RNN; docs/precision.md).
 *
 * - `weightPrecision: 'fp32'` (default): float32 weights and products, as in every earlier release.
 * - `weightPrecision: 'bf16'`: every frozen weight is generated as before, rounded once to bfloat16
 *   (round-to-nearest-even: the same bits on every backend and thread count) and the large frozen
 *   matrices are stored in bf16 (half the memory) and multiplied bf16 x bf16 with float32
 *   accumulation (inputs rounded to bf16 for the product). Everything learned (biases, learned
 *   weights, optimizer state, gradients, losses) stays float32.
 * - `tf32: true`: fp32 weights whose frozen products may use TF32 tensor cores on CUDA (an explicit
 *   opt-in: about 10 mantissa bits per product). On the CPU the products stay float32.
 *
 * A checkpoint records both; checkpoints without them (earlier releases) load as fp32.
 */
import { ValidationError } from '../errors.js';
import { describe, expectOneOf } from '../util/validate.js';

export const WEIGHT_PRECISIONS = ['fp32', 'bf16'] as const;
export type WeightPrecision = (typeof WEIGHT_PRECISIONS)[number];

/** The create options every model kind with frozen weights accepts. */
export interface PrecisionOptions {
  /** 'fp32' (default) or 'bf16': frozen weights rounded to bfloat16, stored and multiplied in bf16. */
  weightPrecision?: WeightPrecision;
  /** CUDA only: TF32 tensor-core products over the fp32 frozen weights (default false). */
  tf32?: boolean;
}

/** The resolved form a configuration (and so a checkpoint) stores. */
export interface PrecisionConfig {
  weightPrecision: WeightPrecision;
  tf32: boolean;
}

/** Validates the precision options (E_INVALID_ARG for a bad value, E_CONFIG for tf32 with bf16). */
export function resolvePrecision(o: PrecisionOptions): PrecisionConfig {
  const weightPrecision = expectOneOf('weightPrecision', o.weightPrecision ?? 'fp32', WEIGHT_PRECISIONS);
  const tf32 = o.tf32 ?? false;
  if (typeof tf32 !== 'boolean') throw new ValidationError('E_INVALID_ARG', `expected a boolean for tf32, got ${describe(tf32)}`);
  if (tf32 && weightPrecision !== 'fp32')
    throw new ValidationError('E_CONFIG', `tf32 applies to fp32 weights, not to weightPrecision '${weightPrecision}'`);
  return { weightPrecision, tf32 };
}

/** The precision fields of a native model spec. */
export function toNativePrecision(c: PrecisionConfig): PrecisionConfig {
  return { weightPrecision: c.weightPrecision, tf32: c.tf32 };
}

/** A stored configuration's precision, with the fp32 default of checkpoints written before it existed. */
export function storedPrecision(c: Partial<PrecisionConfig>): PrecisionConfig {
  return { weightPrecision: c.weightPrecision ?? 'fp32', tf32: c.tf32 ?? false };
}
