/**
 * Multi-task model configuration: what the user writes ({@link MultitaskOptions}) and the resolved
 * form ({@link MultitaskConfig}) that a checkpoint stores and from which the frozen weights are
 * regenerated. Distributions and optimizer defaults come from the MLP's (src/model/config.ts), so
 * a multi-task model and a single-task MLP of the same seed share their frozen hidden weights.
 */
import { resolvePrecision, type PrecisionConfig, type PrecisionOptions } from '../model/precision.js';
import { ValidationError } from '../errors.js';
import {
  resolveMLPConfig,
  type Activation,
  type InitSpec,
  type OptimizerConfig,
  type OptimizerOptions,
} from '../model/config.js';
import type { BackendName } from '../native/binding.js';
import { describe, expectInt, expectKnownKeys, expectNumber, expectOneOf, optionKeys, expectObject } from '../util/validate.js';

export const MULTITASK_TRAIN_MODES = ['bias', 'mask', 'full'] as const;
/**
 * What learns, per task or shared:
 *  - `bias`: one bias vector per task (every hidden layer and the readout); all weights frozen.
 *  - `mask`: one gate vector per task on the hidden units (mask learning); weights and biases frozen.
 *  - `full`: shared learned weights plus one bias vector per task (the conventional baseline).
 */
export type MultitaskTrainMode = (typeof MULTITASK_TRAIN_MODES)[number];

export const READOUT_KINDS = ['auto', 'shared', 'per-task'] as const;
/**
 * `shared`: one frozen readout for every task (all tasks must have the same number of classes);
 * `per-task`: task k has its own frozen readout rows (from its own seed stream) and logits;
 * `auto` (default): shared when every task has the same number of classes, else per-task.
 */
export type ReadoutKind = (typeof READOUT_KINDS)[number];

export interface TaskInfo {
  /** Unique task name, e.g. 'mnist', 'kmnist:perm1'. */
  name: string;
  classes: number;
}

/** Gate slope schedule of mask learning: geometric from `start` (first epoch) to `end` (last epoch). */
export interface MaskSlope {
  start: number;
  end: number;
}

export const DEFAULT_MASK_SLOPE: MaskSlope = { start: 1, end: 50 };
export const DEFAULT_MASK_INIT = 0;

export interface MultitaskOptions extends PrecisionOptions {
  inputSize: number;
  /** Hidden widths, e.g. 8192 or [1024, 1024]. */
  hidden: number | number[];
  /** The tasks, in order (their index is the task id). */
  tasks: readonly TaskInfo[];
  /** Default 'bias'. */
  train?: MultitaskTrainMode;
  /** Hidden activation. Default relu. */
  activation?: Exclude<Activation, 'identity'>;
  readout?: ReadoutKind;
  /** Seed of every frozen weight: an integer in [0, 2^53 - 1]. Default: a fresh random seed (crypto), recorded in `config.seed`. */
  seed?: number;
  /** Hidden-layer weight distribution (defaults: the MLP's). */
  weightInit?: Partial<InitSpec>;
  /** Readout weight distribution (default: the MLP's readout default). */
  readoutInit?: Partial<InitSpec>;
  /** Initial biases of every task (default: the MLP's, zeros). */
  biasInit?: Partial<InitSpec>;
  /** Mask learning: initial gate logit theta of every unit and task (default 0: soft gates 0.5). */
  maskInit?: number;
  /** Mask learning: gate slope schedule over the epochs of a fit. */
  maskSlope?: Partial<MaskSlope>;
  optimizer?: OptimizerOptions;
  /** Global gradient-norm clip before each update (0: off). Default 0. */
  clip?: number;
  backend?: BackendName;
}

export const MULTITASK_OPTION_KEYS = optionKeys<MultitaskOptions>({
  inputSize: true,
  hidden: true,
  tasks: true,
  train: true,
  activation: true,
  readout: true,
  seed: true,
  weightInit: true,
  readoutInit: true,
  biasInit: true,
  maskInit: true,
  maskSlope: true,
  optimizer: true,
  clip: true,
  weightPrecision: true,
  tf32: true,
  backend: true,
});

