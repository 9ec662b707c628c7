/**
 * Every backend kernel (native/backend/backend.h) run through runKernel(backend, op, args) and
 * compared with a plain float64 JavaScript re-implementation of the contract.
 *
 * The backend is a parameter: 'cpu' always, 'cuda' too when the CUDA module is built and a
 * device initialises (test/helpers/backends.ts), so the same file checks CUDA on a GPU machine.
 *
 * Tolerances (elementwise |got - ref| <= atol + rtol * scale):
 *   gemm          atol 1e-6, rtol 1e-5, scale = |alpha| sum_k |op(A)_ik op(B)_kj| + |beta C_ij|
 *                 (the conditioning of each dot product: a float32 sum of K terms)
 *   column_sum    atol 1e-6, rtol 1e-5, scale = sum_b |G_bh| + |beta out_h|
 *   bias_act      atol 1e-6, rtol 1e-5, scale = |ref|
 *   act_backward  atol 1e-6, rtol 1e-5, scale = |ref|
 *   softmax_xent  loss sum atol 1e-4, rtol 1e-5; hits exact; dlogits atol 1e-7, rtol 1e-5
 *   mse           loss sum atol 1e-5, rtol 1e-5; dY atol 1e-7, rtol 1e-5
 *   gather_rows, gather_labels   bit-exact
 *   fill_weights  bit-identical to the CPU generator; uniform within [-a, a]; zeros exact
 *   adam / sgd    p, m, v, vel atol 1e-6 (m, v: 1e-7), rtol 1e-5, over 3 chained steps
 */
import { describe, it, expect } from 'vitest';
import { nativeFor, type BackendName } from '../src/native/binding.js';
import { Rng } from '../src/util/rng.js';
import { probeBackends } from './helpers/backends.js';
import { assertClose, randomF32, randomLabels, randomNormalF32, sameBits } from './helpers/numeric.js';
import { ACT, ACT_NAMES, actGradRef, actRef } from './helpers/activations.js';
import { generateWeights } from '../src/index.js';

const probe = await probeBackends();
if (probe.cudaSkipReason) console.log(`[core.kernels] CUDA kernels not tested: ${probe.cudaSkipReason}`);

function run(backend: BackendName, op: string, args: Record<string, number | boolean | Float32Array | Int32Array>) {
  return nativeFor(backend).runKernel(backend, op, args);
}

/** Row-major C = alpha op(A) op(B) + beta C in float64, plus the per-element magnitude scale. */
function gemmRef(
  ta: boolean,
  tb: boolean,
  M: number,
  N: number,
  K: number,
  alpha: number,
  A: Float32Array,
  B: Float32Array,
  beta: number,
  C: Float32Array,
): { ref: Float64Array; scale: Float64Array } {
  const ref = new Float64Array(M * N);
  const scale = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      let sa = 0;
      for (let k = 0; k < K; k++) {
        const a = ta ? A[k * M + m]! : A[m * K + k]!;
        const b = tb ? B[n * K + k]! : B[k * N + n]!;
        s += a * b;
        sa += Math.abs(a * b);
      }
      // beta == 0 means "overwrite" (BLAS convention): C's old contents, even NaN, must not leak.
      const c = beta === 0 ? 0 : beta * C[m * N + n]!;
      ref[m * N + n] = alpha * s + c;
      scale[m * N + n] = Math.abs(alpha) * sa + (beta === 0 ? 0 : Math.abs(c));
    }
  }
  return { ref, scale };
}

const GEMM_SIZES: [number, number, number][] = [
  [1, 1, 1],
  [7, 7, 7],
  [1023, 7, 13],
  [13, 1023, 7],
  [7, 13, 1023],
  [1, 1023, 1],
  [1023, 1, 7],
  [1, 1, 1023],
  [67, 130, 300], // crosses typical blocking boundaries
];
const TRANS: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

