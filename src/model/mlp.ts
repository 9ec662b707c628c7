/**
 * A bias-learning multilayer perceptron: frozen random weights (regenerated from a seed, never
 * stored), learned biases (or readout / everything / a per-layer choice).
 *
 * ```ts
 * const model = await MLP.create({ inputSize: 784, hidden: [4096], outputSize: 10, train: 'bias' });
 * const history = await model.fit(train, { epochs: 5, batchSize: 256, validationData: test });
 * ```
 */
import { checkStepArguments } from '../train/fit_target.js';
import { NativeModel } from './native_model.js';
import { freemem } from 'node:os';
import { Dataset } from '../data/dataset.js';
import { ValidationError } from '../errors.js';
import { planWidthShard, withCollective } from '../distributed/width_parallel.js';
import { type Binding, nativeFor, toNativeOptimizer, type BackendName } from '../native/binding.js';
import { deviceDataset } from '../train/device_data.js';
import { exclusiveFit, runFit } from '../train/fit.js';
import { FIT_LOOP_OPTION_KEYS, type FitLoopOptions, type FitOptions } from '../train/fit_options.js';
import {
  expectCacheMode,
  type EvaluateResult,
  type FitTarget,
  type PassStats,
  type TrainStepOptions,
} from '../train/fit_target.js';
import type { History } from '../train/history.js';
import {
  describe,
  expectFinite,
  expectFiniteLoss,
  expectInt,
  expectKnownKeys,
  expectNumber,
  expectOneOf,
  optionKeys,
} from '../util/validate.js';
import { applyCheckpointValues, readModelCheckpoint, saveMetadata, writeModelCheckpoint } from './checkpoint.js';
import {
  LOAD_OPTION_KEYS,
  resolveMLPConfig,
  resolveTrainable,
  type LoadOptions,
  type MLPConfig,
  type MLPOptions,
} from './config.js';
import { callNative } from './native_handle.js';
import {
  datasetFromArrays,
  expectPredictOutput,
  fitArguments,
  softmaxRows,
  type ArrayFitOptions,
  type FitTargets,
  type PredictOutput,
} from './outputs.js';
import { mlpSummary, mlpToString } from './model_summary.js';
import { printSummary } from './summary.js';
import { inputCacheMessage } from '../train/status.js';
import { storedPrecision, toNativePrecision } from './precision.js';

function toNativeSpec(c: MLPConfig): Binding.MlpSpec {
  return {
    ...toNativePrecision(c),
    seed: c.seed,
    loss: c.loss,
    optimizer: toNativeOptimizer(c.optimizer),
    layers: c.layers.map((l) => ({
      in: l.in,
      out: l.out,
      activation: l.activation,
      weightInit: l.weightInit,
      biasInit: l.biasInit,
      trainWeight: l.trainWeight,
      trainBias: l.trainBias,
    })),
  };
}

export interface EvaluateOptions {
  batchSize?: number;
}

const FIT_OPTION_KEYS = new Set([
  ...FIT_LOOP_OPTION_KEYS,
  ...optionKeys<Omit<FitOptions, keyof FitLoopOptions>>({ cacheInputLayer: true }),
]);
const EVALUATE_OPTION_KEYS = optionKeys<EvaluateOptions>({ batchSize: true });
/** Options of {@link MLP.predict}. */
export interface MLPPredictOptions {
  /** 'logits' (default: raw outputs, as in earlier releases) or 'probabilities' (row softmax; classifiers only). */
  output?: PredictOutput;
}
const PREDICT_OPTION_KEYS = optionKeys<MLPPredictOptions>({ output: true });

export class MLP extends NativeModel<MLPConfig, Binding.Mlp> implements FitTarget<Dataset, TrainStepOptions> {
  private constructor(config: MLPConfig, backend: BackendName, handle: Binding.Mlp) {
    super(config, backend, handle);
  }

  /** Builds the model; frozen weights are generated off the JS thread. */
  static async create(options: MLPOptions): Promise<MLP> {
    // resolveMLPConfig refuses unknown keys (MLP_OPTION_KEYS).
    const config = resolveMLPConfig(options);
    const backend = expectOneOf('backend', options.backend ?? 'cpu', ['cpu', 'cuda'] as const);
    return MLP.fromConfig(config, backend);
  }

