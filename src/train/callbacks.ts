/**
 * Training callbacks (after Keras / tfjs-layers). `fit` awaits every hook, so a callback may do
 * async work (write a file, evaluate) and training waits for it. A callback is a {@link Callback}
 * subclass or a plain object of hooks (`{ onEpochEnd(epoch, logs) { ... } }`); either way, inside
 * a hook `this.model` is the model `fit` was called on and `this.fitState` the run's shared state.
 * `fit` drives them all through one {@link CallbackList}, with its {@link History} last.
 */
import { ValidationError } from '../errors.js';
import { describe, expectInt, expectKnownKeys, expectNumber, expectOneOf, expectString, optionKeys } from '../util/validate.js';
import type { FitModel } from './fit_target.js';
import { canonicalMetric } from './metric_names.js';

/**
 * Metrics of one epoch: loss, accuracy (classification), val_loss, val_accuracy, lr, seconds,
 * samplesPerSec. `acc` and `val_acc` read as aliases of accuracy and val_accuracy (non-enumerable).
 */
export type Logs = Record<string, number>;

export interface BatchLogs {
  batch: number;
  size: number;
  loss: number;
  accuracy?: number;
  /** @deprecated alias of `accuracy` (non-enumerable). */
  acc?: number;
}

export interface ProgressInfo {
  epoch: number;
  epochs: number;
  samplesDone: number;
  samplesTotal: number;
  /** Running mean loss and accuracy over the epoch so far. */
  loss: number;
  accuracy?: number;
  /** @deprecated alias of `accuracy` (non-enumerable). */
  acc?: number;
  samplesPerSec: number;
}

/** Mutable state shared by fit and its callbacks (one per fit run; a multi-task fit adds its own fields). */
export interface FitState {
  lrScale: number;
  stopTraining: boolean;
}

/** The hooks a callback may define, in the order fit calls them. */
export interface CallbackHooks {
  /** Before the first epoch; logs hold `epochs` (the last epoch + 1) and `initialEpoch`. */
  onTrainBegin?(logs?: Logs): void | Promise<void>;
  /** At the start of every epoch; logs hold the epoch's learning rate `lr`. */
  onEpochBegin?(epoch: number, logs?: Logs): void | Promise<void>;
  /** Defining this makes `fit` return to JavaScript after every batch (slower for tiny batches). */
  onBatchEnd?(batch: number, logs: BatchLogs): void | Promise<void>;
  /** Called every ~100-250 ms of training with running metrics; does not force per-batch steps. */
  onProgress?(info: ProgressInfo): void | Promise<void>;
  /** Callbacks see (and may add to) the epoch's logs before History records them. */
  onEpochEnd?(epoch: number, logs: Logs): void | Promise<void>;
  /** After the last epoch (also after early stopping); not called when fit throws. */
  onTrainEnd?(logs?: Logs): void | Promise<void>;
  /** A one-line message about a long step outside the epochs (e.g. "building the input-layer cache ..."). */
  onStatus?(message: string): void | Promise<void>;
}

const HOOKS = [
  'onTrainBegin',
  'onEpochBegin',
  'onBatchEnd',
  'onProgress',
  'onEpochEnd',
  'onTrainEnd',
  'onStatus',
] as const satisfies readonly (keyof CallbackHooks)[];

/** What `this` is inside a hook: the model fit was called on (`M`) and the run's state. */
export interface CallbackContext<M = FitModel> {
  model: M;
  fitState: FitState;
}

/**
 * Base class of callbacks. `M` is the model kind the callback expects as `this.model`
 * (`class Saver extends Callback<MLP>` may call `this.model.save()`); the default is what every
 * model offers.
 */
// The hooks are declared once, in CallbackHooks, and merged into the class (so subclasses `override` them).
// biome-ignore lint/correctness/noUnusedVariables: merged declarations must repeat the class's type parameter
export interface Callback<M = FitModel> extends CallbackHooks {}
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the merged interface only declares optional hooks
export abstract class Callback<M = FitModel> implements CallbackContext<M> {
  /** Set by `fit` before training starts: the model fit was called on. */
  model!: M;
  /** Set by `fit`: multiply the scheduled learning rate by this (used by ReduceLROnPlateau). */
  fitState!: FitState;
}

/**
 * A plain object of hooks (as in tfjs): fit sets `model` and `fitState` on the object and calls
 * each hook with `this` bound to it, so `this.model` is the model fit was called on, typed as such.
 */
export type PlainCallback<M = FitModel> = CallbackHooks & ThisType<CallbackContext<M>>;

/** What fit's `callbacks` option takes for a model of kind `M`. */
export type FitCallback<M = FitModel> = Callback<FitModel> | PlainCallback<M>;

/** Wraps plain functions as a callback. */
export class LambdaCallback extends Callback {
  constructor(
    hooks: Partial<
      Pick<Callback, 'onTrainBegin' | 'onTrainEnd' | 'onEpochBegin' | 'onEpochEnd' | 'onBatchEnd' | 'onProgress' | 'onStatus'>
    >,
  ) {
    super();
    Object.assign(this, hooks);
  }
}

