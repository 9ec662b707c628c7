/**
 * Seeded synthetic data that needs no files:
 *   - regression targets for function approximation (1-D and 2-D functions on [-1, 1] by default),
 *     for checking that a bias-learned network can approximate a given function;
 *   - interleaved 2-D spirals for classification demos, optionally lifted to more input features.
 * The same options (seed included) always give the same dataset.
 */
import { ValidationError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { expectInt, expectNumber, expectOneOf, expectObject } from '../util/validate.js';
import { Dataset } from './dataset.js';

interface SyntheticFunction {
  dims: 1 | 2;
  /** One line for help texts and plots. */
  formula: string;
  /** Evaluates at one point; `y` is ignored for 1-D functions. */
  f: (x: number, y: number) => number;
}

/** Centres (cx, cy), amplitude a and width s of the Gaussian bumps of 'bumps'. */
const BUMPS: readonly (readonly [number, number, number, number])[] = [
  [-0.5, -0.4, 1.0, 0.3],
  [0.5, 0.3, -0.8, 0.25],
  [0.0, 0.6, 0.6, 0.2],
  [-0.4, 0.5, -0.5, 0.35],
  [0.6, -0.6, 0.7, 0.3],
];

const FUNCTIONS = {
  // 1-D
  sin: { dims: 1, formula: 'sin(pi x)', f: (x) => Math.sin(Math.PI * x) },
  sines: {
    dims: 1,
    formula: '0.6 sin(2 pi x) + 0.3 sin(5 pi x) + 0.1 sin(13 pi x)',
    f: (x) => 0.6 * Math.sin(2 * Math.PI * x) + 0.3 * Math.sin(5 * Math.PI * x) + 0.1 * Math.sin(13 * Math.PI * x),
  },
  step: { dims: 1, formula: 'tanh(10 x) (a smooth step)', f: (x) => Math.tanh(10 * x) },
  abs: { dims: 1, formula: '|x|', f: (x) => Math.abs(x) },
  cubic: { dims: 1, formula: '2 x^3 - x', f: (x) => 2 * x * x * x - x },
  // 2-D
  bumps: {
    dims: 2,
    formula: 'sum of 5 Gaussian bumps a exp(-|p - c|^2 / (2 s^2))',
    f: (x, y) => {
      let v = 0;
      for (const [cx, cy, a, s] of BUMPS) v += a * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s));
      return v;
    },
  },
  sincos: { dims: 2, formula: 'sin(pi x) cos(pi y)', f: (x, y) => Math.sin(Math.PI * x) * Math.cos(Math.PI * y) },
  ripple: {
    dims: 2,
    formula: 'cos(3 pi r) exp(-r^2), r = |(x, y)|',
    f: (x, y) => {
      const r2 = x * x + y * y;
      return Math.cos(3 * Math.PI * Math.sqrt(r2)) * Math.exp(-r2);
    },
  },
} satisfies Record<string, SyntheticFunction>;

export type SyntheticFunctionName = keyof typeof FUNCTIONS;

const ALL_NAMES = Object.keys(FUNCTIONS) as SyntheticFunctionName[];

/** Names of the synthetic target functions, all or only those of the given input dimension. */
export function syntheticFunctionNames(dims?: 1 | 2): SyntheticFunctionName[] {
  return dims === undefined ? [...ALL_NAMES] : ALL_NAMES.filter((name) => FUNCTIONS[name].dims === dims);
}

/** Input dimension (1 or 2) and formula of a synthetic function. */
export function syntheticFunctionInfo(fn: SyntheticFunctionName): { dims: 1 | 2; formula: string } {
  const spec = FUNCTIONS[expectOneOf('fn', fn, ALL_NAMES)] as SyntheticFunction;
  return { dims: spec.dims, formula: spec.formula };
}

/**
 * Noise-free values of a synthetic function at the points `x`, row-major [n, dims] with dims the
 * function's input dimension. Returns a Float32Array of length n.
 */