  /**
   * Width-parallel (hidden-unit sharded) bias learning over the started distributed world
   * (`initDistributed`, docs/distributed.md): a one-hidden-layer MLP whose hidden units are split
   * into contiguous slices, one per rank. Rank r generates only its slice's frozen weights (the
   * exact values of the full network's), its [batch, outputs] partial logits are summed over the
   * ranks, and it learns its own slice of biases (the readout bias is replicated). Every rank
   * calls it with the same options and then trains on the same (whole) batches; the model
   * equals `MLP.create(options)` up to float rounding. `getLearned` returns this rank's slices;
   * `gatherLearned` the full tensors. Gradient clipping and `save` are not supported.
   */
  static async createWidthParallel(options: MLPOptions): Promise<MLP> {
    const config = resolveMLPConfig(options);
    const backend = expectOneOf('backend', options.backend ?? 'cpu', ['cpu', 'cuda'] as const);
    const H = config.layers[0]!.out;
    const { world, shard } = planWidthShard(config, config.layers.length - 1, H, backend);
    const spec = toNativeSpec(config);
    spec.layers[0]!.out = shard.width;
    spec.layers[1]!.in = shard.width;
    spec.widthShard = { ranks: shard.ranks, offset: shard.offset, full: H };
    const handle = await callNative(() => nativeFor(backend).createMlp(spec, backend));
    const model = new MLP(config, backend, withCollective(handle, backend, world));
    model.widthShard = shard;
    return model;
  }

  /**
   * The full learned tensors of a width-parallel model on every rank (a collective: every rank
   * calls it): hidden-unit slices concatenated in rank order (`layers.0.*` rows, `layers.1.weight`
   * columns); the replicated tensors as they are. Other models: `getLearned()`.
   */
  async gatherLearned(): Promise<Record<string, Float32Array>> {
    return this.gatherWidthSlices(
      (name) => (name === 'layers.0.weight' ? 'rows' : name === 'layers.1.bias' ? 'replicated' : 'cols'),
      this.config.layers[0]!.out,
    );
  }

  /** Builds a model from a resolved configuration (e.g. a checkpoint's). */
  static async fromConfig(config: MLPConfig, backend: BackendName = 'cpu'): Promise<MLP> {
    const mod = nativeFor(backend);
    const handle = await callNative(() => mod.createMlp(toNativeSpec(config), backend));
    return new MLP(config, backend, handle);
  }

  get inputSize(): number {
    return this.config.layers[0]!.in;
  }
  get outputSize(): number {
    return this.config.layers[this.config.layers.length - 1]!.out;
  }
  get isClassifier(): boolean {
    return this.config.loss === 'softmax-cross-entropy';
  }
  get baseLr(): number {
    return this.config.optimizer.lr;
  }

  private checkData(data: unknown, name: string): Dataset {
    if (!(data instanceof Dataset))
      throw new ValidationError('E_INVALID_ARG', `expected a Dataset for ${name}, got ${describe(data)}`);
    if (data.inputSize !== this.inputSize) {
      throw new ValidationError('E_SHAPE', `expected ${this.inputSize} input features for ${name}, got ${data.inputSize}`);
    }
    if (data.outputSize !== this.outputSize) {
      const what = this.isClassifier ? 'classes' : 'target columns';
      throw new ValidationError('E_SHAPE', `expected ${this.outputSize} ${what} for ${name}, got ${data.outputSize}`);
    }
    return data;
  }

  /** @internal The training interface: checks training or validation data. */
  checkFitData(data: unknown, what: string): Dataset {
    const ds = this.checkData(data, what);
    const isClass = ds.targets.kind === 'classes';
    if (isClass !== this.isClassifier) {
      throw new ValidationError(
        'E_CONFIG',
        `expected ${this.isClassifier ? 'a classification' : 'a regression'} dataset for ${what}, got ${isClass ? 'classification' : 'regression'}`,
      );
    }
    return ds;
  }

  /**
   * Trains on `data` (see {@link FitOptions}); returns a History. Inside callbacks `this.model`
   * is this MLP. Refuses a concurrent fit. Also callable Keras-style as `fit(x, y, options)`:
   * x row-major [n, inputSize] and y the class ids (classifiers) or targets [n, outputSize],
   * with `validationData` a Dataset or `[xVal, yVal]`.
   */
  async fit(data: Dataset, options?: FitOptions<MLP>): Promise<History>;
  async fit(x: Float32Array, y: FitTargets, options?: ArrayFitOptions<FitOptions<MLP>>): Promise<History>;
  async fit(a: Dataset | Float32Array, b?: FitTargets | FitOptions<MLP>, c?: ArrayFitOptions<FitOptions<MLP>>): Promise<History> {
    const { data, options } = fitArguments<FitOptions<MLP>>(a, b, c, (x, y, what) =>
      datasetFromArrays(x, y, this.inputSize, this.outputSize, this.isClassifier, what),
    );
    expectKnownKeys('fit options', options, FIT_OPTION_KEYS);
    const { cacheInputLayer, ...loop } = options;
    const run: TrainStepOptions = { cacheInputLayer: expectCacheMode(cacheInputLayer) };
    return exclusiveFit(this, () => runFit(this, data as Dataset, loop, { run, model: this }));
  }