function checkCallback(c: unknown, where: string): CallbackHooks {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) {
    throw new ValidationError('E_INVALID_ARG', `expected a Callback or an object of hooks for ${where}, got ${describe(c)}`);
  }
  const hooks = c as Record<string, unknown>;
  for (const h of HOOKS) {
    if (hooks[h] !== undefined && typeof hooks[h] !== 'function') {
      throw new ValidationError('E_INVALID_ARG', `expected a function for ${where}.${h}, got ${describe(hooks[h])}`);
    }
  }
  if (!(c instanceof Callback)) {
    // A plain object's hook names are all it has to go by: a misspelt hook would never run.
    const unknown = Object.keys(c).find((k) => /^on[A-Z]/.test(k) && !(HOOKS as readonly string[]).includes(k));
    if (unknown) throw new ValidationError('E_INVALID_ARG', `unknown hook '${unknown}' for ${where}; hooks: ${HOOKS.join(', ')}`);
    if (!HOOKS.some((h) => typeof hooks[h] === 'function')) {
      throw new ValidationError(
        'E_INVALID_ARG',
        `expected a Callback or an object with at least one hook (${HOOKS.join(', ')}) for ${where}`,
      );
    }
  }
  return c as CallbackHooks;
}

/**
 * The callbacks of one fit run, driven as one (tfjs's CallbackList): each hook of the list
 * awaits that hook of every callback, in order. Binds `model` and `fitState` on each callback.
 */
export class CallbackList<M = FitModel> {
  private readonly callbacks: CallbackHooks[];

  constructor(callbacks: readonly unknown[], model: M, state: FitState, where = 'callbacks') {
    if (!Array.isArray(callbacks))
      throw new ValidationError('E_INVALID_ARG', `expected an array for ${where}, got ${describe(callbacks)}`);
    this.callbacks = callbacks.map((c, i) => checkCallback(c, `${where}[${i}]`));
    for (const c of this.callbacks) Object.assign(c, { model, fitState: state } satisfies CallbackContext<M>);
  }

  /** Whether some callback wants per-batch hooks (fit then steps one batch per native call). */
  get wantsBatches(): boolean {
    return this.callbacks.some((c) => typeof c.onBatchEnd === 'function');
  }
  get wantsProgress(): boolean {
    return this.callbacks.some((c) => typeof c.onProgress === 'function');
  }

  /** Runs every callback's onTrainBegin, in order. */
  async onTrainBegin(logs: Logs = {}): Promise<void> {
    for (const c of this.callbacks) await c.onTrainBegin?.(logs);
  }
  /** Runs every callback's onEpochBegin, in order. */
  async onEpochBegin(epoch: number, logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onEpochBegin?.(epoch, logs);
  }
  /** Runs every callback's onBatchEnd, in order. */
  async onBatchEnd(batch: number, logs: BatchLogs): Promise<void> {
    for (const c of this.callbacks) await c.onBatchEnd?.(batch, logs);
  }
  /** Runs every callback's onProgress, in order. */
  async onProgress(info: ProgressInfo): Promise<void> {
    for (const c of this.callbacks) await c.onProgress?.(info);
  }
  /** Runs every callback's onEpochEnd, in order. */
  async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    for (const c of this.callbacks) await c.onEpochEnd?.(epoch, logs);
  }
  /** Runs every callback's onTrainEnd, in order. */
  async onTrainEnd(logs: Logs = {}): Promise<void> {
    for (const c of this.callbacks) await c.onTrainEnd?.(logs);
  }
  /** Runs every callback's onStatus, in order. */
  async onStatus(message: string): Promise<void> {
    for (const c of this.callbacks) await c.onStatus?.(message);
  }
}

function better(mode: 'min' | 'max', current: number, best: number, minDelta: number): boolean {
  return mode === 'min' ? current < best - minDelta : current > best + minDelta;
}

function modeOf(monitor: string, mode: 'min' | 'max' | 'auto'): 'min' | 'max' {
  if (mode !== 'auto') return mode;
  return monitor.includes('acc') ? 'max' : 'min';
}

const MODES = ['min', 'max', 'auto'] as const;

export interface EarlyStoppingOptions {
  /** Metric to watch. Default 'val_loss' (falls back to 'loss' without validation data). */
  monitor?: string;
  minDelta?: number;
  patience?: number;
  mode?: 'min' | 'max' | 'auto';
  /** Put back the learned values of the best epoch when training stops. */
  restoreBestWeights?: boolean;
}

const EARLY_STOPPING_KEYS = optionKeys<EarlyStoppingOptions>({
  monitor: true,
  minDelta: true,
  patience: true,
  mode: true,
  restoreBestWeights: true,
});

