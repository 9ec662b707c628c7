// Every async native call copies the typed arrays it reads on the JS thread (native/addon/
// binding_util.h): detaching or transferring them while the call runs frees their memory, and the
// call still gives the result of the values at call time, bit for bit (never a read of freed
// memory, never a crash). Labels changed after validation give E_LABEL_RANGE or the clean result.
// Run under AddressSanitizer by `npm run test:asan`, where a read of freed memory aborts.
import { describe, expect, it } from 'vitest';
import { BiasLearnError, Dataset, MLP, MultitaskModel, RNN, Rng } from '../src/index.js';
import { type Binding, nativeFor } from '../src/native/binding.js';
import { DETACHERS } from './helpers/detach.js';
import { randomLabels, randomNormalF32, sameBits } from './helpers/numeric.js';

type Arr = Float32Array | Int32Array | Float64Array;
type Result = Arr | number | { [k: string]: Result } | undefined;

/** The linear-algebra exports (native/addon/linalg_binding.cpp), untyped in Binding.Module. */
interface Linalg {
  linalgEigenvalues(a: Float64Array, n: number): Promise<{ re: Float64Array; im: Float64Array }>;
  linalgSolve(a: Float64Array, n: number, b: Float64Array, nrhs: number): Promise<Float64Array>;
  linalgSingularValues(a: Float64Array, m: number, n: number): Promise<Float64Array>;
}
const nat = nativeFor('cpu') as Binding.Module & Linalg;
const I = 64;
const N = 4096; // x: 4096 x 64 floats = 1 MiB, above malloc's mmap threshold: freed memory is unmapped
const O = 5;

/** Every typed array of a result, in key order, flattened to compare bit for bit. */
function leaves(r: Result, out: Arr[] = []): Arr[] {
  if (ArrayBuffer.isView(r)) out.push(r as Arr);
  else if (typeof r === 'number') out.push(Float64Array.of(r));
  else if (r && typeof r === 'object') for (const k of Object.keys(r).sort()) leaves(r[k]!, out);
  return out;
}
function sameResult(a: Result, b: Result): boolean {
  const la = leaves(a);
  const lb = leaves(b);
  return la.length === lb.length && la.every((x, i) => sameBits(x as Float32Array, lb[i] as Float32Array));
}
/** A call's outcome as a Promise, whether it throws synchronously (argument errors) or rejects. */
const settle = (f: () => Promise<unknown>): Promise<unknown> => Promise.resolve().then(f);
const clone = <T extends Arr>(a: T): T => a.slice() as T;

/**
 * call(arrays) on fresh copies gives the reference; then call(arrays) with every array detached
 * right after the call returns its Promise must give the same result, bit for bit, or (large float
 * inputs, copied once their destination is ready: native/addon/staged_copy.h) E_INVALID_ARG
 * saying the array was detached before the copy. Returns which of the two happened.
 */
async function detachedGivesCallTimeResult<A extends Arr[]>(
  arrays: [...A],
  call: (...a: A) => Promise<unknown>,
  detach: (a: Arr) => void,
): Promise<'same' | 'refused'> {
  const want = (await call(...(arrays.map(clone) as A))) as Result;
  const p = call(...arrays);
  for (const a of arrays) detach(a);
  for (const a of arrays) expect(a.length).toBe(0);
  let got: Result;
  try {
    got = (await p) as Result;
  } catch (err) {
    expect((err as { code?: string }).code, String(err)).toBe('E_INVALID_ARG');
    expect(String((err as Error).message)).toContain('detached or resized before the call copied it');
    return 'refused';
  }
  expect(sameResult(got, want)).toBe(true);
  return 'same';
}

const init = { dist: 'uniform' as const, scale: 1, relative: true };
const zeros = { dist: 'zeros' as const, scale: 0, relative: false };
const mlpSpec: Binding.MlpSpec = {
  seed: 3,
  loss: 'softmax-cross-entropy',
  optimizer: { kind: 'adam' },
  layers: [
    { in: I, out: 32, activation: 'relu', weightInit: init, biasInit: zeros, trainWeight: false, trainBias: true },
    { in: 32, out: O, activation: 'identity', weightInit: init, biasInit: zeros, trainWeight: false, trainBias: true },
  ],
};
const mtSpec: Binding.MultitaskSpec = {
  seed: 4,
  input: I,
  hidden: [16],
  activation: 'relu',
  weightInit: [init, init],
  biasInit: [zeros, zeros],
  classes: [O, O],
  perTaskReadout: false,
  mode: 'bias',
  maskInit: 1,
  optimizer: { kind: 'adam' },
};
const rnnSpec: Binding.RnnSpec = {
  inputSize: 3,
  hidden: 8,
  outputSize: 2,
  conditions: 1,
  activation: 'tanh',
  decay: 0,
  gain: 1,
  seed: 5,
  recurrentInit: init,
  inputInit: init,
  readoutInit: init,
  biasInit: zeros,
  stateInit: zeros,
  readoutBiasInit: zeros,
  feedbackInit: zeros,
  trainable: {
    recurrentWeight: false,
    inputWeight: false,
    readoutWeight: false,
    recurrentBias: true,
    readoutBias: false,
    initialState: false,
  },
  optimizer: { kind: 'adam' },
};

