// Native code re-validates what it reads, whatever TypeScript checked first (native/addon/
// binding_util.h): typed arrays changed after a dataset was validated give typed errors, never
// an out-of-bounds read; integers from JavaScript are safe integers in range, never wrapped
// modulo 2^32; seeds are integers in [0, 2^53 - 1].
import { describe, expect, it } from 'vitest';
import { BiasLearnError, Dataset, MLP, MultitaskDataset, MultitaskModel, RNN, Rng, SequenceDataset } from '../src/index.js';
import { nativeFor } from '../src/native/binding.js';
import { randomLabels, randomNormalF32, sameBits } from './helpers/numeric.js';

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

async function expectCode(p: Promise<unknown> | (() => unknown), code: string, what = ''): Promise<void> {
  expect(await codeOf(p), what).toBe(code);
}

const UNSAFE = [2 ** 32 + 8, 2 ** 53, -1, 1.5, NaN];
const I = 5,
  O = 3;

function classData(seed: number, n: number): Dataset {
  const rng = new Rng(seed);
  return Dataset.classification(randomNormalF32(rng, n * I), I, randomLabels(rng, n, O), O);
}

function multitaskData(seed: number, n: number): MultitaskDataset {
  const rng = new Rng(seed);
  return MultitaskDataset.fromTasks(
    [0, 1].map((k) => ({
      name: `t${k}`,
      data: Dataset.classification(randomNormalF32(rng, n * I), I, randomLabels(rng, n, O), O),
    })),
  );
}

function seqData(seed: number, n: number, conditions?: Int32Array): SequenceDataset {
  const rng = new Rng(seed);
  const T = 4;
  return SequenceDataset.create({
    inputs: randomNormalF32(rng, n * T * 2),
    targets: randomNormalF32(rng, n * T * 1),
    steps: T,
    inputSize: 2,
    outputSize: 1,
    ...(conditions ? { conditions } : {}),
  });
}

/** A multi-task model with two tasks t0, t1 of O classes each over I inputs. */
function twoTaskModel(hidden: number, seed: number): Promise<MultitaskModel> {
  return MultitaskModel.create({
    inputSize: I,
    hidden,
    tasks: [
      { name: 't0', classes: O },
      { name: 't1', classes: O },
    ],
    seed,
  });
}

describe('typed arrays changed after validation', () => {
  for (const bad of [-5e8, 1000]) {
    it(`MLP: labels set to ${bad} after the Dataset was built give E_LABEL_RANGE, and the model still works`, async () => {
      const ds = classData(1, 9);
      (ds.targets as { labels: Int32Array }).labels[4] = bad;
      const model = await MLP.create({ inputSize: I, hidden: 6, outputSize: O, seed: 1 });
      const e = await codeOf(model.fit(ds, { epochs: 1, batchSize: 4 }));
      expect(e).toBe('E_LABEL_RANGE');
      await expectCode(model.evaluate(ds), 'E_LABEL_RANGE');
      await expectCode(model.gradients(ds), 'E_LABEL_RANGE');
      await model.fit(classData(1, 9), { epochs: 1, batchSize: 4 });
      model.dispose();
    });

    it(`multi-task: labels or task ids set to ${bad} after validation give typed errors`, async () => {
      const model = await twoTaskModel(6, 2);
      const a = multitaskData(2, 6);
      (a.union.targets as { labels: Int32Array }).labels[3] = bad;
      await expectCode(model.fit(a, { epochs: 1, batchSize: 4 }), 'E_LABEL_RANGE');
      const b = multitaskData(3, 6);
      b.taskIds[2] = bad;
      expect(['E_INVALID_ARG', 'E_LABEL_RANGE']).toContain(await codeOf(model.fit(b, { epochs: 1, batchSize: 4 })));
      const c = multitaskData(4, 6);
      c.taskIds[1] = bad;
      await expectCode(model.gradients(c), 'E_INVALID_ARG');
      model.dispose();
    });
  }

  it('RNN: condition indices set to -5e8 or 1000 after validation give typed errors', async () => {
    const rnn = await RNN.create({ inputSize: 2, hidden: 5, outputSize: 1, seed: 3 });
    const a = seqData(1, 4);
    a.conditions[1] = -5e8;
    await expectCode(rnn.fit(a, { epochs: 1, batchSize: 2 }), 'E_INVALID_ARG');
    const b = seqData(2, 4);
    b.conditions[2] = 1000;
    await expectCode(rnn.fit(b, { epochs: 1, batchSize: 2 }), 'E_SHAPE');
    rnn.dispose();
  });

  it('a dataset uploaded before the change keeps its own copy: training is unaffected', async () => {
    const ds = classData(5, 8);
    const m1 = await MLP.create({ inputSize: I, hidden: 6, outputSize: O, seed: 4 });
    const m2 = await MLP.create({ inputSize: I, hidden: 6, outputSize: O, seed: 4 });
    await m1.fit(ds, { epochs: 1, batchSize: 4, shuffle: false });
    await m2.fit(classData(5, 8), { epochs: 1, batchSize: 4, shuffle: false });
    (ds.targets as { labels: Int32Array }).labels.fill(1000);
    await m1.fit(ds, { epochs: 1, batchSize: 4, shuffle: false });
    await m2.fit(classData(5, 8), { epochs: 1, batchSize: 4, shuffle: false });
    const [p1, p2] = [await m1.getLearned(), await m2.getLearned()];
    for (const k of Object.keys(p1)) expect(sameBits(p1[k]!, p2[k]!), k).toBe(true);
    m1.dispose();
    m2.dispose();
  });
});

