/**
 * MLP configuration: what the user writes ({@link MLPOptions}) and the fully resolved form
 * ({@link MLPConfig}) that a checkpoint stores and from which the frozen weights are regenerated.
 */
import { ValidationError } from '../errors.js';
import { describe, expectInt, expectKnownKeys, expectNumber, expectOneOf, optionKeys } from '../util/validate.js';
import type { BackendName } from '../native/binding.js';
import { ACTIVATIONS, type Activation } from './activation.js';
import { freshSeed } from '../util/seed.js';
import { resolvePrecision, type PrecisionConfig, type PrecisionOptions } from './precision.js';

export { ACTIVATIONS, type Activation };
export const LOSSES = ['softmax-cross-entropy', 'mse'] as const;
export type LossName = (typeof LOSSES)[number];
export const TRAINABLE_SETS = ['bias', 'readout', 'full'] as const;
/**
 * Which tensors learn. `bias`: every bias, all weights frozen (readout included), as in the
 * paper. `readout`: the last layer's weights and bias (random-features baseline). `full`:
 * everything. Or an explicit per-layer choice.
 */
export type TrainableSet = (typeof TRAINABLE_SETS)[number] | { layers: { weight: boolean; bias: boolean }[] };

/**
 * A tensor's initial distribution. `relative: true` divides `scale` by sqrt(fan_in):
 * uniform[-a, a] with a = scale/sqrt(fan_in), or normal(0, sigma^2) with sigma = scale/sqrt(fan_in).
 */
export interface InitSpec {
  dist: 'uniform' | 'normal' | 'zeros';
  scale: number;
  relative: boolean;
}

const INIT_SPEC_KEYS = optionKeys<InitSpec>({ dist: true, scale: true, relative: true });

export interface OptimizerOptions {
  /**
   * 'adam' (L2 weight decay added to the gradient, as torch.optim.Adam), 'adamw' (decoupled
   * decay p *= 1 - lr * weightDecay before the step, as torch.optim.AdamW; weightDecay defaults
   * to 0.01 as there) or 'sgd' (momentum, Nesterov, L2). Default 'adam'.
   */
  type?: 'adam' | 'adamw' | 'sgd';
  /** Learning rate (the schedule's starting value). */
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
}
export type OptimizerConfig = Required<OptimizerOptions>;
export const OPTIMIZER_OPTION_KEYS = optionKeys<OptimizerOptions>({
  type: true,
  lr: true,
  beta1: true,
  beta2: true,
  eps: true,
  momentum: true,
  nesterov: true,
  weightDecay: true,
});

export interface MLPOptions extends PrecisionOptions {
  inputSize: number;
  /** Hidden widths, e.g. [4096] or 4096. */
  hidden: number[] | number;
  outputSize: number;
  /** Hidden activation (the readout is linear). Default relu. */
  activation?: Activation;
  /** Default softmax-cross-entropy (classification); mse for regression. */
  loss?: LossName;
  /** Default 'bias'. */
  train?: TrainableSet;
  /**
   * Seed of every frozen weight: an integer in [0, 2^53 - 1] (distinct seeds never alias). Default: a
   * fresh random seed (crypto), recorded in `config.seed`, the checkpoint and `summary()`; pass a
   * seed to reproduce a model.
   */
  seed?: number;
  /** Hidden-layer weight distribution; one spec for all, or one per layer (hidden + readout). */
  weightInit?: Partial<InitSpec> | Partial<InitSpec>[];
  /** Readout (last layer) weight distribution; overrides weightInit for the last layer. */
  readoutInit?: Partial<InitSpec>;
  /** Initial biases. Default zeros. */
  biasInit?: Partial<InitSpec> | Partial<InitSpec>[];
  optimizer?: OptimizerOptions;
  /** Global gradient-norm clip before each update (0: off). Default 0. */
  clip?: number;
  backend?: BackendName;
}

export const MLP_OPTION_KEYS = optionKeys<MLPOptions>({
  inputSize: true,
  hidden: true,
  outputSize: true,
  activation: true,
  loss: true,
  train: true,
  seed: true,
  weightInit: true,
  readoutInit: true,
  biasInit: true,
  optimizer: true,
  clip: true,
  backend: true,
  weightPrecision: true,
  tf32: true,
});

/** Options of a model's static `load`. */
export interface LoadOptions {
  backend?: BackendName;
  /**
   * Most values (frozen and learned float32) the checkpoint's model may declare; default 2^27
   * (512 MiB). A checkpoint declaring more is refused (E_FORMAT) before anything is allocated.
   */
  maxWeights?: number;
}
export const LOAD_OPTION_KEYS = optionKeys<LoadOptions>({ backend: true, maxWeights: true });

export interface LayerConfig {
  in: number;
  out: number;
  activation: Activation;
  weightInit: InitSpec;
  biasInit: InitSpec;
  trainWeight: boolean;
  trainBias: boolean;
}

