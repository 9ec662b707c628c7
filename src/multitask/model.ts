/**
 * A multi-task bias-learning network: one set of random frozen weights (regenerated from a seed)
 * shared by every task, and per task its own bias vector (or unit gates, for mask learning).
 *
 * ```ts
 * const model = await MultitaskModel.create({ inputSize: 784, hidden: 8192, tasks: data.tasks, train: 'bias' });
 * const history = await model.fit(data, { epochs: 5, batchSize: 256, validationData: test });
 * (await model.evaluate(test)).perTask;     // { mnist: { accuracy, loss, n }, ... }
 * await model.predict(x, 'kmnist');          // logits under KMNIST's biases
 * ```
 *
 * Training is joint (mixed batches, the default) or sequential (one task after another). A task
 * is stepped only in batches that contain it and while it is trainable, with its own optimizer
 * state, so training other tasks, or adding tasks later ({@link MultitaskModel.addTask}), leaves
 * its biases bit-identical and its accuracy unchanged (in 'bias' and 'mask' modes; in 'full' mode
 * the shared weights learn too).
 */
import { checkStepArguments } from '../train/fit_target.js';
import { firstDifference } from '../model/schema.js';
import { storedPrecision, toNativePrecision } from '../model/precision.js';
import { NativeModel } from '../model/native_model.js';
import { callNative } from '../model/native_handle.js';
import { freemem } from 'node:os';
import { Dataset } from '../data/dataset.js';
import { FileFormatError, ValidationError, fromNativeError } from '../errors.js';
import { planWidthShard, withCollective } from '../distributed/width_parallel.js';
import { readCheckpoint, saveMetadata, writeModelCheckpoint } from '../model/checkpoint.js';
import { type Binding, nativeFor, toNativeOptimizer, type BackendName } from '../native/binding.js';
import { LOAD_OPTION_KEYS, type LoadOptions } from '../model/config.js';
import { Callback, type FitState, type Logs } from '../train/callbacks.js';
import { exclusiveFit, runFit } from '../train/fit.js';
import { FIT_LOOP_OPTION_KEYS, type FitLoopOptions } from '../train/fit_options.js';
import {
  expectCacheMode,
  type EvaluateResult,
  type FitTarget,
  type PassStats,
  type TrainStepOptions,
} from '../train/fit_target.js';
import { History } from '../train/history.js';
import {
  describe,
  expectFinite,
  expectFiniteLoss,
  expectInt,
  expectKnownKeys,
  expectNumber,
  expectOneOf,
  expectObject,
  expectOptions,
  optionKeys,
} from '../util/validate.js';
import {
  maskSlopeAt,
  resolveMultitaskConfig,
  revalidateConfig,
  validateTask,
  type MultitaskConfig,
  type MultitaskOptions,
  type TaskInfo,
} from './config.js';
import { withMetricAliases } from '../train/metric_names.js';
import { multitaskSummary, multitaskToString } from '../model/model_summary.js';
import { datasetFromArrays, expectPredictOutput, softmaxRows, type FitTargets, type PredictOutput } from '../model/outputs.js';
import { printSummary } from '../model/summary.js';
import { inputCacheMessage } from '../train/status.js';
import { MultitaskDataset, deviceMultitaskData } from './data.js';

function toNativeSpec(c: MultitaskConfig): Binding.MultitaskSpec {
  return {
    ...toNativePrecision(c),
    seed: c.seed,
    input: c.inputSize,
    hidden: c.hidden,
    activation: c.activation,
    weightInit: c.weightInit,
    biasInit: c.biasInit,
    classes: c.tasks.map((t) => t.classes),
    perTaskReadout: c.readout === 'per-task',
    mode: c.train,
    maskInit: c.maskInit,
    optimizer: toNativeOptimizer(c.optimizer),
  };
}

export interface TaskMetrics {
  loss: number;
  accuracy: number;
  n: number;
}

export interface MultitaskEvaluateResult extends EvaluateResult {
  accuracy: number;
  /** Per task, by name (tasks present in the data). */
  perTask: Record<string, TaskMetrics>;
  /** Unweighted mean of the per-task accuracies. */
  meanTaskAccuracy: number;
}

export interface MultitaskEvaluateOptions {
  batchSize?: number;
  /** Mask learning: 'hard' step gates (default, as at test time) or 'soft' sigmoid gates at `slope`. */
  gates?: 'hard' | 'soft';
  /** Slope of the soft gates. Default: config.maskSlope.end (the slope a fit ends at). */
  slope?: number;
}

/** Options of multi-task `fit` (no validationSplit: pass validationData, a MultitaskDataset). */
export interface MultitaskFitOptions extends Omit<FitLoopOptions<MultitaskDataset, MultitaskModel>, 'validationSplit'> {
  /** 'joint' (default): one shuffled stream of mixed batches. 'sequential': each task alone, in order, for `epochs` epochs. */
  schedule?: 'joint' | 'sequential';
  /** Train only these tasks (default: every task in the data). The others never change. */
  tasks?: string[];
  /** Reuse the frozen first layer's product X W_0^T across steps ('auto', the default: when it fits the budget). */
  cacheInputLayer?: boolean | 'auto';
}

/** Options of a multi-task training step: fit's, plus the gate slope and a sink for per-task sums. */
export interface MultitaskStepOptions extends TrainStepOptions {
  /** Gate slope (mask mode). Default: config.maskSlope.end. */
  slope?: number;
  /** Adds each task's loss, correct and sample sums of the pass here. */
  running?: RunningTaskStats;
}