describe('lengths and ranges checked natively (direct calls to the addon)', () => {
  const nat = nativeFor('cpu');
  const init = { dist: 'uniform' as const, scale: 1, relative: true };
  const zeros = { dist: 'zeros' as const, scale: 0, relative: false };
  const mlpSpec = (over: Record<string, unknown> = {}) => ({
    seed: 1,
    loss: 'softmax-cross-entropy' as const,
    optimizer: { kind: 'adam' as const },
    layers: [
      { in: I, out: 4, activation: 'relu', weightInit: init, biasInit: zeros, trainWeight: false, trainBias: true },
      { in: 4, out: O, activation: 'identity', weightInit: init, biasInit: zeros, trainWeight: false, trainBias: true },
    ],
    ...over,
  });

  it('Mlp gradients: short labels or values are E_SHAPE, labels out of range E_LABEL_RANGE', async () => {
    const m = await nat.createMlp(mlpSpec(), 'cpu');
    const x = new Float32Array(4 * I);
    await expectCode(() => m.gradients(x, new Int32Array(2), null), 'E_SHAPE');
    await expectCode(() => m.gradients(x, null, null), 'E_INVALID_ARG');
    await expectCode(() => m.gradients(x, Int32Array.from([0, 1, 2, 1000]), null), 'E_LABEL_RANGE');
    await expectCode(() => m.gradients(x, Int32Array.from([0, -5e8, 2, 1]), null), 'E_LABEL_RANGE');
    await expectCode(() => m.gradients(new Float32Array(I + 1), new Int32Array(1), null), 'E_SHAPE');
    const r = await m.gradients(x, Int32Array.from([0, 1, 2, 1]), null);
    expect(Object.keys(r.grads).sort()).toEqual(['layers.0.bias', 'layers.1.bias']);
    m.dispose();
  });

  it('datasets: labels out of range, short arrays and unsafe sizes are typed errors', async () => {
    const x = new Float32Array(3 * I);
    await expectCode(() => nat.createDataset('cpu', x, I, Int32Array.from([0, 1, 1000]), O, null, 0), 'E_LABEL_RANGE');
    await expectCode(() => nat.createDataset('cpu', x, I, Int32Array.from([0, 1]), O, null, 0), 'E_SHAPE');
    await expectCode(() => nat.createDataset('cpu', x, I, null, 0, new Float32Array(5), 2), 'E_SHAPE');
    await expectCode(() => nat.createDataset('cpu', x, 2 ** 32 + I, Int32Array.from([0, 1, 2]), O, null, 0), 'E_INVALID_ARG');
    await expectCode(
      () =>
        nat.createMultitaskDataset('cpu', x, I, Int32Array.from([0, 1, 2]), Int32Array.from([0, 5, 1]), Int32Array.from([O, O])),
      'E_INVALID_ARG',
    );
  });

  it('a non-boolean where a boolean is expected is E_INVALID_ARG, not a fallback', async () => {
    const bad = mlpSpec();
    (bad.layers[0] as Record<string, unknown>).trainBias = 'yes';
    await expectCode(() => nat.createMlp(bad, 'cpu'), 'E_INVALID_ARG');
    await expectCode(() => nat.createMlp(mlpSpec({ optimizer: { kind: 'sgd', nesterov: 1 } }), 'cpu'), 'E_INVALID_ARG');
    const m = await nat.createMlp(mlpSpec(), 'cpu');
    const ds = await nat.createDataset('cpu', new Float32Array(4 * I), I, Int32Array.from([0, 1, 2, 0]), O, null, 0);
    await expectCode(() => m.train(ds, Int32Array.from([0, 1]), 2, 0.1, 1 as unknown as boolean), 'E_INVALID_ARG');
    m.dispose();
  });

  it('batch sizes are never wrapped modulo 2^32 on any model kind', async () => {
    const m = await nat.createMlp(mlpSpec(), 'cpu');
    const ds = await nat.createDataset('cpu', new Float32Array(4 * I), I, Int32Array.from([0, 1, 2, 0]), O, null, 0);
    for (const b of UNSAFE) {
      await expectCode(() => m.train(ds, Int32Array.from([0, 1, 2, 3]), b, 0.1), 'E_INVALID_ARG', `mlp train ${b}`);
      await expectCode(() => m.evaluate(ds, b), 'E_INVALID_ARG', `mlp evaluate ${b}`);
    }
    m.dispose();
  });
});

