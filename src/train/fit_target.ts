/**
 * What the generic training loop (src/train/fit.ts) needs from a model and its data, whatever
 * the data kind: a {@link FitSource} (anything with a length) and a {@link FitTarget} that
 * trains on that source. MLPs train on a {@link Dataset}, RNNs on a SequenceDataset, the
 * multi-task model on its union Dataset (through a per-phase target that holds the run's state).
 */
import type { Dataset } from '../data/dataset.js';
import { ValidationError } from '../errors.js';
import { describe, expectInt, expectNumber } from '../util/validate.js';

/** All the loop needs from training data: the number of samples (rows, sequences) n. */
export interface FitSource {
  readonly n: number;
}

/** A source that can hold out a seeded fraction of itself (enables fit's `validationSplit`). */
export interface SplittableSource<D extends FitSource> extends FitSource {
  /** Holds out `fraction` of the samples (seeded): the rest trains. */
  split(fraction: number, seed: number): { train: D; validation: D };
}

/** Per-batch sums from one native pass, in batch order. */
export interface PassStats {
  lossSum: Float32Array;
  /** Correct predictions per batch (meaningful for classifiers only). */
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

/** What a callback's `this.model` offers whatever the model kind (MLP, RNN, MultitaskModel). */
export interface FitModel {
  /** Copies of every learned tensor, by name. */
  getLearned(): Promise<Record<string, Float32Array>>;
  /** Sets every learned tensor. */
  setLearned(values: Record<string, Float32Array>): Promise<void>;
  /** Writes a checkpoint (atomic). */
  save(path: string, options?: { metadata?: Record<string, unknown> }): Promise<void>;
}

/**
 * The training interface of a model for data `D`; `R` is the per-fit run options the model
 * resolved from its own fit options (e.g. the RNN's rule and closed-loop mode), handed back on
 * every step and validation.
 */
export interface FitTarget<D extends FitSource = Dataset, R = TrainStepOptions> {
  /** True when PassStats.correct counts correct predictions (logs then carry accuracy and val_accuracy). */
  readonly isClassifier?: boolean;
  /** The optimizer's base learning rate (the schedule's input). */
  readonly baseLr: number;
  /** Checks that `data` is training or validation data for this model (kind, shapes); returns it typed. */
  checkFitData(data: unknown, what: string): D;
  /** One optimizer step per `batchSize` consecutive entries of `indices`. */
  trainIndices(data: D, indices: Int32Array, batchSize: number, lr: number, run: R): Promise<PassStats>;
  /** Validation metrics after an epoch, in the run's mode. */
  evaluate(data: D, options: { batchSize?: number }, run: R): Promise<EvaluateResult>;
  /**
   * A one-line message about a long step the first training call will take (e.g. building the
   * input-layer cache), with its size, sent to the callbacks' onStatus before the first epoch.
   */
  preparation?(data: D, run: R): string | undefined;
  /** Called once when fit ends (success or failure): release per-fit resources such as caches. */
  endFit?(): Promise<void>;
  /** Copies of every learned tensor, by name. */
  getLearned(): Promise<Record<string, Float32Array>>;
  /** Sets every learned tensor. */
  setLearned(values: Record<string, Float32Array>): Promise<void>;
  /**
   * Data-parallel training: sum the gradients over the MPI module at `modulePath` before every
   * step (ParamSet::set_collective); null detaches. Kinds without it cannot train data-parallel.
   */
  attachCollective?(modulePath: string | null): void;
  /** True for a width-parallel model (its ranks hold slices and train on the same whole batches; fit does not shard). */
  readonly widthParallel?: boolean;
}

/** Validates fit's `cacheInputLayer` option (Dataset models: MLP and multi-task). */
export function expectCacheMode(v: unknown): boolean | 'auto' {
  const mode = v ?? 'auto';
  if (mode !== 'auto' && typeof mode !== 'boolean') {
    throw new ValidationError('E_INVALID_ARG', `expected true, false or 'auto' for cacheInputLayer, got ${describe(mode)}`);
  }
  return mode;
}

/** The arguments of a model's `trainIndices` (its data is checked by the model). */
export function checkStepArguments(indices: unknown, batchSize: unknown, lr: unknown): void {
  if (!(indices instanceof Int32Array))
    throw new ValidationError('E_DTYPE', `expected an Int32Array for indices, got ${describe(indices)}`);
  expectInt('batchSize', batchSize, 1);
  expectNumber('lr', lr, 0);
}