export function evaluateSyntheticFunction(fn: SyntheticFunctionName, x: Float32Array): Float32Array {
  const spec = FUNCTIONS[expectOneOf('fn', fn, ALL_NAMES)] as SyntheticFunction;
  if (!(x instanceof Float32Array)) throw new ValidationError('E_DTYPE', `expected a Float32Array for x, got ${typeof x}`);
  if (x.length % spec.dims !== 0) {
    throw new ValidationError(
      'E_SHAPE',
      `expected a length that is a multiple of ${spec.dims} (the dims of '${fn}') for x, got ${x.length}`,
    );
  }
  const n = x.length / spec.dims;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = spec.dims === 1 ? spec.f(x[i]!, 0) : spec.f(x[2 * i]!, x[2 * i + 1]!);
  return out;
}

export interface SyntheticRegressionOptions {
  /** Target function; see {@link syntheticFunctionNames}. */
  fn: SyntheticFunctionName;
  /** Number of samples (>= 1). */
  n: number;
  seed: number;
  /** Standard deviation of Gaussian noise added to the targets (default 0). */
  noise?: number;
  /** Input dimension; optional, but if given it must match the function's (E_INVALID_ARG). */
  dims?: 1 | 2;
  /** Interval each input coordinate is drawn from, uniformly (default [-1, 1]). */
  range?: readonly [number, number];
}

function resolveFunction(fn: unknown, dims: unknown): { name: SyntheticFunctionName; spec: SyntheticFunction } {
  const name = expectOneOf('fn', fn, ALL_NAMES);
  const spec = FUNCTIONS[name] as SyntheticFunction;
  if (dims !== undefined && dims !== spec.dims) {
    throw new ValidationError('E_INVALID_ARG', `expected dims ${spec.dims} for function '${name}', got ${String(dims)}`);
  }
  return { name, spec };
}

function resolveRange(range: readonly [number, number] | undefined): [number, number] {
  if (range === undefined) return [-1, 1];
  if (!Array.isArray(range) || range.length !== 2) {
    throw new ValidationError('E_INVALID_ARG', `expected a [lo, hi] pair for range, got ${typeof range}`);
  }
  const lo = expectNumber('range[0]', range[0]);
  const hi = expectNumber('range[1]', range[1]);
  if (!(hi > lo)) throw new ValidationError('E_INVALID_ARG', `expected range[1] > range[0] for range, got [${lo}, ${hi}]`);
  return [lo, hi];
}

/**
 * A regression Dataset sampled from a synthetic function: x uniform in `range`^dims (row-major
 * [n, dims]), values = f(x) + noise * N(0, 1) (width 1). Deterministic for a seed.
 */
export function syntheticRegression(opts: SyntheticRegressionOptions): Dataset {
  expectObject('syntheticRegression options', opts);
  const { spec } = resolveFunction(opts.fn, opts.dims);
  const n = expectInt('n', opts.n, 1);
  const seed = expectInt('seed', opts.seed, 0, 0xffffffff);
  const noise = expectNumber('noise', opts.noise ?? 0, 0);
  const [lo, hi] = resolveRange(opts.range);
  const rng = new Rng(seed);
  const d = spec.dims;
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = lo + (hi - lo) * rng.uniform();
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const clean = d === 1 ? spec.f(x[i]!, 0) : spec.f(x[2 * i]!, x[2 * i + 1]!);
    values[i] = noise > 0 ? clean + noise * rng.normal() : clean;
  }
  return Dataset.regression(x, d, values, 1);
}

export interface SyntheticGridOptions {
  fn: SyntheticFunctionName;
  /** Evenly spaced points per input axis, ends included (>= 2): n = pointsPerAxis^dims. */
  pointsPerAxis: number;
  range?: readonly [number, number];
}

/**
 * Noise-free values of a synthetic function on a regular grid (for evaluation and plots).
 * 2-D grids are row-major with y varying slowest: sample i = iy * pointsPerAxis + ix.
 */