export interface MultitaskPredictOptions {
  /** 'hard' step gates (default) or 'soft' sigmoid gates at `slope` (mask models). */
  gates?: 'hard' | 'soft';
  /** Slope of the soft gates. Default: config.maskSlope.end (the slope a fit ends at). */
  slope?: number;
  /** 'logits' (default, as in earlier releases) or 'probabilities' (softmax over the task's classes; padding gets 0). */
  output?: PredictOutput;
}

/** Options of `fit(x, y, options)` on one task's arrays: fit's options plus the task, with validationData as `[x, y]`. */
export interface MultitaskArrayFitOptions extends Omit<MultitaskFitOptions, 'validationData' | 'tasks'> {
  /** The task the rows belong to (name). */
  task: string;
  validationData?: [Float32Array, FitTargets];
}

const FIT_OPTION_KEYS = new Set([
  ...[...FIT_LOOP_OPTION_KEYS].filter((k) => k !== 'validationSplit'),
  ...optionKeys<Omit<MultitaskFitOptions, keyof FitLoopOptions>>({ schedule: true, tasks: true, cacheInputLayer: true }),
]);
const EVALUATE_OPTION_KEYS = optionKeys<MultitaskEvaluateOptions>({ batchSize: true, gates: true, slope: true });
const PREDICT_OPTION_KEYS = optionKeys<MultitaskPredictOptions>({ gates: true, slope: true, output: true });

/** Per-task metrics per epoch (train running sums and, with validation data, validation). */
export interface TaskHistory {
  loss: number[];
  accuracy: number[];
  val_loss: number[];
  val_accuracy: number[];
  /** @deprecated alias of `accuracy` (non-enumerable). */
  readonly acc: number[];
  /** @deprecated alias of `val_accuracy` (non-enumerable). */
  readonly val_acc: number[];
}

/**
 * What multi-task `fit` returns: the usual History plus per-task curves and the gate slope used.
 * As the last callback of every phase it records each epoch from the phase's
 * {@link MultitaskFitState}, numbering epochs across phases.
 */
export class MultitaskHistory extends History {
  readonly perTask: Record<string, TaskHistory> = {};
  /** The phase (task trained, or 'joint') of each epoch. */
  readonly phase: string[] = [];
  readonly slope: number[] = [];

  constructor(tasks: readonly string[] = []) {
    super();
    if (!Array.isArray(tasks) || tasks.some((t) => typeof t !== 'string'))
      throw new ValidationError('E_INVALID_ARG', `expected an array of task names, got ${describe(tasks)}`);
    for (const t of tasks)
      this.perTask[t] = withMetricAliases<Omit<TaskHistory, 'acc' | 'val_acc'>>(
        { loss: [], accuracy: [], val_loss: [], val_accuracy: [] },
        true,
      ) as TaskHistory;
  }

  override onEpochEnd(_epoch: number, logs: Logs): void {
    const s = this.fitState as MultitaskFitState;
    const r = s.running;
    Object.entries(this.perTask).forEach(([name, h], k) => {
      const c = r.count[k]!;
      h.loss.push(c > 0 ? r.lossSum[k]! / c : NaN);
      h.accuracy.push(c > 0 ? r.correct[k]! / c : NaN);
      const pv = s.validation?.perTask[name];
      h.val_loss.push(pv ? pv.loss : NaN);
      h.val_accuracy.push(pv ? pv.accuracy : NaN);
    });
    this.phase.push(s.phase);
    this.slope.push(s.slope);
    this.record(this.epoch.length, logs);
  }

  /** History's JSON plus the per-task curves, phases and gate slopes. */
  override toJSON(): {
    epoch: number[];
    history: Record<string, number[]>;
    perTask: Record<string, TaskHistory>;
    phase: string[];
    slope: number[];
  } {
    return { ...super.toJSON(), perTask: this.perTask, phase: this.phase, slope: this.slope };
  }
}

export interface ActivityStats {
  tasks: string[];
  units: number;
  layer: number;
  /** Samples per task. */
  count: number[];
  /** [task][unit] mean activity. */
  mean: Float64Array[];
  /** [task][unit] population variance of the activity over the task's inputs (the task variance). */
  variance: Float64Array[];
  /** [task][unit] fraction of the task's inputs on which the unit's activity exceeds the threshold. */
  active: Float64Array[];
  threshold: number;
}

/** Per-task sums [K] over the samples seen so far (of an epoch, in fit). */
export interface RunningTaskStats {
  lossSum: Float64Array;
  correct: Float64Array;
  count: Float64Array;
}

/**
 * The state of one phase of a multi-task fit, shared with its callbacks as `this.fitState` (the
 * model itself keeps no training state): the epoch's gate slope, its running per-task sums and
 * its validation result.
 */
export interface MultitaskFitState extends FitState {
  /** The phase: 'joint', or the task trained alone (sequential schedule). */
  readonly phase: string;
  /** Gate slope of the current epoch (mask mode; follows config.maskSlope over the phase's epochs). */
  slope: number;
  /** Per-task sums of the current epoch so far. */
  readonly running: RunningTaskStats;
  /** Validation of the current epoch, once fit has evaluated validationData (before onEpochEnd). */
  validation: MultitaskEvaluateResult | undefined;
}

export class MultitaskModel extends NativeModel<MultitaskConfig, Binding.MultitaskMlp> {
  private constructor(config: MultitaskConfig, backend: BackendName, handle: Binding.MultitaskMlp) {
    super(config, backend, handle);
  }

  /** Builds the model; frozen weights are generated off the JS thread. */
  static async create(options: MultitaskOptions): Promise<MultitaskModel> {
    const config = resolveMultitaskConfig(options);
    const backend = expectOneOf('backend', options.backend ?? 'cpu', ['cpu', 'cuda'] as const);
    return MultitaskModel.fromConfig(config, backend);
  }

