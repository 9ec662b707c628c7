/**
 * RNN configuration: what the user writes ({@link RNNOptions}) and the resolved form
 * ({@link RNNConfig}) that a checkpoint stores and from which the frozen weights are regenerated.
 *
 *   r[t+1] = decay * r[t] + gain * phi(W r[t] + B x[t] + b),   y[t+1] = A r[t+1] + c
 *
 * `alpha` gives the leaky form (decay = 1 - alpha, gain = alpha; alpha = 1 is the vanilla RNN);
 * `form: 'residual'` gives r + phi(...) (decay = gain = 1), the form of the paper's theorem;
 * `decay` / `gain` set the pair directly. W has entries N(0, g^2/m) (or uniform of the same
 * variance) with g = `recurrentGain`; B and A are scaled by fan-in as in the MLP.
 */
import { resolvePrecision, type PrecisionConfig, type PrecisionOptions } from '../model/precision.js';
import { ValidationError } from '../errors.js';
import {
  ACTIVATIONS,
  resolveInit,
  resolveOptimizer,
  type Activation,
  type InitSpec,
  type OptimizerConfig,
  type OptimizerOptions,
} from '../model/config.js';
import type { BackendName } from '../native/binding.js';
import { freshSeed } from '../util/seed.js';
import { describe, expectInt, expectKnownKeys, expectNumber, expectOneOf, optionKeys, expectObject } from '../util/validate.js';

export const RNN_TRAINABLE_SETS = ['bias', 'readout', 'full'] as const;
export type RNNTrainablePreset = (typeof RNN_TRAINABLE_SETS)[number];

/** Which tensors learn (the resolved form). */
export interface RNNTrainable {
  recurrentWeight: boolean;
  inputWeight: boolean;
  readoutWeight: boolean;
  recurrentBias: boolean;
  readoutBias: boolean;
  initialState: boolean;
}

