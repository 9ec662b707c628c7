/**
 * The training loop shared by every model kind, over any {@link FitSource} and a
 * {@link FitTarget} for it. Batches run in native chunks (one Promise per chunk of batches,
 * sized to ~200 ms) so JavaScript is not on the per-batch path unless a callback asks for
 * per-batch hooks. The event loop stays free while native code runs. Callbacks run through one
 * {@link CallbackList}: the model's own hooks first, then the user's, then the {@link History}.
 */
import { currentWorld, type World } from '../distributed/world.js';
import { collectivePathFor } from '../distributed/nccl.js';
import { shardOrder } from '../distributed/shard.js';
import { BiasLearnError, ValidationError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { describe, expectFunction, expectInt, expectKnownKeys, expectNumber } from '../util/validate.js';
import { CallbackList, type FitCallback, type FitState, type Logs } from './callbacks.js';
import { EpochMetrics } from './epoch_metrics.js';
import type { FitSource, FitTarget, SplittableSource } from './fit_target.js';
import { History } from './history.js';
import { FIT_LOOP_OPTION_KEYS, type FitLoopOptions } from './fit_options.js';
import { withMetricAliases } from './metric_names.js';
import { constantLr } from './schedules.js';
import { ProgressBar } from './progress_bar.js';

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
  if (fitting.has(model))
    throw new BiasLearnError('E_CONCURRENT', 'fit is already running on this model; await it before calling fit again');
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
  if (typeof target !== 'object' || target === null || typeof target.trainIndices !== 'function')
    throw new ValidationError('E_INVALID_ARG', `expected a FitTarget (a model) for target, got ${describe(target)}`);
  const { run, ...loop } = options;
  return exclusiveFit(target, () => runFit(target, data, loop, { run: run ?? ({} as R), model: target }));
}

function validationOf<D extends FitSource, R>(
  target: FitTarget<D, R>,
  data: D,
  options: FitLoopOptions<D, unknown>,
  seed: number,
): { train: D; validation?: D } {
  if (options.validationData !== undefined)
    return { train: data, validation: target.checkFitData(options.validationData, 'validationData') };
  if (options.validationSplit === undefined) return { train: data };
  const fraction = expectNumber('validationSplit', options.validationSplit, 0, 1, { exclusiveMin: true });
  if (fraction >= 1) throw new ValidationError('E_INVALID_ARG', `expected validationSplit < 1, got ${fraction}`);
  const split = (data as Partial<SplittableSource<D>>).split;
  if (typeof split !== 'function')
    throw new ValidationError('E_INVALID_ARG', 'validationSplit is not supported for this data; pass validationData');
  return split.call(data, fraction, seed);
}