for (const [how, detach] of Object.entries(DETACHERS)) {
  describe(`inputs detached by ${how} while the call runs: the result of the values at call time`, () => {
    const rng = new Rng(7);
    const x = () => randomNormalF32(rng, N * I);
    const labels = () => randomLabels(rng, N, O);
    const idx = () => Int32Array.from({ length: N }, (_, i) => (i * 7) % N);

    it('datasets: createDataset (x, labels; x, values), createMultitaskDataset, createSeqDataset', async () => {
      const size = (d: { size: number }) => d.size;
      await detachedGivesCallTimeResult(
        [x(), labels()],
        async (a, l) => size(await nat.createDataset('cpu', a, I, l, O, null, 0)),
        detach,
      );
      await detachedGivesCallTimeResult(
        [x(), randomNormalF32(rng, N * 3)],
        async (a, v) => size(await nat.createDataset('cpu', a, I, null, 0, v, 3)),
        detach,
      );
      await detachedGivesCallTimeResult(
        [x(), labels(), new Int32Array(N).fill(1), Int32Array.of(O, O)],
        async (a, l, t, c) => size(await nat.createMultitaskDataset('cpu', a, I, l, t, c)),
        detach,
      );
      const [n, T] = [64, 32];
      await detachedGivesCallTimeResult(
        [randomNormalF32(rng, n * T * 3), randomNormalF32(rng, n * T * 2), new Float32Array(n * T).fill(1), new Int32Array(n)],
        async (a, y, w, c) => size(await nat.createSeqDataset('cpu', { n, steps: T, in: 3, out: 2, x: a, y, w, cond: c })),
        detach,
      );
    });

    it('MLP: predict, gradients (labels and values), train on indices, setParams', async () => {
      const m = await nat.createMlp(mlpSpec, 'cpu');
      const reg = await nat.createMlp({ ...mlpSpec, loss: 'mse' }, 'cpu');
      const ds = await nat.createDataset('cpu', x(), I, labels(), O, null, 0);
      try {
        expect(await detachedGivesCallTimeResult([x()], (a) => m.predict(a), detach)).toBe('refused');
        expect(await detachedGivesCallTimeResult([x().subarray(0, 8 * I)], (a) => m.predict(a), detach)).toBe('same');
        await detachedGivesCallTimeResult([x(), labels()], (a, l) => m.gradients(a, l, null), detach);
        await detachedGivesCallTimeResult([x(), randomNormalF32(rng, N * O)], (a, v) => reg.gradients(a, null, v), detach);
        const start = await m.getParams();
        const fresh = async () => {
          await m.setParams(start);
          await m.resetOptimizer();
        };
        await fresh();
        const want = await m.train(ds, idx(), 64, 0.01);
        await fresh();
        const i = idx();
        const pending = m.train(ds, i, 64, 0.01);
        detach(i);
        expect(sameResult((await pending) as unknown as Result, want as unknown as Result)).toBe(true);
        const p = await m.getParams();
        await detachedGivesCallTimeResult(
          [p['layers.0.bias']!.slice(), p['layers.1.bias']!.slice()],
          async (b0, b1) => {
            await m.setParams({ 'layers.0.bias': b0, 'layers.1.bias': b1 });
            return m.getParams();
          },
          detach,
        );
      } finally {
        m.dispose();
        reg.dispose();
      }
    });

    it('multi-task: predict, gradients, train on indices', async () => {
      const m = await nat.createMultitaskMlp(mtSpec, 'cpu');
      const tasks = () => Int32Array.from({ length: N }, (_, i) => i % 2);
      const ds = await nat.createMultitaskDataset('cpu', x(), I, labels(), tasks(), Int32Array.of(O, O));
      try {
        await detachedGivesCallTimeResult([x(), tasks()], (a, t) => m.predict(a, t, true, 1), detach);
        await detachedGivesCallTimeResult([x(), labels(), tasks()], (a, l, t) => m.gradients(a, l, t, 1), detach);
        await detachedGivesCallTimeResult([idx()], (i) => m.train(ds, i, 64, 0, 1, false), detach);
      } finally {
        m.dispose();
      }
    });

    it('RNN: train, predict and gradients on indices', async () => {
      const r = await nat.createRnn(rnnSpec, 'cpu');
      const [n, T] = [32, 16];
      const ds = await nat.createSeqDataset('cpu', {
        n,
        steps: T,
        in: 3,
        out: 2,
        x: randomNormalF32(rng, n * T * 3),
        y: randomNormalF32(rng, n * T * 2),
      });
      const seqIdx = () => Int32Array.from({ length: n }, (_, i) => n - 1 - i);
      try {
        await detachedGivesCallTimeResult([seqIdx()], (i) => r.predict(ds, i, {}, true), detach);
        await detachedGivesCallTimeResult([seqIdx()], (i) => r.gradients(ds, i, {}), detach);
        await detachedGivesCallTimeResult([seqIdx()], (i) => r.train(ds, i, 8, 0, {}), detach);
      } finally {
        r.dispose();
      }
    });

    it('linear algebra and the kernel probe', async () => {
      const n = 48;
      const rand64 = (k: number) => Float64Array.from(randomNormalF32(rng, k));
      await detachedGivesCallTimeResult([rand64(n * n)], (a) => nat.linalgEigenvalues(a, n), detach);
      await detachedGivesCallTimeResult([rand64(n * n), rand64(n * 2)], (a, b) => nat.linalgSolve(a, n, b, 2), detach);
      await detachedGivesCallTimeResult([rand64(n * 30)], (a) => nat.linalgSingularValues(a, n, 30), detach);
      const [M, K, Nn] = [64, 48, 32];
      await detachedGivesCallTimeResult(
        [randomNormalF32(rng, M * K), randomNormalF32(rng, K * Nn), new Float32Array(M * Nn)],
        (A, B, C) => nat.runKernel('cpu', 'gemm', { M, N: Nn, K, transA: false, transB: false, alpha: 1, beta: 0, A, B, C }),
        detach,
      );
    });
  });
}