  /**
   * Width-parallel (hidden-unit sharded) training over the started distributed world, as
   * `MLP.createWidthParallel` (docs/distributed.md): one hidden layer whose units are split over
   * the ranks; rank r generates only its slice (rows of `layers.0.weight`, columns of the per-task
   * `layers.0.bias`/`layers.0.gate` and of `readout.weight`, the full network's exact values), the
   * [batch, outputs] partial logits are summed over the ranks, per-task readout biases are
   * replicated. Every rank calls it with the same options and trains on the same whole batches.
   * `getLearned` returns this rank's slices, `gatherLearned` the full tensors; `save`, gradient
   * clipping and the per-layer analyses are not supported.
   */
  static async createWidthParallel(options: MultitaskOptions): Promise<MultitaskModel> {
    const config = resolveMultitaskConfig(options);
    const backend = expectOneOf('backend', options.backend ?? 'cpu', ['cpu', 'cuda'] as const);
    const H = config.hidden[0]!;
    const { world, shard } = planWidthShard(config, config.hidden.length, H, backend);
    const spec = {
      ...toNativeSpec(config),
      hidden: [shard.width],
      widthShard: { ranks: shard.ranks, offset: shard.offset, full: H },
    };
    const handle = await callNative(() => nativeFor(backend).createMultitaskMlp(spec, backend));
    const model = new MultitaskModel(config, backend, withCollective(handle, backend, world));
    model.widthShard = shard;
    return model;
  }

  /** The full learned tensors of a width-parallel model on every rank (collective); otherwise `getLearned()`. */
  async gatherLearned(): Promise<Record<string, Float32Array>> {
    return this.gatherWidthSlices(
      (name) => (name === 'layers.0.weight' ? 'rows' : name === 'readout.bias' ? 'replicated' : 'cols'),
      this.config.hidden[0]!,
    );
  }

  /** Builds a model from a resolved configuration (e.g. a checkpoint's). */
  static async fromConfig(config: MultitaskConfig, backend: BackendName = 'cpu'): Promise<MultitaskModel> {
    const handle = await callNative(() => nativeFor(backend).createMultitaskMlp(toNativeSpec(config), backend));
    return new MultitaskModel(config, backend, handle);
  }

  get tasks(): TaskInfo[] {
    return this.config.tasks.map((t) => ({ ...t }));
  }
  get taskNames(): string[] {
    return this.config.tasks.map((t) => t.name);
  }
  get inputSize(): number {
    return this.config.inputSize;
  }
  get isClassifier(): boolean {
    return true;
  }
  get baseLr(): number {
    return this.config.optimizer.lr;
  }

  /** Index of a task given by name or index; E_INVALID_ARG for an unknown name or an out-of-range index. */
  taskIndex(task: string | number): number {
    const K = this.config.tasks.length;
    if (typeof task === 'number') {
      if (!Number.isInteger(task) || task < 0 || task >= K)
        throw new ValidationError('E_INVALID_ARG', `task id ${task} out of range [0, ${K})`);
      return task;
    }
    if (typeof task !== 'string')
      throw new ValidationError('E_INVALID_ARG', `expected a task name or index, got ${describe(task)}`);
    const i = this.config.tasks.findIndex((t) => t.name === task);
    if (i < 0) throw new ValidationError('E_INVALID_ARG', `unknown task '${task}'; the model has ${this.taskNames.join(', ')}`);
    return i;
  }

  private dataOf(data: unknown, what: string): MultitaskDataset {
    const mt = data instanceof MultitaskDataset ? data : data instanceof Dataset ? MultitaskDataset.of(data) : undefined;
    if (!mt)
      throw new ValidationError('E_INVALID_ARG', `expected a MultitaskDataset (or its union) for ${what}, got ${describe(data)}`);
    if (mt.inputSize !== this.inputSize)
      throw new ValidationError('E_SHAPE', `expected ${this.inputSize} input features for ${what}, got ${mt.inputSize}`);
    for (const t of mt.tasks) this.taskIndex(t.name);
    return mt;
  }

  /** Which tasks may change (the others are never stepped). Default: all. */
  setTrainableTasks(tasks: (string | number)[] | 'all'): void {
    const K = this.config.tasks.length;
    const flags = new Int32Array(K);
    if (tasks !== 'all' && !Array.isArray(tasks))
      throw new ValidationError('E_INVALID_ARG', `expected 'all' or an array of task names or indices, got ${describe(tasks)}`);
    if (tasks === 'all') flags.fill(1);
    else for (const t of tasks) flags[this.taskIndex(t)] = 1;
    try {
      this.native.live().setTaskTrainable(flags);
    } catch (err) {
      throw fromNativeError(err);
    }
  }

  /** Steps taken by each task's optimizer, by name. */
  taskSteps(): Record<string, number> {
    const s = this.native.live().taskSteps();
    return Object.fromEntries(this.taskNames.map((n, k) => [n, s[k]!]));
  }

  /** Largest input-layer cache (bytes) that `cacheInputLayer: 'auto'` builds (as MLP.inputCacheBudgetBytes). */
  static inputCacheBudgetBytes = 4 * 2 ** 30;

