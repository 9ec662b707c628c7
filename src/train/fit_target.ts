/** What the generic training loop needs from a model (MLPs now; RNNs and multi-task later). */
import type { Dataset } from '../data/dataset.js';

/** Per-batch sums from one native pass, in batch order. */
export interface PassStats {
  lossSum: Float32Array;
  correct: Float32Array;
  size: Int32Array;
}

export interface TrainStepOptions {
  /**
   * Reuse the first layer's product X W_0^T across steps when layer 0's weights are frozen
   * ('auto': when it fits the memory budget). Same results up to float rounding, far faster.
   */
  cacheInputLayer?: boolean | 'auto';
  /** Global gradient-norm clip before each update (0 or absent: off). */
  clip?: number;
}

export interface EvaluateResult {
  /** Mean loss per sample. */
  loss: number;
  /** Fraction correct (classification only). */
  accuracy?: number;
  n: number;
}

export interface FitTarget {
  readonly isClassifier: boolean;
  /** The optimizer's base learning rate. */
  readonly baseLr: number;
  /** One optimizer step per `batchSize` consecutive entries of `indices`. */
  trainIndices(data: Dataset, indices: Int32Array, batchSize: number, lr: number, options?: TrainStepOptions): Promise<PassStats>;
  /** Called once when fit ends (success or failure): release per-fit resources such as caches. */
  endFit?(): Promise<void>;
  evaluate(data: Dataset, opts?: { batchSize?: number }): Promise<EvaluateResult>;
  /** Copies of every learned tensor, by name. */
  getLearned(): Promise<Record<string, Float32Array>>;
  setLearned(values: Record<string, Float32Array>): Promise<void>;
}
