/**
 * Small dense float64 helpers for the teacher-student analyses (row-major). Products only: every
 * decomposition (eigenvalues, singular values, solves) goes through LAPACK in
 * src/analysis/linalg.ts. Random orthogonal matrices are built as products of random Householder
 * reflections (Stewart 1980: Haar-distributed), which needs no factorisation.
 */
import type { Rng } from '../util/rng.js';

/** C [m, n] = A [m, k] B [k, n]. */
export function matmul(A: Float64Array, B: Float64Array, m: number, k: number, n: number): Float64Array {
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++) {
      const a = A[i * k + p]!;
      if (a === 0) continue;
      for (let j = 0; j < n; j++) C[i * n + j]! += a * B[p * n + j]!;
    }
  return C;
}

/** A^T [n, m] of A [m, n]. */
export function transpose(A: Float64Array, m: number, n: number): Float64Array {
  const T = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) T[j * m + i] = A[i * n + j]!;
  return T;
}

/** Columns [c0, c0 + count) of A [m, n] as an [m, count] matrix. */
export function columns(A: Float64Array, m: number, n: number, c0: number, count: number): Float64Array {
  const out = new Float64Array(m * count);
  for (let i = 0; i < m; i++) for (let j = 0; j < count; j++) out[i * count + j] = A[i * n + c0 + j]!;
  return out;
}

/** X [m, r] diag(d) Y^T with Y [n, r]: the [m, n] matrix sum_i d_i x_i y_i^T. */
export function diagProduct(X: Float64Array, d: ArrayLike<number>, Y: Float64Array, m: number, n: number): Float64Array {
  const r = d.length;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < r; q++) s += X[i * r + q]! * d[q]! * Y[j * r + q]!;
      out[i * n + j] = s;
    }
  return out;
}

/** The identity [n, n]. */
export function identity(n: number): Float64Array {
  const I = new Float64Array(n * n);
  for (let i = 0; i < n; i++) I[i * n + i] = 1;
  return I;
}

/** A Haar-random orthogonal [n, n] matrix: the product of n random Householder reflections with random signs. */
export function randomOrthogonal(n: number, rng: Rng): Float64Array {
  const Q = identity(n);
  const v = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let norm = 0;
    for (let i = 0; i < n; i++) {
      v[i] = i < k ? 0 : rng.normal();
      norm += v[i]! * v[i]!;
    }
    if (norm === 0) continue;
    // Q <- Q (I - 2 v v^T / |v|^2)
    for (let r = 0; r < n; r++) {
      let dot = 0;
      for (let i = k; i < n; i++) dot += Q[r * n + i]! * v[i]!;
      const s = (2 * dot) / norm;
      for (let i = k; i < n; i++) Q[r * n + i]! -= s * v[i]!;
    }
  }
  for (let j = 0; j < n; j++) if (rng.uniform() < 0.5) for (let r = 0; r < n; r++) Q[r * n + j] = -Q[r * n + j]!;
  return Q;
}

/** Entries N(0, scale^2). */
export function gaussian(count: number, scale: number, rng: Rng): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = scale * rng.normal();
  return out;
}

/** The Frobenius norm. */
export function frobenius(A: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < A.length; i++) s += A[i]! * A[i]!;
  return Math.sqrt(s);
}

/** a - b elementwise. */
export function subtract(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! - b[i]!;
  return out;
}
