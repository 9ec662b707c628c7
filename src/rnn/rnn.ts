/**
 * A bias-learning recurrent network: random frozen weights (regenerated from a seed, never
 * stored), learned biases (and optionally initial states, the readout or everything), trained
 * with BPTT, truncated BPTT or RFLO in the native core.
 *
 * ```ts
 * const task = cosineTask();
 * const rnn = await RNN.create({ inputSize: 1, hidden: 200, outputSize: 1, learnInitialState: true });
 * await rnn.fit(task.train, { epochs: 1500, batchSize: 1 });
 * const { outputs } = await rnn.predict(task.test);
 * ```
 */
import { checkStepArguments } from '../train/fit_target.js';
import { storedPrecision, toNativePrecision } from '../model/precision.js';
import { NativeModel } from '../model/native_model.js';
import { callNative } from '../model/native_handle.js';
import { ValidationError } from '../errors.js';
import { memoUpload, type UploadCache } from '../train/device_data.js';
import { applyCheckpointValues, readModelCheckpoint, saveMetadata, writeModelCheckpoint } from '../model/checkpoint.js';
import { type Binding, nativeFor, toNativeOptimizer, type BackendName } from '../native/binding.js';
import { LOAD_OPTION_KEYS, type LoadOptions } from '../model/config.js';
import { exclusiveFit, runFit } from '../train/fit.js';
import { FIT_LOOP_OPTION_KEYS, type FitLoopOptions } from '../train/fit_options.js';
import type { EvaluateResult, FitTarget, PassStats } from '../train/fit_target.js';
import type { History } from '../train/history.js';
import {
  describe,
  expectFiniteLoss,
  expectInt,
  expectKnownKeys,
  expectNumber,
  expectOneOf,
  optionKeys,
} from '../util/validate.js';
import {
  configToOptions,
  parseRule,
  resolveRNNConfig,
  upgradeRNNConfig,
  type RNNConfig,
  type RNNOptions,
  type ResolvedRule,
  type RuleSpec,
} from './config.js';
import { sequenceLosses, trajectoryMetrics, type TrajectoryMetrics } from './metrics.js';
import { SequenceDataset } from './sequences.js';
import { rnnSummary, rnnToString } from '../model/model_summary.js';
import { printSummary } from '../model/summary.js';

/** How inputs reach the network during a pass. */
export interface RunModeOptions {
  /**
   * Closed loop: from step max(warmup, delay) on, input columns [0, O) are the network's own
   * output from `delay` steps earlier instead of the data's (needs inputSize >= outputSize).
   * Default false (teacher forcing / input-driven).
   */
  closedLoop?: boolean;
  /** Steps that use the data's inputs before the loop closes (default 0). */
  warmup?: number;
  /** Output-to-input delay in steps (default 1; a tau-ahead forecaster closes with delay tau). */
  delay?: number;
}

/** `fit` options: the loop's (over sequences: one "sample" is one sequence), the run mode and the rule. */
export interface RNNFitOptions extends FitLoopOptions<SequenceDataset, RNN>, RunModeOptions {
  /** Training rule for this fit (default: the model's config.rule). */
  rule?: string | RuleSpec;
  /** Gradient-norm clip for this fit (default: config.clip). */
  clip?: number;
}

export interface RNNEvaluateOptions extends RunModeOptions {
  batchSize?: number;
  /** Steps scored by the metrics: 'weights' (loss weight > 0, default), 'all', or a range. */
  score?: 'weights' | 'all' | { from?: number; to?: number };
}

export interface RNNEvaluateResult extends EvaluateResult, TrajectoryMetrics {}

export interface PredictOptions extends RunModeOptions {
  /** Also return the hidden states [n, T+1, m] (r[0] .. r[T]). */
  states?: boolean;
}

