/**
 * Linear analysis of a trained RNN's dynamics, in float64 from the model's own tensors:
 *
 *   F(r, x) = decay r + gain phi(W r + B x + b)                         (the state update)
 *   J(r, x) = dF/dr = decay I + gain diag(phi'(W r + B x + b)) W        (its Jacobian)
 *
 * a fixed point r* = F(r*, x) found by (optionally damped) iteration for a constant input x,
 * and eigenvalues of J(r*, x) and of W. {@link analyzeDynamics} runs the eigenvalue problems and
 * Newton's linear solves natively through LAPACK on a worker thread (src/analysis/linalg.ts) and
 * yields to the event loop between fixed-point iterations, so the JavaScript thread stays
 * responsive; the synchronous {@link eigenvalues} and {@link findFixedPoint} use ml-matrix on the
 * calling thread (O(m^3) in JavaScript: about 3 s at m = 200, minutes at m = 1024).
 */
import { EigenvalueDecomposition, Matrix, solve } from 'ml-matrix';
import { eigenvaluesAsync, heldMatrix, solveLinear } from './linalg.js';
import { ValidationError } from '../errors.js';
import { activationMath, type Activation, ACTIVATIONS } from '../model/activation.js';
import type { RNN } from '../rnn/rnn.js';
import {
  expectInt,
  expectNumber,
  expectModel,
  expectOptions,
  expectArrayLike,
  expectObject,
  expectOneOf,
} from '../util/validate.js';

/** The tensors of an RNN as float64, row-major. */
export interface RNNParameters {
  inputSize: number;
  hidden: number;
  outputSize: number;
  activation: Activation;
  decay: number;
  gain: number;
  /** [m, m] */
  W: Float64Array;
  /** [m, I] (empty when I = 0) */
  B: Float64Array;
  /** [O, m] */
  A: Float64Array;
  /** [m] */
  b: Float64Array;
  /** [O] */
  c: Float64Array;
  /** [C, m] initial states */
  r0: Float64Array;
}

/** Checks that `p` is an {@link RNNParameters} with consistent sizes (E_INVALID_ARG / E_SHAPE otherwise). */
function checkParameters(p: RNNParameters): void {
  expectObject('parameters', p);
  const I = expectInt('parameters.inputSize', p.inputSize, 0);
  const m = expectInt('parameters.hidden', p.hidden, 1);
  const O = expectInt('parameters.outputSize', p.outputSize, 1);
  expectOneOf('parameters.activation', p.activation, ACTIVATIONS);
  expectNumber('parameters.decay', p.decay);
  expectNumber('parameters.gain', p.gain);
  const sizes: [keyof RNNParameters, number][] = [
    ['W', m * m],
    ['B', m * I],
    ['A', O * m],
    ['b', m],
    ['c', O],
  ];
  for (const [name, size] of sizes) {
    const v = expectArrayLike(`parameters.${name}`, p[name]);
    if (v.length !== size)
      throw new ValidationError('E_SHAPE', `expected ${size} values for parameters.${name}, got ${v.length}`);
  }
  const r0 = expectArrayLike('parameters.r0', p.r0);
  if (r0.length % m !== 0)
    throw new ValidationError('E_SHAPE', `expected a multiple of ${m} values for parameters.r0, got ${r0.length}`);
}

/** Copies every tensor of `rnn` (frozen and learned) into float64 arrays. */
export async function rnnParameters(rnn: RNN): Promise<RNNParameters> {
  expectModel('rnn', rnn, ['rnn']);
  const get = async (name: string): Promise<Float64Array> =>
    rnn.tensors().some((t) => t.name === name) ? Float64Array.from(await rnn.tensor(name)) : new Float64Array(0);
  const c = rnn.config;
  return {
    inputSize: c.inputSize,
    hidden: c.hidden,
    outputSize: c.outputSize,
    activation: c.activation,
    decay: c.decay,
    gain: c.gain,
    W: await get('recurrent.weight'),
    B: await get('input.weight'),
    A: await get('readout.weight'),
    b: await get('recurrent.bias'),
    c: await get('readout.bias'),
    r0: await get('initial_state'),
  };
}

