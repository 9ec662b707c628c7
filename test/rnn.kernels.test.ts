/**
 * The RNN backend kernels (backend.h, "recurrent networks") run through runRnnKernel(backend, op,
 * args) and compared with float64 re-implementations of their contracts, at odd sizes. The
 * backend is a parameter ('cpu' always, 'cuda' when built and a device initialises).
 *
 * Tolerances (|got - ref| <= atol + rtol * scale): elementwise kernels atol 1e-6, rtol 1e-5
 * (scale |ref|); reductions (column_dot, trace_grad, scatter_add_rows, seq_mse, sum_squares)
 * rtol 1e-5 against the sum of |terms|; gathers and copies bit-exact.
 */
import { describe, expect, it } from 'vitest';
import type { BackendName } from '../src/native/binding.js';
import { nativeFor as rnnNative } from '../src/native/binding.js';
import { Rng } from '../src/util/rng.js';
import { probeBackends } from './helpers/backends.js';
import { assertClose, randomF32, sameBits } from './helpers/numeric.js';
import { ACT, ACT_NAMES, actGradRef, actRef } from './helpers/activations.js';

const probe = await probeBackends();
const derivRef = actGradRef;

function run(backend: BackendName, op: string, args: Record<string, number | boolean | Float32Array | Int32Array>) {
  return rnnNative(backend).runRnnKernel(backend, op, args);
}

