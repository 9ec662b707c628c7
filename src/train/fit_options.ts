/**
 * Options of `fit`, one documented interface per data kind (tfjs's ModelFitArgs habit), with
 * their keys listed once for the unknown-key check.
 */
import type { Dataset } from '../data/dataset.js';
import { optionKeys } from '../util/validate.js';
import type { FitCallback } from './callbacks.js';
import type { FitModel, FitSource } from './fit_target.js';
import type { LrSchedule } from './schedules.js';

/** Options of the loop itself, whatever the data `D`; `M` is the model callbacks see as `this.model`. */
export interface FitLoopOptions<D extends FitSource = Dataset, M = FitModel> {
  /** Index of the last epoch + 1 (Keras): with `initialEpoch` 5 and `epochs` 10, epochs 5..9 run. Default 1. */
  epochs?: number;
  /**
   * Epoch to start at (resuming a run, Keras's initial_epoch). The shuffling stream and the
   * learning-rate schedule continue as if epochs 0..initialEpoch-1 had run in this call. Default 0.
   */
  initialEpoch?: number;
  /** 0 (default): silent; 1: a progress bar on a TTY and a line per epoch on stderr; 2: a line per epoch. */
  verbose?: 0 | 1 | 2;
  batchSize?: number;
  /** Shuffle every epoch (seeded). Default true. */
  shuffle?: boolean;
  /** Seed of the shuffling and of validationSplit. Default 0. */
  seed?: number;
  validationData?: D;
  /** Hold out this fraction of the training data (seeded) when no validationData is given. */
  validationSplit?: number;
  /** Callback instances or plain objects of hooks; `this.model` inside them is the model. */
  callbacks?: FitCallback<M>[];
  /** Learning-rate schedule per epoch; default constant at the optimizer's lr. */
  lrSchedule?: LrSchedule;
  /** Abort training between chunks; fit then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Target wall time of one native chunk in ms (default 200). */
  chunkMs?: number;
  /**
   * Data-parallel over the started distributed world (`initDistributed`, docs/distributed.md):
   * default true when a world of 2+ ranks is started; false trains this rank alone (e.g. one
   * sweep point per rank).
   */
  dataParallel?: boolean;
}

/** `fit` options of the models that train on a {@link Dataset} (MLP; the multi-task model adds its own). */
export interface FitOptions<M = FitModel> extends FitLoopOptions<Dataset, M> {
  /**
   * Bias learning on a fixed dataset: compute the frozen first layer's product X W_0^T once and
   * reuse it every step ('auto', the default, when layer 0's weights are frozen and the cache fits
   * the model's memory budget; `false` to always multiply).
   */
  cacheInputLayer?: boolean | 'auto';
}

export const FIT_LOOP_OPTION_KEYS = optionKeys<FitLoopOptions>({
  epochs: true,
  initialEpoch: true,
  verbose: true,
  batchSize: true,
  shuffle: true,
  seed: true,
  validationData: true,
  validationSplit: true,
  callbacks: true,
  lrSchedule: true,
  signal: true,
  chunkMs: true,
  dataParallel: true,
});