const phi = (a: Activation, z: number): number => activationMath(a).f(z);
const dphi = (a: Activation, z: number): number => activationMath(a).df(z);

function checkState(p: RNNParameters, r: ArrayLike<number>, x: ArrayLike<number> | undefined): Float64Array {
  if (r.length !== p.hidden) throw new ValidationError('E_SHAPE', `expected ${p.hidden} values for the state, got ${r.length}`);
  const xi = new Float64Array(p.inputSize);
  if (x !== undefined) {
    if (x.length !== p.inputSize)
      throw new ValidationError('E_SHAPE', `expected ${p.inputSize} values for the input, got ${x.length}`);
    for (let i = 0; i < p.inputSize; i++) xi[i] = x[i]!;
  }
  for (let i = 0; i < r.length; i++)
    if (!Number.isFinite(r[i]!)) throw new ValidationError('E_NONFINITE', `expected a finite state, got ${r[i]} at index ${i}`);
  for (let i = 0; i < xi.length; i++)
    if (!Number.isFinite(xi[i]!)) throw new ValidationError('E_NONFINITE', `expected a finite input, got ${xi[i]} at index ${i}`);
  return xi;
}

/** Pre-activations z = W r + B x + b. */
function preActivation(p: RNNParameters, r: ArrayLike<number>, x: Float64Array): Float64Array {
  const H = p.hidden,
    I = p.inputSize;
  const z = new Float64Array(H);
  for (let h = 0; h < H; h++) {
    let s = p.b[h]!;
    const w = h * H;
    for (let k = 0; k < H; k++) s += p.W[w + k]! * r[k]!;
    for (let i = 0; i < I; i++) s += p.B[h * I + i]! * x[i]!;
    z[h] = s;
  }
  return z;
}

/** F(r, x): one step of the state update. */
export function rnnStep(p: RNNParameters, r: ArrayLike<number>, x?: ArrayLike<number>): Float64Array {
  checkParameters(p);
  expectArrayLike('r', r);
  if (x !== undefined) expectArrayLike('x', x);
  const xi = checkState(p, r, x);
  const z = preActivation(p, r, xi);
  return z.map((v, h) => p.decay * r[h]! + p.gain * phi(p.activation, v));
}

/** The outputs A r + c of a state. */
export function rnnReadout(p: RNNParameters, r: ArrayLike<number>): Float64Array {
  checkParameters(p);
  expectArrayLike('r', r);
  const out = new Float64Array(p.outputSize);
  for (let o = 0; o < p.outputSize; o++) {
    let s = p.c[o]!;
    for (let h = 0; h < p.hidden; h++) s += p.A[o * p.hidden + h]! * r[h]!;
    out[o] = s;
  }
  return out;
}

/** J(r, x) = decay I + gain diag(phi'(z)) W, row-major [m, m]. */
export function rnnJacobian(p: RNNParameters, r: ArrayLike<number>, x?: ArrayLike<number>): Float64Array {
  checkParameters(p);
  expectArrayLike('r', r);
  if (x !== undefined) expectArrayLike('x', x);
  const xi = checkState(p, r, x);
  const H = p.hidden;
  const z = preActivation(p, r, xi);
  const J = new Float64Array(H * H);
  for (let h = 0; h < H; h++) {
    const d = p.gain * dphi(p.activation, z[h]!);
    for (let k = 0; k < H; k++) J[h * H + k] = d * p.W[h * H + k]!;
    J[h * H + h]! += p.decay;
  }
  return J;
}

export interface FixedPointOptions {
  /** Constant input (default zeros). */
  input?: ArrayLike<number>;
  /** Starting state (default: the first learned initial state). */
  start?: ArrayLike<number>;
  /**
   * r <- r + damping (F(r) - r). 1 is plain iteration, which finds attracting fixed points;
   * a small damping also converges to fixed points whose Jacobian eigenvalues all have real
   * part < 1 (e.g. the unstable focus inside a limit cycle). 'auto' (default) tries 1 and 0.1,
   * then Newton's method on F(r) - r = 0 from the best state (which also finds saddles).
   */
  damping?: number | 'auto';
  /** Newton iterations of 'auto' (default 30; each solves an m x m system with ml-matrix). */
  newtonIterations?: number;
  /** Iterations per damping value (default 3000). */
  maxIterations?: number;
  /** Stop when max |F(r) - r| <= tolerance (default 1e-9). */
  tolerance?: number;
}

