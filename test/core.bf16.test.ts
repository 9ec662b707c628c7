/**
 * The frozen-matrix ops (native/backend/backend.h: round_bf16, frozen_fill, frozen_read,
 * frozen_matmul, frozen_matmul_back) on every available backend against float64 references
 * (test/helpers/bf16.ts), and the CPU's two bf16 kernels (AVX512-BF16, float fallback) against each other.
 *
 * Tolerances (elementwise |got - ref| <= atol + rtol * scale):
 *   round_bf16, frozen_fill, frozen_read   bit-exact (RNE: ties to even, NaN quiet, overflow to inf,
 *                                          subnormals rounded like any value)
 *   frozen_matmul(_back), bf16   atol 1e-6, rtol 1e-5, scale = |alpha| sum_k |bf16(x) w| + |beta y|:
 *                                the products of bf16 values are exact in float32, so this is the
 *                                float32 sum of K terms, as for gemm (test/core.kernels.test.ts)
 *   frozen_matmul(_back), fp32   bit-identical to gemm (the same call)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { nativeFor, type BackendName } from '../src/native/binding.js';
import { setThreads } from '../src/index.js';
import { Rng } from '../src/util/rng.js';
import { probeBackends } from './helpers/backends.js';
import { assertClose, randomF32, sameBits } from './helpers/numeric.js';
import { bf16Ref, bf16RefArray, bitsOf, fromBits, frozenMatmulRef } from './helpers/bf16.js';

const probe = await probeBackends();
if (probe.cudaSkipReason) console.log(`[core.bf16] CUDA kernels not tested: ${probe.cudaSkipReason}`);
const cpu = nativeFor('cpu');

function run(backend: BackendName, op: string, args: Record<string, number | boolean | Float32Array | Int32Array>) {
  return nativeFor(backend).runKernel(backend, op, args);
}

const FP32 = 0;
const BF16 = 1;
const SIZES: [number, number, number][] = [
  [1, 1, 1],
  [7, 7, 7],
  [1, 1023, 7],
  [7, 33, 1023],
  [13, 1, 1023],
  [25, 65, 130],
  [401, 33, 70], // two chunks of input rows in the CPU kernel
];

afterAll(() => {
  cpu.bf16Kernel('auto');
  setThreads(0);
});

describe.each(probe.backends)('bf16 ops on %s', (backend) => {
  it('round_bf16 rounds to nearest even at the edges: ties, NaN, infinities, overflow, subnormals', async () => {
    const edges = [
      0x3f808000, // 1 + 2^-8: a tie, to the even 1.0
      0x3f818000, // 1 + 3 * 2^-8: a tie, to the even 1 + 2^-6
      0x3f808001, // just above a tie: up
      0x3f807fff, // just below: down
      0xbf808000, // -(1 + 2^-8): to -1
      0x7f800000, // +inf
      0xff800000, // -inf
      0x7fc00000, // quiet NaN
      0x7f800001, // signalling NaN: stays NaN
      0xffc12345, // negative NaN with payload
      0x7f7fffff, // largest float: rounds past the largest bf16, to inf
      0x7f7f7fff, // below the overflow tie: the largest bf16
      0x00008000, // subnormal tie between 0 and the smallest bf16 subnormal: to +0
      0x00018000, // subnormal tie: to the even 2 quanta
      0x00017fff, // subnormal just below a tie
      0x807fffff, // largest negative subnormal: rounds up into the normals
      0x00000001, // smallest float subnormal: to 0
      0x80000000, // -0
      0x00000000,
    ];
    const x = fromBits(edges);
    const got = (await run(backend, 'round_bf16', { x: x.slice() })).x!;
    const ref = bf16RefArray(x);
    for (let i = 0; i < edges.length; i++) {
      const g = got[i]!;
      const r = ref[i]!;
      if (Number.isNaN(r)) {
        expect(Number.isNaN(g), `edge ${edges[i]!.toString(16)}`).toBe(true);
        expect(bitsOf(got.subarray(i, i + 1))[0]! & 0xffff, 'low half cleared').toBe(0);
        expect(bitsOf(got.subarray(i, i + 1))[0]! & 0x00400000, 'quiet').not.toBe(0);
      } else {
        expect(Object.is(g, r), `edge ${edges[i]!.toString(16)}: got ${g}, expected ${r}`).toBe(true);
      }
    }
    expect(got[0]).toBe(1);
    expect(got[1]).toBe(1 + 2 ** -6);
    expect(got[10]).toBe(Infinity);
    expect(Object.is(got[12], 0)).toBe(true);
  });

  it('round_bf16 matches the float64 definition on random values of every magnitude', async () => {
    const rng = new Rng(11);
    const x = new Float32Array(4099).map(() => Math.fround((rng.uniform() * 2 - 1) * 2 ** Math.floor(rng.uniform() * 300 - 150)));
    const got = (await run(backend, 'round_bf16', { x: x.slice() })).x!;
    const ref = Float32Array.from(bf16RefArray(x));
    expect(sameBits(got, ref)).toBe(true);
  });

  it('frozen_fill in bf16 is fill_weights rounded, bit for bit; in fp32 it is fill_weights', async () => {
    for (const [N, K, dist, a] of [
      [1, 1, 0, 0.5],
      [7, 1023, 1, 0.1],
      [33, 7, 0, 2.0],
    ] as const) {
      const gen = { seed: 99, stream: 3, dist, a };
      const plain = (await run(backend, 'fill_weights', { rows: N, cols: K, ...gen })).W!;
      const bf = (await run(backend, 'frozen_fill', { N, K, precision: BF16, ...gen })).W!;
      const fp = (await run(backend, 'frozen_fill', { N, K, precision: FP32, ...gen })).W!;
      const read = (await run(backend, 'frozen_read', { N, K, precision: BF16, ...gen })).W!;
      expect(sameBits(bf, Float32Array.from(bf16RefArray(plain)))).toBe(true);
      expect(sameBits(read, bf)).toBe(true);
      expect(sameBits(fp, plain)).toBe(true);
    }
  });

  it.each(SIZES)('frozen_matmul in bf16 matches float64 at M=%i N=%i K=%i', async (M, N, K) => {
    const rng = new Rng(M * 1000003 + N * 1009 + K);
    const gen = { N, K, seed: 5, stream: 1, dist: 0, a: 0.7 };
    const W = (await run(backend, 'frozen_fill', { ...gen, precision: BF16 })).W!;
    const X = randomF32(rng, M * K);
    const Y = randomF32(rng, M * N);
    for (const [alpha, beta] of [
      [1, 0],
      [-0.5, 1.25],
    ] as const) {
      const got = (await run(backend, 'frozen_matmul', { ...gen, precision: BF16, M, alpha, beta, X, Y: Y.slice() })).Y!;
      const { ref, scale } = frozenMatmulRef(M, N, K, alpha, X, W, beta, Y);
      assertClose(`frozen_matmul ${M}x${N}x${K} alpha ${alpha} beta ${beta}`, got, ref, 1e-6, 1e-5, scale);
    }
  });

  it.each(SIZES)('frozen_matmul_back in bf16 matches float64 at M=%i N=%i K=%i', async (M, N, K) => {
    const rng = new Rng(M * 7 + N * 11 + K * 13);
    const gen = { N, K, seed: 6, stream: 2, dist: 1, a: 0.3 };
    const W = (await run(backend, 'frozen_fill', { ...gen, precision: BF16 })).W!;
    const dY = randomF32(rng, M * N);
    const dX = randomF32(rng, M * K);
    const got = (
      await run(backend, 'frozen_matmul_back', { ...gen, precision: BF16, M, alpha: 2, beta: 0.5, dY, dX: dX.slice() })
    ).dX!;
    // dX = alpha bf16(dY) W + beta dX: the forward reference with W^T [K, N]
    const Wt = new Float64Array(K * N);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) Wt[k * N + n] = W[n * K + k]!;
    const { ref, scale } = frozenMatmulRef(M, K, N, 2, dY, Wt, 0.5, dX);
    assertClose(`frozen_matmul_back ${M}x${N}x${K}`, got, ref, 1e-6, 1e-5, scale);
  });

  it('frozen products in fp32 are gemm, bit for bit', async () => {
    const rng = new Rng(3);
    const [M, N, K] = [9, 33, 70];
    const gen = { N, K, seed: 8, stream: 0, dist: 0, a: 1 };
    const W = (await run(backend, 'frozen_fill', { ...gen, precision: FP32 })).W!;
    const X = randomF32(rng, M * K);
    const Y = randomF32(rng, M * N);
    const got = (await run(backend, 'frozen_matmul', { ...gen, precision: FP32, M, alpha: 1, beta: 0.5, X, Y: Y.slice() })).Y!;
    const gemm = (await run(backend, 'gemm', { M, N, K, transA: 0, transB: 1, alpha: 1, A: X, B: W, beta: 0.5, C: Y.slice() }))
      .C!;
    expect(sameBits(got, gemm)).toBe(true);
    const dY = randomF32(rng, M * N);
    const back = (
      await run(backend, 'frozen_matmul_back', { ...gen, precision: FP32, M, alpha: 1, beta: 0, dY, dX: new Float32Array(M * K) })
    ).dX!;
    const gemmBack = (
      await run(backend, 'gemm', {
        M,
        N: K,
        K: N,
        transA: 0,
        transB: 0,
        alpha: 1,
        A: dY,
        B: W,
        beta: 0,
        C: new Float32Array(M * K),
      })
    ).C!;
    expect(sameBits(back, gemmBack)).toBe(true);
  });
});

describe('the CPU bf16 kernels', () => {
  it('names the kernel, refuses an unknown choice, and the fallback can be forced', async () => {
    expect(['avx512bf16', 'fallback']).toContain(cpu.bf16Kernel('auto'));
    expect(cpu.bf16Kernel('fallback')).toBe('fallback');
    expect(() => cpu.bf16Kernel('avx2' as 'auto')).toThrow(/'auto' or 'fallback'/);
    cpu.bf16Kernel('auto');
  });

  it('frozen weights are bit-identical across thread counts and between the AVX512-BF16 kernel and the fallback', async () => {
    const gen = { N: 70, K: 1023, seed: 12345, stream: 4, dist: 0, a: 0.25, precision: BF16 };
    const seen: Float32Array[] = [];
    for (const kernel of ['auto', 'fallback'] as const)
      for (const threads of [1, 2, 3]) {
        cpu.bf16Kernel(kernel);
        setThreads(threads);
        seen.push((await run('cpu', 'frozen_fill', gen)).W!);
      }
    setThreads(0);
    cpu.bf16Kernel('auto');
    for (const w of seen.slice(1)) expect(sameBits(w, seen[0]!)).toBe(true);
  });

  it('the AVX512-BF16 kernel and the fallback agree within the float32 summation tolerance', async () => {
    const rng = new Rng(77);
    const [M, N, K] = [37, 97, 1023];
    const gen = { N, K, seed: 1, stream: 0, dist: 0, a: 0.1, precision: BF16 };
    const X = randomF32(rng, M * K);
    const out: Float32Array[] = [];
    for (const kernel of ['auto', 'fallback'] as const) {
      cpu.bf16Kernel(kernel);
      out.push((await run('cpu', 'frozen_matmul', { ...gen, M, alpha: 1, beta: 0, X, Y: new Float32Array(M * N) })).Y!);
    }
    cpu.bf16Kernel('auto');
    const W = (await run('cpu', 'frozen_fill', gen)).W!;
    const { ref, scale } = frozenMatmulRef(M, N, K, 1, X, W, 0, new Float32Array(M * N));
    for (const y of out) assertClose('kernel vs float64', y, ref, 1e-6, 1e-5, scale);
  });

  it('the AVX512-BF16 products do not depend on the thread count', async () => {
    const rng = new Rng(78);
    const [M, N, K] = [50, 200, 300];
    const gen = { N, K, seed: 2, stream: 0, dist: 0, a: 0.1, precision: BF16 };
    const X = randomF32(rng, M * K);
    const out: Float32Array[] = [];
    for (const threads of [1, 2, 4]) {
      setThreads(threads);
      out.push((await run('cpu', 'frozen_matmul', { ...gen, M, alpha: 1, beta: 0, X, Y: new Float32Array(M * N) })).Y!);
    }
    setThreads(0);
    expect(sameBits(out[1]!, out[0]!)).toBe(true);
    expect(sameBits(out[2]!, out[0]!)).toBe(true);
  });

  it('bf16Ref is the definition: a tie goes to the even neighbour', () => {
    expect(bf16Ref(1 + 2 ** -8)).toBe(1);
    expect(bf16Ref(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6);
    expect(bf16Ref(3.4e38)).toBe(Infinity);
  });
});
