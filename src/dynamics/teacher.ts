/**
 * Seeded linear teacher RNNs for teacher-student studies (Williams, Payeur & Lajoie 2026):
 *
 *   h*[t+1] = W* h*[t] + B* x[t] + b*,   y*[t+1] = A* h*[t+1],   h*[0] = 0,   x[t] ~ N(0, I)
 *
 * Shapes: W* [H, H], B* [H, I], A* [O, H], b* [H]. Two forms:
 * - data-aligned: m modes, A* = U diag(a*) P^T, W* = P diag(w*) P^T, B* = P diag(b*) V^T, with
 *   orthonormal columns U [O, m], V [I, m], P [H, m] (P = the first m neurons by default, so that
 *   e-prop's diag(W) is the mode's w; 'random' rotates the hidden basis);
 * - general: W* = Q diag(spectrum) Q^T for a given spectrum, else radius * Q (every eigenvalue on
 *   the circle of that radius), Q Haar-orthogonal; B* ~ N(0, 1/I), A* ~ N(0, 1/H).
 */
import { ValidationError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { expectInt, expectNumber } from '../util/validate.js';
import { columns, diagProduct, gaussian, identity, matmul, randomOrthogonal, transpose } from './matrix.js';

/** The mode basis of a data-aligned teacher: A* = U diag(a) P^T, W* = P diag(w) P^T, B* = P diag(b) V^T. */
export interface ModeBasis {
  count: number;
  /** [O, m] */
  U: Float64Array;
  /** [I, m] */
  V: Float64Array;
  /** [H, m] */
  P: Float64Array;
  a: Float64Array;
  b: Float64Array;
  w: Float64Array;
}

export interface LinearTeacher {
  hidden: number;
  inputSize: number;
  outputSize: number;
  /** [H, H] */
  W: Float64Array;
  /** [H, I] */
  B: Float64Array;
  /** [O, H] */
  A: Float64Array;
  /** [H] */
  b: Float64Array;
  /** Present for a data-aligned teacher. */
  modes?: ModeBasis;
  seed: number;
}

export interface AlignedTeacherOptions {
  hidden: number;
  inputSize: number;
  outputSize: number;
  /** Number of modes m <= min(H, I, O). Default min(H, I, O). */
  modes?: number;
  /** w* per mode (|w*| < 1). Default: evenly spaced in [0.2, 0.8]. */
  w?: number[];
  /** a* per mode. Default: |a*| ~ U(0.5, 1.5) with random signs. */
  a?: number[];
  /** b* per mode. Default as a*. */
  b?: number[];
  /** 'neurons' (default: P = the first m unit vectors) or 'random' (a random orthonormal P). */
  hiddenBasis?: 'neurons' | 'random';
  seed?: number;
}

export interface GeneralTeacherOptions {
  hidden: number;
  inputSize: number;
  outputSize: number;
  /** Eigenvalues of the symmetric W* (H values); default: W* = radius * (random orthogonal). */
  spectrum?: number[];
  /** Default 0.6. */
  radius?: number;
  /** Teacher bias b* ~ N(0, biasScale^2) (default 0: no bias). */
  biasScale?: number;
  seed?: number;
}

function sizes(o: { hidden: number; inputSize: number; outputSize: number }): [number, number, number] {
  return [expectInt('hidden', o.hidden, 1), expectInt('inputSize', o.inputSize, 1), expectInt('outputSize', o.outputSize, 1)];
}

function perMode(
  name: string,
  v: number[] | undefined,
  m: number,
  fallback: (i: number) => number,
  maxAbs = Infinity,
): Float64Array {
  if (v !== undefined && (!Array.isArray(v) || v.length !== m))
    throw new ValidationError(
      'E_SHAPE',
      `expected ${m} values (one per mode) for ${name}, got ${Array.isArray(v) ? v.length : typeof v}`,
    );
  const out = Float64Array.from({ length: m }, (_, i) => (v === undefined ? fallback(i) : v[i]!));
  for (const x of out)
    if (!Number.isFinite(x) || Math.abs(x) >= maxAbs)
      throw new ValidationError('E_INVALID_ARG', `expected finite values with |${name}| < ${maxAbs}, got ${x}`);
  return out;
}

/** The first m columns of a random orthogonal [n, n] matrix: an [n, m] matrix with orthonormal columns. */
function orthonormalColumns(n: number, m: number, rng: Rng): Float64Array {
  return columns(randomOrthogonal(n, rng), n, n, 0, m);
}

/** A data-aligned linear teacher with m modes. */
export function alignedTeacher(o: AlignedTeacherOptions): LinearTeacher {
  const [H, I, O] = sizes(o);
  const m = expectInt('modes', o.modes ?? Math.min(H, I, O), 1, Math.min(H, I, O));
  const seed = expectInt('seed', o.seed ?? 0, 0);
  const rng = new Rng(seed);
  const magnitude = (): number => (0.5 + rng.uniform()) * (rng.uniform() < 0.5 ? -1 : 1);
  const w = perMode('w', o.w, m, (i) => (m === 1 ? 0.5 : 0.2 + (0.6 * i) / (m - 1)), 1);
  const a = perMode('a', o.a, m, magnitude);
  const b = perMode('b', o.b, m, magnitude);
  const U = orthonormalColumns(O, m, rng);
  const V = orthonormalColumns(I, m, rng);
  const P = (o.hiddenBasis ?? 'neurons') === 'random' ? orthonormalColumns(H, m, rng) : columns(identity(H), H, H, 0, m);
  return {
    hidden: H,
    inputSize: I,
    outputSize: O,
    W: diagProduct(P, w, P, H, H),
    B: diagProduct(P, b, V, H, I),
    A: diagProduct(U, a, P, O, H),
    b: new Float64Array(H),
    modes: { count: m, U, V, P, a, b, w },
    seed,
  };
}

/** A general (not data-aligned) linear teacher. */
export function generalTeacher(o: GeneralTeacherOptions): LinearTeacher {
  const [H, I, O] = sizes(o);
  const seed = expectInt('seed', o.seed ?? 0, 0);
  const rng = new Rng(seed);
  const Q = randomOrthogonal(H, rng);
  let W: Float64Array;
  if (o.spectrum !== undefined) {
    const s = perMode('spectrum', o.spectrum, H, () => 0, 1);
    W = diagProduct(Q, s, Q, H, H);
  } else {
    const radius = expectNumber('radius', o.radius ?? 0.6, 0);
    if (radius >= 1) throw new ValidationError('E_INVALID_ARG', `expected a spectral radius < 1, got ${radius}`);
    W = Q.map((v) => radius * v);
  }
  const biasScale = expectNumber('biasScale', o.biasScale ?? 0, 0);
  return {
    hidden: H,
    inputSize: I,
    outputSize: O,
    W,
    B: gaussian(H * I, 1 / Math.sqrt(I), rng),
    A: gaussian(O * H, 1 / Math.sqrt(H), rng),
    b: gaussian(H, biasScale, rng),
    seed,
  };
}

/** Per-mode coordinates of a student in a teacher's mode basis: a_i = u_i^T A p_i, b_i = p_i^T B v_i, w_i = p_i^T W p_i. */
export function modeCoordinates(
  basis: ModeBasis,
  s: { W: Float64Array; B: Float64Array; A: Float64Array },
  H: number,
  I: number,
  O: number,
): { a: Float64Array; b: Float64Array; w: Float64Array } {
  const m = basis.count;
  const AP = matmul(s.A, basis.P, O, H, m); // [O, m]
  const BV = matmul(s.B, basis.V, H, I, m); // [H, m]
  const WP = matmul(s.W, basis.P, H, H, m); // [H, m]
  const Pt = transpose(basis.P, H, m); // [m, H]
  const a = new Float64Array(m);
  const b = new Float64Array(m);
  const w = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    for (let r = 0; r < O; r++) a[i]! += basis.U[r * m + i]! * AP[r * m + i]!;
    for (let r = 0; r < H; r++) {
      b[i]! += Pt[i * H + r]! * BV[r * m + i]!;
      w[i]! += Pt[i * H + r]! * WP[r * m + i]!;
    }
  }
  return { a, b, w };
}

/** Student tensors that are data-aligned with `basis`: A = U diag(a) P^T, W = P diag(w) P^T, B = P diag(b) V^T. */
export function alignedTensors(
  basis: ModeBasis,
  x: { a: ArrayLike<number>; b: ArrayLike<number>; w: ArrayLike<number> },
  H: number,
  I: number,
  O: number,
): { W: Float64Array; B: Float64Array; A: Float64Array } {
  return {
    W: diagProduct(basis.P, x.w, basis.P, H, H),
    B: diagProduct(basis.P, x.b, basis.V, H, I),
    A: diagProduct(basis.U, x.a, basis.P, O, H),
  };
}

/** The aligned feedback F = P diag(a-hat) U^T [H, O] (RFLO's R^T in the mode basis). */
export function alignedFeedback(basis: ModeBasis, aHat: ArrayLike<number>, H: number, O: number): Float64Array {
  return diagProduct(basis.P, aHat, basis.U, H, O);
}
