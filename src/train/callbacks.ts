/**
 * Training callbacks (after Keras / tfjs-layers). `fit` awaits every hook, so a callback may do
 * async work (write a file, evaluate) and training waits for it.
 */
import type { FitTarget } from './fit_target.js';

/** Metrics of one epoch: loss, acc (classification), val_loss, val_acc, lr, seconds, samplesPerSec. */
export type Logs = Record<string, number>;

export interface BatchLogs {
  batch: number;
  size: number;
  loss: number;
  acc?: number;
}

export interface ProgressInfo {
  epoch: number;
  epochs: number;
  samplesDone: number;
  samplesTotal: number;
  /** Running mean loss and accuracy over the epoch so far. */
  loss: number;
  acc?: number;
  samplesPerSec: number;
}

export abstract class Callback {
  /** Set by `fit` before training starts. */
  model!: FitTarget;
  /** Set by `fit`: multiply the scheduled learning rate by this (used by ReduceLROnPlateau). */
  fitState!: FitState;
  onTrainBegin?(logs?: Logs): void | Promise<void>;
  onTrainEnd?(logs?: Logs): void | Promise<void>;
  onEpochBegin?(epoch: number, logs?: Logs): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: Logs): void | Promise<void>;
  /** Defining this makes `fit` return to JavaScript after every batch (slower for tiny batches). */
  onBatchEnd?(batch: number, logs: BatchLogs): void | Promise<void>;
  /** Called every ~100-250 ms of training with running metrics; does not force per-batch steps. */
  onProgress?(info: ProgressInfo): void | Promise<void>;
}

/** Mutable state shared by fit and its callbacks. */
export interface FitState {
  lrScale: number;
  stopTraining: boolean;
}

/** Wraps plain functions as a callback. */
export class LambdaCallback extends Callback {
  constructor(hooks: Partial<Pick<Callback, 'onTrainBegin' | 'onTrainEnd' | 'onEpochBegin' | 'onEpochEnd' | 'onBatchEnd' | 'onProgress'>>) {
    super();
    Object.assign(this, hooks);
  }
}

function better(mode: 'min' | 'max', current: number, best: number, minDelta: number): boolean {
  return mode === 'min' ? current < best - minDelta : current > best + minDelta;
}

function modeOf(monitor: string, mode: 'min' | 'max' | 'auto'): 'min' | 'max' {
  if (mode !== 'auto') return mode;
  return monitor.includes('acc') ? 'max' : 'min';
}

export interface EarlyStoppingOptions {
  /** Metric to watch. Default 'val_loss' (falls back to 'loss' without validation data). */
  monitor?: string;
  minDelta?: number;
  patience?: number;
  mode?: 'min' | 'max' | 'auto';
  /** Put back the learned values of the best epoch when training stops. */
  restoreBestWeights?: boolean;
}

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
    this.monitor = opts.monitor ?? 'val_loss';
    this.minDelta = Math.abs(opts.minDelta ?? 0);
    this.patience = opts.patience ?? 0;
    this.modeOpt = opts.mode ?? 'auto';
    this.restoreBestWeights = opts.restoreBestWeights ?? false;
  }

  override onTrainBegin(): void {
    this.best = NaN;
    this.bestEpoch = -1;
    this.stoppedEpoch = -1;
    this.wait = 0;
    this.bestValues = null;
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    const key = this.monitor in logs ? this.monitor : this.monitor.startsWith('val_') && this.monitor.slice(4) in logs ? this.monitor.slice(4) : this.monitor;
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
    this.monitor = opts.monitor ?? 'val_loss';
    this.factor = opts.factor ?? 0.1;
    this.patience = opts.patience ?? 2;
    this.minDelta = opts.minDelta ?? 1e-4;
    this.minLr = opts.minLr ?? 0;
    this.modeOpt = opts.mode ?? 'auto';
    if (!(this.factor > 0 && this.factor < 1)) throw new RangeError(`expected factor in (0, 1) for ReduceLROnPlateau, got ${this.factor}`);
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