describe('unsafe integers from JavaScript on every model kind', () => {
  for (const v of UNSAFE) {
    it(`batch size ${v} is E_INVALID_ARG (MLP, multi-task, RNN)`, async () => {
      const mlp = await MLP.create({ inputSize: I, hidden: 4, outputSize: O, seed: 1 });
      const ds = classData(1, 8);
      await expectCode(mlp.fit(ds, { batchSize: v }), 'E_INVALID_ARG');
      await expectCode(mlp.evaluate(ds, { batchSize: v }), 'E_INVALID_ARG');
      await expectCode(mlp.trainIndices(ds, Int32Array.from([0, 1, 2]), v, 0.1), 'E_INVALID_ARG');
      mlp.dispose();
      const mt = await twoTaskModel(4, 1);
      const md = multitaskData(1, 4);
      await expectCode(mt.fit(md, { batchSize: v }), 'E_INVALID_ARG');
      await expectCode(mt.trainIndices(md, Int32Array.from([0, 1, 2]), v, 0.1), 'E_INVALID_ARG');
      mt.dispose();
      const rnn = await RNN.create({ inputSize: 2, hidden: 4, outputSize: 1, seed: 1 });
      const sd = seqData(1, 4);
      await expectCode(rnn.fit(sd, { batchSize: v }), 'E_INVALID_ARG');
      rnn.dispose();
    });

    it(`width ${v} is E_INVALID_ARG (MLP, multi-task, RNN)`, async () => {
      await expectCode(MLP.create({ inputSize: I, hidden: v, outputSize: O }), 'E_INVALID_ARG');
      await expectCode(MLP.create({ inputSize: v, hidden: 4, outputSize: O }), 'E_INVALID_ARG');
      await expectCode(MultitaskModel.create({ inputSize: I, hidden: v, tasks: [{ name: 't0', classes: O }] }), 'E_INVALID_ARG');
      await expectCode(RNN.create({ inputSize: 2, hidden: v, outputSize: 1 }), 'E_INVALID_ARG');
      await expectCode(RNN.create({ inputSize: 2, hidden: 4, outputSize: v }), 'E_INVALID_ARG');
    });

    it(`seed ${v} is ${v === 2 ** 32 + 8 ? 'a valid seed' : 'E_INVALID_ARG'} (MLP, multi-task, RNN)`, async () => {
      if (v === 2 ** 32 + 8) return; // a safe integer below 2^53: valid (next test)
      await expectCode(MLP.create({ inputSize: I, hidden: 4, outputSize: O, seed: v }), 'E_INVALID_ARG');
      await expectCode(
        MultitaskModel.create({ inputSize: I, hidden: 4, tasks: [{ name: 't0', classes: O }], seed: v }),
        'E_INVALID_ARG',
      );
      await expectCode(RNN.create({ inputSize: 2, hidden: 4, outputSize: 1, seed: v }), 'E_INVALID_ARG');
    });
  }

  it('seeds are integers in [0, 2^53 - 1]: 2^32 does not alias 0, 2^53 - 1 is accepted', async () => {
    const w = async (seed: number) => {
      const m = await MLP.create({ inputSize: I, hidden: 4, outputSize: O, seed });
      const t = await m.weights(0);
      m.dispose();
      return t;
    };
    const [a, b, c] = [await w(0), await w(2 ** 32), await w(2 ** 53 - 1)];
    expect(sameBits(a, b)).toBe(false);
    expect(sameBits(b, c)).toBe(false);
    const nat = nativeFor('cpu');
    await expectCode(() => nat.fillWeights('cpu', 2, 2, 2 ** 53, 0, 'uniform', 1), 'E_INVALID_ARG');
    await expectCode(() => nat.fillWeights('cpu', 2 ** 32 + 2, 2, 0, 0, 'uniform', 1), 'E_INVALID_ARG');
    expect(BiasLearnError).toBeDefined();
  });
});
