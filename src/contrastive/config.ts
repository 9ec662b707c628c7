/**
 * Configuration of the energy network trained by contrastive rules (native/contrastive): what
 * the user writes ({@link EnergyNetworkOptions}), the resolved form ({@link EnergyNetworkConfig})
 * that a checkpoint stores and from which the frozen weights are regenerated, and the relaxation
 * and rule options ({@link RelaxationOptions}) that every pass uses.
 */
import { ValidationError } from '../errors.js';
import { ACTIVATIONS, type Activation } from '../model/activation.js';
import { resolveInit, resolveOptimizer, type InitSpec, type OptimizerConfig, type OptimizerOptions } from '../model/config.js';
import { freshSeed } from '../util/seed.js';
import { describe, expectInt, expectKnownKeys, expectNumber, expectOneOf, optionKeys } from '../util/validate.js';

/** Every rule by name; see docs/contrastive.md for the equations and which are exact. */
export const CONTRASTIVE_RULES = [
  'chl',
  'ep',
  'ep-random-sign',
  'ep-centered',
  'coupled',
  'continual-ep',
  'oscillating',
  'random-phase',
  'exact',
] as const;
export type ContrastiveRule = (typeof CONTRASTIVE_RULES)[number];

/** 'bias' (every bias learns, weights frozen), 'full' (weights and biases) or a per-matrix choice. */
export type EnergyTrainable = 'bias' | 'full' | { layers: { weight: boolean; bias: boolean }[] };

/** How the network relaxes and which rule estimates the gradient. */
export interface RelaxationOptions {
  /** Default 'ep-centered'. */
  rule?: ContrastiveRule;
  /** Step size eps in (0, 1] (time per step in relaxation time constants). Default 0.5. */
  stepSize?: number;
  /** Free-phase steps T1. Default 40. */
  freeSteps?: number;
  /** Nudged (or clamped) steps T2; also the adjoint steps of 'exact' and the period of 'oscillating'. Default 20. */
  nudgedSteps?: number;
  /** Nudge strength (coupled: the fraction of the way to the target; oscillating: amplitude). Default 0.2. */
  beta?: number;
  /** oscillating: periods per batch. Default 1. */
  periods?: number;
  /** random-phase: probability of a nudged phase. Default 0.5. */
  pi?: number;
  /** random-phase: phases per batch. Default 2. */
  phases?: number;
  /** random-phase: phase lengths uniform in [phaseMin, phaseMax] steps. Default 10 and 30. */
  phaseMin?: number;
  phaseMax?: number;
  /** random-phase: time constant (steps) of the per-unit baseline trace (it also follows each batch's free settle, so keep 1 - (1 - 1/tau)^freeSteps near 1); 0: no baseline. Default 2. */
  traceTau?: number;
  /** > 0: a free phase whose last-step max |dU| exceeds this fails with E_NOT_CONVERGED. Default 0 (reported only). */
  tolerance?: number;
  /** Global gradient-norm clip before each update (0: off). Default 0. */
  clip?: number;
  /** Training: each sample's free phase starts from its last free state (persistent particles; memory N x sum of widths). Default false. */
  persistent?: boolean;
  /**
   * continual-ep, oscillating, random-phase: update at every relaxation step (true, default), or sum
   * the per-step contributions over the batch and apply them once through the optimizer (false; for
   * Adam, which would rescale every step's update on its own).
   */
  stepUpdates?: boolean;
}
export type ResolvedRelaxation = Required<RelaxationOptions>;

export const RELAXATION_KEYS = optionKeys<RelaxationOptions>({
  rule: true,
  stepSize: true,
  freeSteps: true,
  nudgedSteps: true,
  beta: true,
  periods: true,
  pi: true,
  phases: true,
  phaseMin: true,
  phaseMax: true,
  traceTau: true,
  tolerance: true,
  clip: true,
  persistent: true,
  stepUpdates: true,
});

export const DEFAULT_RELAXATION: ResolvedRelaxation = {
  rule: 'ep-centered',
  stepSize: 0.5,
  freeSteps: 40,
  nudgedSteps: 20,
  beta: 0.2,
  periods: 1,
  pi: 0.5,
  phases: 2,
  phaseMin: 10,
  phaseMax: 30,
  traceTau: 2,
  tolerance: 0,
  clip: 0,
  persistent: false,
  stepUpdates: true,
};