export interface MultitaskConfig extends PrecisionConfig {
  kind: 'multitask-mlp';
  seed: number;
  inputSize: number;
  hidden: number[];
  activation: Exclude<Activation, 'identity'>;
  train: MultitaskTrainMode;
  readout: 'shared' | 'per-task';
  tasks: TaskInfo[];
  /** L + 1 entries: hidden layers, then the readout. */
  weightInit: InitSpec[];
  biasInit: InitSpec[];
  maskInit: number;
  maskSlope: MaskSlope;
  optimizer: OptimizerConfig;
  /** Global gradient-norm clip before each update (0: off); checkpoints of 0.1.x have none (0). */
  clip: number;
}

const TASK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:+=-]{0,127}$/;

export function validateTask(t: unknown, where: string): TaskInfo {
  if (typeof t !== 'object' || t === null)
    throw new ValidationError('E_INVALID_ARG', `expected { name, classes } for ${where}, got ${describe(t)}`);
  const { name, classes } = t as TaskInfo;
  if (typeof name !== 'string' || !TASK_NAME.test(name)) {
    throw new ValidationError(
      'E_INVALID_ARG',
      `expected a task name of letters, digits and _.:+=- for ${where}.name, got ${describe(name)}`,
    );
  }
  expectInt(`${where}.classes`, classes, 1, 1 << 20);
  return { name, classes };
}

export function validateTasks(tasks: unknown): TaskInfo[] {
  if (!Array.isArray(tasks) || tasks.length === 0)
    throw new ValidationError('E_CONFIG', `expected at least one task, got ${describe(tasks)}`);
  const out = tasks.map((t, i) => validateTask(t, `tasks[${i}]`));
  const seen = new Set<string>();
  for (const t of out) {
    if (seen.has(t.name)) throw new ValidationError('E_CONFIG', `task names must be unique; '${t.name}' appears twice`);
    seen.add(t.name);
  }
  return out;
}

/** The slope of the gate sigmoid at `epoch` (0-based) of `epochs`: geometric from start to end. */
export function maskSlopeAt(slope: MaskSlope, epoch: number, epochs: number): number {
  expectObject('slope', slope);
  expectNumber('slope.start', slope.start, 0, Infinity, { exclusiveMin: true });
  expectNumber('slope.end', slope.end, 0, Infinity, { exclusiveMin: true });
  expectInt('epoch', epoch, 0);
  expectInt('epochs', epochs, 1);
  if (epochs <= 1) return slope.start;
  const t = Math.min(Math.max(epoch, 0), epochs - 1) / (epochs - 1);
  return slope.start * (slope.end / slope.start) ** t;
}