for (const backend of probe.backends) {
  describe(`RNN kernels on ${backend}`, () => {
    it('gather_seq: time-major window of batch-major sequences, bit-exact', async () => {
      const rng = new Rng(1);
      const N = 7,
        Ttot = 9,
        D = 3,
        B = 5,
        T = 4,
        t0 = 3;
      const src = randomF32(rng, N * Ttot * D);
      const idx = Int32Array.from([6, 0, 3, 3, 1]);
      const out = await run(backend, 'gather_seq', { src, idx, N, B, T, D, rowStride: Ttot * D, offset: t0 * D });
      const ref = new Float32Array(T * B * D);
      for (let t = 0; t < T; t++)
        for (let b = 0; b < B; b++)
          for (let d = 0; d < D; d++) ref[(t * B + b) * D + d] = src[idx[b]! * Ttot * D + (t0 + t) * D + d]!;
      expect(sameBits(out.dst!, ref)).toBe(true);
    });

    it('axpby (with and without y)', async () => {
      const rng = new Rng(2);
      const n = 40001;
      const x = randomF32(rng, n),
        y = randomF32(rng, n);
      const out = await run(backend, 'axpby', { n, x, y, a: 0.7, b: -1.3 });
      assertClose(
        'axpby',
        out.out!,
        Array.from(x, (v, i) => 0.7 * v - 1.3 * y[i]!),
        1e-6,
        1e-5,
      );
      const only = await run(backend, 'axpby', { n, x, a: 2.5, b: 0 });
      assertClose(
        'axpby without y',
        only.out!,
        Array.from(x, (v) => 2.5 * v),
        1e-6,
        1e-5,
      );
    });

    for (const act of ACT_NAMES) {
      it(`rnn_step and rnn_step_backward (${act})`, async () => {
        const rng = new Rng(3 + ACT[act]);
        const B = 5,
          H = 1031;
        const Z = randomF32(rng, B * H, -6, 6),
          bias = randomF32(rng, H),
          Rp = randomF32(rng, B * H);
        const out = await run(backend, 'rnn_step', { B, H, act: ACT[act], decay: 0.3, gain: 0.7, Z, bias, Rp });
        const phi = Array.from(Z, (z, i) => actRef(act, z + bias[i % H]!));
        assertClose('rnn_step phi', out.Z!, phi, 1e-6, 1e-5);
        assertClose(
          'rnn_step Rn',
          out.Rn!,
          phi.map((p, i) => 0.3 * Rp[i]! + 0.7 * p),
          1e-6,
          1e-5,
        );
        const Dr = randomF32(rng, B * H),
          DYA = randomF32(rng, B * H);
        const back = await run(backend, 'rnn_step_backward', { B, H, act: ACT[act], gain: 0.7, Dr, DYA, Phi: out.Z! });
        const d = Array.from(Dr, (v, i) => v + DYA[i]!);
        assertClose('rnn_step_backward Dr', back.Dr!, d, 1e-6, 1e-5);
        assertClose(
          'rnn_step_backward dZ',
          back.dZ!,
          d.map((v, i) => 0.7 * v * derivRef(act, out.Z![i]!)),
          1e-6,
          1e-5,
        );
        const noDya = await run(backend, 'rnn_step_backward', { B, H, act: ACT[act], gain: 1, Dr, Phi: out.Z! });
        assertClose(
          'rnn_step_backward without DYA',
          noDya.dZ!,
          Array.from(Dr, (v, i) => v * derivRef(act, out.Z![i]!)),
          1e-6,
          1e-5,
        );
      });
    }

    it('seq_mse: weighted error, velocity penalty (with and without Yprev), gradients and stats', async () => {
      const rng = new Rng(9);
      const T = 6,
        B = 5,
        O = 3,
        scale = 1 / B;
      const Y = randomF32(rng, T * B * O),
        Tg = randomF32(rng, T * B * O),
        w = randomF32(rng, T * B, 0, 1),
        v = randomF32(rng, T * B, 0, 2);
      const Yprev = randomF32(rng, B * O);
      for (const prev of [true, false]) {
        const out = await run(backend, 'seq_mse', { T, B, O, scale, Y, Tg, w, v, ...(prev ? { Yprev } : {}) });
        let loss = 0,
          sq = 0;
        const dY = new Float64Array(T * B * O);
        for (let t = 0; t < T; t++)
          for (let b = 0; b < B; b++)
            for (let o = 0; o < O; o++) {
              const i = (t * B + b) * O + o;
              const e = Y[i]! - Tg[i]!;
              sq += (w[t * B + b]! * e * e) / O;
              loss += (w[t * B + b]! * e * e) / O;
              let g = 2 * w[t * B + b]! * e;
              const p = t > 0 ? Y[i - B * O] : prev ? Yprev[b * O + o] : undefined;
              if (p !== undefined) {
                loss += (v[t * B + b]! * (Y[i]! - p) ** 2) / O;
                g += 2 * v[t * B + b]! * (Y[i]! - p);
              }
              if (t + 1 < T) g -= 2 * v[(t + 1) * B + b]! * (Y[i + B * O]! - Y[i]!);
              dY[i] = (scale * g) / O;
            }
        assertClose('seq_mse dY', out.dY!, dY, 1e-7, 1e-5);
        assertClose('seq_mse stats', out.stats!, [loss, sq], 1e-6, 1e-5);
      }
    });

    it('scatter_add_rows: per-condition sums in order, alpha and beta', async () => {
      const rng = new Rng(10);
      const B = 9,
        D = 301,
        C = 4;
      const src = randomF32(rng, B * D),
        out0 = randomF32(rng, C * D);
      const idx = Int32Array.from([0, 2, 2, 3, 0, 0, 1, 3, 2]);
      const out = await run(backend, 'scatter_add_rows', { B, D, C, alpha: 0.5, beta: 0.25, src, idx, out: out0 });
      const ref = Array.from(out0, (x) => 0.25 * x);
      const mag = Array.from(out0, (x) => Math.abs(0.25 * x));
      for (let b = 0; b < B; b++)
        for (let d = 0; d < D; d++) {
          ref[idx[b]! * D + d]! += 0.5 * src[b * D + d]!;
          mag[idx[b]! * D + d]! += Math.abs(0.5 * src[b * D + d]!);
        }
      assertClose('scatter_add_rows', out.out!, ref, 1e-6, 1e-5, mag);
    });

    it('column_dot', async () => {
      const rng = new Rng(11);
      const rows = 13,
        H = 517;
      const A = randomF32(rng, rows * H),
        Bm = randomF32(rng, rows * H),
        out0 = randomF32(rng, H);
      const out = await run(backend, 'column_dot', { rows, H, beta: 1, A, Bm, out: out0 });
      const ref = Array.from(out0);
      const mag = Array.from(out0, Math.abs);
      for (let r = 0; r < rows; r++)
        for (let h = 0; h < H; h++) {
          ref[h]! += A[r * H + h]! * Bm[r * H + h]!;
          mag[h]! += Math.abs(A[r * H + h]! * Bm[r * H + h]!);
        }
      assertClose('column_dot', out.out!, ref, 1e-6, 1e-5, mag);
    });

    it('outer_trace and trace_grad', async () => {
      const rng = new Rng(12);
      const B = 3,
        H = 7,
        K = 11;
      const P = randomF32(rng, B * H * K),
        D = randomF32(rng, B * H),
        X = randomF32(rng, B * K);
      const t = await run(backend, 'outer_trace', { B, H, K, decay: 0.6, gain: 0.4, P, D, X });
      const ref = Array.from(P, (p, i) => {
        const k = i % K,
          bh = Math.floor(i / K),
          b = Math.floor(bh / H);
        return 0.6 * p + 0.4 * D[bh]! * X[b * K + k]!;
      });
      assertClose('outer_trace', t.P!, ref, 1e-6, 1e-5);
      // e-prop: the leak per row is decay + gain * D[b,h] * jd[h * stride] (stride H + 1 reads a diagonal)
      const stride = H + 1;
      const jd = randomF32(rng, H * stride);
      const te = await run(backend, 'outer_trace', { B, H, K, decay: 0.6, gain: 0.4, P, D, X, jd, jdStride: stride });
      const refE = Array.from(P, (p, i) => {
        const k = i % K,
          bh = Math.floor(i / K),
          b = Math.floor(bh / H),
          h = bh % H;
        return (0.6 + 0.4 * D[bh]! * jd[h * stride]!) * p + 0.4 * D[bh]! * X[b * K + k]!;
      });
      assertClose('outer_trace (e-prop)', te.P!, refE, 1e-6, 1e-5);
      const E = randomF32(rng, B * H),
        G = randomF32(rng, H * K);
      const g = await run(backend, 'trace_grad', { B, H, K, beta: 0.5, P, E, G });
      const gr = Array.from(G, (x) => 0.5 * x);
      const mag = gr.map(Math.abs);
      for (let b = 0; b < B; b++)
        for (let h = 0; h < H; h++)
          for (let k = 0; k < K; k++) {
            gr[h * K + k]! += E[b * H + h]! * P[(b * H + h) * K + k]!;
            mag[h * K + k]! += Math.abs(E[b * H + h]! * P[(b * H + h) * K + k]!);
          }
      assertClose('trace_grad', g.G!, gr, 1e-6, 1e-5, mag);
    });

    it('sum_squares (several chunks) and copy2d', async () => {
      const rng = new Rng(13);
      const x = randomF32(rng, 200003);
      const s = await run(backend, 'sum_squares', { x });
      assertClose('sum_squares', s.out!, [x.reduce((a, v) => a + v * v, 0)], 1e-6, 1e-6);
      const src = randomF32(rng, 5 * 7),
        dst = randomF32(rng, 5 * 4);
      const c = await run(backend, 'copy2d', { rows: 5, cols: 3, ldd: 4, lds: 7, src, dst });
      const ref = Float32Array.from(dst);
      for (let r = 0; r < 5; r++) for (let j = 0; j < 3; j++) ref[r * 4 + j] = src[r * 7 + j]!;
      expect(sameBits(c.dst!, ref)).toBe(true);
    });

    it('unknown op and missing arguments are typed errors', async () => {
      await expect(run(backend, 'no_such_op', {})).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
      await expect(run(backend, 'axpby', { n: 3, a: 1, b: 1 })).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
    });
  });
}
