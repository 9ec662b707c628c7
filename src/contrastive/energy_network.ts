/**
 * A layered Hopfield energy network (equilibrium propagation's model) with frozen random weights
 * (regenerated from a seed, never stored) and learned biases (or weights too), trained by a
 * contrastive rule chosen by name: two-phase (chl, ep, ep-random-sign, ep-centered, coupled),
 * temporally local (continual-ep, oscillating, random-phase) or the exact gradient at the free
 * equilibrium (exact). The relaxation runs natively (native/contrastive/energy_net.h).
 *
 * ```ts
 * const model = await EnergyNetwork.create({ inputSize: 784, hidden: [4096], outputSize: 10, train: 'bias' });
 * const history = await model.fit(train, { epochs: 3, batchSize: 64, validationData: test });
 * ```
 */
import { Dataset } from '../data/dataset.js';
import { ValidationError } from '../errors.js';
import { type BackendName, type Binding, nativeFor, toNativeOptimizer } from '../native/binding.js';
import { applyCheckpointValues, readModelCheckpoint, saveMetadata, writeModelCheckpoint } from '../model/checkpoint.js';
import { LOAD_OPTION_KEYS, type LoadOptions } from '../model/config.js';
import { NativeModel } from '../model/native_model.js';
import { callNative } from '../model/native_handle.js';
import { deviceDataset } from '../train/device_data.js';
import { exclusiveFit, runFit } from '../train/fit.js';
import { FIT_LOOP_OPTION_KEYS, type FitLoopOptions } from '../train/fit_options.js';
import type { EvaluateResult, FitTarget, PassStats } from '../train/fit_target.js';
import type { History } from '../train/history.js';
import { describe, expectFinite, expectInt, expectKnownKeys, expectOneOf, expectOptions, optionKeys } from '../util/validate.js';
import {
  type EnergyNetworkConfig,
  type EnergyNetworkOptions,
  type RelaxationOptions,
  type ResolvedRelaxation,
  resolveEnergyConfig,
  resolveRelaxation,
} from './config.js';

/** Options of {@link EnergyNetwork.fit}: the loop's, plus the relaxation and rule of this run. */
export interface EnergyFitOptions extends FitLoopOptions<Dataset, EnergyNetwork> {
  /** Overrides of the model's relaxation options for this fit. */
  relaxation?: RelaxationOptions;
}
const FIT_KEYS = new Set([...FIT_LOOP_OPTION_KEYS, 'relaxation']);
const EVALUATE_KEYS = optionKeys<{ batchSize?: number; relaxation?: RelaxationOptions }>({ batchSize: true, relaxation: true });

/** What {@link EnergyNetwork.gradients} returns. */
export interface EnergyGradients {
  /** Mean loss C = 1/2 |y_out - y|^2 at the free state. */
  loss: number;
  /** The rule's estimate of dL/dtheta per learned tensor (mean over the batch). */
  grads: Record<string, Float32Array>;
  /** max |dU| at the last free step (how far the free phase was from equilibrium). */
  residual: number;
  /** random-phase: second moments of the per-phase contributions (nudged, free), their counts, and mean |e_p|^2. */
  phases?: { mPlus: number; mMinus: number; nPlus: number; nMinus: number; meanSquare: number };
}

function toNativeSpec(c: EnergyNetworkConfig): Binding.EnergySpec {
  return {
    seed: c.seed,
    sizes: c.sizes,
    activation: c.activation,
    outputActivation: c.outputActivation,
    weightInit: c.weightInit,
    biasInit: c.biasInit,
    trainWeight: c.trainWeight,
    trainBias: c.trainBias,
    optimizer: toNativeOptimizer(c.optimizer),
  };
}