/** The loop, for a model's own fit (which holds the model with {@link exclusiveFit}). */
export async function runFit<D extends FitSource, R, M>(
  target: FitTarget<D, R>,
  data: D,
  options: FitLoopOptions<D, M>,
  parts: FitRunParts<R, M>,
): Promise<History> {
  target.checkFitData(data, 'training data');
  if (data.n === 0) throw new ValidationError('E_EMPTY', 'expected a non-empty dataset for training data');
  const epochs = expectInt('epochs', options.epochs ?? 1, 1);
  const initialEpoch = expectInt('initialEpoch', options.initialEpoch ?? 0, 0);
  if (initialEpoch >= epochs)
    throw new ValidationError(
      'E_INVALID_ARG',
      `expected initialEpoch < epochs (epochs is the last epoch + 1), got initialEpoch ${initialEpoch}, epochs ${epochs}`,
    );
  const verbose = expectInt('verbose', options.verbose ?? 0, 0, 2);
  const batchSize = expectInt('batchSize', options.batchSize ?? 32, 1);
  const seed = expectInt('seed', options.seed ?? 0, 0);
  const chunkMs = expectNumber('chunkMs', options.chunkMs ?? 200, 1);
  const user = options.callbacks ?? [];
  if (!Array.isArray(user)) throw new ValidationError('E_INVALID_ARG', `expected an array for callbacks, got ${describe(user)}`);
  user.forEach((c, i) => {
    if (typeof c !== 'object' || c === null || Array.isArray(c))
      throw new ValidationError(
        'E_INVALID_ARG',
        `expected a Callback or an object of hooks for callbacks[${i}], got ${describe(c)}`,
      );
  });
  if (options.lrSchedule !== undefined) expectFunction('lrSchedule', options.lrSchedule);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal))
    throw new ValidationError('E_INVALID_ARG', `expected an AbortSignal for signal, got ${describe(options.signal)}`);
  if (options.shuffle !== undefined && typeof options.shuffle !== 'boolean')
    throw new ValidationError('E_INVALID_ARG', `expected a boolean for shuffle, got ${describe(options.shuffle)}`);
  const { train, validation } = validationOf(target, data, options, seed);
  if (validation?.n === 0) throw new ValidationError('E_EMPTY', 'expected a non-empty dataset for validationData');

  const config = (parts.model as { config?: unknown }).config;
  // Width-parallel targets hold their collective already and train on the whole batches.
  const world =
    options.dataParallel === false || target.widthParallel
      ? undefined
      : dataParallelWorld(target, {
          config,
          epochs,
          initialEpoch,
          batchSize,
          seed,
          n: train.n,
          shuffle: options.shuffle ?? true,
        });
  const state = parts.state ?? { lrScale: 1, stopTraining: false };
  const history = parts.history ?? new History();
  const display = verbose > 0 && (world?.isRoot ?? true) ? [new ProgressBar({ verbose: verbose as 1 | 2 })] : [];
  const callbacks = new CallbackList([...(parts.callbacks ?? []), ...user, ...display, history], parts.model, state);
  const settings = { epochs, batchSize, chunkMs, signal: options.signal, world };
  const loop = new FitLoop(target, train, parts.run, callbacks, state, settings);
  const schedule = options.lrSchedule ?? constantLr;
  const shuffle = options.shuffle ?? true;
  const rng = new Rng(seed ^ 0x5eed);
  try {
    await callbacks.onTrainBegin({ epochs, initialEpoch });
    // Resuming: the shuffling stream continues where epochs 0..initialEpoch-1 left it.
    if (shuffle) for (let e = 0; e < initialEpoch; e++) rng.permutation(train.n);
    const status = target.preparation?.(train, parts.run);
    if (status) await callbacks.onStatus(status);
    for (let epoch = initialEpoch; epoch < epochs && !state.stopTraining; epoch++) {
      const lr = schedule(epoch, target.baseLr) * state.lrScale;
      if (!(lr >= 0) || !Number.isFinite(lr))
        throw new ValidationError(
          'E_INVALID_ARG',
          `expected a finite learning rate >= 0 from the schedule at epoch ${epoch}, got ${lr}`,
        );
      await callbacks.onEpochBegin(epoch, { lr });
      const order = shuffle ? rng.permutation(train.n) : Int32Array.from({ length: train.n }, (_, i) => i);
      const meter = await loop.trainEpoch(epoch, lr, order);
      if (world) {
        meter.reduce((v) => world.allreduce(v));
        // A callback's stop on one rank stops every rank after this epoch.
        state.stopTraining = world.allreduce([state.stopTraining ? 1 : 0], 'max')[0] === 1;
      }
      const seconds = meter.seconds;
      const logs = meter.logs();
      if (validation) Object.assign(logs, await loop.validate(validation, epoch, lr));
      logs.lr = lr;
      logs.seconds = seconds;
      logs.samplesPerSec = meter.seen / Math.max(seconds, 1e-9);
      await callbacks.onEpochEnd(epoch, withMetricAliases(logs));
    }
    await callbacks.onTrainEnd({});
  } finally {
    if (world) target.attachCollective?.(null);
    await target.endFit?.();
  }
  return history;
}

/**
 * The world when this fit is data-parallel (a world of 2+ ranks was started), with the model's
 * collective attached after every rank agreed on the run's settings; undefined otherwise.
 */