export interface MLPConfig extends PrecisionConfig {
  kind: 'mlp';
  seed: number;
  loss: LossName;
  train: TrainableSet;
  layers: LayerConfig[];
  optimizer: OptimizerConfig;
  /** Global gradient-norm clip before each update (0: off); checkpoints of 0.1.x have none (0). */
  clip: number;
}

/**
 * Library defaults, chosen from measurements on Fashion-MNIST (784 -> 4096 -> 10, bias only,
 * Adam, batch 256; README "Defaults" and bench/results/defaults-fashion-mnist.json).
 *
 * Hidden weights: uniform[-a, a], a = sqrt(6)/sqrt(fan_in) (He/Kaiming uniform).
 * Readout weights when the readout is frozen (train 'bias'): a = 30/sqrt(fan_in). The frozen
 * readout's scale sets the logits' scale: at sqrt(6) bias learning reached 74% after 2 epochs,
 * at 10 about 80%, at 30 about 82%, at 100 80% (lr 0.05). When the readout learns
 * ('readout', 'full') it starts at the usual a = 1/sqrt(fan_in) (PyTorch's nn.Linear).
 */
export const DEFAULT_HIDDEN_INIT: InitSpec = { dist: 'uniform', scale: Math.sqrt(6), relative: true };
export const DEFAULT_FROZEN_READOUT_INIT: InitSpec = { dist: 'uniform', scale: 30, relative: true };
export const DEFAULT_LEARNED_READOUT_INIT: InitSpec = { dist: 'uniform', scale: 1, relative: true };
/** @deprecated alias of DEFAULT_FROZEN_READOUT_INIT */
export const DEFAULT_READOUT_INIT: InitSpec = DEFAULT_FROZEN_READOUT_INIT;
export const DEFAULT_BIAS_INIT: InitSpec = { dist: 'zeros', scale: 0, relative: false };
export const DEFAULT_OPTIMIZER: OptimizerConfig = {
  type: 'adam',
  lr: 5e-2,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  momentum: 0,
  nesterov: false,
  weightDecay: 0,
};

/** Default weight decay of 'adamw' (torch.optim.AdamW's). */
export const ADAMW_WEIGHT_DECAY = 1e-2;

/**
 * Default learning rate for a trainable set and optimizer: biases tolerate (and need) large
 * steps, weights do not. Adam: 5e-2 when only biases learn, 1e-2 for 'readout', 1e-3 when any
 * hidden weight learns; SGD: 10x those.
 */
export function defaultLearningRate(train: TrainableSet, optimizer: 'adam' | 'sgd' = 'adam'): number {
  expectOneOf('optimizer', optimizer, ['adam', 'sgd'] as const);
  resolveTrainable(train, typeof train === 'object' && train !== null && Array.isArray(train.layers) ? train.layers.length : 1);
  let lr: number;
  if (typeof train === 'string') lr = train === 'bias' ? 5e-2 : train === 'readout' ? 1e-2 : 1e-3;
  else {
    const layers = train.layers;
    const hiddenWeights = layers.slice(0, -1).some((l) => l.weight);
    const anyWeight = layers.some((l) => l.weight);
    lr = hiddenWeights ? 1e-3 : anyWeight ? 1e-2 : 5e-2;
  }
  return optimizer === 'sgd' ? lr * 10 : lr;
}

/** A partial init spec with the fields of `fallback` where absent (validated). */
export function resolveInit(name: string, given: Partial<InitSpec> | undefined, fallback: InitSpec): InitSpec {
  if (given === undefined) return { ...fallback };
  if (typeof given !== 'object' || given === null) {
    throw new ValidationError(
      'E_INVALID_ARG',
      `expected an object { dist, scale, relative } for ${name}, got ${describe(given)}`,
    );
  }
  expectKnownKeys(name, given, INIT_SPEC_KEYS);
  const dist =
    given.dist === undefined ? fallback.dist : expectOneOf(`${name}.dist`, given.dist, ['uniform', 'normal', 'zeros'] as const);
  const scale = given.scale === undefined ? fallback.scale : expectNumber(`${name}.scale`, given.scale, 0);
  const relative = given.relative === undefined ? fallback.relative : given.relative;
  if (typeof relative !== 'boolean')
    throw new ValidationError('E_INVALID_ARG', `expected a boolean for ${name}.relative, got ${describe(relative)}`);
  return { dist, scale, relative };
}

function pick<T>(v: T | T[] | undefined, i: number, count: number, name: string): T | undefined {
  if (!Array.isArray(v)) return v;
  if (v.length !== count)
    throw new ValidationError('E_CONFIG', `expected ${count} entries for ${name} (one per layer), got ${v.length}`);
  return v[i];
}

