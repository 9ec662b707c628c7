/**
 * The training loop shared by every model kind. Batches run in native chunks (one Promise per
 * chunk of batches, sized to ~200 ms) so JavaScript is not on the per-batch path unless a
 * callback asks for per-batch hooks. The event loop stays free while native code runs.
 */
import { Dataset } from '../data/dataset.js';
import { BiasLearnError, ValidationError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { describe, expectInt, expectNumber } from '../util/validate.js';
import { Callback, type FitState, type Logs } from './callbacks.js';
import type { FitTarget } from './fit_target.js';
import { History } from './history.js';
import { constantLr, type LrSchedule } from './schedules.js';

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  /** Shuffle every epoch (seeded). Default true. */
  shuffle?: boolean;
  /** Seed of the shuffling and of validationSplit. Default 0. */
  seed?: number;
  validationData?: Dataset;
  /** Hold out this fraction of the training data (seeded) when no validationData is given. */
  validationSplit?: number;
  callbacks?: Callback[];
  /** Learning-rate schedule per epoch; default constant at the optimizer's lr. */
  lrSchedule?: LrSchedule;
  /** Abort training between chunks; fit then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Target wall time of one native chunk in ms (default 200). */
  chunkMs?: number;
  /**
   * Bias learning on a fixed dataset: compute the frozen first layer's product X W_0^T once and
   * reuse it every step ('auto', the default, when layer 0's weights are frozen and the cache fits
   * the model's memory budget; `false` to always multiply).
   */
  cacheInputLayer?: boolean | 'auto';
  /**
   * Global gradient-norm clip before each update (0, the default: off): the gradients about to be
   * applied are scaled to this norm when theirs is larger (MLP and multi-task; the RNN has its own).
   */
  clip?: number;
}

const fitting = new WeakSet<object>();

function checkFitData(target: FitTarget, data: unknown, name: string): Dataset {
  if (!(data instanceof Dataset)) throw new ValidationError('E_INVALID_ARG', `expected a Dataset for ${name}, got ${describe(data)}`);
  if (data.n === 0) throw new ValidationError('E_EMPTY', `expected a non-empty dataset for ${name}`);
  const isClass = data.targets.kind === 'classes';
  if (isClass !== target.isClassifier) {
    throw new ValidationError('E_CONFIG', `expected ${target.isClassifier ? 'a classification' : 'a regression'} dataset for ${name}, got ${isClass ? 'classification' : 'regression'}`);
  }
  return data;
}