export interface GenerateOptions {
  steps: number;
  /** A constant cue (one value per input column, default zeros) or a full input sequence [steps, I]. */
  input?: number[] | Float32Array;
  condition?: number;
  states?: boolean;
}

/** Most steps of one `generate` call, and most values (inputs, targets, outputs, states) it may allocate. */
export const MAX_GENERATE_STEPS = 1 << 24;
const MAX_GENERATE_VALUES = 1 << 28;

/** The `score` option of evaluate: 'weights' (default), 'all', or a range { from?, to? } of steps in [0, T]. */
function scoreOption(score: unknown, T: number): 'weights' | 'all' | { from: number; to: number } {
  if (score === undefined || score === 'weights' || score === 'all') return score ?? 'weights';
  if (typeof score !== 'object' || score === null || Array.isArray(score))
    throw new ValidationError('E_INVALID_ARG', `expected 'weights', 'all' or { from?, to? } for score, got ${describe(score)}`);
  expectKnownKeys('score', score, SCORE_KEYS);
  const r = score as { from?: unknown; to?: unknown };
  const from = expectInt('score.from', r.from ?? 0, 0, T);
  const to = expectInt('score.to', r.to ?? T, from, T);
  return { from, to };
}
const SCORE_KEYS = new Set(['from', 'to']);

const RUN_MODE_KEYS = optionKeys<RunModeOptions>({ closedLoop: true, warmup: true, delay: true });
const FIT_OPTION_KEYS = new Set([
  ...FIT_LOOP_OPTION_KEYS,
  ...RUN_MODE_KEYS,
  ...optionKeys<Omit<RNNFitOptions, keyof FitLoopOptions | keyof RunModeOptions>>({ rule: true, clip: true }),
]);
const EVALUATE_OPTION_KEYS = new Set([
  ...RUN_MODE_KEYS,
  ...optionKeys<Omit<RNNEvaluateOptions, keyof RunModeOptions>>({ batchSize: true, score: true }),
]);
const GENERATE_OPTION_KEYS = optionKeys<GenerateOptions>({ steps: true, input: true, condition: true, states: true });
const GRADIENTS_OPTION_KEYS = new Set([...RUN_MODE_KEYS, 'rule', 'feedbackMatrix']);
const PREDICT_OPTION_KEYS = new Set([
  ...RUN_MODE_KEYS,
  ...optionKeys<Omit<PredictOptions, keyof RunModeOptions>>({ states: true }),
]);

export interface PredictResult {
  /** Shape [n, T, O]: output t is y[t+1], the output after input t. */
  outputs: Float32Array;
  /** [n, T+1, m] when asked for. */
  states?: Float32Array;
}

const nativeData: UploadCache<SequenceDataset, Binding.SeqDataset> = new WeakMap();

/** Uploads sequences once per backend (kept as long as the SequenceDataset lives). */
function deviceSequences(data: SequenceDataset, backend: BackendName): Promise<Binding.SeqDataset> {
  return memoUpload(nativeData, data, backend, () => {
    const { w, v } = data.normalizedWeights();
    return nativeFor(backend).createSeqDataset(backend, {
      n: data.n,
      steps: data.steps,
      in: data.inputSize,
      out: data.outputSize,
      x: data.inputSize ? data.inputs : null,
      y: data.targets,
      w,
      v,
      cond: data.conditions,
    });
  });
}

function toNativeSpec(c: RNNConfig): Binding.RnnSpec {
  return {
    ...toNativePrecision(c),
    inputSize: c.inputSize,
    hidden: c.hidden,
    outputSize: c.outputSize,
    conditions: c.conditions,
    activation: c.activation,
    decay: c.decay,
    gain: c.gain,
    seed: c.seed,
    recurrentInit: c.recurrentInit,
    inputInit: c.inputInit,
    readoutInit: c.readoutInit,
    biasInit: c.biasInit,
    stateInit: c.stateInit,
    readoutBiasInit: c.readoutBiasInit,
    feedbackInit: c.feedbackInit,
    trainable: { ...c.trainable },
    optimizer: toNativeOptimizer(c.optimizer),
  };
}

