/**
 * Native linear algebra (LAPACK through OpenBLAS, on a worker thread): eigenvalues against
 * ml-matrix (as multisets), solves by their float64 residual, singular values against ml-matrix,
 * odd sizes (1, 7, 33), typed errors; and analyzeDynamics matching the synchronous analysis.
 */
import { describe, expect, it } from 'vitest';
import { EigenvalueDecomposition, Matrix, SingularValueDecomposition } from 'ml-matrix';
import { RNN, Rng, analyzeDynamics, eigenvalues, findFixedPoint, rnnParameters } from '../src/index.js';
import { eigenvaluesAsync, lapackAvailable, singularValues, solveLinear } from '../src/analysis/linalg.js';

function randomMatrix(rng: Rng, m: number, n: number): Float64Array {
  return Float64Array.from({ length: m * n }, () => rng.normal());
}

function sortedPairs(re: ArrayLike<number>, im: ArrayLike<number>): [number, number][] {
  return Array.from(re, (r, i) => [r, im[i]!] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
}

describe('native linalg', () => {
  it('is available in this build (OpenBLAS found)', () => {
    expect(lapackAvailable()).toBe(true);
  });

  for (const n of [1, 7, 33]) {
    it(`eigenvalues n=${n} match ml-matrix`, async () => {
      const a = randomMatrix(new Rng(n), n, n);
      const got = await eigenvaluesAsync(a, n);
      const e = new EigenvalueDecomposition(
        new Matrix(Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n)))),
      );
      const want = sortedPairs(e.realEigenvalues, e.imaginaryEigenvalues);
      const mine = sortedPairs(got.re, got.im);
      for (let i = 0; i < n; i++) {
        expect(Math.abs(mine[i]![0] - want[i]![0])).toBeLessThan(1e-9 * n);
        expect(Math.abs(Math.abs(mine[i]![1]) - Math.abs(want[i]![1]))).toBeLessThan(1e-9 * n);
      }
    });

    it(`solve n=${n}, 3 right-hand sides: residual of A X - B below 1e-10`, async () => {
      const rng = new Rng(100 + n);
      const a = randomMatrix(rng, n, n);
      for (let i = 0; i < n; i++) a[i * n + i]! += n; // well conditioned
      const b = randomMatrix(rng, n, 3);
      const x = await solveLinear(a, n, b, 3);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < 3; j++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += a[i * n + k]! * x[k * 3 + j]!;
          expect(Math.abs(s - b[i * 3 + j]!)).toBeLessThan(1e-10);
        }
      }
    });
  }

  it('singular values of a 5 x 9 and a 9 x 5 matrix match ml-matrix', async () => {
    for (const [m, n] of [
      [5, 9],
      [9, 5],
    ] as const) {
      const a = randomMatrix(new Rng(m * n + m), m, n);
      const s = await singularValues(a, m, n);
      const want = new SingularValueDecomposition(
        new Matrix(Array.from({ length: m }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n)))),
        { autoTranspose: true },
      ).diagonal;
      expect(s).toHaveLength(5);
      for (let i = 0; i < 5; i++) expect(Math.abs(s[i]! - want[i]!)).toBeLessThan(1e-10);
    }
  });

  it('typed errors: shapes, singular matrices', async () => {
    await expect(eigenvaluesAsync(new Float64Array(5), 2)).rejects.toMatchObject({ code: 'E_SHAPE' });
    await expect(solveLinear(new Float64Array(4), 2, new Float64Array(2))).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
    await expect(singularValues(new Float64Array(3), 2, 2)).rejects.toMatchObject({ code: 'E_SHAPE' });
  });
});

describe('analyzeDynamics off the JS thread', () => {
  it('matches the synchronous analysis (fixed point, spectra as multisets)', async () => {
    const rnn = await RNN.create({ inputSize: 1, hidden: 24, outputSize: 1, seed: 3, recurrentGain: 0.9 });
    const a = await analyzeDynamics(rnn, { initialState: true });
    const p = await rnnParameters(rnn);
    const fp = findFixedPoint(p);
    expect(a.fixedPoint.converged).toBe(fp.converged);
    for (let h = 0; h < 24; h++) expect(Math.abs(a.fixedPoint.state[h]! - fp.state[h]!)).toBeLessThan(1e-9);
    const w = eigenvalues(p.W, 24);
    expect(Math.abs(a.weightSpectrum.spectralRadius - w.spectralRadius)).toBeLessThan(1e-10);
    const mine = sortedPairs(a.weightSpectrum.re, a.weightSpectrum.im);
    const want = sortedPairs(w.re, w.im);
    for (let i = 0; i < 24; i++) expect(Math.abs(mine[i]![0] - want[i]![0])).toBeLessThan(1e-9);
    expect(a.initialStateJacobian?.re).toHaveLength(24);
    rnn.dispose();
  });
});