/** Trains `target` on `data`; returns the per-epoch History. Refuses a concurrent fit on the same model. */
export async function fit(target: FitTarget, data: Dataset, options: FitOptions = {}): Promise<History> {
  if (fitting.has(target)) throw new BiasLearnError('E_CONCURRENT', 'fit is already running on this model; await it before calling fit again');
  checkFitData(target, data, 'training data');
  const epochs = expectInt('epochs', options.epochs ?? 1, 1);
  const batchSize = expectInt('batchSize', options.batchSize ?? 32, 1);
  const seed = expectInt('seed', options.seed ?? 0, 0);
  const shuffle = options.shuffle ?? true;
  const chunkMs = expectNumber('chunkMs', options.chunkMs ?? 200, 1);
  const schedule = options.lrSchedule ?? constantLr;
  const cacheInputLayer = options.cacheInputLayer ?? 'auto';
  if (cacheInputLayer !== 'auto' && typeof cacheInputLayer !== 'boolean') {
    throw new ValidationError('E_INVALID_ARG', `expected true, false or 'auto' for cacheInputLayer, got ${describe(cacheInputLayer)}`);
  }
  const clip = expectNumber('clip', options.clip ?? 0, 0);
  const callbacks = options.callbacks ?? [];
  callbacks.forEach((c, i) => {
    if (!(c instanceof Callback)) throw new ValidationError('E_INVALID_ARG', `expected a Callback for callbacks[${i}], got ${describe(c)}`);
  });

  let train = data;
  let validation = options.validationData ? checkFitData(target, options.validationData, 'validationData') : undefined;
  if (!validation && options.validationSplit !== undefined) {
    expectNumber('validationSplit', options.validationSplit, 0, 1, { exclusiveMin: true });
    if (options.validationSplit >= 1) throw new ValidationError('E_INVALID_ARG', `expected validationSplit < 1, got ${options.validationSplit}`);
    const split = data.split(options.validationSplit, seed);
    train = split.train;
    validation = split.validation;
  }

  fitting.add(target);
  const state: FitState = { lrScale: 1, stopTraining: false };
  for (const c of callbacks) {
    c.model = target;
    c.fitState = state;
  }
  const perBatch = callbacks.some((c) => typeof c.onBatchEnd === 'function');
  const wantsProgress = callbacks.some((c) => typeof c.onProgress === 'function');
  const history = new History();
  const rng = new Rng(seed ^ 0x5eed);
  try {
    for (const c of callbacks) await c.onTrainBegin?.({});
    const n = train.n;
    let batchesPerChunk = 1;
    for (let epoch = 0; epoch < epochs && !state.stopTraining; epoch++) {
      const lr = schedule(epoch, target.baseLr) * state.lrScale;
      if (!(lr >= 0) || !Number.isFinite(lr)) throw new ValidationError('E_INVALID_ARG', `expected a finite learning rate >= 0 from the schedule at epoch ${epoch}, got ${lr}`);
      for (const c of callbacks) await c.onEpochBegin?.(epoch, { lr });
      const order = shuffle ? rng.permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
      const t0 = performance.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let batchIndex = 0;
      for (let start = 0; start < n; ) {
        options.signal?.throwIfAborted();
        const chunkBatches = perBatch ? 1 : batchesPerChunk;
        const end = Math.min(n, start + chunkBatches * batchSize);
        const tc = performance.now();
        const stats = await target.trainIndices(train, order.subarray(start, end), batchSize, lr, { cacheInputLayer, clip });
        const elapsed = performance.now() - tc;
        if (!perBatch) {
          const perBatchMs = elapsed / stats.size.length;
          batchesPerChunk = Math.max(1, Math.min(4096, Math.round(chunkMs / Math.max(perBatchMs, 1e-3))));
        }
        for (let b = 0; b < stats.size.length; b++) {
          const bl = stats.lossSum[b]!;
          if (!Number.isFinite(bl)) {
            throw new BiasLearnError('E_DIVERGED', `training diverged: non-finite loss at epoch ${epoch}, batch ${batchIndex} (lr ${lr}); lower the learning rate`);
          }
          lossSum += bl;
          correct += stats.correct[b]!;
          seen += stats.size[b]!;
          if (perBatch) {
            const size = stats.size[b]!;
            const logs = { batch: batchIndex, size, loss: bl / size, ...(target.isClassifier ? { acc: stats.correct[b]! / size } : {}) };
            for (const c of callbacks) await c.onBatchEnd?.(batchIndex, logs);
          }
          batchIndex++;
        }
        start = end;
        if (wantsProgress) {
          const secs = (performance.now() - t0) / 1000;
          const info = {
            epoch,
            epochs,
            samplesDone: seen,
            samplesTotal: n,
            loss: lossSum / seen,
            ...(target.isClassifier ? { acc: correct / seen } : {}),
            samplesPerSec: seen / Math.max(secs, 1e-9),
          };
          for (const c of callbacks) await c.onProgress?.(info);
        }
        if (state.stopTraining) break;
      }
      const seconds = (performance.now() - t0) / 1000;
      const logs: Logs = { loss: lossSum / seen };
      if (target.isClassifier) logs.acc = correct / seen;
      if (validation) {
        const v = await target.evaluate(validation, { batchSize: Math.max(batchSize, 256) });
        if (!Number.isFinite(v.loss)) {
          throw new BiasLearnError('E_DIVERGED', `training diverged: non-finite validation loss after epoch ${epoch} (lr ${lr}); lower the learning rate`);
        }
        logs.val_loss = v.loss;
        if (v.accuracy !== undefined) logs.val_acc = v.accuracy;
      }
      logs.lr = lr;
      logs.seconds = seconds;
      logs.samplesPerSec = seen / Math.max(seconds, 1e-9);
      // Callbacks see (and may add to) the epoch's logs before History records them.
      for (const c of callbacks) await c.onEpochEnd?.(epoch, logs);
      history.record(epoch, logs);
    }
    for (const c of callbacks) await c.onTrainEnd?.({});
  } finally {
    fitting.delete(target);
    await target.endFit?.();
  }
  return history;
}