/** Validates options and fills in every default. */
export function resolveMultitaskConfig(o: MultitaskOptions): MultitaskConfig {
  if (typeof o !== 'object' || o === null)
    throw new ValidationError('E_INVALID_ARG', `expected an options object, got ${describe(o)}`);
  expectKnownKeys('multi-task options', o, MULTITASK_OPTION_KEYS);
  const clip = expectNumber('clip', o.clip ?? 0, 0);
  const tasks = validateTasks(o.tasks);
  const hidden = o.hidden === undefined ? [] : Array.isArray(o.hidden) ? o.hidden : [o.hidden];
  if (hidden.length === 0)
    throw new ValidationError('E_CONFIG', 'expected at least one hidden layer (hidden: 8192 or [1024, 1024])');
  const train = expectOneOf('train', o.train ?? 'bias', MULTITASK_TRAIN_MODES);
  const readoutOpt = expectOneOf('readout', o.readout ?? 'auto', READOUT_KINDS);
  const sameClasses = tasks.every((t) => t.classes === tasks[0]!.classes);
  if (readoutOpt === 'shared' && !sameClasses) {
    throw new ValidationError(
      'E_CONFIG',
      `a shared readout needs every task to have the same number of classes (got ${tasks.map((t) => `${t.name}: ${t.classes}`).join(', ')}); use readout 'per-task'`,
    );
  }
  const readout = readoutOpt === 'auto' ? (sameClasses ? 'shared' : 'per-task') : readoutOpt;
  // The MLP resolver validates and defaults distributions, activation, seed and optimizer.
  const mlp = resolveMLPConfig({
    inputSize: o.inputSize,
    hidden,
    outputSize: Math.max(...tasks.map((t) => t.classes)),
    activation: o.activation ?? 'relu',
    // Same defaults as an MLP with the same trainable set: frozen readout (bias, mask) or learned (full).
    train: train === 'full' ? 'full' : 'bias',
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.weightInit !== undefined ? { weightInit: o.weightInit } : {}),
    ...(o.readoutInit !== undefined ? { readoutInit: o.readoutInit } : {}),
    ...(o.biasInit !== undefined ? { biasInit: o.biasInit } : {}),
    ...(o.optimizer !== undefined ? { optimizer: o.optimizer } : {}),
  });
  if (mlp.layers[0]!.activation === 'identity')
    throw new ValidationError('E_INVALID_ARG', "expected a non-linear hidden activation, got 'identity'");
  const maskInit = expectNumber('maskInit', o.maskInit ?? DEFAULT_MASK_INIT);
  const ms = o.maskSlope ?? {};
  if (typeof ms !== 'object' || ms === null)
    throw new ValidationError('E_INVALID_ARG', `expected { start, end } for maskSlope, got ${describe(ms)}`);
  expectKnownKeys('maskSlope', ms, optionKeys<MaskSlope>({ start: true, end: true }));
  const maskSlope: MaskSlope = {
    start: expectNumber('maskSlope.start', ms.start ?? DEFAULT_MASK_SLOPE.start, 0, Infinity, { exclusiveMin: true }),
    end: expectNumber('maskSlope.end', ms.end ?? DEFAULT_MASK_SLOPE.end, 0, Infinity, { exclusiveMin: true }),
  };
  return {
    kind: 'multitask-mlp',
    seed: mlp.seed,
    inputSize: mlp.layers[0]!.in,
    hidden: mlp.layers.slice(0, -1).map((l) => l.out),
    activation: mlp.layers[0]!.activation as Exclude<Activation, 'identity'>,
    train,
    readout,
    tasks,
    weightInit: mlp.layers.map((l) => l.weightInit),
    biasInit: mlp.layers.map((l) => l.biasInit),
    maskInit,
    maskSlope,
    optimizer: mlp.optimizer,
    clip,
    ...resolvePrecision(o),
  };
}

/** Re-validates a stored configuration (checkpoint header) through the public resolver. */
export function revalidateConfig(c: MultitaskConfig): MultitaskConfig {
  const L = Array.isArray(c.hidden) ? c.hidden.length : 0;
  if (
    !Array.isArray(c.weightInit) ||
    c.weightInit.length !== L + 1 ||
    !Array.isArray(c.biasInit) ||
    c.biasInit.length !== L + 1
  ) {
    throw new ValidationError('E_CONFIG', `expected ${L + 1} weightInit and biasInit entries`);
  }
  const r = resolveMultitaskConfig({
    inputSize: c.inputSize,
    hidden: c.hidden,
    tasks: c.tasks,
    train: c.train,
    activation: c.activation,
    readout: c.readout,
    seed: c.seed,
    weightInit: c.weightInit[0],
    readoutInit: c.weightInit[L],
    biasInit: c.biasInit[0],
    maskInit: c.maskInit,
    maskSlope: c.maskSlope,
    optimizer: c.optimizer,
    clip: c.clip,
    weightPrecision: c.weightPrecision,
    tf32: c.tf32,
  });
  // Per-layer distributions (a config may hold different ones per layer): validated one by one.
  r.weightInit = c.weightInit.map(
    (w, i) =>
      resolveMLPConfig({ inputSize: 1, hidden: [], outputSize: 1, weightInit: [w] }).layers[0]!.weightInit ?? r.weightInit[i]!,
  );
  r.biasInit = c.biasInit.map(
    (b) => resolveMLPConfig({ inputSize: 1, hidden: [], outputSize: 1, biasInit: [b] }).layers[0]!.biasInit,
  );
  return r;
}
