/**
 * Optimizer state (native/train/params.h state_slots, src/model/optimizer_state.ts): a model that
 * takes another's learned values and optimizer state continues exactly as the original would, bit
 * for bit, for every optimizer with state and every model kind (per-task step counts included);
 * bad states are typed errors.
 */
import { describe, expect, it } from 'vitest';
import {
  Dataset,
  MLP,
  MultitaskDataset,
  MultitaskModel,
  type OptimizerOptions,
  RNN,
  Rng,
  SequenceDataset,
} from '../src/index.js';
import { randomLabels, randomNormalF32, sameBits } from './helpers/numeric.js';

const OPTIMIZERS: { opt: OptimizerOptions; buffers: string[] }[] = [
  { opt: { type: 'adam', lr: 0.03 }, buffers: ['exp_avg', 'exp_avg_sq'] },
  { opt: { type: 'adamw', lr: 0.03, weightDecay: 0.1 }, buffers: ['exp_avg', 'exp_avg_sq'] },
  { opt: { type: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true }, buffers: ['momentum_buffer'] },
  { opt: { type: 'sgd', lr: 0.1 }, buffers: [] },
];

type Learned = Record<string, Float32Array>;
function expectSameBits(a: Learned, b: Learned): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(a)) expect(sameBits(a[k]!, b[k]!), k).toBe(true);
}

const rng = new Rng(77);
const I = 7;
const mlpData = Dataset.classification(randomNormalF32(rng, 23 * I), I, randomLabels(rng, 23, 3), 3);
const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

describe('optimizer state: resume bit for bit', () => {
  for (const { opt, buffers } of OPTIMIZERS) {
    const label = `${opt.type}${opt.momentum ? ' momentum' : ''}`;
    it(`MLP, ${label}: names, sizes and continued training`, async () => {
      const make = () => MLP.create({ inputSize: I, hidden: [9], outputSize: 3, train: 'full', seed: 2, optimizer: opt });
      const a = await make();
      await a.trainIndices(mlpData, all(23), 5, opt.lr!);
      const state = await a.getOptimizerState();
      expect(state.steps).toEqual([5]);
      const expected = a.learnedTensors().flatMap((t) => buffers.map((b) => `${t.name}.${b}`));
      expect(Object.keys(state.tensors).sort()).toEqual(expected.sort());
      for (const t of a.learnedTensors()) for (const b of buffers) expect(state.tensors[`${t.name}.${b}`]!.length).toBe(t.size);
      const b = await make();
      await b.setLearned(await a.getLearned());
      await b.setOptimizerState(state);
      for (const m of [a, b]) await m.trainIndices(mlpData, all(23), 4, opt.lr!);
      expectSameBits(await a.getLearned(), await b.getLearned());
      a.dispose();
      b.dispose();
    });
  }

  it('multi-task (bias, Adam): per-task step counts survive, only the trained task moves on', async () => {
    const tasks = ['a', 'b', 'c'].map((name, k) => ({
      name,
      data: Dataset.classification(randomNormalF32(rng, 11 * I), I, randomLabels(rng, 11, 2 + k), 2 + k),
    }));
    const data = MultitaskDataset.fromTasks(tasks);
    const make = () =>
      MultitaskModel.create({
        inputSize: I,
        hidden: 6,
        seed: 3,
        tasks: tasks.map((t) => ({ name: t.name, classes: t.data.outputSize })),
        optimizer: { type: 'adam', lr: 0.05 },
      });
    const a = await make();
    await a.trainIndices(data, all(22), 4, 0.05); // tasks a and b only (rows 0..21)
    const state = await a.getOptimizerState();
    expect(state.steps[0]).toBe(0);
    expect(state.steps.slice(1).every((s, k) => (k < 2 ? s > 0 : s === 0))).toBe(true);
    const b = await make();
    await b.setLearned(await a.getLearned());
    await b.setOptimizerState(state);
    for (const m of [a, b]) await m.trainIndices(data, all(33), 7, 0.05);
    expectSameBits(await a.getLearned(), await b.getLearned());
    a.dispose();
    b.dispose();
  });

  it('RNN (bias + initial state, Adam, BPTT)', async () => {
    const T = 9;
    const seqs = SequenceDataset.create({
      inputs: randomNormalF32(rng, 5 * T * 2),
      targets: randomNormalF32(rng, 5 * T),
      steps: T,
      inputSize: 2,
      outputSize: 1,
    });
    const make = () =>
      RNN.create({
        inputSize: 2,
        hidden: 13,
        outputSize: 1,
        learnInitialState: true,
        seed: 4,
        optimizer: { type: 'adam', lr: 0.02 },
      });
    const a = await make();
    await a.fit(seqs, { epochs: 2, batchSize: 2, shuffle: false });
    const b = await make();
    await b.setLearned(await a.getLearned());
    await b.setOptimizerState(await a.getOptimizerState());
    for (const m of [a, b]) await m.fit(seqs, { epochs: 1, batchSize: 2, shuffle: false });
    expectSameBits(await a.getLearned(), await b.getLearned());
    a.dispose();
    b.dispose();
  });
});

describe('optimizer state: bad input is a typed error', () => {
  it('wrong sizes, missing buffers, step counts and non-objects', async () => {
    const m = await MLP.create({ inputSize: I, hidden: [5], outputSize: 3, seed: 1, optimizer: { type: 'adam', lr: 0.01 } });
    const good = await m.getOptimizerState();
    const name = Object.keys(good.tensors)[0]!;
    await expect(
      m.setOptimizerState({ steps: good.steps, tensors: { ...good.tensors, [name]: new Float32Array(1) } }),
    ).rejects.toMatchObject({ code: 'E_SHAPE' });
    const { [name]: _dropped, ...missing } = good.tensors;
    await expect(m.setOptimizerState({ steps: good.steps, tensors: missing })).rejects.toMatchObject({ code: 'E_DTYPE' });
    await expect(m.setOptimizerState({ steps: [1, 2], tensors: good.tensors })).rejects.toMatchObject({ code: 'E_SHAPE' });
    await expect(m.setOptimizerState({ steps: [-1], tensors: good.tensors })).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
    await expect(m.setOptimizerState({ steps: [2 ** 53], tensors: good.tensors })).rejects.toMatchObject({
      code: 'E_INVALID_ARG',
    });
    const nan = { ...good.tensors, [name]: new Float32Array(good.tensors[name]!.length).fill(Number.NaN) };
    await expect(m.setOptimizerState({ steps: good.steps, tensors: nan })).rejects.toMatchObject({ code: 'E_NONFINITE' });
    await expect(m.setOptimizerState(null as never)).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
    m.dispose();
  });
});