describe('labels changed while a call runs or after validation', () => {
  for (const bad of [1000, -5e8]) {
    it(`MLP.fit with labels set to ${bad} right after the call: E_LABEL_RANGE or the clean result`, async () => {
      const rng = new Rng(9);
      const xs = randomNormalF32(rng, 200 * 6);
      const ys = randomLabels(rng, 200, 3);
      const run = async (mutate: boolean) => {
        const m = await MLP.create({ inputSize: 6, hidden: 8, outputSize: 3, seed: 2 });
        const ds = Dataset.classification(xs.slice(), 6, ys.slice(), 3);
        try {
          const p = m.fit(ds, { epochs: 1, batchSize: 16, seed: 1 });
          if (mutate) (ds.targets as { labels: Int32Array }).labels[17] = bad;
          await p;
          return await m.getLearned();
        } finally {
          m.dispose();
        }
      };
      const clean = await run(false);
      try {
        const got = await run(true);
        for (const k of Object.keys(clean)) expect(sameBits(got[k]!, clean[k]!), k).toBe(true);
      } catch (err) {
        expect(err).toBeInstanceOf(BiasLearnError);
        expect((err as BiasLearnError).code).toBe('E_LABEL_RANGE');
      }
    });
  }

  it('native gradients with labels out of range on the copy: E_LABEL_RANGE on every model kind', async () => {
    const m = await nat.createMlp(mlpSpec, 'cpu');
    const mt = await nat.createMultitaskMlp(mtSpec, 'cpu');
    try {
      for (const bad of [O, 1000, -1, -5e8]) {
        const l = new Int32Array(4).fill(1);
        l[2] = bad;
        await expect(m.gradients(new Float32Array(4 * I), l, null)).rejects.toMatchObject({ code: 'E_LABEL_RANGE' });
        await expect(mt.gradients(new Float32Array(4 * I), l, new Int32Array(4), 1)).rejects.toMatchObject({
          code: 'E_LABEL_RANGE',
        });
      }
    } finally {
      m.dispose();
      mt.dispose();
    }
  });
});