  /** Largest input-layer cache (bytes) that `cacheInputLayer: 'auto'` builds. */
  static inputCacheBudgetBytes = 4 * 2 ** 30;

  /** Whether steps on `data` can reuse X W_0^T (layer 0 frozen) and, for 'auto', it fits the budget. */
  usesInputCache(data: Dataset, mode: boolean | 'auto' = 'auto'): boolean {
    this.checkData(data, 'data');
    if (mode !== 'auto' && typeof mode !== 'boolean')
      throw new ValidationError('E_INVALID_ARG', `expected true, false or 'auto' for cacheInputLayer, got ${describe(mode)}`);
    if (mode === false || this.config.layers[0]!.trainWeight) {
      if (mode === true)
        throw new ValidationError('E_CONFIG', "cacheInputLayer needs frozen first-layer weights (train 'bias' or 'readout')");
      return false;
    }
    if (mode === true) return true;
    const bytes = data.n * this.config.layers[0]!.out * 4;
    const hostLimit = this.backend === 'cpu' ? freemem() / 2 : Infinity;
    return bytes <= Math.min(MLP.inputCacheBudgetBytes, hostLimit);
  }

  /**
   * One optimizer step per batch of `batchSize` consecutive `indices` into `data`, at learning
   * rate `lr` (fit's building block; also used by benchmarks). Returns per-batch sums.
   */
  async trainIndices(
    data: Dataset,
    indices: Int32Array,
    batchSize: number,
    lr: number,
    options: TrainStepOptions = {},
  ): Promise<PassStats> {
    checkStepArguments(indices, batchSize, lr);
    this.native.live();
    const cache = this.usesInputCache(data, options.cacheInputLayer ?? false);
    const ds = await deviceDataset(data, this.backend);
    const clip = expectNumber('clip', options.clip ?? this.config.clip, 0);
    return this.native.exclusive((h) => h.train(ds, indices, batchSize, lr, cache, clip));
  }

  /** @internal What the first step will build: the input-layer cache P = X W_0^T [n, H_0], with its size. */
  preparation(data: Dataset, options: TrainStepOptions): string | undefined {
    if (!this.usesInputCache(data, options.cacheInputLayer ?? false)) return undefined;
    return inputCacheMessage(data.n, this.inputSize, this.config.layers[0]!.out);
  }

  /** @internal Frees the input-layer cache when fit ends. */
  async endFit(): Promise<void> {
    if (!this.native.disposed) await this.native.exclusive((h) => h.dropInputCache());
  }

  /** Mean loss and (classification) accuracy over a dataset. */
  async evaluate(data: Dataset, options: EvaluateOptions = {}): Promise<EvaluateResult> {
    expectKnownKeys('evaluate options', options, EVALUATE_OPTION_KEYS);
    this.checkData(data, 'evaluation data');
    const batchSize = expectInt('batchSize', options.batchSize ?? 1024, 1);
    this.native.live();
    const ds = await deviceDataset(data, this.backend);
    const s = await this.native.exclusive((h) => h.evaluate(ds, batchSize));
    let loss = 0;
    let correct = 0;
    for (let i = 0; i < s.size.length; i++) {
      loss += s.lossSum[i]!;
      correct += s.correct[i]!;
    }
    return { loss: expectFiniteLoss(loss / data.n), n: data.n, ...(this.isClassifier ? { accuracy: correct / data.n } : {}) };
  }

  /**
   * Outputs [n, outputSize] for row-major inputs [n, inputSize] or a Dataset: logits by default
   * (as in earlier releases), or softmax probabilities with `{ output: 'probabilities' }`.
   */
  async predict(x: Float32Array | Dataset, options: MLPPredictOptions = {}): Promise<Float32Array> {
    expectKnownKeys('predict options', options, PREDICT_OPTION_KEYS);
    const output = expectPredictOutput(options.output);
    if (output === 'probabilities' && !this.isClassifier)
      throw new ValidationError('E_CONFIG', "output 'probabilities' needs a classifier (loss softmax-cross-entropy)");
    const input = x instanceof Dataset ? x.x : x;
    if (!(input instanceof Float32Array))
      throw new ValidationError('E_DTYPE', `expected a Float32Array or Dataset for x, got ${describe(x)}`);
    if (input.length === 0) throw new ValidationError('E_EMPTY', 'expected at least one input row, got an empty array');
    if (input.length % this.inputSize !== 0) {
      throw new ValidationError('E_SHAPE', `expected x length a multiple of inputSize ${this.inputSize}, got ${input.length}`);
    }
    expectFinite('x', input, this.inputSize);
    const out = await this.native.exclusive((h) => h.predict(input));
    return output === 'probabilities' ? softmaxRows(out, this.outputSize) : out;
  }