function dataParallelWorld<D extends FitSource, R>(
  target: FitTarget<D, R>,
  settings: Record<string, unknown>,
): World | undefined {
  const world = currentWorld();
  // One rank trains alone, unless BIASLEARN_FORCE_COLLECTIVE=1 asks to run the collective path anyway (device checks).
  if (!world || (world.size < 2 && process.env.BIASLEARN_FORCE_COLLECTIVE !== '1')) return undefined;
  if (!target.attachCollective)
    throw new BiasLearnError('E_DISTRIBUTED', 'this model kind does not support data-parallel training');
  world.agree('the model configuration and fit settings (seeds, sizes, epochs, batch size, training samples)', settings);
  target.attachCollective(collectivePathFor((target as { backend?: string }).backend, world));
  return world;
}

/** The steps of one fit run: native chunks sized to ~chunkMs, per-batch hooks, progress, validation. */
class FitLoop<D extends FitSource, R> {
  /** Batches per native call, adapted after every call (1 while a callback wants per-batch hooks). */
  private batchesPerChunk = 1;

  constructor(
    private readonly target: FitTarget<D, R>,
    private readonly train: D,
    private readonly run: R,
    private readonly callbacks: CallbackList<unknown>,
    private readonly state: FitState,
    private readonly settings: {
      epochs: number;
      batchSize: number;
      chunkMs: number;
      signal: AbortSignal | undefined;
      world: World | undefined;
    },
  ) {}

  /**
   * One epoch of optimizer steps over `order` (a permutation of the training samples); data-parallel,
   * over this rank's shard of every global batch (src/distributed/shard.ts).
   */
  async trainEpoch(epoch: number, lr: number, globalOrder: Int32Array): Promise<EpochMetrics> {
    const { chunkMs, epochs, signal, world } = this.settings;
    const { local: order, batch: batchSize } = world
      ? shardOrder(globalOrder, this.settings.batchSize, world.rank, world.size)
      : { local: globalOrder, batch: this.settings.batchSize };
    const perBatch = this.callbacks.wantsBatches;
    const meter = new EpochMetrics(epoch, lr, this.target.isClassifier === true);
    const n = order.length;
    for (let start = 0; start < n; ) {
      signal?.throwIfAborted();
      const end = Math.min(n, start + (perBatch ? 1 : this.batchesPerChunk) * batchSize);
      const tc = performance.now();
      const stats = await this.target.trainIndices(this.train, order.subarray(start, end), batchSize, lr, this.run);
      const perBatchMs = (performance.now() - tc) / stats.size.length;
      if (!perBatch) this.batchesPerChunk = Math.max(1, Math.min(4096, Math.round(chunkMs / Math.max(perBatchMs, 1e-3))));
      for (const logs of meter.add(stats)) if (perBatch) await this.callbacks.onBatchEnd(logs.batch, logs);
      start = end;
      if (this.callbacks.wantsProgress) await this.callbacks.onProgress(meter.progress(epochs, n));
      if (this.state.stopTraining && !world) break;
    }
    return meter;
  }

  /** val_loss (and val_accuracy) after an epoch; a non-finite loss is E_DIVERGED. */
  async validate(validation: D, epoch: number, lr: number): Promise<Logs> {
    const v = await this.target
      .evaluate(validation, { batchSize: Math.max(this.settings.batchSize, 256) }, this.run)
      .catch((err: unknown) => {
        if ((err as { code?: unknown }).code === 'E_NONFINITE') return { loss: Number.NaN, accuracy: undefined };
        throw err;
      });
    if (!Number.isFinite(v.loss)) {
      throw new BiasLearnError(
        'E_DIVERGED',
        `training diverged: non-finite validation loss after epoch ${epoch} (lr ${lr}); lower the learning rate`,
      );
    }
    return v.accuracy === undefined ? { val_loss: v.loss } : { val_loss: v.loss, val_accuracy: v.accuracy };
  }
}
