/** What the generic training loop needs from a model (MLPs now; RNNs and multi-task later). */
import type { Dataset } from '../data/dataset.js';

/** Per-batch sums from one native pass, in batch order. */
export interface PassStats {
  lossSum: Float32Array;
  correct: Float32Array;
  size: Int32Array;
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
  trainIndices(data: Dataset, indices: Int32Array, batchSize: number, lr: number): Promise<PassStats>;
  evaluate(data: Dataset, opts?: { batchSize?: number }): Promise<EvaluateResult>;
  /** Copies of every learned tensor, by name. */
  getLearned(): Promise<Record<string, Float32Array>>;
  setLearned(values: Record<string, Float32Array>): Promise<void>;
}