export interface FixedPointResult {
  state: Float64Array;
  /** max |F(r) - r| at the returned state. */
  residual: number;
  iterations: number;
  converged: boolean;
  /** How it was found: the damping of the iteration, or 'newton'. */
  damping: number | 'newton';
}

/** What the fixed-point search asks its driver for: a pause (async driver: yield to the event loop) or a solve M x = rhs. */
type Request = { kind: 'pause' } | { kind: 'solve'; M: Float64Array; n: number; rhs: Float64Array };
type Search<T> = Generator<Request, T, Float64Array | undefined>;
const PAUSE: Request = { kind: 'pause' };

/** F(r) for the search: {@link rnnStep} for a fixed input, or a faster equivalent (native W r). */
type StepFn = (r: Float64Array) => Float64Array;

/** F(r, x) with W r by a native dgemv (W held natively) and B x + b computed once. */
function nativeStep(p: RNNParameters, input: ArrayLike<number> | undefined): StepFn | undefined {
  const H = p.hidden;
  const mv = heldMatrix(p.W, H, H);
  if (!mv) return undefined;
  const xi = checkState(p, new Float64Array(H), input);
  const c = preActivation({ ...p, W: new Float64Array(H * H) }, new Float64Array(H), xi);
  const z = new Float64Array(H);
  const f = activationMath(p.activation).f;
  return (r) => {
    mv(r, z);
    const out = new Float64Array(H);
    for (let h = 0; h < H; h++) out[h] = p.decay * r[h]! + p.gain * f(z[h]! + c[h]!);
    return out;
  };
}

function* iterateFixedPoint(
  step: StepFn,
  p: RNNParameters,
  start: Float64Array,
  damping: number,
  maxIterations: number,
  tolerance: number,
): Search<FixedPointResult> {
  let r = start;
  let best = r;
  let bestRes = Infinity;
  for (let it = 0; it < maxIterations; it++) {
    const f = step(r);
    let res = 0;
    for (let h = 0; h < p.hidden; h++) res = Math.max(res, Math.abs(f[h]! - r[h]!));
    if (res < bestRes) {
      bestRes = res;
      best = r;
    }
    if (!Number.isFinite(res)) break;
    if (res <= tolerance) return { state: r, residual: res, iterations: it, converged: true, damping };
    r = r.map((v, h) => v + damping * (f[h]! - v));
    yield PAUSE;
  }
  return { state: best, residual: bestRes, iterations: maxIterations, converged: false, damping };
}

function maxAbsResidual(step: StepFn, r: Float64Array): { res: number; g: Float64Array; l2: number } {
  const f = step(r);
  const g = f.map((v, h) => v - r[h]!);
  let res = 0;
  let l2 = 0;
  for (const v of g) {
    res = Math.max(res, Math.abs(v));
    l2 += v * v;
  }
  return { res, g, l2 };
}

/** Newton's method on G(r) = F(r) - r with backtracking: (J - I) delta = -G. */
function* newtonFixedPoint(
  F: StepFn,
  p: RNNParameters,
  start: Float64Array,
  input: ArrayLike<number> | undefined,
  iterations: number,
  tolerance: number,
): Search<FixedPointResult> {
  const H = p.hidden;
  let r = start;
  let { res, g, l2 } = maxAbsResidual(F, r);
  for (let it = 0; it < iterations; it++) {
    if (!Number.isFinite(res)) break;
    if (res <= tolerance) return { state: r, residual: res, iterations: it, converged: true, damping: 'newton' };
    yield PAUSE;
    const J = rnnJacobian(p, r, input);
    yield PAUSE;
    const M = Float64Array.from(J);
    for (let i = 0; i < H; i++) M[i * H + i]! -= 1;
    const delta = yield { kind: 'solve', M, n: H, rhs: g.map((v) => -v) };
    if (!delta) break;
    let step = 1;
    let moved = false;
    while (step > 1e-4) {
      const cand = r.map((v, h) => v + step * delta[h]!);
      const c = maxAbsResidual(F, cand);
      if (c.l2 < l2) {
        r = cand;
        res = c.res;
        g = c.g;
        l2 = c.l2;
        moved = true;
        break;
      }
      step /= 2;
    }
    if (!moved) break;
  }
  return { state: r, residual: res, iterations, converged: res <= tolerance, damping: 'newton' };
}