export class EnergyNetwork
  extends NativeModel<EnergyNetworkConfig, Binding.EnergyNet>
  implements FitTarget<Dataset, ResolvedRelaxation>
{
  /** Max free-phase residual of the last training call (max |dU| at the last free step). */
  lastResidual = 0;
  /** random-phase phase log of the last training call: [type (1 nudged, 0 free), length, bias of the logged unit] per phase. */
  lastPhaseLog: Float32Array = new Float32Array(0);
  /** Unit of layer 1 whose bias the random-phase rule logs per phase during training (-1: none). */
  logUnit = -1;
  private calls = 0;

  private constructor(config: EnergyNetworkConfig, backend: BackendName, handle: Binding.EnergyNet) {
    super(config, backend, handle);
  }

  /** Builds the network; frozen tensors are generated from the seed off the JS thread. */
  static async create(options: EnergyNetworkOptions & { backend?: BackendName }): Promise<EnergyNetwork> {
    const { backend, ...rest } = expectOptions('energy network options', options);
    const config = resolveEnergyConfig(rest);
    return EnergyNetwork.fromConfig(config, expectOneOf('backend', backend ?? 'cpu', ['cpu', 'cuda'] as const));
  }

  /** Builds a network from a resolved configuration (e.g. a checkpoint's). */
  static async fromConfig(config: EnergyNetworkConfig, backend: BackendName = 'cpu'): Promise<EnergyNetwork> {
    const handle = await callNative(() => nativeFor(backend).createEnergyNet(toNativeSpec(config), backend));
    return new EnergyNetwork(config, backend, handle);
  }

  get inputSize(): number {
    return this.config.sizes[0]!;
  }
  get outputSize(): number {
    return this.config.sizes[this.config.sizes.length - 1]!;
  }
  get isClassifier(): boolean {
    return true;
  }
  get baseLr(): number {
    return this.config.optimizer.lr;
  }

  private nativeOptions(r: ResolvedRelaxation, extra: Partial<Binding.RelaxOptions> = {}): Binding.RelaxOptions {
    this.calls += 1;
    return { ...r, rngSeed: (this.config.seed + this.calls * 7919) % Number.MAX_SAFE_INTEGER, ...extra };
  }

  /** @internal Checks training or validation data (shapes; classes or regression targets of the output width). */
  checkFitData(data: unknown, what: string): Dataset {
    if (!(data instanceof Dataset))
      throw new ValidationError('E_INVALID_ARG', `expected a Dataset for ${what}, got ${describe(data)}`);
    if (data.inputSize !== this.inputSize)
      throw new ValidationError('E_SHAPE', `expected ${this.inputSize} input features for ${what}, got ${data.inputSize}`);
    if (data.outputSize !== this.outputSize)
      throw new ValidationError('E_SHAPE', `expected ${this.outputSize} classes or targets for ${what}, got ${data.outputSize}`);
    return data;
  }

  /**
   * Trains on `data` with the model's relaxation options (overridable by `options.relaxation`);
   * returns a History (loss = mean free-state cost, accuracy for classification). Callbacks see
   * this model as `this.model`; `lastResidual` holds the last chunk's largest free-phase residual.
   */
  async fit(data: Dataset, options: EnergyFitOptions = {}): Promise<History> {
    expectKnownKeys('fit options', options, FIT_KEYS);
    const { relaxation, ...loop } = options;
    const run = resolveRelaxation(relaxation, this.config.relaxation);
    this.checkFitData(data, 'training data');
    return exclusiveFit(this, () => runFit(this, data, loop, { run, model: this }));
  }

  /** One update per batch (per step for the temporally local rules); fit's building block. */
  async trainIndices(
    data: Dataset,
    indices: Int32Array,
    batchSize: number,
    lr: number,
    run: ResolvedRelaxation,
  ): Promise<PassStats> {
    this.native.live();
    const ds = await deviceDataset(data, this.backend);
    const opts = this.nativeOptions(run, { logUnit: this.logUnit });
    const s = await this.native.exclusive((h) => h.train(ds, indices, batchSize, lr, opts));
    this.lastResidual = s.residual.reduce((a, b) => Math.max(a, b), 0);
    this.lastPhaseLog = s.phaseLog;
    return s;
  }

  /** Mean free-state loss, accuracy (classification) and the largest free-phase residual. */
  async evaluate(
    data: Dataset,
    options: { batchSize?: number; relaxation?: RelaxationOptions } = {},
    run?: ResolvedRelaxation,
  ): Promise<EvaluateResult & { residual: number }> {
    expectKnownKeys('evaluate options', options, EVALUATE_KEYS);
    this.checkFitData(data, 'evaluation data');
    const batchSize = expectInt('batchSize', options.batchSize ?? 512, 1);
    const r = run ?? resolveRelaxation(options.relaxation, this.config.relaxation);
    this.native.live();
    const ds = await deviceDataset(data, this.backend);
    const opts = this.nativeOptions(r);
    const s = await this.native.exclusive((h) => h.evaluate(ds, batchSize, opts));
    let loss = 0,
      correct = 0,
      residual = 0;
    for (let i = 0; i < s.size.length; i++) {
      loss += s.lossSum[i]!;
      correct += s.correct[i]!;
      residual = Math.max(residual, s.residual[i]!);
    }
    const cls = data.targets.kind === 'classes';
    return { loss: loss / data.n, n: data.n, residual, ...(cls ? { accuracy: correct / data.n } : {}) };
  }

  /** Free-equilibrium outputs [n, outputSize] (and, with `states`, every layer's rates [n, sum of widths]). */
  async predict(
    x: Float32Array | Dataset,
    options: { relaxation?: RelaxationOptions; states?: boolean } = {},
  ): Promise<Float32Array> {
    const r = await this.relaxed(x, options);
    return r.outputs;
  }

  /** Outputs and the rates of every layer (1 .. L, concatenated per sample) at the free equilibrium. */
  async relaxed(
    x: Float32Array | Dataset,
    options: { relaxation?: RelaxationOptions; states?: boolean } = {},
  ): Promise<{ outputs: Float32Array; states?: Float32Array }> {
    expectKnownKeys('predict options', options, new Set(['relaxation', 'states']));
    let data: Dataset;
    if (x instanceof Dataset) data = this.checkFitData(x, 'x');
    else {
      if (!(x instanceof Float32Array))
        throw new ValidationError('E_DTYPE', `expected a Float32Array or Dataset, got ${describe(x)}`);
      if (x.length === 0 || x.length % this.inputSize !== 0)
        throw new ValidationError('E_SHAPE', `expected x length a positive multiple of ${this.inputSize}, got ${x.length}`);
      expectFinite('x', x, this.inputSize);
      const n = x.length / this.inputSize;
      data = Dataset.regression(x, this.inputSize, new Float32Array(n * this.outputSize), this.outputSize);
    }
    const r = resolveRelaxation(options.relaxation, this.config.relaxation);
    const ds = await deviceDataset(data, this.backend);
    const idx = Int32Array.from({ length: data.n }, (_, i) => i);
    const opts = this.nativeOptions(r);
    return this.native.exclusive((h) => h.predict(ds, idx, opts, options.states === true));
  }

  /** Predicted class (argmax of the free-state outputs) per row. */
  async predictClasses(x: Float32Array | Dataset): Promise<Int32Array> {
    const out = await this.predict(x);
    const O = this.outputSize;
    const cls = new Int32Array(out.length / O);
    for (let r = 0; r < cls.length; r++) {
      let best = 0;
      for (let o = 1; o < O; o++) if (out[r * O + o]! > out[r * O + best]!) best = o;
      cls[r] = best;
    }
    return cls;
  }

  /**
   * The chosen rule's estimate of the gradient of the mean loss over `batch` (one batch, the
   * parameters held fixed; temporally local rules accumulate their per-step updates), without
   * updating anything. With rule 'exact' it is the gradient at the free equilibrium.
   */
  async gradients(batch: Dataset, relaxation?: RelaxationOptions): Promise<EnergyGradients> {
    this.checkFitData(batch, 'batch');
    const r = resolveRelaxation(relaxation, this.config.relaxation);
    const ds = await deviceDataset(batch, this.backend);
    const idx = Int32Array.from({ length: batch.n }, (_, i) => i);
    const opts = this.nativeOptions(r);
    const out = await this.native.exclusive((h) => h.gradients(ds, idx, opts));
    const s = out.loss;
    return {
      loss: s.lossSum[0]! / batch.n,
      grads: out.grads,
      residual: s.residual[0] ?? 0,
      ...(r.rule === 'random-phase'
        ? { phases: { mPlus: s.mPlus, mMinus: s.mMinus, nPlus: s.nPlus, nMinus: s.nMinus, meanSquare: s.eSq } }
        : {}),
    };
  }

  /** Weight matrix l [n_{l+1}, n_l] (frozen or learned). */
  async weights(layer: number): Promise<Float32Array> {
    expectInt('layer', layer, 0, this.config.sizes.length - 2);
    return this.native.exclusive((h) => h.getTensor(`layers.${layer}.weight`));
  }

  /** Bias of layer l + 1 [n_{l+1}]. */
  async biases(layer: number): Promise<Float32Array> {
    expectInt('layer', layer, 0, this.config.sizes.length - 2);
    return this.native.exclusive((h) => h.getTensor(`layers.${layer}.bias`));
  }

  /** Writes a checkpoint: the resolved configuration (seed, distributions, trainable set, relaxation) and the learned values. */
  async save(path: string, options: { metadata?: Record<string, unknown> } = {}): Promise<void> {
    const metadata = saveMetadata(options);
    await writeModelCheckpoint(path, this.config, await this.getLearned(), metadata);
  }

  /** Loads a checkpoint: regenerates the frozen weights from its seed and sets the learned values. */
  static async load(path: string, options: LoadOptions = {}): Promise<EnergyNetwork> {
    expectOptions('load options', options);
    expectKnownKeys('load options', options, LOAD_OPTION_KEYS);
    const { config, tensors } = await readModelCheckpoint<EnergyNetworkConfig>(
      path,
      'contrastive',
      'an energy network',
      (cfg) => {
        const sizes = cfg.sizes ?? [];
        return resolveEnergyConfig({
          inputSize: sizes[0] as number,
          hidden: sizes.slice(1, -1),
          outputSize: sizes[sizes.length - 1] as number,
          activation: cfg.activation,
          outputActivation: cfg.outputActivation,
          train: cfg.train,
          seed: cfg.seed,
          weightInit: cfg.weightInit,
          biasInit: cfg.biasInit,
          optimizer: cfg.optimizer,
          relaxation: cfg.relaxation,
        });
      },
      {
        ...(options.maxWeights === undefined ? {} : { maxWeights: options.maxWeights }),
        // Written by this release only: the stored configuration is exactly what it resolves to.
        consistency: (resolved, cfg) => [resolved, cfg],
      },
    );
    const model = await EnergyNetwork.fromConfig(config, options.backend ?? 'cpu');
    return applyCheckpointValues(path, model, tensors, (m, t) => m.setLearned(t));
  }

  /** "EnergyNetwork(784-4096-10, hard-sigmoid, train bias, rule ep-centered, seed 7, cpu)". */
  override toString(): string {
    const c = this.config;
    const train = typeof c.train === 'string' ? c.train : 'per-layer';
    return `EnergyNetwork(${c.sizes.join('-')}, ${c.activation}, train ${train}, rule ${c.relaxation.rule}, seed ${c.seed}, ${this.backend})`;
  }
}
