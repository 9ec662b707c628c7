/**
 * The training loop shared by every model kind, over any {@link FitSource} and a
 * {@link FitTarget} for it. Batches run in native chunks (one Promise per chunk of batches,
 * sized to ~200 ms) so JavaScript is not on the per-batch path unless a callback asks for
 * per-batch hooks. The event loop stays free while native code runs. Callbacks run through one
 * {@link CallbackList}: the model's own hooks first, then the user's, then the {@link History}.
 */
import type { Dataset } from '../data/dataset.js';
import { BiasLearnError, ValidationError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { expectInt, expectKnownKeys, expectNumber, optionKeys } from '../util/validate.js';
import { CallbackList, type FitCallback, type FitState } from './callbacks.js';
import { EpochMetrics } from './epoch_metrics.js';
import type { FitModel, FitSource, FitTarget, SplittableSource } from './fit_target.js';
import { History } from './history.js';
import { constantLr, type LrSchedule } from './schedules.js';

/** Options of the loop itself, whatever the data `D`; `M` is the model callbacks see as `this.model`. */
export interface FitLoopOptions<D extends FitSource = Dataset, M = FitModel> {
  epochs?: number;
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
  batchSize: true,
  shuffle: true,
  seed: true,
  validationData: true,
  validationSplit: true,
  callbacks: true,
  lrSchedule: true,
  signal: true,
  chunkMs: true,
});

/** What a model's own `fit` adds to the loop. */
export interface FitRunParts<R, M> {
  /** The model's run options, handed to every step and validation. */
  run: R;
  /** The model callbacks see as `this.model` (the model `fit` was called on). */
  model: M;
  /** The model's own hooks, run before the user's. */
  callbacks?: readonly FitCallback<M>[];
  /** Records the epochs (default: a new History). */
  history?: History;
  /** The state shared with the callbacks (default: a fresh FitState). */
  state?: FitState;
}

const fitting = new WeakSet<object>();

/** Runs `body` as the only fit of `model`; a second fit while it runs is refused with E_CONCURRENT. */
export async function exclusiveFit<T>(model: object, body: () => Promise<T>): Promise<T> {
  if (fitting.has(model)) throw new BiasLearnError('E_CONCURRENT', 'fit is already running on this model; await it before calling fit again');
  fitting.add(model);
  try {
    return await body();
  } finally {
    fitting.delete(model);
  }
}

/**
 * Trains `target` on `data`; returns the per-epoch History. `run` is the target's run options
 * (default `{}`); callbacks see `target` as `this.model`. Refuses a concurrent fit on the same model.
 */
export async function fit<D extends FitSource, R, T extends FitTarget<D, R>>(
  target: T,
  data: D,
  options: FitLoopOptions<D, T> & { run?: R } = {},
): Promise<History> {
  expectKnownKeys('fit options', options, new Set([...FIT_LOOP_OPTION_KEYS, 'run']));
  const { run, ...loop } = options;
  return exclusiveFit(target, () => runFit(target, data, loop, { run: run ?? ({} as R), model: target }));
}

function validationOf<D extends FitSource, R>(target: FitTarget<D, R>, data: D, options: FitLoopOptions<D, unknown>, seed: number): { train: D; validation?: D } {
  if (options.validationData !== undefined) return { train: data, validation: target.checkFitData(options.validationData, 'validationData') };
  if (options.validationSplit === undefined) return { train: data };
  const fraction = expectNumber('validationSplit', options.validationSplit, 0, 1, { exclusiveMin: true });
  if (fraction >= 1) throw new ValidationError('E_INVALID_ARG', `expected validationSplit < 1, got ${fraction}`);
  const split = (data as Partial<SplittableSource<D>>).split;
  if (typeof split !== 'function') throw new ValidationError('E_INVALID_ARG', 'validationSplit is not supported for this data; pass validationData');
  return split.call(data, fraction, seed);
}