/** The RNN trains on sequences; its run options (rule, clip, run mode) are resolved once per fit. */
export class RNN extends NativeModel<RNNConfig, Binding.Rnn> implements FitTarget<SequenceDataset, Binding.RunOptions> {
  private constructor(config: RNNConfig, backend: BackendName, handle: Binding.Rnn) {
    super(config, backend, handle);
  }

  /** Builds the network; frozen weights are generated off the JS thread. */
  static async create(options: RNNOptions): Promise<RNN> {
    const config = resolveRNNConfig(options);
    const backend = expectOneOf('backend', options.backend ?? 'cpu', ['cpu', 'cuda'] as const);
    return RNN.fromConfig(config, backend);
  }

  /** Builds a model from a resolved configuration (e.g. a checkpoint's). */
  static async fromConfig(config: RNNConfig, backend: BackendName = 'cpu'): Promise<RNN> {
    const handle = await callNative(() => nativeFor(backend).createRnn(toNativeSpec(config), backend));
    return new RNN(config, backend, handle);
  }

  get inputSize(): number {
    return this.config.inputSize;
  }
  get outputSize(): number {
    return this.config.outputSize;
  }
  get hidden(): number {
    return this.config.hidden;
  }
  get baseLr(): number {
    return this.config.optimizer.lr;
  }
  /** Optimizer steps taken so far. */
  get optimizerSteps(): number {
    return this.native.live().optimizerSteps();
  }

  private checkData(seq: unknown, name: string): SequenceDataset {
    if (!(seq instanceof SequenceDataset))
      throw new ValidationError('E_INVALID_ARG', `expected a SequenceDataset for ${name}, got ${describe(seq)}`);
    if (seq.inputSize !== this.inputSize)
      throw new ValidationError('E_SHAPE', `expected ${this.inputSize} input columns for ${name}, got ${seq.inputSize}`);
    if (seq.outputSize !== this.outputSize)
      throw new ValidationError('E_SHAPE', `expected ${this.outputSize} target columns for ${name}, got ${seq.outputSize}`);
    if (seq.numConditions > this.config.conditions) {
      throw new ValidationError(
        'E_SHAPE',
        `expected condition indices in [0, ${this.config.conditions}) for ${name}, got ${seq.numConditions - 1}`,
      );
    }
    return seq;
  }

  private runMode(o: RunModeOptions = {}): Binding.RunOptions {
    const closedLoop = o.closedLoop ?? false;
    if (typeof closedLoop !== 'boolean')
      throw new ValidationError('E_INVALID_ARG', `expected a boolean for closedLoop, got ${describe(closedLoop)}`);
    const warmup = expectInt('warmup', o.warmup ?? 0, 0);
    const delay = expectInt('delay', o.delay ?? 1, 1);
    if (closedLoop && this.inputSize < this.outputSize) {
      throw new ValidationError(
        'E_CONFIG',
        `expected inputSize >= outputSize (${this.outputSize}) for a closed loop, got ${this.inputSize}`,
      );
    }
    return { closedLoop, warmup, delay };
  }

  private ruleOptions(rule: ResolvedRule, clip: number, feedbackMatrix?: Float32Array): Binding.RunOptions {
    const o: Binding.RunOptions = {
      rule: rule.kind,
      window: rule.window,
      online: rule.online,
      symmetric: rule.feedback === 'symmetric',
      clip,
    };
    if (rule.traceDecay !== undefined) o.traceDecay = rule.traceDecay;
    if (feedbackMatrix !== undefined) o.feedback = this.checkFeedback(feedbackMatrix);
    return o;
  }