/**
 * A fixed point of the update for a constant input, by iterating r <- r + damping (F(r) - r)
 * (see {@link FixedPointOptions.damping}). Returns the best state seen when none converges.
 */
export function findFixedPoint(p: RNNParameters, o: FixedPointOptions = {}): FixedPointResult {
  checkParameters(p);
  expectOptions('findFixedPoint options', o);
  const search = fixedPointSearch(p, o, (r) => rnnStep(p, r, o.input));
  for (let step = search.next(); ; ) {
    if (step.done) return step.value;
    const req = step.value;
    step = search.next(req.kind === 'solve' ? solveSync(req.M, req.n, req.rhs) : undefined);
  }
}

/** Newton's solve on the calling thread (ml-matrix); undefined when singular. */
function solveSync(M: Float64Array, n: number, rhs: Float64Array): Float64Array | undefined {
  const m = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m.set(i, j, M[i * n + j]!);
  try {
    return Float64Array.from(solve(m, Matrix.columnVector(Array.from(rhs))).getColumn(0));
  } catch {
    return undefined;
  }
}

/**
 * {@link findFixedPoint} without blocking the event loop: iterations pause every ~10 ms
 * (setImmediate), W r is a native dgemv, and Newton's solves run natively (LAPACK dgesv) on a
 * worker thread. Same search; float64 sums in another order (results agree to ~1e-12).
 */
export async function findFixedPointAsync(p: RNNParameters, o: FixedPointOptions = {}): Promise<FixedPointResult> {
  checkParameters(p);
  expectOptions('findFixedPoint options', o);
  const search = fixedPointSearch(p, o, nativeStep(p, o.input) ?? ((r) => rnnStep(p, r, o.input)));
  let last = performance.now();
  for (let step = search.next(); ; ) {
    if (step.done) return step.value;
    const req = step.value;
    if (req.kind === 'solve') {
      step = search.next(await solveLinear(req.M, req.n, req.rhs, 1).catch(() => undefined));
      last = performance.now();
      continue;
    }
    if (performance.now() - last > 10) {
      await new Promise((resolve) => setImmediate(resolve));
      last = performance.now();
    }
    step = search.next(undefined);
  }
}

function* fixedPointSearch(p: RNNParameters, o: FixedPointOptions, step: StepFn): Search<FixedPointResult> {
  const auto = o.damping === undefined || o.damping === 'auto';
  const dampings = auto ? [1, 0.1] : [expectNumber('damping', o.damping, 0, 1, { exclusiveMin: true })];
  const maxIterations = expectInt('maxIterations', o.maxIterations ?? 3000, 1);
  const newtonIterations = expectInt('newtonIterations', o.newtonIterations ?? 30, 1);
  const tolerance = expectNumber('tolerance', o.tolerance ?? 1e-9, 0);
  const first =
    o.start !== undefined
      ? Float64Array.from(o.start)
      : p.r0.length >= p.hidden
        ? p.r0.slice(0, p.hidden)
        : new Float64Array(p.hidden);
  if (first.length !== p.hidden)
    throw new ValidationError('E_SHAPE', `expected ${p.hidden} values for start, got ${first.length}`);
  // 'auto' also starts from the origin (Newton from a point on a limit cycle can stall).
  const starts = auto && first.some((v) => v !== 0) ? [first, new Float64Array(p.hidden)] : [first];
  let best: FixedPointResult | undefined;
  const keep = (r: FixedPointResult): boolean => {
    if (!best || r.residual < best.residual) best = r;
    return r.converged;
  };
  for (const start of starts) {
    let bestHere: FixedPointResult | undefined;
    for (const d of dampings) {
      const r = yield* iterateFixedPoint(step, p, start, d, maxIterations, tolerance);
      if (keep(r)) return r;
      if (!bestHere || r.residual < bestHere.residual) bestHere = r;
    }
    if (auto && keep(yield* newtonFixedPoint(step, p, bestHere!.state, o.input, newtonIterations, tolerance))) return best!;
  }
  return best!;
}

