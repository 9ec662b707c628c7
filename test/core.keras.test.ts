/**
 * Keras-style conveniences: fit(x, y, options) on typed arrays (same result bit for bit as the
 * Dataset form), predict's explicit output (logits by default, softmax probabilities checked in
 * float64), summary() / toString() of the three model kinds, and metric names (accuracy,
 * val_accuracy; acc / val_acc as non-enumerable aliases) in History, logs and evaluate.
 */
import { describe, expect, it } from 'vitest';
import { BiasLearnError, Dataset, MLP, MultitaskDataset, MultitaskModel, RNN, Rng } from '../src/index.js';
import { randomLabels, randomNormalF32, sameBits } from './helpers/numeric.js';

const I = 7;
const O = 3;

function arrays(seed: number, n: number): { x: Float32Array; y: Int32Array } {
  const rng = new Rng(seed);
  return { x: randomNormalF32(rng, n * I), y: randomLabels(rng, n, O) };
}

async function mlp(): Promise<MLP> {
  return MLP.create({
    inputSize: I,
    hidden: [13],
    outputSize: O,
    seed: 5,
    biasInit: { dist: 'uniform', scale: 0.1, relative: false },
  });
}

describe('fit(x, y, options)', () => {
  it('MLP: typed arrays train exactly as the equivalent Dataset, validationData as [x, y]', async () => {
    const { x, y } = arrays(1, 41);
    const v = arrays(2, 9);
    const a = await mlp();
    const b = await mlp();
    const ha = await a.fit(x, y, { epochs: 2, batchSize: 8, seed: 3, validationData: [v.x, v.y] });
    const hb = await b.fit(Dataset.classification(x, I, y, O), {
      epochs: 2,
      batchSize: 8,
      seed: 3,
      validationData: Dataset.classification(v.x, I, v.y, O),
    });
    expect(sameBits(await a.biases(0), await b.biases(0))).toBe(true);
    expect(ha.history.val_accuracy).toEqual(hb.history.val_accuracy);
    // number[] and Uint8Array labels are accepted too.
    await a.fit(x, Array.from(y), { epochs: 1 });
    await a.fit(x, Uint8Array.from(y), { epochs: 1 });
    a.dispose();
    b.dispose();
  });

  it('MLP regression: float targets [n, O]', async () => {
    const m = await MLP.create({ inputSize: I, hidden: [5], outputSize: 2, loss: 'mse', seed: 1 });
    const { x } = arrays(3, 10);
    const h = await m.fit(x, new Float32Array(20).fill(0.5), { epochs: 2, batchSize: 4 });
    expect(h.history.loss).toHaveLength(2);
    m.dispose();
  });

  it('typed errors for mismatched arrays', async () => {
    const m = await mlp();
    const { x, y } = arrays(4, 10);
    await expect(m.fit(x, y.subarray(0, 9), {})).rejects.toMatchObject({ code: 'E_SHAPE' });
    await expect(m.fit(x.subarray(0, 69), y, {})).rejects.toMatchObject({ code: 'E_SHAPE' });
    await expect(
      m.fit(
        x,
        Int32Array.from(y, () => 7),
        {},
      ),
    ).rejects.toMatchObject({ code: 'E_LABEL_RANGE' });
    await expect(m.fit(x, y, { validationData: [x] as never })).rejects.toBeInstanceOf(BiasLearnError);
    m.dispose();
  });

  it('multi-task: fit(x, y, { task }) trains that task as a one-task dataset would', async () => {
    const tasks = [
      { name: 'a', classes: 3 },
      { name: 'b', classes: 2 },
    ];
    const m1 = await MultitaskModel.create({ inputSize: I, hidden: 11, tasks, seed: 2 });
    const m2 = await MultitaskModel.create({ inputSize: I, hidden: 11, tasks, seed: 2 });
    const { x, y } = arrays(5, 20);
    await m1.fit(x, y, { task: 'a', epochs: 2, batchSize: 8, seed: 1 });
    await m2.fit(MultitaskDataset.fromTasks([{ name: 'a', data: Dataset.classification(x, I, y, 3) }]), {
      epochs: 2,
      batchSize: 8,
      seed: 1,
    });
    const l1 = await m1.getLearned();
    const l2 = await m2.getLearned();
    for (const k of Object.keys(l1)) expect(sameBits(l1[k]!, l2[k]!), k).toBe(true);
    await expect(m1.fit(x, y, {} as never)).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
    m1.dispose();
    m2.dispose();
  });
});