  /** A per-call RFLO / e-prop feedback matrix [m, O] (row-major), checked. */
  private checkFeedback(f: unknown): Float32Array {
    const want = this.config.hidden * this.outputSize;
    if (!(f instanceof Float32Array))
      throw new ValidationError('E_DTYPE', `expected a Float32Array [hidden, outputs] for feedbackMatrix, got ${describe(f)}`);
    if (f.length !== want)
      throw new ValidationError('E_SHAPE', `expected ${want} values [hidden, outputs] for feedbackMatrix, got ${f.length}`);
    return f;
  }

  /** @internal The training interface: checks training or validation sequences. */
  checkFitData(data: unknown, what: string): SequenceDataset {
    return this.checkData(data, what);
  }

  /**
   * Trains on sequences (see {@link RNNFitOptions}); one "sample" of the fit loop is one
   * sequence. Inside callbacks `this.model` is this RNN. Refuses a concurrent fit.
   */
  async fit(data: SequenceDataset, options: RNNFitOptions = {}): Promise<History> {
    expectKnownKeys('fit options', options, FIT_OPTION_KEYS);
    this.checkData(data, 'training data');
    const { rule, clip, closedLoop, warmup, delay, ...loop } = options;
    const resolved = rule === undefined ? this.config.rule : parseRule(rule);
    const clipNorm = expectNumber('clip', clip ?? this.config.clip, 0);
    const run = { ...this.ruleOptions(resolved, clipNorm), ...this.runMode({ closedLoop, warmup, delay }) };
    return exclusiveFit(this, () => runFit(this, data, loop, { run, model: this }));
  }

  /** @internal Used by fit: one optimizer step (or several, when online) per batch of sequences, with the fit's run options. */
  async trainIndices(
    data: SequenceDataset,
    indices: Int32Array,
    batchSize: number,
    lr: number,
    run?: Binding.RunOptions,
  ): Promise<PassStats> {
    checkStepArguments(indices, batchSize, lr);
    const seq = this.checkData(data, 'training data');
    return this.trainRaw(seq, indices, batchSize, lr, run ?? this.ruleOptions(this.config.rule, this.config.clip));
  }

  /**
   * One pass over `indices` of `data` in batches of `batchSize` with an explicit rule (for
   * benchmarks and custom loops). Returns the per-batch loss sums.
   */
  async trainSequences(
    data: SequenceDataset,
    indices: Int32Array,
    batchSize: number,
    lr: number,
    options: { rule?: string | RuleSpec; clip?: number; feedbackMatrix?: Float32Array } & RunModeOptions = {},
  ): Promise<PassStats> {
    const seq = this.checkData(data, 'training data');
    expectInt('batchSize', batchSize, 1);
    expectNumber('lr', lr, 0);
    const rule = options.rule === undefined ? this.config.rule : parseRule(options.rule);
    const opts = {
      ...this.ruleOptions(rule, expectNumber('clip', options.clip ?? this.config.clip, 0), options.feedbackMatrix),
      ...this.runMode(options),
    };
    return this.trainRaw(seq, indices, batchSize, lr, opts);
  }

  private async trainRaw(
    seq: SequenceDataset,
    indices: Int32Array,
    batchSize: number,
    lr: number,
    opts: Binding.RunOptions,
  ): Promise<PassStats> {
    this.native.live();
    const ds = await deviceSequences(seq, this.backend);
    return this.native.exclusive((h) => h.train(ds, indices, batchSize, lr, opts));
  }

  /**
   * Outputs (and optionally states) for every sequence of `data` (its targets are ignored), in
   * the chosen mode: input-driven / teacher-forced by default, or closed loop.
   */
  async predict(data: SequenceDataset, options: PredictOptions = {}): Promise<PredictResult> {
    expectKnownKeys('predict options', options, PREDICT_OPTION_KEYS);
    const seq = this.checkData(data, 'data');
    const mode = this.runMode(options);
    const ds = await deviceSequences(seq, this.backend);
    const idx = Int32Array.from({ length: seq.n }, (_, i) => i);
    const r = await this.native.exclusive((h) => h.predict(ds, idx, mode, options.states ?? false));
    return r.states ? { outputs: r.outputs, states: r.states } : { outputs: r.outputs };
  }