describe('sizes and numbers (issue 14, points 3 and 4)', () => {
  it('sizes over 2^32 elements are E_INVALID_ARG naming them; more than the memory is E_OOM naming the bytes', async () => {
    await expect(settle(() => nat.fillWeights('cpu', 1e5, 1e5, 1, 0, 'uniform', 1))).rejects.toMatchObject({
      code: 'E_INVALID_ARG',
      message: expect.stringContaining('100000 x 100000'),
    });
    await expect(settle(() => nat.benchGemm('cpu', 2 ** 20, 2 ** 20, 2 ** 20, 1, false))).rejects.toMatchObject({
      code: 'E_INVALID_ARG',
    });
    const big = {
      ...mlpSpec,
      layers: [{ ...mlpSpec.layers[0]!, activation: 'identity', in: 2 ** 20, out: 2 ** 20, trainWeight: true }],
    };
    await expect(nat.createMlp(big, 'cpu')).rejects.toMatchObject({
      code: 'E_OOM',
      message: expect.stringContaining('4398046511104 bytes'),
    });
    await expect(RNN.create({ inputSize: 1, hidden: 2 ** 20, outputSize: 1, seed: 1 })).rejects.toMatchObject({ code: 'E_OOM' });
    await expect(settle(() => nat.createSeqDataset('cpu', { n: 2 ** 30, steps: 2 ** 30, in: 0, out: 1 }))).rejects.toMatchObject({
      code: 'E_INVALID_ARG',
    });
  });

  it('integers past 2^32 are refused, never wrapped (native readers, linalg, kernel probe)', async () => {
    for (const v of [2 ** 32 + 2, 2 ** 53, -1, 1.5]) {
      await expect(settle(() => nat.fillWeights('cpu', v, 3, 1, 0, 'uniform', 1))).rejects.toMatchObject({
        code: 'E_INVALID_ARG',
      });
      await expect(settle(() => nat.benchGemm('cpu', v, 8, 8, 1, false))).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
      await expect(settle(() => nat.linalgEigenvalues(new Float64Array(4), v))).rejects.toMatchObject({
        code: 'E_INVALID_ARG',
      });
    }
    const a = new Float32Array(4);
    const gemm = { N: 2, K: 2, transA: false, transB: false, alpha: 1, beta: 0, A: a, B: a, C: new Float32Array(4) };
    await expect(nat.runKernel('cpu', 'gemm', { ...gemm, M: 2 ** 32 + 2 })).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
    await expect(nat.runKernel('cpu', 'gemm', { ...gemm, M: 2 })).resolves.toBeDefined();
  });

  it('predictions that overflow float32 are E_NONFINITE (MLP, multi-task, RNN); evaluate too; fit reports E_DIVERGED', async () => {
    const huge = new Float32Array(6 * 5).fill(3.4e38);
    const mlp = await MLP.create({ inputSize: 5, hidden: 6, outputSize: 3, seed: 1, loss: 'mse' });
    const mt = await MultitaskModel.create({ inputSize: 5, hidden: 6, tasks: [{ name: 'a', classes: 3 }], seed: 1 });
    const rnn = await nat.createRnn(
      { ...rnnSpec, trainable: { ...rnnSpec.trainable, readoutWeight: true, readoutBias: true } },
      'cpu',
    );
    try {
      await expect(mlp.predict(huge)).rejects.toMatchObject({ code: 'E_NONFINITE' });
      await expect(mt.predict(huge, 0)).rejects.toMatchObject({ code: 'E_NONFINITE' });
      const reg = Dataset.regression(huge, 5, new Float32Array(6 * 3), 3);
      await expect(mlp.evaluate(reg)).rejects.toMatchObject({ code: 'E_NONFINITE' });
      await expect(
        mlp.fit(Dataset.regression(new Float32Array(30), 5, new Float32Array(18), 3), { epochs: 1, validationData: reg }),
      ).rejects.toMatchObject({
        code: 'E_DIVERGED',
      });
      const p = await mlp.getLearned();
      for (const k of Object.keys(p)) p[k]!.fill(3.4e38);
      await mlp.setLearned(p);
      await expect(mlp.predict(new Float32Array(5).fill(1))).rejects.toMatchObject({ code: 'E_NONFINITE' });
      const rp = await rnn.getParams();
      for (const k of Object.keys(rp)) rp[k]!.fill(3.4e38);
      await rnn.setParams(rp);
      const seq = await nat.createSeqDataset('cpu', { n: 1, steps: 2, in: 3, out: 2, x: new Float32Array(6) });
      await expect(rnn.predict(seq, Int32Array.of(0), {}, false)).rejects.toMatchObject({ code: 'E_NONFINITE' });
    } finally {
      mlp.dispose();
      mt.dispose();
      rnn.dispose();
    }
  });
});