export const RULE_KINDS = ['bptt', 'tbptt', 'rflo', 'eprop'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/**
 * A training rule. `bptt`: exact gradients, one update per batch of sequences. `tbptt`: windows
 * of `window` steps (the state adjoint is cut at window boundaries); updates per batch, or per
 * window when `online`. `rflo`: random-feedback local online learning; updates every step when
 * `online` (the default for rflo), else once per batch; the output error returns through the
 * fixed random matrix F (`feedback: 'random'`, Murray 2019) or through A^T (`'symmetric'`); its
 * traces leak with `traceDecay` (the w-hat of Williams et al. 2026; default the model's decay).
 * `eprop`: e-prop (Bellec et al. 2020, the diag(W) variant): RFLO with the trace leak replaced by
 * the diagonal of the step's Jacobian, decay + gain phi'(z) W_ii.
 */
export interface RuleSpec {
  kind: RuleKind;
  window?: number;
  online?: boolean;
  feedback?: 'random' | 'symmetric';
  traceDecay?: number;
}
export type ResolvedRule = Required<Omit<RuleSpec, 'traceDecay'>> & { traceDecay?: number };

const RULE_HELP =
  "'bptt', 'tbptt:K', 'tbptt:K:online', 'rflo', 'rflo:batch', 'rflo:sym', 'rflo:batch:sym', 'rflo:w=0.5', 'eprop', 'eprop:batch:sym'";

/** Parses 'bptt', 'tbptt:K[:online]', 'rflo[:online|:batch][:sym][:w=X]', 'eprop[:online|:batch][:sym]' (or a {@link RuleSpec}). */
export function parseRule(rule: string | RuleSpec): ResolvedRule {
  if (typeof rule === 'object' && rule !== null) {
    const kind = expectOneOf('rule.kind', rule.kind, RULE_KINDS);
    if (rule.online !== undefined && typeof rule.online !== 'boolean')
      throw new ValidationError('E_INVALID_ARG', `expected a boolean for rule.online, got ${describe(rule.online)}`);
    const feedback = expectOneOf('rule.feedback', rule.feedback ?? 'random', ['random', 'symmetric'] as const);
    if (kind === 'tbptt')
      return { kind, window: expectInt('rule.window', rule.window, 1), online: rule.online ?? false, feedback };
    const local = kind === 'rflo' || kind === 'eprop';
    const resolved: ResolvedRule = { kind, window: 0, online: local ? (rule.online ?? true) : false, feedback };
    if (rule.traceDecay !== undefined) {
      if (kind !== 'rflo')
        throw new ValidationError('E_INVALID_ARG', `expected traceDecay only with the rflo rule, got it with '${kind}'`);
      resolved.traceDecay = expectNumber('rule.traceDecay', rule.traceDecay);
    }
    return resolved;
  }
  if (typeof rule !== 'string')
    throw new ValidationError('E_INVALID_ARG', `expected a rule (${RULE_HELP}), got ${describe(rule)}`);
  const parts = rule.trim().split(':');
  const bad = (): never => {
    throw new ValidationError('E_INVALID_ARG', `expected one of ${RULE_HELP} for rule, got ${JSON.stringify(rule)}`);
  };
  if (parts[0] === 'bptt' && parts.length === 1) return { kind: 'bptt', window: 0, online: false, feedback: 'random' };
  if (parts[0] === 'tbptt') {
    if (parts.length < 2 || parts.length > 3 || !/^\d+$/.test(parts[1]!) || Number(parts[1]) < 1) bad();
    if (parts.length === 3 && parts[2] !== 'online' && parts[2] !== 'batch') bad();
    return { kind: 'tbptt', window: Number(parts[1]), online: parts[2] === 'online', feedback: 'random' };
  }
  if (parts[0] === 'rflo' || parts[0] === 'eprop') {
    let online = true;
    let feedback: 'random' | 'symmetric' = 'random';
    let traceDecay: number | undefined;
    for (const p of parts.slice(1)) {
      if (p === 'online') online = true;
      else if (p === 'batch') online = false;
      else if (p === 'sym' || p === 'symmetric') feedback = 'symmetric';
      else if (p === 'random') feedback = 'random';
      else if (parts[0] === 'rflo' && /^w=-?\d*\.?\d+(e-?\d+)?$/.test(p)) traceDecay = Number(p.slice(2));
      else bad();
    }
    const r: ResolvedRule = { kind: parts[0], window: 0, online, feedback };
    if (traceDecay !== undefined) r.traceDecay = traceDecay;
    return r;
  }
  return bad();
}

/** 'bptt', 'tbptt:10', 'rflo', 'rflo:batch:sym'. */
export function formatRule(r: ResolvedRule): string {
  expectObject('rule', r);
  expectOneOf('rule.kind', r.kind, RULE_KINDS);
  if (r.kind === 'tbptt') return `tbptt:${r.window}${r.online ? ':online' : ''}`;
  if (r.kind === 'rflo' || r.kind === 'eprop')
    return `${r.kind}${r.online ? '' : ':batch'}${r.feedback === 'symmetric' ? ':sym' : ''}${r.traceDecay === undefined ? '' : `:w=${r.traceDecay}`}`;
  return 'bptt';
}

export interface RNNOptions extends PrecisionOptions {
  /** Input width I (0: no input, autonomous). */
  inputSize: number;
  /** Hidden units m. */
  hidden: number;
  outputSize: number;
  /** Default 'tanh-rational' (tanh as a rational function, as the RNN's 'tanh' before 0.2). */
  activation?: Activation;
  /** Leak: decay = 1 - alpha, gain = alpha (default 1, the vanilla RNN). */
  alpha?: number;
  /** 'leaky' (default, from alpha) or 'residual' (r + phi(...): decay = gain = 1). */
  form?: 'leaky' | 'residual';
  /** Explicit decay / gain (override alpha and form). */
  decay?: number;
  gain?: number;
  /** g: W entries have variance g^2 / m. Default 1.5. */
  recurrentGain?: number;
  /** Distribution of W: 'normal' (default) or 'uniform' (same variance). */
  recurrentDist?: 'normal' | 'uniform';
  /** B ~ U(-s/sqrt(I), s/sqrt(I)); default s = 1. */
  inputScale?: number;
  /** A ~ U(-s/sqrt(m), s/sqrt(m)); default s = 1. */
  readoutScale?: number;
  /** Initial b (default zeros). */
  biasInit?: Partial<InitSpec>;
  /** Initial r[0] (default zeros). */
  stateInit?: Partial<InitSpec>;
  /** Which tensors learn: a preset or an explicit choice. Default 'bias' (b only). */
  train?: RNNTrainablePreset | Partial<RNNTrainable>;
  /** Also learn the initial state (added to a preset). Default false. */
  learnInitialState?: boolean;
  /** Also learn the readout bias c (added to a preset). Default false. */
  learnReadoutBias?: boolean;
  /** Number of learned initial states (one per condition); default 1 (shared). */
  conditions?: number;
  /** Default training rule (overridable per fit). Default 'bptt'. */
  rule?: string | RuleSpec;
  /** Global gradient-norm clip before each update (0: off). Default 0. */
  clip?: number;
  /** Seed of every frozen tensor: an integer in [0, 2^53 - 1]. Default: a fresh random seed (crypto), recorded in `config.seed`. */
  seed?: number;
  optimizer?: OptimizerOptions;
  backend?: BackendName;
}

export const RNN_OPTION_KEYS = optionKeys<RNNOptions>({
  inputSize: true,
  hidden: true,
  outputSize: true,
  activation: true,
  alpha: true,
  form: true,
  decay: true,
  gain: true,
  recurrentGain: true,
  recurrentDist: true,
  inputScale: true,
  readoutScale: true,
  biasInit: true,
  stateInit: true,
  train: true,
  learnInitialState: true,
  learnReadoutBias: true,
  conditions: true,
  rule: true,
  clip: true,
  seed: true,
  optimizer: true,
  backend: true,
  weightPrecision: true,
  tf32: true,
});

export interface RNNConfig extends PrecisionConfig {
  kind: 'rnn';
  inputSize: number;
  hidden: number;
  outputSize: number;
  activation: Activation;
  decay: number;
  gain: number;
  /** The options these came from (for records): alpha / form / recurrentGain. */
  alpha: number | null;
  form: 'leaky' | 'residual' | 'custom';
  recurrentGain: number;
  conditions: number;
  recurrentInit: InitSpec;
  inputInit: InitSpec;
  readoutInit: InitSpec;
  biasInit: InitSpec;
  stateInit: InitSpec;
  readoutBiasInit: InitSpec;
  feedbackInit: InitSpec;
  train: RNNTrainablePreset | 'custom';
  trainable: RNNTrainable;
  rule: ResolvedRule;
  clip: number;
  seed: number;
  optimizer: OptimizerConfig;
}

/** Library defaults, chosen from measurements (docs/rnn.md "Defaults"). */
export const RNN_DEFAULTS = {
  activation: 'tanh-rational' as Activation,
  alpha: 1,
  recurrentGain: 1.5,
  inputScale: 1,
  readoutScale: 1,
  lr: 1e-2,
  lrFull: 1e-3,
  clip: 0,
};

const ZEROS: InitSpec = { dist: 'zeros', scale: 0, relative: false };

function resolveTrainable(o: RNNOptions): { train: RNNTrainablePreset | 'custom'; trainable: RNNTrainable } {
  const t = o.train ?? 'bias';
  let base: RNNTrainable;
  let train: RNNTrainablePreset | 'custom';
  if (typeof t === 'string') {
    train = expectOneOf('train', t, RNN_TRAINABLE_SETS);
    base = {
      recurrentWeight: t === 'full',
      inputWeight: t === 'full',
      readoutWeight: t !== 'bias',
      recurrentBias: t !== 'readout',
      readoutBias: t !== 'bias',
      initialState: false,
    };
  } else if (typeof t === 'object' && t !== null) {
    train = 'custom';
    const keys = ['recurrentWeight', 'inputWeight', 'readoutWeight', 'recurrentBias', 'readoutBias', 'initialState'] as const;
    for (const k of Object.keys(t)) {
      if (!(keys as readonly string[]).includes(k))
        throw new ValidationError('E_INVALID_ARG', `expected only ${keys.join(', ')} in train, got '${k}'`);
    }
    base = {
      recurrentWeight: false,
      inputWeight: false,
      readoutWeight: false,
      recurrentBias: false,
      readoutBias: false,
      initialState: false,
    };
    for (const k of keys) {
      const v = t[k];
      if (v === undefined) continue;
      if (typeof v !== 'boolean')
        throw new ValidationError('E_INVALID_ARG', `expected a boolean for train.${k}, got ${describe(v)}`);
      base[k] = v;
    }
  } else {
    throw new ValidationError('E_INVALID_ARG', `expected 'bias', 'readout', 'full' or an object for train, got ${describe(t)}`);
  }
  for (const [flag, key] of [
    ['learnInitialState', 'initialState'],
    ['learnReadoutBias', 'readoutBias'],
  ] as const) {
    const v = o[flag];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw new ValidationError('E_INVALID_ARG', `expected a boolean for ${flag}, got ${describe(v)}`);
    if (v) base[key] = true;
  }
  if (o.inputSize === 0) base.inputWeight = false;
  if (!Object.values(base).some(Boolean)) throw new ValidationError('E_CONFIG', 'nothing to train: every tensor is frozen');
  return { train, trainable: base };
}

/** Validates options and fills in every default. */
export function resolveRNNConfig(o: RNNOptions): RNNConfig {
  if (typeof o !== 'object' || o === null)
    throw new ValidationError('E_INVALID_ARG', `expected an options object, got ${describe(o)}`);
  expectKnownKeys('RNN options', o, RNN_OPTION_KEYS);
  const inputSize = expectInt('inputSize', o.inputSize, 0, 1 << 20);
  const hidden = expectInt('hidden', o.hidden, 1, 1 << 20);
  const outputSize = expectInt('outputSize', o.outputSize, 1, 1 << 20);
  const activation = expectOneOf('activation', o.activation ?? RNN_DEFAULTS.activation, ACTIVATIONS);
  const seed = expectInt('seed', o.seed ?? freshSeed(), 0, Number.MAX_SAFE_INTEGER);
  const conditions = expectInt('conditions', o.conditions ?? 1, 1, 1 << 20);
  let decay: number;
  let gain: number;
  let alpha: number | null = null;
  let form: RNNConfig['form'];
  if (o.decay !== undefined || o.gain !== undefined) {
    decay = expectNumber('decay', o.decay ?? 0, 0);
    gain = expectNumber('gain', o.gain ?? 1, 0, Infinity, { exclusiveMin: true });
    form = 'custom';
  } else if ((o.form ?? 'leaky') === 'residual') {
    if (o.alpha !== undefined) throw new ValidationError('E_CONFIG', "expected no alpha with form 'residual' (decay = gain = 1)");
    decay = 1;
    gain = 1;
    form = 'residual';
  } else {
    expectOneOf('form', o.form ?? 'leaky', ['leaky', 'residual'] as const);
    alpha = expectNumber('alpha', o.alpha ?? RNN_DEFAULTS.alpha, 0, 1, { exclusiveMin: true });
    decay = 1 - alpha;
    gain = alpha;
    form = 'leaky';
  }
  const g = expectNumber('recurrentGain', o.recurrentGain ?? RNN_DEFAULTS.recurrentGain, 0);
  const rdist = expectOneOf('recurrentDist', o.recurrentDist ?? 'normal', ['normal', 'uniform'] as const);
  // Same variance g^2/m: normal sigma = g/sqrt(m); uniform half-width a = sqrt(3) g / sqrt(m).
  const recurrentInit: InitSpec = { dist: rdist, scale: rdist === 'normal' ? g : Math.sqrt(3) * g, relative: true };
  const inputScale = expectNumber('inputScale', o.inputScale ?? RNN_DEFAULTS.inputScale, 0);
  const readoutScale = expectNumber('readoutScale', o.readoutScale ?? RNN_DEFAULTS.readoutScale, 0);
  const { train, trainable } = resolveTrainable(o);
  const rule = parseRule(o.rule ?? 'bptt');
  const clip = expectNumber('clip', o.clip ?? RNN_DEFAULTS.clip, 0);
  const full = trainable.recurrentWeight || trainable.inputWeight;
  const optimizer = resolveOptimizer({ lr: full ? RNN_DEFAULTS.lrFull : RNN_DEFAULTS.lr, ...(o.optimizer ?? {}) });
  return {
    kind: 'rnn',
    inputSize,
    hidden,
    outputSize,
    activation,
    decay,
    gain,
    alpha,
    form,
    recurrentGain: g,
    conditions,
    recurrentInit,
    inputInit: { dist: 'uniform', scale: inputScale, relative: true },
    readoutInit: { dist: 'uniform', scale: readoutScale, relative: true },
    biasInit: resolveInit('biasInit', o.biasInit, ZEROS),
    stateInit: resolveInit('stateInit', o.stateInit, ZEROS),
    readoutBiasInit: { ...ZEROS },
    feedbackInit: { dist: 'uniform', scale: readoutScale, relative: true },
    train,
    trainable,
    rule,
    clip,
    seed,
    optimizer,
    ...resolvePrecision(o),
  };
}

/** The options that resolve to `c` again (used to re-validate a checkpoint's header). */
/**
 * A configuration stored by an older release, in this release's terms: before 0.2 an RNN's 'tanh'
 * was the rational tanh, which 0.2 names 'tanh-rational' ('tanh' is now tanh itself).
 */
export function upgradeRNNConfig(c: RNNConfig, libraryVersion: unknown): RNNConfig {
  const m = typeof libraryVersion === 'string' ? /^(\d+)\.(\d+)\./.exec(libraryVersion) : null;
  const before02 = m !== null && Number(m[1]) === 0 && Number(m[2]) < 2;
  return before02 && c.activation === 'tanh' ? { ...c, activation: 'tanh-rational' } : c;
}

export function configToOptions(c: RNNConfig): RNNOptions {
  const base: RNNOptions = {
    inputSize: c.inputSize,
    hidden: c.hidden,
    outputSize: c.outputSize,
    activation: c.activation,
    recurrentGain: c.recurrentGain,
    recurrentDist: c.recurrentInit?.dist === 'uniform' ? 'uniform' : 'normal',
    inputScale: c.inputInit?.scale,
    readoutScale: c.readoutInit?.scale,
    biasInit: c.biasInit,
    stateInit: c.stateInit,
    train: c.trainable,
    conditions: c.conditions,
    rule: c.rule,
    clip: c.clip,
    seed: c.seed,
    optimizer: c.optimizer,
    weightPrecision: c.weightPrecision,
    tf32: c.tf32,
  };
  if (c.form === 'residual') base.form = 'residual';
  else if (c.form === 'leaky' && c.alpha !== null) base.alpha = c.alpha;
  else {
    base.decay = c.decay;
    base.gain = c.gain;
  }
  return base;
}