  /**
   * Free-running generation of `steps` steps from the learned initial state of `condition`:
   * `input` is a constant cue (one value per input column, default zeros) or a full input
   * sequence [steps, inputSize]. Returns the outputs [steps, O] (and states [steps+1, m]).
   */
  async generate(options: GenerateOptions): Promise<PredictResult> {
    if (options === undefined)
      throw new ValidationError(
        'E_INVALID_ARG',
        'expected generate options { steps, input?, condition?, states? }, got undefined',
      );
    expectKnownKeys('generate options', options, GENERATE_OPTION_KEYS);
    const steps = expectInt('steps', options.steps, 1, MAX_GENERATE_STEPS);
    const I = this.inputSize;
    // Inputs [steps, I], targets and outputs [steps, O], states [steps + 1, m]: refused before allocating.
    const values = steps * (I + 2 * this.outputSize + (options.states ? this.config.hidden : 0));
    if (values > MAX_GENERATE_VALUES)
      throw new ValidationError(
        'E_INVALID_ARG',
        `expected at most ${MAX_GENERATE_VALUES} values in a generation, got ${steps} steps x ${values / steps} values`,
      );
    if (options.input !== undefined && !Array.isArray(options.input) && !(options.input instanceof Float32Array))
      throw new ValidationError('E_INVALID_ARG', `expected an array or a Float32Array for input, got ${describe(options.input)}`);
    const condition = expectInt('condition', options.condition ?? 0, 0, this.config.conditions - 1);
    let inputs = new Float32Array(steps * I);
    const given = options.input;
    if (given !== undefined) {
      if (given.length === I) for (let t = 0; t < steps; t++) for (let i = 0; i < I; i++) inputs[t * I + i] = Number(given[i]);
      else if (given.length === steps * I) inputs = Float32Array.from(given);
      else
        throw new ValidationError(
          'E_SHAPE',
          `expected ${I} (a constant cue) or ${steps * I} (a sequence) values for input, got ${given.length}`,
        );
    }
    const data = SequenceDataset.create({
      inputs,
      targets: new Float32Array(steps * this.outputSize),
      steps,
      inputSize: I,
      outputSize: this.outputSize,
      conditions: Int32Array.of(condition),
    });
    return this.predict(data, { states: options.states ?? false });
  }

  /**
   * Loss (the training objective, mean over sequences) and metrics (MSE, normalised MSE, R^2
   * over the scored steps) of the predictions in the chosen mode. `run` (fit's validation) gives
   * the mode of the fit in progress instead.
   */
  async evaluate(data: SequenceDataset, options: RNNEvaluateOptions = {}, run?: Binding.RunOptions): Promise<RNNEvaluateResult> {
    expectKnownKeys('evaluate options', options, EVALUATE_OPTION_KEYS);
    const seq = this.checkData(data, 'evaluation data');
    const { closedLoop, warmup, delay } = run ?? options;
    const { outputs } = await this.predict(seq, { closedLoop, warmup, delay });
    const losses = sequenceLosses(outputs, seq);
    const loss = expectFiniteLoss(losses.reduce((s, v) => s + v, 0) / seq.n);
    const score = scoreOption(options.score, seq.steps);
    const mask = score === 'weights' ? seq.lossWeights : score === 'all' ? undefined : score;
    return { loss, n: seq.n, ...trajectoryMetrics(outputs, seq.targets, seq.n, seq.steps, seq.outputSize, mask) };
  }

