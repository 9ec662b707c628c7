/**
 * Dense float64 linear algebra for the analyses, off the JavaScript thread: eigenvalues of a
 * general matrix (LAPACK dgeev), linear solves (dgesv) and singular values (dgesdd), run by the
 * native addon on a libuv worker (native/linalg, native/addon/linalg_binding.cpp). Matrices are
 * row-major. In a build without OpenBLAS (hence without LAPACK) they fall back to ml-matrix on
 * the JavaScript thread (O(n^3) in JavaScript: seconds at n = 200, minutes at n = 1024);
 * {@link lapackAvailable} tells which.
 */
import { EigenvalueDecomposition, Matrix, SingularValueDecomposition, solve } from 'ml-matrix';
import { ValidationError, fromNativeError } from '../errors.js';
import { nativeFor } from '../native/binding.js';
import { expectInt } from '../util/validate.js';

/** The addon's linalg exports (native/addon/linalg_binding.cpp). */
interface LinalgExports {
  linalgAvailable(): boolean;
  linalgEigenvalues(a: Float64Array, n: number): Promise<{ re: Float64Array; im: Float64Array }>;
  linalgSolve(a: Float64Array, n: number, b: Float64Array, nrhs: number): Promise<Float64Array>;
  linalgSingularValues(a: Float64Array, m: number, n: number): Promise<Float64Array>;
}

function linalg(): LinalgExports | undefined {
  const mod = nativeFor('cpu') as unknown as Partial<LinalgExports>;
  return typeof mod.linalgAvailable === 'function' && mod.linalgAvailable() ? (mod as LinalgExports) : undefined;
}

/** Whether eigenvalues, solves and SVDs run natively through LAPACK (else ml-matrix on the JS thread). */
export function lapackAvailable(): boolean {
  return linalg() !== undefined;
}

async function call<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw fromNativeError(err);
  }
}

function matrixArg(name: string, a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  expectInt(`${name} rows`, rows, 1);
  expectInt(`${name} columns`, cols, 1);
  if (a?.length !== rows * cols)
    throw new ValidationError('E_SHAPE', `expected ${rows * cols} values for ${name} [${rows}, ${cols}], got ${a?.length}`);
  return a instanceof Float64Array ? a : Float64Array.from(a);
}

/** Eigenvalues (real and imaginary parts) of a row-major [n, n] matrix, off the JS thread. */
export async function eigenvaluesAsync(matrix: ArrayLike<number>, n: number): Promise<{ re: Float64Array; im: Float64Array }> {
  const a = matrixArg('matrix', matrix, n, n);
  const lib = linalg();
  if (lib) return call(() => lib.linalgEigenvalues(a, n));
  const e = new EigenvalueDecomposition(
    new Matrix(Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n)))),
    { assumeSymmetric: false },
  );
  return { re: Float64Array.from(e.realEigenvalues), im: Float64Array.from(e.imaginaryEigenvalues) };
}

/** X [n, nrhs] solving A X = B (row-major A [n, n], B [n, nrhs]); a singular A is E_INVALID_ARG. */
export async function solveLinear(A: ArrayLike<number>, n: number, B: ArrayLike<number>, nrhs = 1): Promise<Float64Array> {
  const a = matrixArg('A', A, n, n);
  const b = matrixArg('B', B, n, nrhs);
  const lib = linalg();
  if (lib) return call(() => lib.linalgSolve(a, n, b, nrhs));
  const rows = (m: Float64Array, c: number): number[][] =>
    Array.from({ length: m.length / c }, (_, i) => Array.from(m.subarray(i * c, (i + 1) * c)));
  return Float64Array.from(solve(new Matrix(rows(a, n)), new Matrix(rows(b, nrhs))).to1DArray());
}

/** Singular values (descending) of a row-major [m, n] matrix. */
export async function singularValues(A: ArrayLike<number>, m: number, n: number): Promise<Float64Array> {
  const a = matrixArg('A', A, m, n);
  const lib = linalg();
  if (lib) return call(() => lib.linalgSingularValues(a, m, n));
  const rows = Array.from({ length: m }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n)));
  return Float64Array.from(
    new SingularValueDecomposition(new Matrix(rows), { computeLeftSingularVectors: false, computeRightSingularVectors: false })
      .diagonal,
  );
}

interface HeldMatrixExports {
  linalgMatrix(a: Float64Array, m: number, n: number): object;
  linalgGemv(handle: object, x: Float64Array, y: Float64Array): void;
}

/**
 * A row-major matrix A [m, n] copied into native memory for repeated products y = A x
 * (synchronous dgemv, ~0.2 ms at 1024 x 1024: for iterations that need many small products);
 * undefined when the addon lacks it.
 */
export function heldMatrix(A: Float64Array, m: number, n: number): ((x: Float64Array, y: Float64Array) => void) | undefined {
  const mod = nativeFor('cpu') as unknown as Partial<HeldMatrixExports>;
  if (typeof mod.linalgMatrix !== 'function' || typeof mod.linalgGemv !== 'function') return undefined;
  const handle = mod.linalgMatrix(matrixArg('A', A, m, n), m, n);
  const gemv = mod.linalgGemv;
  return (x, y) => gemv(handle, x, y);
}