  /** Predicted class (argmax of the logits) per row. */
  async predictClasses(x: Float32Array | Dataset): Promise<Int32Array> {
    const out = await this.predict(x);
    const O = this.outputSize;
    const n = out.length / O;
    const cls = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      let best = 0;
      for (let o = 1; o < O; o++) if (out[r * O + o]! > out[r * O + best]!) best = o;
      cls[r] = best;
    }
    return cls;
  }

  /**
   * Gradients of the mean loss over a batch for every learned tensor, without updating anything
   * (for gradient checks and analysis). `loss` is the mean loss.
   */
  async gradients(batch: Dataset): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
    this.checkData(batch, 'batch');
    const t = batch.targets;
    const r = await this.native.exclusive((h) =>
      h.gradients(batch.x, t.kind === 'classes' ? t.labels : null, t.kind === 'values' ? t.values : null),
    );
    return { loss: r.loss / batch.n, grads: r.grads };
  }

  /** Weight matrix of layer l, row-major [out, in] (frozen or learned). */
  async weights(layer: number): Promise<Float32Array> {
    expectInt('layer', layer, 0, this.config.layers.length - 1);
    return this.native.exclusive((h) => h.getTensor(`layers.${layer}.weight`));
  }

  /** Bias vector of layer l. */
  async biases(layer: number): Promise<Float32Array> {
    expectInt('layer', layer, 0, this.config.layers.length - 1);
    return this.native.exclusive((h) => h.getTensor(`layers.${layer}.bias`));
  }

  /**
   * Writes a checkpoint: the resolved configuration (seed, distributions, trainable set) and the
   * learned values only. Atomic: a temporary file renamed over `path`.
   */
  async save(path: string, options: { metadata?: Record<string, unknown> } = {}): Promise<void> {
    this.expectWholeModel('save');
    const metadata = saveMetadata(options);
    await writeModelCheckpoint(path, this.config, await this.getLearned(), metadata);
  }

  /** Loads a checkpoint: regenerates the frozen weights from its seed and sets the learned values. */
  static async load(path: string, options: LoadOptions = {}): Promise<MLP> {
    expectKnownKeys('load options', options, LOAD_OPTION_KEYS);
    const { config, stored, tensors } = await readModelCheckpoint<MLPConfig>(
      path,
      'mlp',
      'an MLP',
      (cfg) => {
        const resolved = resolveMLPConfig({
          inputSize: cfg.layers?.[0]?.in as number,
          hidden: (cfg.layers ?? []).slice(0, -1).map((l) => l.out),
          outputSize: cfg.layers?.[cfg.layers.length - 1]?.out as number,
          activation: cfg.layers?.[0]?.activation,
          loss: cfg.loss,
          train: cfg.layers ? { layers: cfg.layers.map((l) => ({ weight: l.trainWeight, bias: l.trainBias })) } : cfg.train,
          seed: cfg.seed,
          weightInit: cfg.layers?.map((l) => l.weightInit),
          biasInit: cfg.layers?.map((l) => l.biasInit),
          optimizer: cfg.optimizer,
          clip: cfg.clip,
          weightPrecision: cfg.weightPrecision,
          tf32: cfg.tf32,
        });
        return resolved;
      },
      {
        ...(options.maxWeights === undefined ? {} : { maxWeights: options.maxWeights }),
        // The trainable-set label must name the per-layer flags.
        consistency: (resolved, cfg) => [
          { ...resolved, train: cfg.train, flags: resolveTrainable(cfg.train, cfg.layers.length) },
          {
            ...cfg,
            clip: cfg.clip ?? 0,
            ...storedPrecision(cfg),
            flags: cfg.layers.map((l) => ({ weight: l.trainWeight, bias: l.trainBias })),
          },
        ],
      },
    );
    config.train = stored.train;
    const model = await MLP.fromConfig(config, options.backend ?? 'cpu');
    return applyCheckpointValues(path, model, tensors, (m, t) => m.setLearned(t));
  }

  /**
   * Keras's model.summary(): one row per tensor (shape, learned or frozen), the counts of learned
   * and frozen values, the seed and the backend. Returns the text; `printFn` (e.g. console.log)
   * also receives it line by line.
   */
  summary(printFn?: (line: string) => void): string {
    return printSummary(mlpSummary(this), printFn);
  }

  /** One line: "MLP(784-4096-10, relu, train bias, 4,106 learned / 3,252,224 frozen, seed 7, cpu)". */
  override toString(): string {
    return mlpToString(this);
  }
}