describe('predict output', () => {
  it('default logits; probabilities = float64 softmax of the logits', async () => {
    const m = await mlp();
    const { x } = arrays(6, 5);
    const logits = await m.predict(x);
    expect(sameBits(logits, await m.predict(x, { output: 'logits' }))).toBe(true);
    const p = await m.predict(x, { output: 'probabilities' });
    for (let r = 0; r < 5; r++) {
      const row = Array.from(logits.subarray(r * O, r * O + O));
      const mx = Math.max(...row);
      const z = row.reduce((s, v) => s + Math.exp(v - mx), 0);
      let sum = 0;
      for (let o = 0; o < O; o++) {
        expect(p[r * O + o]).toBeCloseTo(Math.exp(row[o]! - mx) / z, 6);
        sum += p[r * O + o]!;
      }
      expect(sum).toBeCloseTo(1, 5);
    }
    await expect(m.predict(x, { output: 'softmax' as never })).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
    const reg = await MLP.create({ inputSize: I, hidden: [3], outputSize: 2, loss: 'mse', seed: 1 });
    await expect(reg.predict(x, { output: 'probabilities' })).rejects.toMatchObject({ code: 'E_CONFIG' });
    m.dispose();
    reg.dispose();
  });

  it('multi-task probabilities: per-row task ids, padding gets probability 0', async () => {
    const m = await MultitaskModel.create({
      inputSize: I,
      hidden: 9,
      tasks: [
        { name: 'a', classes: 3 },
        { name: 'b', classes: 2 },
      ],
      seed: 1,
    });
    const { x } = arrays(7, 4);
    const p = await m.predict(x, Int32Array.from([0, 1, 1, 0]), { output: 'probabilities' });
    expect(p).toHaveLength(12);
    expect(p[1 * 3 + 2]).toBe(0);
    for (let r = 0; r < 4; r++) expect(p[r * 3]! + p[r * 3 + 1]! + p[r * 3 + 2]!).toBeCloseTo(1, 5);
    m.dispose();
  });
});

describe('summary() and toString()', () => {
  it('MLP: tensors, learned and frozen counts, seed, backend', async () => {
    const m = await MLP.create({ inputSize: I, hidden: [13], outputSize: O, seed: 42 });
    const lines: string[] = [];
    const text = m.summary((l) => lines.push(l));
    expect(lines.join('\n')).toBe(text);
    expect(text).toMatch(/layers\.0\.weight\s+\[13, 7\]\s+91\s+frozen\s+relu/);
    expect(text).toMatch(/layers\.0\.bias\s+\[13\]\s+13\s+learned/);
    expect(text).toContain('Learned values: 16');
    expect(text).toContain(`Frozen values: ${13 * 7 + 3 * 13}`);
    expect(text).toContain('Seed: 42');
    expect(text).toContain('Backend: cpu');
    expect(String(m)).toBe('MLP(7-13-3, relu, train bias, 16 learned / 130 frozen, seed 42, cpu)');
    m.dispose();
  });

  it('RNN and multi-task', async () => {
    const r = await RNN.create({ inputSize: 2, hidden: 8, outputSize: 1, seed: 9 });
    expect(r.summary()).toMatch(/recurrent\.weight\s+\[8, 8\]\s+64\s+frozen/);
    expect(r.summary()).toContain('Seed: 9');
    expect(String(r)).toMatch(/^RNN\(2-8-1, .*seed 9, cpu\)$/);
    const m = await MultitaskModel.create({
      inputSize: I,
      hidden: 9,
      tasks: [
        { name: 'a', classes: 3 },
        { name: 'b', classes: 2 },
      ],
      seed: 3,
    });
    expect(m.summary()).toMatch(/layers\.0\.weight\s+\[9, 7\]\s+63\s+frozen/);
    expect(m.summary()).toContain('Seed: 3');
    expect(String(m)).toMatch(/^MultitaskModel\(7-9, 2 tasks, train bias, .* seed 3, cpu\)$/);
    r.dispose();
    m.dispose();
  });
});

describe('metric names', () => {
  it('History, logs and evaluate say accuracy / val_accuracy; acc / val_acc are non-enumerable aliases', async () => {
    const m = await mlp();
    const { x, y } = arrays(8, 30);
    let seen: string[] = [];
    let alias = NaN;
    const h = await m.fit(x, y, {
      epochs: 2,
      validationSplit: 0.2,
      callbacks: [
        {
          onEpochEnd(_e, logs) {
            seen = Object.keys(logs);
            alias = logs.acc!;
          },
        },
      ],
    });
    expect(seen).toContain('accuracy');
    expect(seen).toContain('val_accuracy');
    expect(seen).not.toContain('acc');
    expect(alias).toBe(h.history.accuracy![1]);
    expect(h.history.acc).toBe(h.history.accuracy);
    expect(h.history.val_acc).toBe(h.history.val_accuracy);
    expect(h.last('val_acc')).toBe(h.last('val_accuracy'));
    expect(Object.keys(JSON.parse(JSON.stringify(h)).history)).not.toContain('acc');
    const ev = await m.evaluate(Dataset.classification(x, I, y, O));
    expect(typeof ev.accuracy).toBe('number');
    m.dispose();
  });
});