export function syntheticGrid(opts: SyntheticGridOptions): Dataset {
  expectObject('syntheticGrid options', opts);
  const { spec } = resolveFunction(opts.fn, undefined);
  const m = expectInt('pointsPerAxis', opts.pointsPerAxis, 2, spec.dims === 1 ? 1 << 24 : 4096);
  const [lo, hi] = resolveRange(opts.range);
  const axis = new Float64Array(m);
  for (let i = 0; i < m; i++) axis[i] = lo + ((hi - lo) * i) / (m - 1);
  const d = spec.dims;
  const n = d === 1 ? m : m * m;
  const x = new Float32Array(n * d);
  if (d === 1) x.set(axis);
  else {
    for (let iy = 0; iy < m; iy++) {
      for (let ix = 0; ix < m; ix++) {
        const i = iy * m + ix;
        x[2 * i] = axis[ix]!;
        x[2 * i + 1] = axis[iy]!;
      }
    }
  }
  return Dataset.regression(x, d, evaluateSyntheticFunction(opts.fn, x), 1);
}

export interface SpiralOptions {
  /** Total number of samples; sample i has class i % classes (>= classes). */
  n: number;
  /** Number of spiral arms = classes (default 3). */
  classes?: number;
  seed: number;
  /** Standard deviation of Gaussian jitter added to each 2-D coordinate (default 0.05). */
  noise?: number;
  /** How many full turns each arm makes from the centre to radius 1 (default 1). */
  turns?: number;
  /**
   * Lift the points to `embed` input features: features = tanh(W p + b) with W [embed, 2] ~ N(0, 2^2)
   * and b ~ N(0, 0.5^2) drawn from `embedSeed`, so the spiral structure is spread nonlinearly over
   * many inputs. Default: no lift (2 features).
   */
  embed?: number;
  /**
   * Seed of the lift (default 0x5eed). It is separate from `seed` so that train and test sets
   * drawn with different seeds share the same lift.
   */
  embedSeed?: number;
}

/**
 * Interleaved 2-D spirals: class k's arm starts at the centre at angle 2 pi k / classes and winds
 * `turns` times out to radius 1. Points lie at radius t ~ U(0, 1) along the arm plus Gaussian
 * jitter. Deterministic for a seed (and embedSeed).
 */
export function spiralClassification(opts: SpiralOptions): Dataset {
  expectObject('spiralClassification options', opts);
  const classes = expectInt('classes', opts.classes ?? 3, 2);
  const n = expectInt('n', opts.n, classes);
  const seed = expectInt('seed', opts.seed, 0, 0xffffffff);
  const noise = expectNumber('noise', opts.noise ?? 0.05, 0);
  const turns = expectNumber('turns', opts.turns ?? 1, 0);
  const embed = opts.embed === undefined ? undefined : expectInt('embed', opts.embed, 2);
  const embedSeed = expectInt('embedSeed', opts.embedSeed ?? 0x5eed, 0, 0xffffffff);

  const rng = new Rng(seed);
  const points = new Float32Array(2 * n);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % classes;
    const t = rng.uniform();
    const theta = (2 * Math.PI * k) / classes + 2 * Math.PI * turns * t;
    points[2 * i] = t * Math.cos(theta) + noise * rng.normal();
    points[2 * i + 1] = t * Math.sin(theta) + noise * rng.normal();
    labels[i] = k;
  }
  if (embed === undefined) return Dataset.classification(points, 2, labels, classes);

  const lift = new Rng(embedSeed);
  const w = new Float64Array(embed * 2);
  const b = new Float64Array(embed);
  for (let j = 0; j < w.length; j++) w[j] = 2 * lift.normal();
  for (let j = 0; j < embed; j++) b[j] = 0.5 * lift.normal();
  const x = new Float32Array(n * embed);
  for (let i = 0; i < n; i++) {
    const px = points[2 * i]!;
    const py = points[2 * i + 1]!;
    for (let j = 0; j < embed; j++) x[i * embed + j] = Math.tanh(w[2 * j]! * px + w[2 * j + 1]! * py + b[j]!);
  }
  return Dataset.classification(x, embed, labels, classes);
}