/** Validates relaxation options over `base` (typed errors: beta 0 or non-finite, negative step counts, ...). */
export function resolveRelaxation(given: RelaxationOptions | undefined, base: ResolvedRelaxation = DEFAULT_RELAXATION) {
  if (given !== undefined && (typeof given !== 'object' || given === null))
    throw new ValidationError('E_INVALID_ARG', `expected a relaxation options object, got ${describe(given)}`);
  expectKnownKeys('relaxation options', given ?? {}, RELAXATION_KEYS);
  const r: ResolvedRelaxation = { ...base, ...(given ?? {}) };
  expectOneOf('rule', r.rule, CONTRASTIVE_RULES);
  expectNumber('stepSize', r.stepSize, 0, 1, { exclusiveMin: true });
  expectInt('freeSteps', r.freeSteps, 1);
  expectInt('nudgedSteps', r.nudgedSteps, 1);
  expectNumber('beta', r.beta, -Infinity, Infinity);
  if (r.beta === 0) throw new ValidationError('E_INVALID_ARG', 'expected a nonzero beta (the nudge), got 0');
  expectInt('periods', r.periods, 1);
  expectNumber('pi', r.pi, 0, 1, { exclusiveMin: true });
  if (r.pi >= 1) throw new ValidationError('E_INVALID_ARG', `expected pi < 1, got ${r.pi}`);
  expectInt('phases', r.phases, 1);
  expectInt('phaseMin', r.phaseMin, 1);
  expectInt('phaseMax', r.phaseMax, r.phaseMin);
  expectNumber('traceTau', r.traceTau, 0);
  if (r.traceTau > 0 && r.traceTau < 1)
    throw new ValidationError('E_INVALID_ARG', `expected traceTau 0 (no baseline) or >= 1, got ${r.traceTau}`);
  expectNumber('tolerance', r.tolerance, 0);
  expectNumber('clip', r.clip, 0);
  if (typeof r.stepUpdates !== 'boolean')
    throw new ValidationError('E_INVALID_ARG', `expected stepUpdates true or false, got ${describe(r.stepUpdates)}`);
  if (typeof r.persistent !== 'boolean')
    throw new ValidationError('E_INVALID_ARG', `expected persistent true or false, got ${describe(r.persistent)}`);
  return r;
}

export interface EnergyNetworkOptions {
  inputSize: number;
  /** Hidden widths, e.g. [512] or 512 (any depth; [] for none). */
  hidden: number[] | number;
  outputSize: number;
  /** Hidden activation rho. Default 'hard-sigmoid'. */
  activation?: Activation;
  /** Output activation. Default 'identity' (linear outputs; hard-sigmoid outputs saturate under the squared cost). */
  outputActivation?: Activation;
  /** Default 'bias'. */
  train?: EnergyTrainable;
  /** Seed of every frozen tensor, an integer in [0, 2^53 - 1]. Default: a fresh random seed. */
  seed?: number;
  /** Weight distribution per matrix (one spec for all, or one per matrix). Default uniform, fan-in scaled (see docs). */
  weightInit?: Partial<InitSpec> | Partial<InitSpec>[];
  /** Bias distribution per layer. Default zeros. */
  biasInit?: Partial<InitSpec> | Partial<InitSpec>[];
  optimizer?: OptimizerOptions;
  /** Default relaxation and rule of every pass (overridable per fit / gradients call). */
  relaxation?: RelaxationOptions;
}

export const ENERGY_OPTION_KEYS = optionKeys<EnergyNetworkOptions>({
  inputSize: true,
  hidden: true,
  outputSize: true,
  activation: true,
  outputActivation: true,
  train: true,
  seed: true,
  weightInit: true,
  biasInit: true,
  optimizer: true,
  relaxation: true,
});

export interface EnergyNetworkConfig {
  kind: 'contrastive';
  /** [I, H_1, ..., O] */
  sizes: number[];
  activation: Activation;
  outputActivation: Activation;
  train: EnergyTrainable;
  trainWeight: boolean[];
  trainBias: boolean[];
  seed: number;
  weightInit: InitSpec[];
  biasInit: InitSpec[];
  optimizer: OptimizerConfig;
  relaxation: ResolvedRelaxation;
}

/** Hidden matrices U(+-2.45/sqrt(fan_in)); the readout (also the feedback path) U(+-1/sqrt(fan_in)). */
function defaultWeightInit(l: number, L: number): InitSpec {
  return { dist: 'uniform', scale: l === L - 1 ? 1 : 2.45, relative: true };
}