/** The loop, for a model's own fit (which holds the model with {@link exclusiveFit}). */
export async function runFit<D extends FitSource, R, M>(target: FitTarget<D, R>, data: D, options: FitLoopOptions<D, M>, parts: FitRunParts<R, M>): Promise<History> {
  target.checkFitData(data, 'training data');
  if (data.n === 0) throw new ValidationError('E_EMPTY', 'expected a non-empty dataset for training data');
  const epochs = expectInt('epochs', options.epochs ?? 1, 1);
  const batchSize = expectInt('batchSize', options.batchSize ?? 32, 1);
  const seed = expectInt('seed', options.seed ?? 0, 0);
  const shuffle = options.shuffle ?? true;
  const chunkMs = expectNumber('chunkMs', options.chunkMs ?? 200, 1);
  const schedule = options.lrSchedule ?? constantLr;
  const user = options.callbacks ?? [];
  if (!Array.isArray(user)) throw new ValidationError('E_INVALID_ARG', 'expected an array for callbacks');
  const { train, validation } = validationOf(target, data, options, seed);
  if (validation?.n === 0) throw new ValidationError('E_EMPTY', 'expected a non-empty dataset for validationData');

  const state = parts.state ?? { lrScale: 1, stopTraining: false };
  const history = parts.history ?? new History();
  const callbacks = new CallbackList([...(parts.callbacks ?? []), ...user, history], parts.model, state);
  const perBatch = callbacks.wantsBatches;
  const classifier = target.isClassifier === true;
  const rng = new Rng(seed ^ 0x5eed);
  try {
    await callbacks.onTrainBegin({});
    const n = train.n;
    let batchesPerChunk = 1;
    for (let epoch = 0; epoch < epochs && !state.stopTraining; epoch++) {
      const lr = schedule(epoch, target.baseLr) * state.lrScale;
      if (!(lr >= 0) || !Number.isFinite(lr)) throw new ValidationError('E_INVALID_ARG', `expected a finite learning rate >= 0 from the schedule at epoch ${epoch}, got ${lr}`);
      await callbacks.onEpochBegin(epoch, { lr });
      const order = shuffle ? rng.permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
      const meter = new EpochMetrics(epoch, lr, classifier);
      for (let start = 0; start < n; ) {
        options.signal?.throwIfAborted();
        const end = Math.min(n, start + (perBatch ? 1 : batchesPerChunk) * batchSize);
        const tc = performance.now();
        const stats = await target.trainIndices(train, order.subarray(start, end), batchSize, lr, parts.run);
        const perBatchMs = (performance.now() - tc) / stats.size.length;
        if (!perBatch) batchesPerChunk = Math.max(1, Math.min(4096, Math.round(chunkMs / Math.max(perBatchMs, 1e-3))));
        for (const logs of meter.add(stats)) if (perBatch) await callbacks.onBatchEnd(logs.batch, logs);
        start = end;
        if (callbacks.wantsProgress) await callbacks.onProgress(meter.progress(epochs, n));
        if (state.stopTraining) break;
      }
      const seconds = meter.seconds;
      const logs = meter.logs();
      if (validation) {
        const v = await target.evaluate(validation, { batchSize: Math.max(batchSize, 256) }, parts.run);
        if (!Number.isFinite(v.loss)) {
          throw new BiasLearnError('E_DIVERGED', `training diverged: non-finite validation loss after epoch ${epoch} (lr ${lr}); lower the learning rate`);
        }
        logs.val_loss = v.loss;
        if (v.accuracy !== undefined) logs.val_acc = v.accuracy;
      }
      logs.lr = lr;
      logs.seconds = seconds;
      logs.samplesPerSec = meter.seen / Math.max(seconds, 1e-9);
      await callbacks.onEpochEnd(epoch, logs);
    }
    await callbacks.onTrainEnd({});
  } finally {
    await target.endFit?.();
  }
  return history;
}
