/**
 * `weightPrecision: 'bf16'` and `tf32` on the three model kinds (src/model/precision.ts,
 * docs/precision.md): the frozen weights are the fp32 draw rounded to bf16 (RNE), the big frozen
 * matrices take half the bytes, bias gradients match a float64 reference built from the same
 * rounded weights (with the bf16 rounding of each product's input), checkpoints record the
 * precision and regenerate the same weights, and old checkpoints load as fp32.
 *
 * Tolerance of the gradient check: |got - ref| <= 1e-6 + 1e-4 |ref| elementwise (float32 sums of
 * at most 33 terms per product; the reference rounds each product's input to bf16 exactly as the
 * kernels do).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dataset, MLP, MultitaskDataset, MultitaskModel, RNN, Rng } from '../src/index.js';
import { assertClose, randomF32, sameBits } from './helpers/numeric.js';
import { bf16RefArray } from './helpers/bf16.js';
import { errorOf } from './helpers/errors.js';
import { randomSeqs } from './helpers/sequences.js';

const dir = mkdtempSync(join(tmpdir(), 'biaslearn-precision-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rounded = (x: Float32Array) => Float32Array.from(bf16RefArray(x));

function classes(seed: number, n: number, I: number, O: number): Dataset {
  const rng = new Rng(seed);
  const x = randomF32(rng, n * I);
  const y = Int32Array.from({ length: n }, () => rng.int(O));
  return Dataset.classification(x, I, y, O);
}

/**
 * Bias gradients of the bias-only MLP I -> H0 -> H1 -> O (tanh) in float64, as the bf16 model
 * computes them: every product bf16(input) x W (bf16 values), forward and back (the backward
 * products through W2 and W1 round dY and dZ1 to bf16).
 */
function refBiasGrads(W: Float32Array[], b: Float32Array[], dims: number[], x: Float32Array, y: Int32Array, n: number) {
  const [I, H0, H1, O] = dims as [number, number, number, number];
  const dense = (a: Float64Array, Wl: Float32Array, bl: Float32Array, rows: number, inn: number, out: number, round: boolean) => {
    const ai = round ? bf16RefArray(a) : a;
    const z = new Float64Array(rows * out);
    for (let r = 0; r < rows; r++)
      for (let o = 0; o < out; o++) {
        let s = bl[o]!;
        for (let i = 0; i < inn; i++) s += ai[r * inn + i]! * Wl[o * inn + i]!;
        z[r * out + o] = s;
      }
    return z;
  };
  const A0 = dense(Float64Array.from(x), W[0]!, b[0]!, n, I, H0, true).map(Math.tanh);
  const A1 = dense(A0, W[1]!, b[1]!, n, H0, H1, true).map(Math.tanh);
  const Y = dense(A1, W[2]!, b[2]!, n, H1, O, true);
  const dY = new Float64Array(n * O);
  for (let r = 0; r < n; r++) {
    const row = Y.subarray(r * O, r * O + O);
    const mx = Math.max(...row);
    const e = row.map((v) => Math.exp(v - mx));
    const s = e.reduce((p, q) => p + q, 0);
    for (let o = 0; o < O; o++) dY[r * O + o] = (e[o]! / s - (o === y[r] ? 1 : 0)) / n;
  }
  const back = (d: Float64Array, Wl: Float32Array, rows: number, inn: number, out: number, round: boolean) => {
    const di = round ? bf16RefArray(d) : d;
    const g = new Float64Array(rows * inn);
    for (let r = 0; r < rows; r++)
      for (let i = 0; i < inn; i++) {
        let s = 0;
        for (let o = 0; o < out; o++) s += di[r * out + o]! * Wl[o * inn + i]!;
        g[r * inn + i] = s;
      }
    return g;
  };
  const colsum = (d: Float64Array, rows: number, w: number) => {
    const s = new Float64Array(w);
    for (let r = 0; r < rows; r++) for (let j = 0; j < w; j++) s[j] = s[j]! + d[r * w + j]!;
    return s;
  };
  const dZ1 = back(dY, W[2]!, n, H1, O, true).map((v, i) => v * (1 - A1[i]! ** 2));
  const dZ0 = back(dZ1, W[1]!, n, H0, H1, true).map((v, i) => v * (1 - A0[i]! ** 2));
  return { 'layers.0.bias': colsum(dZ0, n, H0), 'layers.1.bias': colsum(dZ1, n, H1), 'layers.2.bias': colsum(dY, n, O) };
}