  /**
   * The gradient (bptt, tbptt) or the rule's gradient estimate (rflo, accumulated over the
   * sequences) of the mean loss over all sequences of `data` as one batch, without updating.
   */
  async gradients(
    data: SequenceDataset,
    options: { rule?: string | RuleSpec; feedbackMatrix?: Float32Array } & RunModeOptions = {},
  ): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
    expectKnownKeys('gradients options', options, GRADIENTS_OPTION_KEYS);
    const seq = this.checkData(data, 'batch');
    const rule = options.rule === undefined ? this.config.rule : parseRule(options.rule);
    const opts = { ...this.ruleOptions(rule, 0, options.feedbackMatrix), ...this.runMode(options) };
    const ds = await deviceSequences(seq, this.backend);
    const idx = Int32Array.from({ length: seq.n }, (_, i) => i);
    const r = await this.native.exclusive((h) => h.gradients(ds, idx, opts));
    return { loss: r.loss / seq.n, grads: r.grads };
  }

  /** Every tensor: name, shape, and whether it learns. */
  tensors(): { name: string; rows: number; cols: number; size: number; trainable: boolean }[] {
    return this.native.live().tensors();
  }

  /** Names and sizes of the learned tensors. */
  override learnedTensors(): { name: string; size: number }[] {
    return this.tensors()
      .filter((t) => t.trainable)
      .map((t) => ({ name: t.name, size: t.size }));
  }

  /**
   * Any tensor, frozen or learned, row-major: 'recurrent.weight' W [m,m], 'input.weight' B [m,I],
   * 'readout.weight' A [O,m], 'recurrent.bias' b [m], 'readout.bias' c [O], 'initial_state'
   * r0 [C,m], 'feedback.weight' F [m,O] (RFLO's random feedback).
   */
  async tensor(name: string): Promise<Float32Array> {
    if (typeof name !== 'string' || !this.tensors().some((t) => t.name === name)) {
      throw new ValidationError(
        'E_INVALID_ARG',
        `expected one of ${this.tensors()
          .map((t) => `'${t.name}'`)
          .join(', ')} for tensor, got ${describe(name)}`,
      );
    }
    return this.native.exclusive((h) => h.getTensor(name));
  }

  /** Writes a checkpoint: the resolved configuration (seed included) and the learned values only. */
  async save(path: string, options: { metadata?: Record<string, unknown> } = {}): Promise<void> {
    const metadata = saveMetadata(options);
    await writeModelCheckpoint(path, this.config, await this.getLearned(), metadata);
  }

  /** Loads a checkpoint: regenerates the frozen weights from its seed and sets the learned values. */
  static async load(path: string, options: LoadOptions = {}): Promise<RNN> {
    expectKnownKeys('load options', options, LOAD_OPTION_KEYS);
    const { config, stored, tensors } = await readModelCheckpoint<RNNConfig>(
      path,
      'rnn',
      'an RNN',
      (cfg, header) => resolveRNNConfig(configToOptions(upgradeRNNConfig(cfg, header.libraryVersion))),
      {
        ...(options.maxWeights === undefined ? {} : { maxWeights: options.maxWeights }),
        consistency: (resolved, cfg, header) => [
          { ...resolved, train: cfg.train },
          { ...upgradeRNNConfig(cfg, header.libraryVersion), clip: cfg.clip ?? 0, ...storedPrecision(cfg) },
        ],
      },
    );
    config.train = stored.train;
    const model = await RNN.fromConfig(config, options.backend ?? 'cpu');
    return applyCheckpointValues(path, model, tensors, (m, t) => m.setLearned(t));
  }

  /**
   * Keras's model.summary(): one row per tensor (shape, learned or frozen), the counts of learned
   * and frozen values, the seed and the backend. Returns the text; `printFn` (e.g. console.log)
   * also receives it line by line.
   */
  summary(printFn?: (line: string) => void): string {
    return printSummary(rnnSummary(this), printFn);
  }

  /** One line: architecture, activation, trainable set, learned / frozen counts, seed, backend. */
  override toString(): string {
    return rnnToString(this);
  }
}