  /**
   * Whether steps on `data` reuse P = X W_0^T (layer 0 frozen: 'bias' and 'mask' modes); with
   * 'auto', when P fits the budget and half the free host memory (CPU backend).
   */
  usesInputCache(data: MultitaskDataset | Dataset, mode: boolean | 'auto' = 'auto'): boolean {
    this.dataOf(data, 'data');
    if (mode !== 'auto' && typeof mode !== 'boolean')
      throw new ValidationError('E_INVALID_ARG', `expected true, false or 'auto' for cacheInputLayer, got ${describe(mode)}`);
    if (mode === false || this.config.train === 'full') {
      if (mode === true)
        throw new ValidationError('E_CONFIG', "cacheInputLayer needs frozen first-layer weights (train 'bias' or 'mask')");
      return false;
    }
    if (mode === true) return true;
    const bytes = data.n * this.config.hidden[0]! * 4;
    const hostLimit = this.backend === 'cpu' ? freemem() / 2 : Infinity;
    return bytes <= Math.min(MultitaskModel.inputCacheBudgetBytes, hostLimit);
  }

  /**
   * One optimizer step per batch of `batchSize` consecutive `indices` into a multi-task union (fit's
   * building block; also used by benchmarks), at gate slope `options.slope`. Returns per-batch
   * sums over all tasks and adds the per-task sums to `options.running` when given.
   */
  async trainIndices(
    data: Dataset | MultitaskDataset,
    indices: Int32Array,
    batchSize: number,
    lr: number,
    options: MultitaskStepOptions = {},
  ): Promise<PassStats> {
    checkStepArguments(indices, batchSize, lr);
    const mt = this.dataOf(data, 'training data');
    const cache = this.usesInputCache(mt, options.cacheInputLayer ?? false);
    const ds = await deviceMultitaskData(mt, this.backend, this.config.tasks);
    const slope = options.slope ?? this.config.maskSlope.end;
    const clip = expectNumber('clip', options.clip ?? this.config.clip, 0);
    const s = await this.native.exclusive((h) => h.train(ds, indices, batchSize, lr, slope, cache, clip));
    return this.foldStats(s, options.running);
  }

  /** @internal Frees the input-layer cache when fit ends. */
  async endFit(): Promise<void> {
    if (!this.native.disposed) await this.native.exclusive((h) => h.dropInputCache());
  }

  /** Per-batch totals [nb] (for the generic loop); adds per-task sums [K] to `running` when given. */
  private foldStats(s: Binding.MultitaskStats, running: RunningTaskStats | undefined): PassStats {
    const K = s.tasks;
    const nb = s.size.length;
    const lossSum = new Float32Array(nb);
    const correct = new Float32Array(nb);
    for (let b = 0; b < nb; b++) {
      let l = 0;
      let c = 0;
      for (let k = 0; k < K; k++) {
        const i = (b * K + k) * 2;
        l += s.stats[i]!;
        c += s.stats[i + 1]!;
        if (running) {
          running.lossSum[k]! += s.stats[i]!;
          running.correct[k]! += s.stats[i + 1]!;
          running.count[k]! += s.count[b * K + k]!;
        }
      }
      lossSum[b] = l;
      correct[b] = c;
    }
    return { lossSum, correct, size: s.size };
  }

  /**
   * Trains on a multi-task dataset. Joint: the union shuffled with `seed` each epoch (batches mix
   * tasks). Sequential: each task alone, in the data's order, for `epochs` epochs each; earlier
   * tasks are frozen meanwhile. Validation (when given) reports every task after every epoch.
   * Inside callbacks `this.model` is this model and `this.fitState` the phase's
   * {@link MultitaskFitState}. Refuses a concurrent fit.
   */
  async fit(data: MultitaskDataset, options?: MultitaskFitOptions): Promise<MultitaskHistory>;
  /** Keras-style: rows x [n, inputSize] and class ids y of one task (`options.task`); trains that task. */
  async fit(x: Float32Array, y: FitTargets, options: MultitaskArrayFitOptions): Promise<MultitaskHistory>;
  async fit(
    a: MultitaskDataset | Float32Array,
    b?: FitTargets | MultitaskFitOptions,
    c?: MultitaskArrayFitOptions,
  ): Promise<MultitaskHistory> {
    const [data, options] =
      a instanceof Float32Array
        ? this.arrayFitArguments(a, b as FitTargets, c)
        : [a, expectOptions('fit options', b as MultitaskFitOptions | undefined)];
    if ((options as { validationSplit?: unknown }).validationSplit !== undefined) {
      throw new ValidationError(
        'E_INVALID_ARG',
        'validationSplit is not supported for multi-task data; pass validationData (a MultitaskDataset)',
      );
    }
    expectKnownKeys('fit options', options, FIT_OPTION_KEYS);
    const mt = this.dataOf(data, 'training data');
    const { tasks, schedule: scheduleOpt, validationData, cacheInputLayer, ...loop } = options;
    const validation = validationData === undefined ? undefined : this.dataOf(validationData, 'validationData');
    const schedule = expectOneOf('schedule', scheduleOpt ?? 'joint', ['joint', 'sequential'] as const);
    const names = tasks ?? mt.taskNames;
    if (!Array.isArray(names) || names.length === 0)
      throw new ValidationError('E_INVALID_ARG', 'expected a non-empty list of task names for tasks');
    for (const n of names) mt.indexOf(n);
    const epochs = expectInt('epochs', options.epochs ?? 1, 1);
    const run: TrainStepOptions = { cacheInputLayer: expectCacheMode(cacheInputLayer) };
    const history = new MultitaskHistory(this.taskNames);
    const phases: { label: string; tasks: string[] }[] =
      schedule === 'joint' ? [{ label: 'joint', tasks: names }] : names.map((n) => ({ label: n, tasks: [n] }));
    return exclusiveFit(this, async () => {
      try {
        for (const { label, tasks: trained } of phases) {
          const part = trained.length === mt.tasks.length ? mt : mt.select(trained);
          this.setTrainableTasks(trained);
          const phase = new MultitaskPhase(this, label, epochs);
          const phaseOptions = { ...loop, epochs, ...(validation ? { validationData: validation.union } : {}) };
          await runFit(phase, part.union, phaseOptions, { run, model: this, callbacks: [phase], history, state: phase.state });
        }
      } finally {
        try {
          if (!this.native.disposed) this.setTrainableTasks('all');
        } catch {
          // a job still running (E_CONCURRENT): leave the flags; the original error matters more
        }
      }
      return history;
    });
  }