describe('MLP with bf16 frozen weights', () => {
  const opts = { inputSize: 7, hidden: [33, 17], outputSize: 3, activation: 'tanh' as const, seed: 2024 };

  it('holds the fp32 draw rounded to bf16 (RNE), in about half the bytes', async () => {
    const fp = await MLP.create({ ...opts, hidden: [256], inputSize: 784 });
    const bf = await MLP.create({ ...opts, hidden: [256], inputSize: 784, weightPrecision: 'bf16' });
    for (const l of [0, 1]) {
      const w = await bf.weights(l);
      expect(sameBits(w, rounded(await fp.weights(l))), `layer ${l}`).toBe(true);
      expect(sameBits(w, await fp.weights(l)), `layer ${l} differs from fp32`).toBe(false);
    }
    expect(sameBits(await bf.biases(0), await fp.biases(0))).toBe(true);
    expect(bf.config.weightPrecision).toBe('bf16');
    expect(fp.config.weightPrecision).toBe('fp32');
    // 784 x 256 and the readout (a 32-row panel) in bf16, plus the readout's float32 copy: ~0.526 of fp32
    expect(bf.frozenBytes() / fp.frozenBytes()).toBeLessThan(0.53);
    expect(bf.frozenBytes() / fp.frozenBytes()).toBeGreaterThan(0.49);
    fp.dispose();
    bf.dispose();
  });

  it('bias gradients match a float64 reference with the same rounded weights', async () => {
    const m = await MLP.create({ ...opts, weightPrecision: 'bf16', biasInit: { dist: 'uniform', scale: 0.5, relative: false } });
    const data = classes(5, 9, 7, 3);
    const W = [await m.weights(0), await m.weights(1), await m.weights(2)];
    const b = [await m.biases(0), await m.biases(1), await m.biases(2)];
    const { grads } = await m.gradients(data);
    const t = data.targets;
    if (t.kind !== 'classes') throw new Error('classification data expected');
    const ref = refBiasGrads(W, b, [7, 33, 17, 3], data.x, t.labels, data.n);
    for (const [name, r] of Object.entries(ref)) assertClose(name, grads[name]!, r, 1e-6, 1e-4);
    // the rounding of the products' inputs matters: the fp32-model reference would not pass at this tolerance
    const fp = await MLP.create({ ...opts, biasInit: { dist: 'uniform', scale: 0.5, relative: false } });
    const fpGrads = (await fp.gradients(data)).grads;
    expect(sameBits(fpGrads['layers.0.bias']!, grads['layers.0.bias']!)).toBe(false);
    m.dispose();
    fp.dispose();
  });

  it('trains, and a checkpoint records the precision and regenerates the same weights', async () => {
    const data = classes(6, 64, 7, 3);
    const m = await MLP.create({ ...opts, weightPrecision: 'bf16' });
    await m.fit(data, { epochs: 2, batchSize: 16, verbose: 0 });
    const path = join(dir, 'bf16.blck');
    await m.save(path);
    const back = await MLP.load(path);
    expect(back.config.weightPrecision).toBe('bf16');
    expect(back.config.tf32).toBe(false);
    for (const l of [0, 1, 2]) expect(sameBits(await back.weights(l), await m.weights(l))).toBe(true);
    expect(sameBits(await back.predict(data.x), await m.predict(data.x))).toBe(true);
    m.dispose();
    back.dispose();
  });

  it('old checkpoints (no precision in the header) load as fp32', async () => {
    const m = await MLP.load(join(import.meta.dirname, 'golden', 'mlp-bias.blck'));
    expect(m.config.weightPrecision).toBe('fp32');
    expect(m.config.tf32).toBe(false);
    m.dispose();
  });

  it('tf32 is an fp32 model on the CPU (same weights, same products)', async () => {
    const data = classes(7, 16, 7, 3);
    const fp = await MLP.create(opts);
    const tf = await MLP.create({ ...opts, tf32: true });
    expect(tf.config.tf32).toBe(true);
    expect(sameBits(await tf.predict(data.x), await fp.predict(data.x))).toBe(true);
    fp.dispose();
    tf.dispose();
  });

  it('refuses bad precision options with typed errors', async () => {
    expect((await errorOf(() => MLP.create({ ...opts, weightPrecision: 'fp16' as 'bf16' }))).code).toBe('E_INVALID_ARG');
    expect((await errorOf(() => MLP.create({ ...opts, tf32: 1 as unknown as boolean }))).code).toBe('E_INVALID_ARG');
    expect((await errorOf(() => MLP.create({ ...opts, weightPrecision: 'bf16', tf32: true }))).code).toBe('E_CONFIG');
    expect(
      (await errorOf(() => RNN.create({ inputSize: 1, hidden: 4, outputSize: 1, weightPrecision: 'x' as 'bf16' }))).code,
    ).toBe('E_INVALID_ARG');
    const tasks = [{ name: 'a', classes: 2 }];
    expect(
      (await errorOf(() => MultitaskModel.create({ inputSize: 3, hidden: 8, tasks, tf32: true, weightPrecision: 'bf16' }))).code,
    ).toBe('E_CONFIG');
  });
});