export function resolveTrainable(train: TrainableSet, layerCount: number): { weight: boolean; bias: boolean }[] {
  if (typeof train === 'string') {
    expectOneOf('train', train, TRAINABLE_SETS);
    return Array.from({ length: layerCount }, (_, l) => {
      const last = l === layerCount - 1;
      if (train === 'bias') return { weight: false, bias: true };
      if (train === 'readout') return { weight: last, bias: last };
      return { weight: true, bias: true };
    });
  }
  if (typeof train !== 'object' || train === null || !Array.isArray(train.layers)) {
    throw new ValidationError(
      'E_INVALID_ARG',
      `expected 'bias', 'readout', 'full' or { layers: [...] } for train, got ${describe(train)}`,
    );
  }
  if (train.layers.length !== layerCount) {
    throw new ValidationError('E_CONFIG', `expected ${layerCount} entries in train.layers, got ${train.layers.length}`);
  }
  return train.layers.map((l, i) => {
    if (typeof l?.weight !== 'boolean' || typeof l?.bias !== 'boolean') {
      throw new ValidationError(
        'E_INVALID_ARG',
        `expected { weight: boolean, bias: boolean } for train.layers[${i}], got ${describe(l)}`,
      );
    }
    return { weight: l.weight, bias: l.bias };
  });
}

export function resolveOptimizer(o: OptimizerOptions | undefined, train: TrainableSet = 'bias'): OptimizerConfig {
  if (o !== null) expectKnownKeys('optimizer', o, OPTIMIZER_OPTION_KEYS);
  const r = { ...DEFAULT_OPTIMIZER, ...(o ?? {}) };
  if (o?.lr === undefined) r.lr = defaultLearningRate(train, r.type === 'sgd' ? 'sgd' : 'adam');
  expectOneOf('optimizer.type', r.type, ['adam', 'adamw', 'sgd'] as const);
  if (r.type === 'adamw' && o?.weightDecay === undefined) r.weightDecay = ADAMW_WEIGHT_DECAY;
  expectNumber('optimizer.lr', r.lr, 0, Infinity, { exclusiveMin: true });
  expectNumber('optimizer.beta1', r.beta1, 0, 1);
  expectNumber('optimizer.beta2', r.beta2, 0, 1);
  expectNumber('optimizer.eps', r.eps, 0);
  expectNumber('optimizer.momentum', r.momentum, 0, 1);
  expectNumber('optimizer.weightDecay', r.weightDecay, 0);
  if (typeof r.nesterov !== 'boolean')
    throw new ValidationError('E_INVALID_ARG', `expected a boolean for optimizer.nesterov, got ${describe(r.nesterov)}`);
  return r;
}

/** Validates options and fills in every default. */
export function resolveMLPConfig(o: MLPOptions): MLPConfig {
  if (typeof o !== 'object' || o === null)
    throw new ValidationError('E_INVALID_ARG', `expected an options object, got ${describe(o)}`);
  expectKnownKeys('MLP options', o, MLP_OPTION_KEYS);
  const inputSize = expectInt('inputSize', o.inputSize, 1);
  const outputSize = expectInt('outputSize', o.outputSize, 1);
  const clip = expectNumber('clip', o.clip ?? 0, 0);
  const hidden = o.hidden === undefined ? [] : Array.isArray(o.hidden) ? o.hidden : [o.hidden];
  hidden.forEach((h, i) => {
    expectInt(`hidden[${i}]`, h, 1);
  });
  const activation = expectOneOf('activation', o.activation ?? 'relu', ACTIVATIONS);
  const loss = expectOneOf('loss', o.loss ?? 'softmax-cross-entropy', LOSSES);
  const seed = expectInt('seed', o.seed ?? freshSeed(), 0, Number.MAX_SAFE_INTEGER);
  const sizes = [inputSize, ...hidden, outputSize];
  const L = sizes.length - 1;
  const train = o.train ?? 'bias';
  const trainable = resolveTrainable(train, L);
  const layers: LayerConfig[] = [];
  for (let l = 0; l < L; l++) {
    const last = l === L - 1;
    // A single weightInit covers the hidden layers; an array gives one per layer, readout included.
    const perLayer = pick(o.weightInit, l, L, 'weightInit');
    const wGiven = last ? (o.readoutInit ?? (Array.isArray(o.weightInit) ? perLayer : undefined)) : perLayer;
    const wFallback = !last
      ? DEFAULT_HIDDEN_INIT
      : trainable[l]!.weight
        ? DEFAULT_LEARNED_READOUT_INIT
        : DEFAULT_FROZEN_READOUT_INIT;
    layers.push({
      in: sizes[l]!,
      out: sizes[l + 1]!,
      activation: last ? 'identity' : activation,
      weightInit: resolveInit(last ? 'readoutInit' : `weightInit[${l}]`, wGiven, wFallback),
      biasInit: resolveInit(`biasInit[${l}]`, pick(o.biasInit, l, L, 'biasInit'), DEFAULT_BIAS_INIT),
      trainWeight: trainable[l]!.weight,
      trainBias: trainable[l]!.bias,
    });
  }
  if (!layers.some((l) => l.trainWeight || l.trainBias))
    throw new ValidationError('E_CONFIG', 'nothing to train: every tensor is frozen');
  const precision = resolvePrecision(o);
  return { kind: 'mlp', seed, loss, train, layers, optimizer: resolveOptimizer(o.optimizer, train), clip, ...precision };
}