describe.each(probe.backends)('kernels on %s', (backend) => {
  describe('gemm', () => {
    for (const [M, N, K] of GEMM_SIZES) {
      for (const [ta, tb] of TRANS) {
        it(`M=${M} N=${N} K=${K} transA=${ta} transB=${tb}`, async () => {
          const rng = new Rng(M * 1_000_003 + N * 1009 + K * 7 + (ta ? 1 : 0) * 2 + (tb ? 1 : 0));
          const A = randomF32(rng, M * K);
          const B = randomF32(rng, K * N);
          // beta 0: C poisoned with NaN must be overwritten.
          const poisoned = new Float32Array(M * N).fill(NaN);
          const r0 = await run(backend, 'gemm', { M, N, K, transA: ta, transB: tb, alpha: 1, beta: 0, A, B, C: poisoned });
          const e0 = gemmRef(ta, tb, M, N, K, 1, A, B, 0, poisoned);
          assertClose('gemm alpha 1 beta 0 (NaN-poisoned C)', r0.C!, e0.ref, 1e-6, 1e-5, e0.scale);
          // alpha and beta both active.
          const C = randomF32(rng, M * N, -2, 2);
          const r1 = await run(backend, 'gemm', { M, N, K, transA: ta, transB: tb, alpha: -0.75, beta: 0.5, A, B, C });
          const e1 = gemmRef(ta, tb, M, N, K, -0.75, A, B, 0.5, C);
          assertClose('gemm alpha -0.75 beta 0.5', r1.C!, e1.ref, 1e-6, 1e-5, e1.scale);
          // beta 1 accumulates onto C exactly as documented.
          const r2 = await run(backend, 'gemm', { M, N, K, transA: ta, transB: tb, alpha: 2, beta: 1, A, B, C });
          const e2 = gemmRef(ta, tb, M, N, K, 2, A, B, 1, C);
          assertClose('gemm alpha 2 beta 1', r2.C!, e2.ref, 1e-6, 1e-5, e2.scale);
        });
      }
    }
  });

  const EW_SIZES: [number, number][] = [
    [1, 1],
    [1, 7],
    [7, 1023],
    [1023, 7],
    [33, 300],
  ];

  describe('bias_act', () => {
    for (const name of ACT_NAMES) {
      for (const [B, H] of EW_SIZES) {
        it(`${name} B=${B} H=${H}`, async () => {
          const rng = new Rng(100 + ACT[name] * 97 + B * 13 + H);
          const Z = randomF32(rng, B * H, -4, 4);
          // A few saturating values: sigmoid/tanh must neither overflow nor give NaN.
          for (let i = 0; i < Z.length; i += 11) Z[i] = i % 2 ? 100 : -100;
          const bias = randomF32(rng, H, -1, 1);
          const out = await run(backend, 'bias_act', { B, H, act: ACT[name], Z, bias });
          const ref = new Float64Array(B * H);
          for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) ref[b * H + h] = actRef(name, Z[b * H + h]! + bias[h]!);
          assertClose(`bias_act ${name}`, out.Z!, ref, 1e-6, 1e-5);
        });
      }
    }
  });

  describe('act_backward', () => {
    for (const name of ACT_NAMES) {
      for (const [B, H] of EW_SIZES) {
        it(`${name} B=${B} H=${H}`, async () => {
          const rng = new Rng(500 + ACT[name] * 97 + B * 13 + H);
          const G = randomF32(rng, B * H, -2, 2);
          // A is an activation *output*, as the contract says.
          const A = new Float32Array(B * H);
          for (let i = 0; i < A.length; i++) A[i] = actRef(name, 3 * rng.normal());
          if (name === 'relu') A[0] = 0; // exactly at the kink: derivative 0
          const out = await run(backend, 'act_backward', { B, H, act: ACT[name], G, A });
          const ref = new Float64Array(B * H);
          for (let i = 0; i < ref.length; i++) ref[i] = G[i]! * actGradRef(name, A[i]!);
          assertClose(`act_backward ${name}`, out.G!, ref, 1e-6, 1e-5);
        });
      }
    }
  });

  describe('column_sum', () => {
    const SIZES: [number, number][] = [
      [1, 1],
      [7, 1023],
      [1023, 7],
      [1023, 300],
      [1, 1023],
    ];
    for (const [B, H] of SIZES) {
      for (const beta of [0, 0.5]) {
        it(`B=${B} H=${H} beta=${beta}`, async () => {
          const rng = new Rng(900 + B * 31 + H + beta * 7);
          const G = randomF32(rng, B * H, -1, 1);
          const out0 = beta === 0 ? new Float32Array(H).fill(NaN) : randomF32(rng, H, -3, 3);
          const r = await run(backend, 'column_sum', { B, H, beta, G, out: out0 });
          const ref = new Float64Array(H);
          const scale = new Float64Array(H);
          for (let h = 0; h < H; h++) {
            let s = 0;
            let sa = 0;
            for (let b = 0; b < B; b++) {
              s += G[b * H + h]!;
              sa += Math.abs(G[b * H + h]!);
            }
            const prev = beta === 0 ? 0 : beta * out0[h]!;
            ref[h] = prev + s;
            scale[h] = sa + Math.abs(prev);
          }
          assertClose(`column_sum beta ${beta}`, r.out!, ref, 1e-6, 1e-5, scale);
        });
      }
    }
  });

  describe('softmax_xent', () => {
    const CASES: { B: number; O: number; spread: number; offset: number; scale: number }[] = [
      { B: 1, O: 1, spread: 3, offset: 0, scale: 1 },
      { B: 7, O: 10, spread: 3, offset: 0, scale: 1 / 7 },
      { B: 1023, O: 7, spread: 3, offset: 0, scale: 1 / 1023 },
      { B: 1, O: 1023, spread: 3, offset: 0, scale: 0.37 },
      // large logits: exp would overflow without the max shift
      { B: 7, O: 10, spread: 500, offset: 0, scale: 1 },
      { B: 7, O: 3, spread: 5, offset: 20000, scale: 1 },
      { B: 7, O: 3, spread: 5, offset: -20000, scale: 0.5 },
    ];
    for (const c of CASES) {
      it(`B=${c.B} O=${c.O} logits ${c.offset} +- ${c.spread} scale ${c.scale.toPrecision(3)}`, async () => {
        const { B, O } = c;
        const rng = new Rng(1300 + B * 17 + O + c.spread);
        const Y = new Float32Array(B * O);
        for (let i = 0; i < Y.length; i++) Y[i] = c.offset + c.spread * rng.normal();
        const labels = randomLabels(rng, B, O);
        const r = await run(backend, 'softmax_xent', { B, O, Y, labels, scale: c.scale });
        let loss = 0;
        let hits = 0;
        const dref = new Float64Array(B * O);
        for (let b = 0; b < B; b++) {
          let mx = -Infinity;
          let arg = 0;
          for (let o = 0; o < O; o++) {
            if (Y[b * O + o]! > mx) {
              mx = Y[b * O + o]!;
              arg = o;
            }
          }
          let s = 0;
          for (let o = 0; o < O; o++) s += Math.exp(Y[b * O + o]! - mx);
          const y = labels[b]!;
          loss += Math.log(s) + mx - Y[b * O + y]!;
          if (arg === y) hits++;
          for (let o = 0; o < O; o++) dref[b * O + o] = c.scale * (Math.exp(Y[b * O + o]! - mx) / s - (o === y ? 1 : 0));
        }
        const stats = r.stats!;
        expect(stats.length).toBe(2);
        expect(Number.isFinite(stats[0]!)).toBe(true);
        assertClose('softmax_xent loss sum', [stats[0]!], [loss], 1e-4, 1e-5);
        expect(stats[1]).toBe(hits);
        assertClose('softmax_xent dlogits', r.dY!, dref, 1e-7, 1e-5);
        if (O === 1) expect(loss).toBe(0); // one class: zero loss, always a hit
      });
    }
  });

  describe('mse', () => {
    const CASES: [number, number][] = [
      [1, 1],
      [7, 3],
      [1023, 7],
      [5, 1023],
    ];
    for (const [B, O] of CASES) {
      it(`B=${B} O=${O}`, async () => {
        const rng = new Rng(1700 + B * 3 + O);
        const Y = randomNormalF32(rng, B * O, 2);
        const T = randomNormalF32(rng, B * O, 1);
        const scale = 1 / B;
        const r = await run(backend, 'mse', { B, O, Y, T, scale });
        let loss = 0;
        const dref = new Float64Array(B * O);
        for (let b = 0; b < B; b++) {
          let s = 0;
          for (let o = 0; o < O; o++) {
            const e = Y[b * O + o]! - T[b * O + o]!;
            s += e * e;
            dref[b * O + o] = (scale * 2 * e) / O;
          }
          loss += s / O;
        }
        assertClose('mse loss sum', [r.stats![0]!], [loss], 1e-5, 1e-5);
        expect(r.stats![1]).toBe(0);
        assertClose('mse dY', r.dY!, dref, 1e-7, 1e-5);
      });
    }
  });

  describe('gather_rows', () => {
    const CASES: [number, number, number][] = [
      [1, 1, 1],
      [7, 1023, 13],
      [1023, 7, 50],
    ];
    for (const [B, D, N] of CASES) {
      it(`B=${B} D=${D} from N=${N}`, async () => {
        const rng = new Rng(2100 + B + D + N);
        const src = randomF32(rng, N * D, -5, 5);
        const idx = randomLabels(rng, B, N);
        idx[0] = N - 1; // last row
        if (B > 2) idx[B - 1] = idx[1]!; // a repeat
        const r = await run(backend, 'gather_rows', { B, D, src, idx });
        const ref = new Float32Array(B * D);
        for (let b = 0; b < B; b++) ref.set(src.subarray(idx[b]! * D, idx[b]! * D + D), b * D);
        expect(sameBits(r.dst!, ref)).toBe(true);
      });
    }
  });

  describe('gather_labels', () => {
    for (const [B, N] of [
      [1, 1],
      [7, 13],
      [1023, 50],
    ] as const) {
      it(`B=${B} from N=${N}`, async () => {
        const rng = new Rng(2300 + B + N);
        const src = randomLabels(rng, N, 1 << 20);
        const idx = randomLabels(rng, B, N);
        idx[0] = N - 1;
        const r = await run(backend, 'gather_labels', { B, src, idx });
        expect(Array.from(r.dst!)).toEqual(Array.from(idx, (i) => src[i]!));
      });
    }
  });

  describe('fill_weights', () => {
    // The reference is the distribution's contract plus the CPU generator (bit-identical on every
    // backend: common/philox.h, compiled without FMA contraction).
    for (const [rows, cols] of [
      [1, 1],
      [7, 13],
      [300, 67],
    ] as const) {
      for (const [dist, code] of [
        ['uniform', 0],
        ['normal', 1],
        ['zeros', 2],
      ] as const) {
        it(`${dist} ${rows}x${cols}`, async () => {
          const a = 0.37;
          const r = await run(backend, 'fill_weights', { rows, cols, seed: 2 ** 33 + 5, stream: 3, dist: code, a });
          const W = r.W!;
          expect(W.length).toBe(rows * cols);
          const cpu = await generateWeights({ rows, cols, seed: 2 ** 33 + 5, stream: 3, dist, a });
          expect(sameBits(W, cpu)).toBe(true);
          if (dist === 'zeros') expect(W.every((v) => v === 0)).toBe(true);
          if (dist === 'uniform') expect(W.every((v) => Math.abs(v) <= a)).toBe(true);
          if (dist !== 'zeros' && W.length > 1000) {
            let s = 0;
            let s2 = 0;
            for (const v of W) {
              s += v;
              s2 += v * v;
            }
            const variance = s2 / W.length - (s / W.length) ** 2;
            expect(variance).toBeCloseTo(dist === 'uniform' ? (a * a) / 3 : a * a, 2);
          }
        });
      }
    }
  });

  describe('adam', () => {
    for (const n of [1, 7, 1023]) {
      for (const weightDecay of [0, 0.01]) {
        it(`n=${n} weightDecay=${weightDecay}, 3 chained steps`, async () => {
          const rng = new Rng(2500 + n + weightDecay * 1000);
          const lr = 0.05;
          const beta1 = 0.9;
          const beta2 = 0.999;
          const eps = 1e-8;
          let p: Float32Array = randomF32(rng, n, -1, 1);
          let m: Float32Array = new Float32Array(n);
          let v: Float32Array = new Float32Array(n);
          const rp = Float64Array.from(p);
          const rm = new Float64Array(n);
          const rv = new Float64Array(n);
          for (let t = 1; t <= 3; t++) {
            const g = randomF32(rng, n, -1, 1);
            const bc1 = 1 - beta1 ** t;
            const bc2 = 1 - beta2 ** t;
            const r = await run(backend, 'adam', { p, g, m, v, lr, beta1, beta2, eps, weightDecay, bc1, bc2 });
            for (let i = 0; i < n; i++) {
              const gi = g[i]! + weightDecay * rp[i]!;
              rm[i] = beta1 * rm[i]! + (1 - beta1) * gi;
              rv[i] = beta2 * rv[i]! + (1 - beta2) * gi * gi;
              rp[i] = rp[i]! - (lr * (rm[i]! / bc1)) / (Math.sqrt(rv[i]! / bc2) + eps);
            }
            assertClose(`adam step ${t} m`, r.m!, rm, 1e-7, 1e-5);
            assertClose(`adam step ${t} v`, r.v!, rv, 1e-7, 1e-5);
            assertClose(`adam step ${t} p`, r.p!, rp, 1e-6, 1e-5);
            p = r.p!;
            m = r.m!;
            v = r.v!;
          }
        });
      }
    }
  });

  describe('sgd', () => {
    const CONFIGS = [
      { momentum: 0, nesterov: false, weightDecay: 0 },
      { momentum: 0, nesterov: false, weightDecay: 0.01 },
      { momentum: 0.9, nesterov: false, weightDecay: 0 },
      { momentum: 0.9, nesterov: true, weightDecay: 0 },
      { momentum: 0.8, nesterov: true, weightDecay: 0.05 },
      { momentum: 0.5, nesterov: false, weightDecay: 0.05 },
    ];
    for (const n of [1, 7, 1023]) {
      for (const c of CONFIGS) {
        it(`n=${n} momentum=${c.momentum} nesterov=${c.nesterov} weightDecay=${c.weightDecay}, 3 chained steps`, async () => {
          const rng = new Rng(3100 + n + c.momentum * 10 + (c.nesterov ? 5 : 0) + c.weightDecay * 100);
          const lr = 0.1;
          let p: Float32Array = randomF32(rng, n, -1, 1);
          let vel: Float32Array = new Float32Array(n);
          const rp = Float64Array.from(p);
          const rvel = new Float64Array(n);
          for (let t = 1; t <= 3; t++) {
            const g = randomF32(rng, n, -1, 1);
            const r = await run(backend, 'sgd', {
              p,
              g,
              vel,
              lr,
              momentum: c.momentum,
              nesterov: c.nesterov,
              weightDecay: c.weightDecay,
            });
            for (let i = 0; i < n; i++) {
              const gi = g[i]! + c.weightDecay * rp[i]!;
              if (c.momentum === 0) {
                rp[i] = rp[i]! - lr * gi;
              } else {
                rvel[i] = c.momentum * rvel[i]! + gi;
                rp[i] = rp[i]! - lr * (c.nesterov ? gi + c.momentum * rvel[i]! : rvel[i]!);
              }
            }
            assertClose(`sgd step ${t} p`, r.p!, rp, 1e-6, 1e-5);
            // With momentum 0 the velocity buffer is unused (the model passes none), so it is not checked.
            if (c.momentum !== 0) assertClose(`sgd step ${t} vel`, r.vel!, rvel, 1e-6, 1e-5);
            p = r.p!;
            if (c.momentum !== 0) vel = r.vel!;
          }
        });
      }
    }
  });

  describe('argument checks', () => {
    it('rejects an unknown op with E_INVALID_ARG', async () => {
      await expect(run(backend, 'no_such_op', {})).rejects.toMatchObject({
        code: 'E_INVALID_ARG',
        message: expect.stringContaining('no_such_op'),
      });
    });
    it('rejects a missing argument with E_INVALID_ARG and a too-short array with E_SHAPE', async () => {
      await expect(run(backend, 'column_sum', { B: 2, H: 2, beta: 0, out: new Float32Array(2) })).rejects.toMatchObject({
        code: 'E_INVALID_ARG',
      });
      await expect(
        run(backend, 'column_sum', { B: 2, H: 2, beta: 0, G: new Float32Array(3), out: new Float32Array(2) }),
      ).rejects.toMatchObject({
        code: 'E_SHAPE',
      });
    });
  });
});