describe('RNN and multi-task MLP with bf16 frozen weights', () => {
  it('RNN: W in bf16 (half the bytes), the other frozen weights rounded; trains; checkpoint round trip', async () => {
    const base = { inputSize: 3, hidden: 64, outputSize: 2, seed: 77 };
    const fp = await RNN.create(base);
    const bf = await RNN.create({ ...base, weightPrecision: 'bf16' });
    for (const name of ['recurrent.weight', 'input.weight', 'readout.weight', 'feedback.weight'])
      expect(sameBits(await bf.tensor(name), rounded(await fp.tensor(name))), name).toBe(true);
    expect(bf.frozenBytes()).toBeLessThan(fp.frozenBytes() * 0.6);
    const data = randomSeqs(3, 8, 12, 3, 2);
    const hb = await bf.fit(data, { epochs: 3, batchSize: 4, verbose: 0 });
    const hf = await fp.fit(data, { epochs: 3, batchSize: 4, verbose: 0 });
    const lb = hb.history.loss!.at(-1)!;
    const lf = hf.history.loss!.at(-1)!;
    expect(Number.isFinite(lb)).toBe(true);
    expect(Math.abs(lb - lf) / lf).toBeLessThan(0.05);
    const path = join(dir, 'rnn-bf16.blck');
    await bf.save(path);
    const back = await RNN.load(path);
    expect(back.config.weightPrecision).toBe('bf16');
    expect(sameBits((await back.predict(data)).outputs, (await bf.predict(data)).outputs)).toBe(true);
    for (const m of [fp, bf, back]) m.dispose();
  });

  it('multi-task: hidden weights in bf16, readout rounded; trains; checkpoint round trip', async () => {
    const tasks = [
      { name: 'a', data: classes(8, 48, 6, 3) },
      { name: 'b', data: classes(9, 48, 6, 3) },
    ];
    const data = MultitaskDataset.fromTasks(tasks);
    const base = {
      inputSize: 6,
      hidden: [40, 24],
      tasks: [
        { name: 'a', classes: 3 },
        { name: 'b', classes: 3 },
      ],
      seed: 5,
    };
    const fp = await MultitaskModel.create(base);
    const bf = await MultitaskModel.create({ ...base, weightPrecision: 'bf16' });
    for (const name of ['layers.0.weight', 'layers.1.weight', 'readout.weight'])
      expect(sameBits(await bf.tensor(name), rounded(await fp.tensor(name))), name).toBe(true);
    expect(bf.frozenBytes()).toBeLessThan(fp.frozenBytes());
    await bf.fit(data, { epochs: 2, batchSize: 16, verbose: 0 });
    const path = join(dir, 'mt-bf16.blck');
    await bf.save(path);
    const back = await MultitaskModel.load(path);
    expect(back.config.weightPrecision).toBe('bf16');
    const x = tasks[0]!.data.x;
    expect(sameBits(await back.predict(x, 'a'), await bf.predict(x, 'a'))).toBe(true);
    for (const m of [fp, bf, back]) m.dispose();
  });
});