  /** Loss and accuracy, overall and per task. Mask models use hard gates unless `gates: 'soft'`. */
  async evaluate(data: MultitaskDataset | Dataset, options: MultitaskEvaluateOptions = {}): Promise<MultitaskEvaluateResult> {
    expectKnownKeys('evaluate options', options, EVALUATE_OPTION_KEYS);
    const mt = this.dataOf(data, 'evaluation data');
    const batchSize = expectInt('batchSize', options.batchSize ?? 1024, 1);
    const hard = expectOneOf('gates', options.gates ?? 'hard', ['hard', 'soft'] as const) === 'hard';
    const slope = options.slope ?? this.config.maskSlope.end;
    const ds = await deviceMultitaskData(mt, this.backend, this.config.tasks);
    const s = await this.native.exclusive((h) => h.evaluate(ds, batchSize, hard, slope));
    const K = s.tasks;
    const loss = new Float64Array(K);
    const hits = new Float64Array(K);
    const count = new Float64Array(K);
    for (let b = 0; b < s.size.length; b++) {
      for (let k = 0; k < K; k++) {
        loss[k]! += s.stats[(b * K + k) * 2]!;
        hits[k]! += s.stats[(b * K + k) * 2 + 1]!;
        count[k]! += s.count[b * K + k]!;
      }
    }
    const perTask: Record<string, TaskMetrics> = {};
    let totalLoss = 0;
    let totalHits = 0;
    let accSum = 0;
    for (const t of mt.tasks) {
      const k = this.taskIndex(t.name);
      perTask[t.name] = { loss: loss[k]! / count[k]!, accuracy: hits[k]! / count[k]!, n: count[k]! };
      totalLoss += loss[k]!;
      totalHits += hits[k]!;
      accSum += hits[k]! / count[k]!;
    }
    const result: MultitaskEvaluateResult = {
      loss: expectFiniteLoss(totalLoss / mt.n),
      accuracy: totalHits / mt.n,
      n: mt.n,
      perTask,
      meanTaskAccuracy: accSum / mt.tasks.length,
    };
    return result;
  }

  /** fit(x, y, { task }) as fit(data, options): the rows as a one-task MultitaskDataset. */
  private arrayFitArguments(
    x: Float32Array,
    y: FitTargets,
    options: MultitaskArrayFitOptions | undefined,
  ): [MultitaskDataset, MultitaskFitOptions] {
    if (typeof options?.task !== 'string')
      throw new ValidationError(
        'E_INVALID_ARG',
        `expected options.task (a task name: ${this.taskNames.join(', ')}) for fit(x, y, options)`,
      );
    const { task, validationData, ...rest } = options;
    const classes = this.config.tasks[this.taskIndex(task)]!.classes;
    const one = (xs: unknown, ys: unknown, what: string): MultitaskDataset =>
      MultitaskDataset.fromTasks([{ name: task, data: datasetFromArrays(xs, ys, this.inputSize, classes, true, what) }]);
    const val =
      validationData === undefined ? {} : { validationData: one(validationData[0], validationData[1], 'validationData x') };
    return [one(x, y, 'x'), { ...rest, ...val }];
  }

  private taskIdsFor(task: string | number | Int32Array, n: number): Int32Array {
    if (task instanceof Int32Array) {
      if (task.length !== n) throw new ValidationError('E_SHAPE', `expected ${n} task ids (one per row), got ${task.length}`);
      for (let i = 0; i < n; i++) {
        const t = task[i]!;
        if (t < 0 || t >= this.config.tasks.length)
          throw new ValidationError('E_INVALID_ARG', `task id ${t} out of range [0, ${this.config.tasks.length}) at row ${i}`);
      }
      return task;
    }
    return new Int32Array(n).fill(this.taskIndex(task));
  }

  /**
   * Logits of rows x [n, inputSize] under a task (name or index), or per-row task ids. Rows are
   * [n, classes of the task]; with per-row ids of tasks with different class counts, [n, max
   * classes] padded with -Infinity.
   */
  async predict(
    x: Float32Array | Dataset,
    task: string | number | Int32Array,
    options: MultitaskPredictOptions = {},
  ): Promise<Float32Array> {
    expectKnownKeys('predict options', options, PREDICT_OPTION_KEYS);
    const input = x instanceof Dataset ? x.x : x;
    if (!(input instanceof Float32Array))
      throw new ValidationError('E_DTYPE', `expected a Float32Array or Dataset for x, got ${describe(x)}`);
    if (input.length === 0) throw new ValidationError('E_EMPTY', 'expected at least one input row, got an empty array');
    if (input.length % this.inputSize !== 0)
      throw new ValidationError('E_SHAPE', `expected x length a multiple of inputSize ${this.inputSize}, got ${input.length}`);
    expectFinite('x', input, this.inputSize);
    const n = input.length / this.inputSize;
    const ids = this.taskIdsFor(task, n);
    const hard = (options.gates ?? 'hard') === 'hard';
    const slope = options.slope ?? this.config.maskSlope.end;
    const output = expectPredictOutput(options.output);
    const h = this.native.live();
    const R = h.readoutWidth;
    const off = h.readoutOffsets;
    const raw = await this.native.exclusive((hh) => hh.predict(input, ids, hard, slope));
    const cls = this.config.tasks.map((t) => t.classes);
    let O = 0;
    for (let i = 0; i < n; i++) O = Math.max(O, cls[ids[i]!]!);
    const out = new Float32Array(n * O).fill(-Infinity);
    for (let i = 0; i < n; i++) {
      const k = ids[i]!;
      const src = i * R + off[k]!;
      out.set(raw.subarray(src, src + cls[k]!), i * O);
    }
    return output === 'probabilities' ? softmaxRows(out, O) : out;
  }

