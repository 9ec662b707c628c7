/**
 * ModelCheckpoint (Keras's): saves the model after every epoch, or only when a monitored metric
 * improves, to a path that may name the epoch and metrics (`ckpt-{epoch:02d}.blck`,
 * `best-{val_loss:.4f}.blck`). Saves are atomic (temporary file, fsync, rename), so a crash
 * leaves the previous file whole.
 *
 * Every checkpoint records in its metadata the training state needed to resume:
 * `training: { epoch, initialEpoch, lrScale, monitor, best }` where `epoch` is the number of
 * finished epochs, i.e. the `initialEpoch` of the resumed fit (the learning-rate schedule is a
 * function of the epoch, so its position is the epoch). When the model exposes its optimizer
 * state ({@link OptimizerStateAccess}), that state is written beside the checkpoint
 * (`<path>.optimizer`) and restored by {@link restoreTraining}.
 */
import { expectString, expectInt, expectObject, describe } from '../util/validate.js';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FileFormatError, ValidationError } from '../errors.js';
import { isRootRank } from '../distributed/world.js';
import { encodeCheckpoint, readCheckpoint, writeFileAtomic } from '../model/checkpoint.js';
import { libraryVersion } from '../util/package_root.js';
import { Callback, type Logs } from './callbacks.js';
import { canonicalMetric } from './metric_names.js';
import type { OptimizerState } from '../model/optimizer_state.js';

/** What a model offers so that checkpoints can hold its optimizer state (every model kind does). */
export interface OptimizerStateAccess {
  /** A copy of the optimizer's state. */
  getOptimizerState(): Promise<OptimizerState>;
  /** Restores a state from getOptimizerState (same model configuration). */
  setOptimizerState(state: OptimizerState): Promise<void>;
}

/** Whether `model` exposes its optimizer state. */
export function hasOptimizerState(model: unknown): model is OptimizerStateAccess {
  const m = model as Partial<OptimizerStateAccess> | null;
  return typeof m?.getOptimizerState === 'function' && typeof m.setOptimizerState === 'function';
}

/** The resume record every ModelCheckpoint file carries (metadata.training). */
export interface TrainingState {
  /** Finished epochs: the `initialEpoch` of the fit that resumes. */
  epoch: number;
  /** The fit's learning-rate multiplier (ReduceLROnPlateau) after that epoch. */
  lrScale: number;
  /** The monitored metric and its best value so far (saveBestOnly). */
  monitor?: string;
  best?: number;
  /** Whether `<path>.optimizer` holds the optimizer state. */
  optimizerState: boolean;
}

/** Options of {@link ModelCheckpoint}. */
export interface ModelCheckpointOptions {
  /** Metric to compare for saveBestOnly (default 'val_loss'; falls back to 'loss' without validation). */
  monitor?: string;
  /** Save only when the monitored metric improves (default false: every epoch). */
  saveBestOnly?: boolean;
  /** 'min', 'max' or 'auto' (max for accuracy metrics). Default 'auto'. */
  mode?: 'min' | 'max' | 'auto';
  /** Save every this many epochs (default 1). */
  every?: number;
  /** Also save the optimizer state when the model exposes it (default true). */
  includeOptimizer?: boolean;
  /** Extra metadata stored in every checkpoint (e.g. the data the run used). */
  metadata?: Record<string, unknown>;
}

/** A model ModelCheckpoint can save (every model kind). */
export interface SavingModel {
  /** Writes a checkpoint (atomic) with `metadata` in its header. */
  save(path: string, options?: { metadata?: Record<string, unknown> }): Promise<void>;
}

/**
 * Fills a path template: `{epoch}` / `{epoch:02d}` (1-based, as Keras: the number of finished
 * epochs), `{<metric>}` / `{<metric>:.4f}` from the logs. An unknown name is E_INVALID_ARG.
 */
export function formatCheckpointPath(template: string, epoch: number, logs: Logs): string {
  expectString('template', template);
  expectInt('epoch', epoch, 0);
  expectObject('logs', logs);
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g, (_m, name: string, spec: string | undefined) => {
    const value = name === 'epoch' ? epoch + 1 : logs[canonicalMetric(name)];
    if (value === undefined)
      throw new ValidationError(
        'E_INVALID_ARG',
        `checkpoint path template names '${name}', which is not in the epoch's logs (${['epoch', ...Object.keys(logs)].join(', ')})`,
      );
    return formatNumber(value, spec);
  });
}

function formatNumber(v: number, spec: string | undefined): string {
  if (!spec) return String(v);
  const m = /^(0?)(\d*)(?:\.(\d+))?([dfe])$/.exec(spec);
  if (!m) throw new ValidationError('E_INVALID_ARG', `unsupported format '${spec}' in a checkpoint path (use d, .Nf, .Ne, 0Nd)`);
  const [, zero, width, prec, kind] = m;
  let s = kind === 'd' ? String(Math.round(v)) : kind === 'f' ? v.toFixed(Number(prec ?? 6)) : v.toExponential(Number(prec ?? 6));
  if (width) s = s.padStart(Number(width), zero ? '0' : ' ');
  return s;
}

function isBetter(mode: 'min' | 'max', current: number, best: number): boolean {
  return Number.isNaN(best) || (mode === 'min' ? current < best : current > best);
}

/** The optimizer-state file beside a checkpoint. */
export function optimizerStatePath(path: string): string {
  return `${path}.optimizer`;
}