export interface Eigenvalues {
  re: Float64Array;
  im: Float64Array;
  /** max |lambda| */
  spectralRadius: number;
}

/** Eigenvalues of a square row-major matrix [n, n] (ml-matrix EigenvalueDecomposition). */
export function eigenvalues(matrix: ArrayLike<number>, n: number): Eigenvalues {
  expectInt('n', n, 1);
  if (matrix.length !== n * n)
    throw new ValidationError('E_SHAPE', `expected ${n * n} values for a ${n} x ${n} matrix, got ${matrix.length}`);
  const m = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m.set(i, j, matrix[i * n + j]!);
  const e = new EigenvalueDecomposition(m, { assumeSymmetric: false });
  const re = Float64Array.from(e.realEigenvalues);
  const im = Float64Array.from(e.imaginaryEigenvalues);
  let rho = 0;
  for (let i = 0; i < re.length; i++) rho = Math.max(rho, Math.hypot(re[i]!, im[i]!));
  return { re, im, spectralRadius: rho };
}

/** Lets the event loop run (timers, I/O) before the next synchronous step. */
function pause(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** {@link eigenvalues} off the JavaScript thread (LAPACK dgeev on a worker; ml-matrix without LAPACK). */
export async function spectrumAsync(matrix: ArrayLike<number>, n: number): Promise<Eigenvalues> {
  const { re, im } = await eigenvaluesAsync(matrix, n);
  let rho = 0;
  for (let i = 0; i < re.length; i++) rho = Math.max(rho, Math.hypot(re[i]!, im[i]!));
  return { re, im, spectralRadius: rho };
}

export interface DynamicsAnalysis {
  /** Eigenvalues of W (the frozen, or learned, recurrent weights). */
  weightSpectrum: Eigenvalues;
  fixedPoint: FixedPointResult;
  /** Eigenvalues of J at the fixed point. */
  fixedPointJacobian: Eigenvalues;
  /** Eigenvalues of J at the learned initial state (with the same input). */
  initialStateJacobian?: Eigenvalues;
  /** Output at the fixed point. */
  fixedPointOutput: Float64Array;
}

/**
 * W's spectrum, a fixed point for the constant `input` (default zeros; e.g. the cue of a
 * generation task) and the Jacobian spectra there and at the learned initial state.
 */
export async function analyzeDynamics(
  rnn: RNN,
  o: FixedPointOptions & { initialState?: boolean } = {},
): Promise<DynamicsAnalysis> {
  expectModel('rnn', rnn, ['rnn']);
  expectOptions('analyzeDynamics options', o);
  const p = await rnnParameters(rnn);
  const H = p.hidden;
  await pause();
  // The fixed point first, then the spectra together on workers: LAPACK's threads do not compete
  // with the JavaScript iteration for the cores (which showed as event-loop lag).
  const fixedPoint = await findFixedPointAsync(p, o);
  const weightSpectrum = spectrumAsync(p.W, H);
  // The Jacobian spectra run concurrently with W's (one libuv worker each).
  // Each Jacobian is an O(m^2) build on this thread (~20 ms at m = 1024): one per turn of the event loop.
  await pause();
  const jacobian = spectrumAsync(rnnJacobian(p, fixedPoint.state, o.input), H);
  await pause();
  const initial = (o.initialState ?? false) ? spectrumAsync(rnnJacobian(p, p.r0.slice(0, H), o.input), H) : undefined;
  const out: DynamicsAnalysis = {
    weightSpectrum: await weightSpectrum,
    fixedPoint,
    fixedPointJacobian: await jacobian,
    fixedPointOutput: rnnReadout(p, fixedPoint.state),
  };
  if (initial) out.initialStateJacobian = await initial;
  return out;
}