  /** Predicted class per row (argmax of the task's logits). */
  async predictClasses(x: Float32Array | Dataset, task: string | number | Int32Array): Promise<Int32Array> {
    const out = await this.predict(x, task);
    const n = (x instanceof Dataset ? x.x : x).length / this.inputSize;
    const O = out.length / n;
    const cls = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      let best = 0;
      for (let o = 1; o < O; o++) if (out[r * O + o]! > out[r * O + best]!) best = o;
      cls[r] = best;
    }
    return cls;
  }

  /**
   * Gradients of the mean loss over a (mixed) batch for every learned tensor, without updating:
   * per-task tensors are [K, H] (row k: task k). `lossPerTask` holds per-task loss sums / n.
   */
  async gradients(
    batch: MultitaskDataset,
    options: { slope?: number } = {},
  ): Promise<{ loss: number; lossPerTask: Record<string, number>; grads: Record<string, Float32Array> }> {
    expectKnownKeys('gradients options', options, new Set(['slope']));
    const mt = this.dataOf(batch, 'batch');
    const ids = new Int32Array(mt.n);
    const map = mt.tasks.map((t) => this.taskIndex(t.name));
    for (let i = 0; i < ids.length; i++) ids[i] = map[mt.taskIds[i]!] ?? -1; // an id changed after validation: native E_INVALID_ARG
    const labels = (mt.union.targets as { labels: Int32Array }).labels;
    const slope = options.slope ?? this.config.maskSlope.end;
    const r = await this.native.exclusive((h) => h.gradients(mt.union.x, labels, ids, slope));
    const lossPerTask: Record<string, number> = {};
    let loss = 0;
    this.taskNames.forEach((n, k) => {
      lossPerTask[n] = r.loss[k]! / mt.n;
      loss += r.loss[k]!;
    });
    return { loss: loss / mt.n, lossPerTask, grads: r.grads };
  }

  /**
   * Per-task activity statistics of one hidden layer over `data` (each row under its own task):
   * mean, variance (the task variance) and the fraction of inputs with activity > threshold.
   */
  async activity(
    data: MultitaskDataset,
    options: { layer?: number; threshold?: number; batchSize?: number } = {},
  ): Promise<ActivityStats> {
    expectKnownKeys('activity options', options, new Set(['layer', 'threshold', 'batchSize']));
    const mt = this.dataOf(data, 'data');
    const layer = expectInt('layer', options.layer ?? 0, 0, this.config.hidden.length - 1);
    const threshold = options.threshold ?? 0;
    const batchSize = expectInt('batchSize', options.batchSize ?? 1024, 1);
    const ds = await deviceMultitaskData(mt, this.backend, this.config.tasks);
    const slope = this.config.maskSlope.end;
    const a = await this.native.exclusive((h) => h.activity(ds, layer, batchSize, threshold, true, slope));
    const H = a.units;
    const ks = mt.tasks.map((t) => this.taskIndex(t.name));
    const rows = (arr: Float64Array): Float64Array[] => ks.map((k) => arr.slice(k * H, (k + 1) * H));
    return {
      tasks: mt.taskNames,
      units: H,
      layer,
      count: ks.map((k) => a.count[k]!),
      mean: rows(a.mean),
      variance: rows(a.variance),
      active: rows(a.active),
      threshold,
    };
  }

  /** Names and shapes of the learned tensors ([K, H] per-task tensors, or shared weights). */
  override learnedTensors(): { name: string; size: number; rows: number; cols: number; perTask: boolean }[] {
    return this.native.live().params();
  }

  /** Any tensor, learned or frozen: 'layers.<l>.weight', 'layers.<l>.bias', 'layers.<l>.gate', 'readout.weight', 'readout.bias'. */
  async tensor(name: string): Promise<Float32Array> {
    if (typeof name !== 'string') throw new ValidationError('E_INVALID_ARG', `expected a tensor name, got ${describe(name)}`);
    return this.native.exclusive((h) => h.getTensor(name));
  }

  /** Sets every learned tensor (all of them, exact sizes, finite values). */
  override async setLearned(values: Record<string, Float32Array>): Promise<void> {
    expectObject('values', values);
    for (const p of this.native.live().params()) {
      const v = values[p.name];
      if (!(v instanceof Float32Array))
        throw new ValidationError('E_DTYPE', `expected a Float32Array for ${p.name}, got ${describe(v)}`);
      if (v.length !== p.size) throw new ValidationError('E_SHAPE', `expected ${p.size} values for ${p.name}, got ${v.length}`);
      expectFinite(p.name, v);
    }
    await this.native.exclusive((h) => h.setParams(values));
  }

  /**
   * One task's own learned vectors: per hidden layer `layers.<l>.bias` (or `layers.<l>.gate`, the gate logits
   * theta, in mask mode) [H_l], and `readout.bias` [classes] (bias and full modes).
   */
  async taskVectors(task: string | number): Promise<Record<string, Float32Array>> {
    const k = this.taskIndex(task);
    return this.taskPieces(await this.getLearned(), k);
  }

  /** The bias vector of a task at a hidden layer (frozen at its initial value in mask mode). */
  async taskBias(task: string | number, layer = 0): Promise<Float32Array> {
    const k = this.taskIndex(task);
    const H = this.config.hidden[expectInt('layer', layer, 0, this.config.hidden.length - 1)]!;
    return (await this.tensor(`layers.${layer}.bias`)).slice(k * H, (k + 1) * H);
  }

  private taskPieces(learned: Record<string, Float32Array>, k: number): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    const h = this.native.live();
    const off = h.readoutOffsets;
    const R = h.readoutWidth;
    for (const p of h.params()) {
      if (!p.perTask) continue;
      const t = learned[p.name]!;
      if (p.name === 'readout.bias') out[p.name] = t.slice(k * R + off[k]!, k * R + off[k]! + this.config.tasks[k]!.classes);
      else out[p.name] = t.slice(k * p.cols, (k + 1) * p.cols);
    }
    return out;
  }

  /** Writes per-task pieces into full learned tensors (others left as they are). */
  private async assemble(
    pieces: Map<number, Record<string, Float32Array>>,
    shared: Record<string, Float32Array>,
  ): Promise<Record<string, Float32Array>> {
    const h = this.native.live();
    const off = h.readoutOffsets;
    const R = h.readoutWidth;
    const current = await this.getLearned();
    for (const p of h.params()) {
      const t = current[p.name]!;
      if (!p.perTask) {
        const v = shared[p.name];
        if (v) {
          if (v.length !== t.length)
            throw new ValidationError('E_SHAPE', `expected ${t.length} values for ${p.name}, got ${v.length}`);
          t.set(v);
        }
        continue;
      }
      for (const [k, vec] of pieces) {
        const v = vec[p.name];
        if (!v) throw new ValidationError('E_INVALID_ARG', `missing ${p.name} for task '${this.config.tasks[k]!.name}'`);
        const start = p.name === 'readout.bias' ? k * R + off[k]! : k * p.cols;
        const len = p.name === 'readout.bias' ? this.config.tasks[k]!.classes : p.cols;
        if (v.length !== len)
          throw new ValidationError(
            'E_SHAPE',
            `expected ${len} values for ${p.name} of task '${this.config.tasks[k]!.name}', got ${v.length}`,
          );
        t.set(v, start);
      }
    }
    return current;
  }

  /**
   * A new model with one more task (same seed, so the same frozen weights): every existing task's
   * learned vectors are copied bit for bit; the new task starts from the initial biases (its
   * readout rows, with a per-task readout, come from its own seed stream). Optimizer state is not
   * carried over. This model stays usable; dispose it when done.
   */
  async addTask(task: TaskInfo): Promise<MultitaskModel> {
    const info = validateTask(task, 'task');
    if (this.taskNames.includes(info.name))
      throw new ValidationError('E_CONFIG', `the model already has a task named '${info.name}'`);
    if (this.config.readout === 'shared' && info.classes !== this.config.tasks[0]!.classes) {
      throw new ValidationError(
        'E_CONFIG',
        `this model has a shared readout of ${this.config.tasks[0]!.classes} classes; task '${info.name}' has ${info.classes} (create the model with readout 'per-task')`,
      );
    }
    const config: MultitaskConfig = { ...this.config, tasks: [...this.tasks, info] };
    const learned = await this.getLearned();
    const pieces = new Map<number, Record<string, Float32Array>>();
    this.config.tasks.forEach((_, k) => {
      pieces.set(k, this.taskPieces(learned, k));
    });
    const shared: Record<string, Float32Array> = {};
    for (const p of this.native.live().params()) if (!p.perTask) shared[p.name] = learned[p.name]!;
    const next = await MultitaskModel.fromConfig(config, this.backend);
    try {
      await next.setLearned(await next.assemble(pieces, shared));
    } catch (err) {
      next.dispose();
      throw err;
    }
    return next;
  }

  /**
   * Writes a checkpoint: the resolved configuration (seed, distributions, tasks) and, per task,
   * its learned vectors `tasks.<k>.<name>` (plus the shared weights in 'full' mode). Atomic.
   */
  async save(path: string, options: { metadata?: Record<string, unknown> } = {}): Promise<void> {
    this.expectWholeModel('save');
    if (typeof path !== 'string' || path.length === 0)
      throw new ValidationError('E_INVALID_ARG', `expected a file path, got ${describe(path)}`);
    const metadata = saveMetadata(options);
    const learned = await this.getLearned();
    const tensors: Record<string, Float32Array> = {};
    this.config.tasks.forEach((_, k) => {
      for (const [name, v] of Object.entries(this.taskPieces(learned, k))) tensors[`tasks.${k}.${name}`] = v;
    });
    for (const p of this.native.live().params()) if (!p.perTask) tensors[p.name] = learned[p.name]!;
    await writeModelCheckpoint(path, this.config, tensors, metadata);
  }

  /** Loads a checkpoint: regenerates the frozen weights from the seed and sets every task's vectors. */
  static async load(path: string, options: LoadOptions = {}): Promise<MultitaskModel> {
    expectKnownKeys('load options', options, LOAD_OPTION_KEYS);
    const { header, tensors } = await readCheckpoint(
      path,
      options.maxWeights === undefined ? {} : { maxWeights: options.maxWeights },
    );
    if (header.model.kind !== 'multitask-mlp')
      throw new FileFormatError(
        'E_FORMAT',
        path,
        `checkpoint holds a '${String(header.model.kind)}' model, not a multi-task model`,
      );
    let config: MultitaskConfig;
    try {
      const stored = header.model as unknown as MultitaskConfig;
      config = revalidateConfig(stored);
      // The stored configuration must be what it resolves to: a field the resolver would replace means a hand-edited header.
      const diff = firstDifference(config, { ...stored, clip: stored.clip ?? 0, ...storedPrecision(stored) }, 'model');
      if (diff !== undefined) throw new Error(`${diff} is not what the rest implies`);
    } catch (err) {
      throw new FileFormatError('E_FORMAT', path, `checkpoint header holds an invalid model: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const model = await MultitaskModel.fromConfig(config, options.backend ?? 'cpu');
    try {
      const pieces = new Map<number, Record<string, Float32Array>>();
      const shared: Record<string, Float32Array> = {};
      const used = new Set<string>();
      for (const [name, v] of Object.entries(tensors)) {
        const m = /^tasks\.(\d+)\.(.+)$/.exec(name);
        if (m) {
          const k = Number(m[1]);
          if (k >= config.tasks.length)
            throw new Error(`tensor ${name} names task ${k}, but the model has ${config.tasks.length} tasks`);
          if (!pieces.has(k)) pieces.set(k, {});
          pieces.get(k)![legacyTensorName(m[2]!)] = v;
        } else shared[legacyTensorName(name)] = v;
        used.add(name);
      }
      const learned = model.native.live().params();
      for (const p of learned) if (!p.perTask && !shared[p.name]) throw new Error(`missing tensor ${p.name}`);
      const known = new Set(learned.filter((p) => !p.perTask).map((p) => p.name));
      const extra = Object.keys(shared).filter((n) => !known.has(n));
      if (extra.length) throw new Error(`tensors ${extra.join(', ')} are not learned by this model`);
      for (let k = 0; k < config.tasks.length; k++)
        if (!pieces.has(k)) throw new Error(`no learned values for task ${k} ('${config.tasks[k]!.name}')`);
      await model.setLearned(await model.assemble(pieces, shared));
    } catch (err) {
      model.dispose();
      throw new FileFormatError('E_FORMAT', path, `checkpoint values do not fit its model: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return model;
  }

  /**
   * Keras's model.summary(): one row per tensor (shape, learned or frozen), the counts of learned
   * and frozen values, the seed and the backend. Returns the text; `printFn` (e.g. console.log)
   * also receives it line by line.
   */
  summary(printFn?: (line: string) => void): string {
    return printSummary(multitaskSummary(this), printFn);
  }

  /** One line: architecture, activation, trainable set, learned / frozen counts, seed, backend. */
  override toString(): string {
    return multitaskToString(this);
  }
}

/**
 * One phase of a multi-task fit: the loop's target (steps at the epoch's gate slope, adding the
 * per-task sums to the phase's state) and its first callback (sets the slope and clears the sums
 * at each epoch's start). All training state lives here, not on the model.
 */
class MultitaskPhase extends Callback<MultitaskModel> implements FitTarget<Dataset, TrainStepOptions> {
  readonly state: MultitaskFitState;
  readonly isClassifier = true;

  constructor(
    private readonly target: MultitaskModel,
    phase: string,
    private readonly epochs: number,
  ) {
    super();
    const K = target.config.tasks.length;
    const running = { lossSum: new Float64Array(K), correct: new Float64Array(K), count: new Float64Array(K) };
    this.state = { lrScale: 1, stopTraining: false, phase, slope: target.config.maskSlope.start, running, validation: undefined };
  }

  get baseLr(): number {
    return this.target.baseLr;
  }

  checkFitData(data: unknown, what: string): Dataset {
    if (!(data instanceof Dataset))
      throw new ValidationError('E_INVALID_ARG', `expected a multi-task union Dataset for ${what}, got ${describe(data)}`);
    return data;
  }

  trainIndices(data: Dataset, indices: Int32Array, batchSize: number, lr: number, run: TrainStepOptions): Promise<PassStats> {
    return this.target.trainIndices(data, indices, batchSize, lr, {
      ...run,
      slope: this.state.slope,
      running: this.state.running,
    });
  }

  /** The input-layer cache the first step builds (when it does), with its size. */
  preparation(data: Dataset, run: TrainStepOptions): string | undefined {
    if (!this.target.usesInputCache(data, run.cacheInputLayer ?? false)) return undefined;
    return inputCacheMessage(data.n, this.target.inputSize, this.target.config.hidden[0]!);
  }

  async evaluate(data: Dataset, options: { batchSize?: number }): Promise<MultitaskEvaluateResult> {
    this.state.validation = await this.target.evaluate(data, { ...options, slope: this.state.slope });
    return this.state.validation;
  }

  attachCollective(modulePath: string | null): void {
    this.target.attachCollective(modulePath);
  }

  get widthParallel(): boolean {
    return this.target.widthParallel;
  }

  endFit(): Promise<void> {
    return this.target.endFit();
  }

  getLearned(): Promise<Record<string, Float32Array>> {
    return this.target.getLearned();
  }

  setLearned(values: Record<string, Float32Array>): Promise<void> {
    return this.target.setLearned(values);
  }

  override onEpochBegin(epoch: number): void {
    const s = this.state;
    s.slope = maskSlopeAt(this.target.config.maskSlope, epoch, this.epochs);
    s.running.lossSum.fill(0);
    s.running.correct.fill(0);
    s.running.count.fill(0);
    s.validation = undefined;
  }
}

/**
 * The current name of a tensor a checkpoint names: release 0.1.0 wrote 'weight.<l>', 'bias.<l>'
 * and 'gate.<l>' for what is now 'layers.<l>.weight', 'layers.<l>.bias' and 'layers.<l>.gate'.
 */
function legacyTensorName(name: string): string {
  const m = /^(weight|bias|gate)\.(\d+)$/.exec(name);
  return m ? `layers.${m[2]}.${m[1]}` : name;
}