/** Saves the model (and its optimizer state) after epochs; see the module comment. */
export class ModelCheckpoint extends Callback<SavingModel> {
  readonly filepath: string;
  readonly monitor: string;
  readonly saveBestOnly: boolean;
  private readonly mode: 'min' | 'max';
  private readonly every: number;
  private readonly includeOptimizer: boolean;
  private readonly extra: Record<string, unknown>;
  best = NaN;
  /** Paths written, in order. */
  readonly saved: string[] = [];

  constructor(filepath: string, options: ModelCheckpointOptions = {}) {
    super();
    if (typeof filepath !== 'string' || filepath === '')
      throw new ValidationError('E_INVALID_ARG', 'expected a file path (template) for ModelCheckpoint');
    this.filepath = filepath;
    this.monitor = canonicalMetric(options.monitor ?? 'val_loss');
    this.saveBestOnly = options.saveBestOnly ?? false;
    const mode = options.mode ?? 'auto';
    if (!['min', 'max', 'auto'].includes(mode))
      throw new ValidationError('E_INVALID_ARG', `expected 'min', 'max' or 'auto' for mode, got ${String(mode)}`);
    this.mode = mode === 'auto' ? (this.monitor.includes('acc') ? 'max' : 'min') : mode;
    this.every = options.every ?? 1;
    if (!Number.isInteger(this.every) || this.every < 1)
      throw new ValidationError('E_INVALID_ARG', `expected an integer >= 1 for every, got ${this.every}`);
    this.includeOptimizer = options.includeOptimizer ?? true;
    this.extra = options.metadata ?? {};
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    if ((epoch + 1) % this.every !== 0) return;
    if (this.saveBestOnly) {
      const key = this.monitor in logs ? this.monitor : this.monitor.startsWith('val_') ? this.monitor.slice(4) : this.monitor;
      const current = logs[key];
      if (current === undefined || !Number.isFinite(current) || !isBetter(this.mode, current, this.best)) return;
      this.best = current;
    }
    const path = formatCheckpointPath(this.filepath, epoch, logs);
    if (!isRootRank()) return; // data-parallel: every rank holds the same weights; rank 0 writes
    await mkdir(dirname(path), { recursive: true });
    const withOptimizer = this.includeOptimizer && hasOptimizerState(this.model);
    const training: TrainingState = {
      epoch: epoch + 1,
      lrScale: this.fitState.lrScale,
      ...(this.saveBestOnly ? { monitor: this.monitor, best: this.best } : {}),
      optimizerState: withOptimizer,
    };
    if (withOptimizer)
      await writeOptimizerState(
        optimizerStatePath(path),
        await (this.model as unknown as OptimizerStateAccess).getOptimizerState(),
      );
    await this.model.save(path, { metadata: { ...this.extra, training, logs: { ...logs } } });
    this.saved.push(path);
  }
}

/** Writes an optimizer state atomically (the checkpoint format, model kind 'optimizer-state'). */
export async function writeOptimizerState(path: string, state: OptimizerState): Promise<void> {
  expectString('path', path);
  expectObject('state', state);
  if (!Array.isArray(state.steps) || typeof state.tensors !== 'object' || state.tensors === null)
    throw new ValidationError('E_INVALID_ARG', `expected { steps, tensors } for state, got ${describe(state)}`);
  const buf = encodeCheckpoint(
    { library: 'biaslearn', libraryVersion: libraryVersion(), model: { kind: 'optimizer-state', steps: state.steps } },
    state.tensors,
  );
  await writeFileAtomic(path, buf);
}

/** Reads what {@link writeOptimizerState} wrote. */
export async function readOptimizerState(path: string): Promise<OptimizerState> {
  const { header, tensors } = await readCheckpoint(path);
  const steps = header.model.steps;
  const valid = Array.isArray(steps) && steps.length > 0 && steps.every((s) => Number.isSafeInteger(s) && s >= 0);
  if (header.model.kind !== 'optimizer-state' || !valid)
    throw new FileFormatError('E_FORMAT', path, 'not an optimizer-state file');
  return { steps: steps as number[], tensors };
}

/** What {@link restoreTraining} found: the fit options that continue the run. */
export interface ResumeInfo {
  /** Pass as fit's `initialEpoch`. */
  initialEpoch: number;
  lrScale: number;
  /** Whether the optimizer state was restored (false: the optimizer starts afresh). */
  optimizerRestored: boolean;
}

/**
 * Reads a ModelCheckpoint file's training state and, when the file has an optimizer state and
 * the model accepts one, restores it into `model` (load the model itself first, e.g. MLP.load).
 */
export async function restoreTraining(path: string, model: unknown): Promise<ResumeInfo> {
  const { header } = await readCheckpoint(path);
  const t = (header.metadata as { training?: TrainingState } | undefined)?.training;
  if (!t || !Number.isInteger(t.epoch) || t.epoch < 0)
    throw new FileFormatError('E_FORMAT', path, 'checkpoint has no training state (not written by ModelCheckpoint)');
  let optimizerRestored = false;
  if (t.optimizerState && hasOptimizerState(model)) {
    await model.setOptimizerState(await readOptimizerState(optimizerStatePath(path)));
    optimizerRestored = true;
  }
  return { initialEpoch: t.epoch, lrScale: typeof t.lrScale === 'number' ? t.lrScale : 1, optimizerRestored };
}