function perMatrix(name: string, given: unknown, L: number, fallback: (l: number) => InitSpec): InitSpec[] {
  if (Array.isArray(given)) {
    if (given.length !== L) throw new ValidationError('E_SHAPE', `expected ${L} entries in ${name}, got ${given.length}`);
    return given.map((g, l) => resolveInit(`${name}[${l}]`, g as Partial<InitSpec>, fallback(l)));
  }
  return Array.from({ length: L }, (_, l) => resolveInit(name, given as Partial<InitSpec> | undefined, fallback(l)));
}

/** Validates the options (unknown keys refused) and fills the defaults: the configuration a checkpoint stores. */
export function resolveEnergyConfig(o: EnergyNetworkOptions): EnergyNetworkConfig {
  if (typeof o !== 'object' || o === null)
    throw new ValidationError('E_INVALID_ARG', `expected an options object, got ${describe(o)}`);
  expectKnownKeys('energy network options', o, ENERGY_OPTION_KEYS);
  const inputSize = expectInt('inputSize', o.inputSize, 1, 1 << 24);
  const hiddenList = typeof o.hidden === 'number' ? [o.hidden] : o.hidden;
  if (!Array.isArray(hiddenList)) throw new ValidationError('E_INVALID_ARG', `expected hidden widths, got ${describe(o.hidden)}`);
  const hidden = hiddenList.map((h, i) => expectInt(`hidden[${i}]`, h, 1, 1 << 24));
  const outputSize = expectInt('outputSize', o.outputSize, 1, 1 << 24);
  const sizes = [inputSize, ...hidden, outputSize];
  const L = sizes.length - 1;
  const activation = expectOneOf('activation', o.activation ?? 'hard-sigmoid', ACTIVATIONS);
  const outputActivation = expectOneOf('outputActivation', o.outputActivation ?? 'identity', ACTIVATIONS);
  const train = o.train ?? 'bias';
  let trainWeight: boolean[];
  let trainBias: boolean[];
  if (train === 'bias' || train === 'full') {
    trainWeight = Array.from({ length: L }, () => train === 'full');
    trainBias = Array.from({ length: L }, () => true);
  } else if (typeof train === 'object' && train !== null && Array.isArray(train.layers)) {
    if (train.layers.length !== L)
      throw new ValidationError('E_SHAPE', `expected ${L} entries in train.layers, got ${train.layers.length}`);
    trainWeight = train.layers.map((l) => l.weight === true);
    trainBias = train.layers.map((l) => l.bias === true);
  } else {
    throw new ValidationError('E_INVALID_ARG', `expected train 'bias', 'full' or { layers }, got ${describe(train)}`);
  }
  if (!trainWeight.some(Boolean) && !trainBias.some(Boolean))
    throw new ValidationError('E_CONFIG', 'expected at least one learned tensor');
  const seed = o.seed === undefined ? freshSeed() : expectInt('seed', o.seed, 0);
  const weightInit = perMatrix('weightInit', o.weightInit, L, (l) => defaultWeightInit(l, L));
  const biasInit = perMatrix('biasInit', o.biasInit, L, () => ({ dist: 'zeros', scale: 0, relative: false }));
  const optimizer = resolveOptimizer(o.optimizer, train === 'full' ? 'full' : 'bias');
  if (o.optimizer?.lr === undefined) optimizer.lr = train === 'full' ? 1e-3 : 1e-2;
  const relaxation = resolveRelaxation(o.relaxation);
  return {
    kind: 'contrastive',
    sizes,
    activation,
    outputActivation,
    train,
    trainWeight,
    trainBias,
    seed,
    weightInit,
    biasInit,
    optimizer,
    relaxation,
  };
}

/**
 * The variance-optimal probability of a nudged phase for the random-phase rule, from the measured
 * second moments of the per-phase contributions a+ (nudged) and a- (free): the estimator
 * e = a+/pi or -a-/(1-pi) has E|e|^2 = m+/pi + m-/(1-pi), least at pi* = sqrt(m+) / (sqrt(m+) + sqrt(m-)).
 */
export function optimalPi(mPlus: number, mMinus: number): number {
  expectNumber('mPlus', mPlus, 0);
  expectNumber('mMinus', mMinus, 0);
  const a = Math.sqrt(mPlus),
    b = Math.sqrt(mMinus);
  if (a + b === 0) return 0.5;
  return Math.min(0.99, Math.max(0.01, a / (a + b)));
}
