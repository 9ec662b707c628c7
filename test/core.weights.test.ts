/**
 * The frozen-weight generator (native/common/philox.h through generateWeights and MLP.create):
 * determinism, independence of (seed, stream, row, col), bit-identical results for any thread
 * count, the uniform and normal distributions' statistics, and fan-in-relative scaling.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { MLP, generateWeights, setThreads, runtimeInfo, ValidationError } from '../src/index.js';
import { firstBitDiff, sameBits } from './helpers/numeric.js';

afterAll(() => {
  setThreads(0);
});

function gen(rows: number, cols: number, seed: number, stream: number, dist: 'uniform' | 'normal' | 'zeros' = 'uniform', a = 1) {
  return generateWeights({ rows, cols, seed, stream, dist, a });
}

/** Fraction of positions at which two arrays hold different bits. */
function diffFraction(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let d = 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) d++;
  return d / ua.length;
}

describe('generateWeights determinism', () => {
  it('same (seed, stream) gives the same bits; all values distinct enough to be random', async () => {
    for (const dist of ['uniform', 'normal'] as const) {
      const a = await gen(37, 53, 1234, 5, dist, 0.7);
      const b = await gen(37, 53, 1234, 5, dist, 0.7);
      expect(a.length).toBe(37 * 53);
      expect(sameBits(a, b)).toBe(true);
      expect(new Set(a).size).toBeGreaterThan(0.99 * a.length);
    }
  });

  it('differs for a different seed (low and high 32 bits) and a different stream', async () => {
    const base = await gen(20, 30, 7, 0);
    expect(diffFraction(base, await gen(20, 30, 8, 0))).toBeGreaterThan(0.99);
    expect(diffFraction(base, await gen(20, 30, 7, 1))).toBeGreaterThan(0.99);
    // the seed's high word is part of the key: 7 and 7 + 2^32 must differ
    expect(diffFraction(base, await gen(20, 30, 7 + 2 ** 32, 0))).toBeGreaterThan(0.99);
    expect(diffFraction(await gen(20, 30, 0, 0), await gen(20, 30, 2 ** 40, 0))).toBeGreaterThan(0.99);
  });

  it('element (r, c) is a pure function of (seed, stream, r, c): sub-matrices agree, rows/cols/transposes differ', async () => {
    const big = await gen(40, 50, 99, 3, 'normal', 1);
    const small = await gen(5, 7, 99, 3, 'normal', 1);
    const wide = await gen(7, 5, 99, 3, 'normal', 1);
    for (let r = 0; r < 5; r++) {
      for (let c = 0; c < 7; c++) expect(Object.is(small[r * 7 + c], big[r * 50 + c])).toBe(true);
    }
    for (let r = 0; r < 7; r++) {
      for (let c = 0; c < 5; c++) expect(Object.is(wide[r * 5 + c], big[r * 50 + c])).toBe(true);
    }
    // different rows, different columns, and (r, c) vs (c, r) all differ
    let sameRow = 0;
    let sameCol = 0;
    let symmetric = 0;
    for (let r = 0; r < 39; r++) {
      for (let c = 0; c < 39; c++) {
        if (big[r * 50 + c] === big[(r + 1) * 50 + c]) sameRow++;
        if (big[r * 50 + c] === big[r * 50 + c + 1]) sameCol++;
        if (r !== c && big[r * 50 + c] === big[c * 50 + r]) symmetric++;
      }
    }
    expect(sameRow).toBe(0);
    expect(sameCol).toBe(0);
    expect(symmetric).toBe(0);
  });

  it("'zeros' gives exact zeros; invalid arguments are ValidationErrors", async () => {
    const z = await gen(3, 4, 1, 0, 'zeros', 5);
    expect(Array.from(z)).toEqual(new Array(12).fill(0));
    await expect(generateWeights({ rows: 0, cols: 3, seed: 0, stream: 0, dist: 'uniform', a: 1 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(generateWeights({ rows: 2, cols: 3, seed: -1, stream: 0, dist: 'uniform', a: 1 })).rejects.toMatchObject({
      code: 'E_INVALID_ARG',
    });
    await expect(
      generateWeights({ rows: 2, cols: 3, seed: 0, stream: 0, dist: 'cauchy' as 'uniform', a: 1 }),
    ).rejects.toMatchObject({
      code: 'E_INVALID_ARG',
      message: expect.stringContaining('cauchy'),
    });
  });
});

describe('thread count does not change a single bit', () => {
  it('generateWeights with 1, 2 and 3 threads (1000 x 1000, uniform and normal)', async () => {
    const results: Record<string, Float32Array[]> = { uniform: [], normal: [] };
    for (const t of [1, 2, 3]) {
      setThreads(t);
      expect(runtimeInfo().threads).toBe(t);
      for (const dist of ['uniform', 'normal'] as const) results[dist]!.push(await gen(1000, 1000, 42, 6, dist, 0.25));
    }
    setThreads(0);
    for (const dist of ['uniform', 'normal'] as const) {
      const [one, two, three] = results[dist]!;
      expect(firstBitDiff(one!, two!), `${dist}: 1 vs 2 threads`).toBe(-1);
      expect(firstBitDiff(one!, three!), `${dist}: 1 vs 3 threads`).toBe(-1);
    }
  });

  it('MLP.create + model.weights(l) / biases(l) with 1, 2 and 3 threads', async () => {
    const got: Float32Array[][] = [];
    for (const t of [1, 2, 3]) {
      setThreads(t);
      const model = await MLP.create({
        inputSize: 300,
        hidden: [257],
        outputSize: 10,
        seed: 2024,
        biasInit: { dist: 'normal', scale: 0.1, relative: false },
      });
      got.push([await model.weights(0), await model.weights(1), await model.biases(0)]);
      model.dispose();
    }
    setThreads(0);
    for (let k = 0; k < 3; k++) {
      expect(firstBitDiff(got[0]![k]!, got[1]![k]!)).toBe(-1);
      expect(firstBitDiff(got[0]![k]!, got[2]![k]!)).toBe(-1);
    }
  });
});

describe('distributions (1e6 samples, generous bounds)', () => {
  const ROWS = 1000;
  const COLS = 1000;

  it('uniform: values in [-a, a), mean ~ 0, variance ~ a^2/3, flat histogram', async () => {
    const a = 0.5; // exactly representable, so [-a, a) can be checked without rounding slack
    const w = await gen(ROWS, COLS, 11, 0, 'uniform', a);
    let min = Infinity;
    let max = -Infinity;
    let s = 0;
    let s2 = 0;
    const bins = new Array(10).fill(0);
    for (let i = 0; i < w.length; i++) {
      const v = w[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
      s += v;
      s2 += v * v;
      bins[Math.min(9, Math.floor(((v + a) / (2 * a)) * 10))]++;
    }
    const n = w.length;
    const mean = s / n;
    const variance = s2 / n - mean * mean;
    expect(min).toBeGreaterThanOrEqual(-a);
    expect(max).toBeLessThan(a);
    expect(min).toBeLessThan(-0.999 * a); // the range is really used
    expect(max).toBeGreaterThan(0.999 * a);
    expect(Math.abs(mean)).toBeLessThan(0.005 * a); // SE ~ 0.00058 a
    expect(Math.abs(variance / ((a * a) / 3) - 1)).toBeLessThan(0.01); // SE ~ 0.09 %
    for (const b of bins) expect(Math.abs(b / n - 0.1)).toBeLessThan(0.003); // SE ~ 0.0003
  });

  it('normal: mean ~ 0, std ~ a, 68.27 % within 1 sigma, 4.55 % beyond 2 sigma, tails exist', async () => {
    const a = 0.3;
    const w = await gen(ROWS, COLS, 12, 1, 'normal', a);
    const n = w.length;
    let s = 0;
    let s2 = 0;
    let within1 = 0;
    let beyond2 = 0;
    let maxAbs = 0;
    for (let i = 0; i < n; i++) {
      const v = w[i]!;
      s += v;
      s2 += v * v;
      const z = Math.abs(v) / a;
      if (z < 1) within1++;
      if (z > 2) beyond2++;
      if (z > maxAbs) maxAbs = z;
    }
    const mean = s / n;
    const std = Math.sqrt(s2 / n - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.01 * a); // SE 0.001 a
    expect(Math.abs(std / a - 1)).toBeLessThan(0.01); // SE ~ 0.07 %
    expect(Math.abs(within1 / n - 0.6827)).toBeLessThan(0.005); // SE ~ 0.0005
    expect(Math.abs(beyond2 / n - 0.0455)).toBeLessThan(0.003); // SE ~ 0.0002
    expect(maxAbs).toBeGreaterThan(4); // ~63 samples beyond 4 sigma are expected
    expect(maxAbs).toBeLessThan(7);
  });
});

describe('MLP weights use the documented streams and fan-in-relative scale', () => {
  it('a layer with fan-in 784 and scale s has max |w| <= s/sqrt(784), and uses nearly all of that range', async () => {
    const s = 1.7;
    const model = await MLP.create({
      inputSize: 784,
      hidden: [256],
      outputSize: 10,
      seed: 9,
      weightInit: { dist: 'uniform', scale: s, relative: true },
    });
    const w = await model.weights(0);
    expect(w.length).toBe(256 * 784);
    let maxAbs = 0;
    for (let i = 0; i < w.length; i++) maxAbs = Math.max(maxAbs, Math.abs(w[i]!));
    const bound = s / Math.sqrt(784);
    expect(maxAbs).toBeLessThanOrEqual(Math.fround(bound));
    expect(maxAbs).toBeGreaterThan(0.99 * bound);
    model.dispose();
  });

  it('layer l weights are stream 2l and initial biases stream 2l+1, with a = fround(scale / sqrt(fan_in))', async () => {
    const seed = 31337;
    const model = await MLP.create({
      inputSize: 784,
      hidden: [64],
      outputSize: 10,
      seed,
      weightInit: [
        { dist: 'uniform', scale: 2, relative: true },
        { dist: 'normal', scale: 1.5, relative: true },
      ],
      biasInit: [
        { dist: 'normal', scale: 0.25, relative: false },
        { dist: 'uniform', scale: 0.5, relative: false },
      ],
    });
    const effective = (scale: number, fanIn: number) => Math.fround(Math.fround(scale) / Math.sqrt(fanIn));
    const w0 = await generateWeights({ rows: 64, cols: 784, seed, stream: 0, dist: 'uniform', a: effective(2, 784) });
    const b0 = await generateWeights({ rows: 1, cols: 64, seed, stream: 1, dist: 'normal', a: Math.fround(0.25) });
    const w1 = await generateWeights({ rows: 10, cols: 64, seed, stream: 2, dist: 'normal', a: effective(1.5, 64) });
    const b1 = await generateWeights({ rows: 1, cols: 10, seed, stream: 3, dist: 'uniform', a: Math.fround(0.5) });
    expect(firstBitDiff(await model.weights(0), w0)).toBe(-1);
    expect(firstBitDiff(await model.biases(0), b0)).toBe(-1);
    expect(firstBitDiff(await model.weights(1), w1)).toBe(-1);
    expect(firstBitDiff(await model.biases(1), b1)).toBe(-1);
    // a different model seed gives different frozen weights
    const other = await MLP.create({
      inputSize: 784,
      hidden: [64],
      outputSize: 10,
      seed: seed + 1,
      weightInit: { dist: 'uniform', scale: 2, relative: true },
    });
    expect(diffFraction(await other.weights(0), w0)).toBeGreaterThan(0.99);
    other.dispose();
    model.dispose();
  });
});

describe('one CPU thread', () => {
  it('column sums wider than one 256-column block run and match two threads (regression: buffer overflow)', async () => {
    const { native } = await import('../src/native/binding.js');
    const { setThreads, Rng } = await import('../src/index.js');
    const B = 5;
    const H = 1023;
    const rng = new Rng(9);
    const G = new Float32Array(B * H).map(() => rng.normal());
    const run = async (threads: number) => {
      setThreads(threads);
      const r = await native().runKernel('cpu', 'column_sum', { B, H, beta: 0, G, out: new Float32Array(H) });
      const f = await native().runKernel('cpu', 'small_fanout_backward', {
        B,
        O: 3,
        H,
        act: 2,
        beta: 0,
        dZ: G.subarray(0, B * 3),
        W: G.subarray(0, 3 * H),
        A: G,
        out: new Float32Array(H),
      });
      return [r.out!, f.out!];
    };
    try {
      const [one, oneF] = await run(1);
      const [two, twoF] = await run(2);
      for (let h = 0; h < H; h++) {
        let ref = 0;
        for (let b = 0; b < B; b++) ref += G[b * H + h]!;
        expect(Math.abs(one![h]! - ref)).toBeLessThan(1e-5 * (1 + Math.abs(ref)));
      }
      expect(Array.from(one!)).toEqual(Array.from(two!));
      expect(Array.from(oneF!)).toEqual(Array.from(twoF!));
    } finally {
      setThreads(0);
    }
  });
});