/** Stops training when the monitored metric has not improved for `patience` epochs. */
export class EarlyStopping extends Callback {
  readonly monitor: string;
  readonly minDelta: number;
  readonly patience: number;
  readonly restoreBestWeights: boolean;
  private readonly modeOpt: 'min' | 'max' | 'auto';
  best = NaN;
  bestEpoch = -1;
  stoppedEpoch = -1;
  private wait = 0;
  private bestValues: Record<string, Float32Array> | null = null;

  constructor(opts: EarlyStoppingOptions = {}) {
    super();
    expectKnownKeys('EarlyStopping options', opts, EARLY_STOPPING_KEYS);
    this.monitor = canonicalMetric(expectString('monitor', opts.monitor ?? 'val_loss'));
    this.minDelta = Math.abs(expectNumber('minDelta', opts.minDelta ?? 0));
    this.patience = expectInt('patience', opts.patience ?? 0, 0);
    this.modeOpt = expectOneOf('mode', opts.mode ?? 'auto', MODES);
    this.restoreBestWeights = opts.restoreBestWeights ?? false;
    if (typeof this.restoreBestWeights !== 'boolean')
      throw new ValidationError(
        'E_INVALID_ARG',
        `expected a boolean for restoreBestWeights, got ${describe(this.restoreBestWeights)}`,
      );
  }

  override onTrainBegin(): void {
    this.best = NaN;
    this.bestEpoch = -1;
    this.stoppedEpoch = -1;
    this.wait = 0;
    this.bestValues = null;
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    const key =
      this.monitor in logs
        ? this.monitor
        : this.monitor.startsWith('val_') && this.monitor.slice(4) in logs
          ? this.monitor.slice(4)
          : this.monitor;
    const current = logs[key];
    if (current === undefined || !Number.isFinite(current)) return;
    const mode = modeOf(key, this.modeOpt);
    if (Number.isNaN(this.best) || better(mode, current, this.best, this.minDelta)) {
      this.best = current;
      this.bestEpoch = epoch;
      this.wait = 0;
      if (this.restoreBestWeights) this.bestValues = await this.model.getLearned();
      return;
    }
    this.wait++;
    if (this.wait >= Math.max(1, this.patience)) {
      this.stoppedEpoch = epoch;
      this.fitState.stopTraining = true;
    }
  }

  override async onTrainEnd(): Promise<void> {
    if (this.restoreBestWeights && this.bestValues) await this.model.setLearned(this.bestValues);
  }
}

export interface ReduceLROnPlateauOptions {
  monitor?: string;
  factor?: number;
  patience?: number;
  minDelta?: number;
  minLr?: number;
  mode?: 'min' | 'max' | 'auto';
}

const REDUCE_LR_KEYS = optionKeys<ReduceLROnPlateauOptions>({
  monitor: true,
  factor: true,
  patience: true,
  minDelta: true,
  minLr: true,
  mode: true,
});

/** Multiplies the learning rate by `factor` when the monitored metric stalls for `patience` epochs. */
export class ReduceLROnPlateau extends Callback {
  readonly monitor: string;
  readonly factor: number;
  readonly patience: number;
  readonly minDelta: number;
  readonly minLr: number;
  private readonly modeOpt: 'min' | 'max' | 'auto';
  private best = NaN;
  private wait = 0;

  constructor(opts: ReduceLROnPlateauOptions = {}) {
    super();
    expectKnownKeys('ReduceLROnPlateau options', opts, REDUCE_LR_KEYS);
    this.monitor = canonicalMetric(expectString('monitor', opts.monitor ?? 'val_loss'));
    this.factor = opts.factor ?? 0.1;
    this.patience = expectInt('patience', opts.patience ?? 2, 0);
    this.minDelta = expectNumber('minDelta', opts.minDelta ?? 1e-4);
    this.minLr = expectNumber('minLr', opts.minLr ?? 0, 0);
    this.modeOpt = expectOneOf('mode', opts.mode ?? 'auto', MODES);
    if (!(typeof this.factor === 'number' && this.factor > 0 && this.factor < 1))
      throw new ValidationError('E_INVALID_ARG', `expected factor in (0, 1) for ReduceLROnPlateau, got ${describe(this.factor)}`);
  }

  override onTrainBegin(): void {
    this.best = NaN;
    this.wait = 0;
  }

  override onEpochEnd(_epoch: number, logs: Logs): void {
    const key = this.monitor in logs ? this.monitor : this.monitor.slice(4);
    const current = logs[key];
    if (current === undefined || !Number.isFinite(current)) return;
    const mode = modeOf(key, this.modeOpt);
    if (Number.isNaN(this.best) || better(mode, current, this.best, this.minDelta)) {
      this.best = current;
      this.wait = 0;
      return;
    }
    if (++this.wait >= this.patience) {
      const lr = logs.lr ?? 0;
      if (lr * this.factor >= this.minLr) this.fitState.lrScale *= this.factor;
      this.wait = 0;
    }
  }
}
