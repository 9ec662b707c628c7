/**
 * Typed errors, never a crash, a hang or a silent NaN: every failure is a BiasLearnError (or a
 * subclass) with a stable code and a message naming the offending value.
 */
import { describe, it, expect } from 'vitest';
import {
  BackendUnavailableError,
  BiasLearnError,
  Dataset,
  MLP,
  Rng,
  ValidationError,
  cudaAvailable,
  type MLPOptions,
} from '../src/index.js';
import { native } from '../src/native/binding.js';
import { randomLabels, randomNormalF32 } from './helpers/numeric.js';

const BASE: MLPOptions = { inputSize: 4, hidden: [8], outputSize: 3 };

/** Runs `f` (sync throw or rejected promise) and returns the error it raised. */
async function errorOf(f: () => unknown): Promise<unknown> {
  try {
    await f();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, but the call succeeded');
}

async function expectCode(
  f: () => unknown,
  code: string,
  cls: typeof BiasLearnError = BiasLearnError,
  mention?: string | RegExp,
): Promise<BiasLearnError> {
  const err = await errorOf(f);
  expect(err).toBeInstanceOf(cls);
  expect((err as BiasLearnError).code).toBe(code);
  if (mention !== undefined) {
    if (typeof mention === 'string') expect((err as Error).message).toContain(mention);
    else expect((err as Error).message).toMatch(mention);
  }
  return err as BiasLearnError;
}

function classification(n: number, inputSize: number, classes: number, seed = 1): Dataset {
  const rng = new Rng(seed);
  return Dataset.classification(randomNormalF32(rng, n * inputSize), inputSize, randomLabels(rng, n, classes), classes);
}

function regression(n: number, inputSize: number, width: number, seed = 1): Dataset {
  const rng = new Rng(seed);
  return Dataset.regression(randomNormalF32(rng, n * inputSize), inputSize, randomNormalF32(rng, n * width), width);
}

describe('MLP.create rejects bad configurations with ValidationError', () => {
  const CASES: { what: string; opts: MLPOptions; mention: string }[] = [
    { what: 'width 0', opts: { ...BASE, hidden: [8, 0] }, mention: 'hidden[1], got 0' },
    { what: 'negative width', opts: { ...BASE, hidden: [-3] }, mention: 'got -3' },
    { what: 'non-integer width', opts: { ...BASE, hidden: [2.5] }, mention: 'got 2.5' },
    { what: 'inputSize 0', opts: { ...BASE, inputSize: 0 }, mention: 'inputSize, got 0' },
    { what: 'outputSize NaN', opts: { ...BASE, outputSize: NaN }, mention: 'outputSize, got NaN' },
    { what: 'unknown activation', opts: { ...BASE, activation: 'swish' as 'relu' }, mention: '"swish"' },
    { what: 'unknown train mode', opts: { ...BASE, train: 'weights' as 'bias' }, mention: '"weights"' },
    { what: 'unknown loss', opts: { ...BASE, loss: 'hinge' as 'mse' }, mention: '"hinge"' },
    { what: 'bad init dist', opts: { ...BASE, weightInit: { dist: 'cauchy' as 'normal' } }, mention: '"cauchy"' },
    { what: 'negative init scale', opts: { ...BASE, biasInit: { dist: 'uniform', scale: -1 } }, mention: 'got -1' },
    { what: 'non-integer seed', opts: { ...BASE, seed: 1.5 }, mention: 'seed, got 1.5' },
    { what: 'negative seed', opts: { ...BASE, seed: -2 }, mention: 'seed, got -2' },
    { what: 'unknown optimizer', opts: { ...BASE, optimizer: { type: 'rmsprop' as 'adam' } }, mention: '"rmsprop"' },
    { what: 'learning rate 0', opts: { ...BASE, optimizer: { lr: 0 } }, mention: 'optimizer.lr, got 0' },
    { what: 'unknown backend', opts: { ...BASE, backend: 'tpu' as 'cpu' }, mention: '"tpu"' },
  ];
  for (const c of CASES) {
    it(`${c.what} -> E_INVALID_ARG naming the value`, async () => {
      await expectCode(() => MLP.create(c.opts), 'E_INVALID_ARG', ValidationError, c.mention);
    });
  }

  it('a per-layer train list of the wrong length -> E_CONFIG; nothing to train -> E_CONFIG', async () => {
    await expectCode(
      () => MLP.create({ ...BASE, train: { layers: [{ weight: true, bias: true }] } }),
      'E_CONFIG',
      ValidationError,
      'got 1',
    );
    await expectCode(
      () =>
        MLP.create({
          ...BASE,
          train: {
            layers: [
              { weight: false, bias: false },
              { weight: false, bias: false },
            ],
          },
        }),
      'E_CONFIG',
      ValidationError,
      'nothing to train',
    );
    await expectCode(() => MLP.create({ ...BASE, weightInit: [{}, {}, {}] }), 'E_CONFIG', ValidationError, 'got 3');
  });
});

describe('predict rejects bad inputs', () => {
  it('wrong length -> E_SHAPE, Float64Array -> E_DTYPE, NaN / Inf -> E_NONFINITE, empty -> E_EMPTY', async () => {
    const model = await MLP.create(BASE);
    await expectCode(() => model.predict(new Float32Array(7)), 'E_SHAPE', ValidationError, 'got 7');
    await expectCode(
      () => model.predict(new Float64Array(8) as unknown as Float32Array),
      'E_DTYPE',
      ValidationError,
      'Float64Array',
    );
    await expectCode(() => model.predict([1, 2, 3, 4] as unknown as Float32Array), 'E_DTYPE', ValidationError);
    const nan = new Float32Array(8).fill(0.5);
    nan[6] = NaN;
    await expectCode(() => model.predict(nan), 'E_NONFINITE', ValidationError, 'row 1, column 2');
    const inf = new Float32Array(8).fill(0.5);
    inf[1] = -Infinity;
    await expectCode(() => model.predict(inf), 'E_NONFINITE', ValidationError, '-Infinity');
    await expectCode(() => model.predict(new Float32Array(0)), 'E_EMPTY', ValidationError);
    // the model still works after all of that
    const ok = await model.predict(new Float32Array(8).fill(0.25));
    expect(ok.length).toBe(6);
    expect(ok.every(Number.isFinite)).toBe(true);
    model.dispose();
  });

  it('the native layer checks too (defence in depth): E_DTYPE, E_EMPTY, E_SHAPE', async () => {
    const model = await MLP.create(BASE);
    // reach the native handle the way MLP does internally
    const handle = (model as unknown as { native: { live(): { predict(x: unknown): Promise<Float32Array> } } }).native.live();
    await expect(Promise.resolve().then(() => handle.predict(new Float64Array(8)))).rejects.toMatchObject({ code: 'E_DTYPE' });
    await expect(Promise.resolve().then(() => handle.predict(new Float32Array(0)))).rejects.toMatchObject({ code: 'E_EMPTY' });
    await expect(Promise.resolve().then(() => handle.predict(new Float32Array(5)))).rejects.toMatchObject({ code: 'E_SHAPE' });
    model.dispose();
  });
});

describe('datasets and fit', () => {
  it('a label out of range -> E_LABEL_RANGE naming the label', async () => {
    const x = new Float32Array(3 * 4).fill(0.1);
    await expectCode(
      () => Dataset.classification(x, 4, Int32Array.from([0, 3, 1]), 3),
      'E_LABEL_RANGE',
      ValidationError,
      'got 3',
    );
    await expectCode(
      () => Dataset.classification(x, 4, Int32Array.from([0, -1, 1]), 3),
      'E_LABEL_RANGE',
      ValidationError,
      'got -1',
    );
  });

  it('fit with the wrong input size -> E_SHAPE; wrong class count -> E_SHAPE', async () => {
    const model = await MLP.create(BASE);
    await expectCode(() => model.fit(classification(10, 5, 3)), 'E_SHAPE', ValidationError, 'got 5');
    await expectCode(() => model.fit(classification(10, 4, 4)), 'E_SHAPE', ValidationError, 'got 4');
    await expectCode(
      () => model.fit(classification(10, 4, 3), { validationData: classification(10, 6, 3) }),
      'E_SHAPE',
      ValidationError,
      'got 6',
    );
    model.dispose();
  });

  it('fit reports bad data by rejecting its promise, not by throwing synchronously', async () => {
    const model = await MLP.create(BASE);
    let result: unknown;
    try {
      result = model.fit(classification(10, 5, 3));
    } catch (err) {
      result = `threw synchronously: ${(err as Error).message}`;
    }
    expect(result).toBeInstanceOf(Promise);
    await expect(result as Promise<unknown>).rejects.toMatchObject({ code: 'E_SHAPE' });
    model.dispose();
  });

  it('regression data for a classifier (and the reverse) -> E_CONFIG', async () => {
    const clf = await MLP.create(BASE);
    await expectCode(() => clf.fit(regression(10, 4, 3)), 'E_CONFIG', ValidationError, 'regression');
    const reg = await MLP.create({ ...BASE, loss: 'mse' });
    await expectCode(() => reg.fit(classification(10, 4, 3)), 'E_CONFIG', ValidationError, 'classification');
    clf.dispose();
    reg.dispose();
  });

  it('bad fit options -> E_INVALID_ARG', async () => {
    const model = await MLP.create(BASE);
    const ds = classification(10, 4, 3);
    await expectCode(() => model.fit(ds, { epochs: 0 }), 'E_INVALID_ARG', ValidationError, 'epochs');
    await expectCode(() => model.fit(ds, { batchSize: 1.5 }), 'E_INVALID_ARG', ValidationError, 'batchSize');
    await expectCode(() => model.fit(ds, { validationSplit: 1 }), 'E_INVALID_ARG', ValidationError, 'validationSplit');
    await expectCode(() => model.fit(ds, { callbacks: [{} as never] }), 'E_INVALID_ARG', ValidationError, 'callbacks[0]');
    model.dispose();
  });

  describe('an absurd learning rate rejects with E_DIVERGED instead of returning NaN', () => {
    const CASES: { what: string; opts: MLPOptions; ds: () => Dataset }[] = [
      {
        what: "sgd lr 1e30, 'full', softmax-cross-entropy",
        opts: { ...BASE, train: 'full', optimizer: { type: 'sgd', lr: 1e30 } },
        ds: () => classification(64, 4, 3),
      },
      {
        what: "sgd lr 1e30, 'bias', mse",
        opts: { ...BASE, loss: 'mse', optimizer: { type: 'sgd', lr: 1e30 } },
        ds: () => regression(64, 4, 3),
      },
      {
        what: "sgd lr 1e38, 'bias', softmax-cross-entropy",
        opts: { ...BASE, optimizer: { type: 'sgd', lr: 1e38 } },
        ds: () => classification(64, 4, 3),
      },
    ];
    for (const c of CASES) {
      it(c.what, async () => {
        const model = await MLP.create(c.opts);
        const err = await errorOf(() => model.fit(c.ds(), { epochs: 3, batchSize: 8 }));
        if (!(err instanceof BiasLearnError)) throw err;
        expect(err.code).toBe('E_DIVERGED');
        expect(err.message).toMatch(/diverged/);
        model.dispose();
      });
    }

    it("sgd lr 1e30, 'bias', softmax-cross-entropy: either E_DIVERGED or finite losses and outputs, never NaN", async () => {
      // Bias-only softmax training has bounded gradients, so lr 1e30 wrecks the model (losses
      // ~1e29) without overflowing float32; that is not divergence by the library's definition
      // (a non-finite loss), but nothing may come back NaN.
      const model = await MLP.create({ ...BASE, optimizer: { type: 'sgd', lr: 1e30 } });
      const ds = classification(64, 4, 3);
      try {
        const h = await model.fit(ds, { epochs: 3, batchSize: 8, validationData: ds });
        for (const k of ['loss', 'acc', 'val_loss', 'val_acc']) expect(h.history[k]!.every(Number.isFinite), k).toBe(true);
        expect((await model.predict(ds.x)).every(Number.isFinite)).toBe(true);
      } catch (err) {
        expect((err as BiasLearnError).code).toBe('E_DIVERGED');
      }
      model.dispose();
    });

    it('one step whose result has a non-finite validation loss is reported as E_DIVERGED, not returned as val_loss Infinity', async () => {
      // One batch, one epoch: the only training loss is computed before the update, so only the
      // validation pass can see that the update blew the model up.
      const model = await MLP.create({ ...BASE, loss: 'mse', optimizer: { type: 'sgd', lr: 1e30 } });
      const ds = regression(16, 4, 3);
      let outcome: string;
      try {
        const h = await model.fit(ds, { epochs: 1, batchSize: 16, validationData: ds });
        outcome = `returned val_loss ${h.last('val_loss')}`;
      } catch (err) {
        outcome = (err as BiasLearnError).code;
      }
      expect(outcome).toBe('E_DIVERGED');
      model.dispose();
    });
  });

  it('a second concurrent fit rejects with E_CONCURRENT and the first completes', async () => {
    const model = await MLP.create(BASE);
    const ds = classification(2000, 4, 3);
    const first = model.fit(ds, { epochs: 2, batchSize: 16 });
    const second = model.fit(ds, { epochs: 1 });
    await expectCode(() => second, 'E_CONCURRENT', BiasLearnError, 'already running');
    const h = await first;
    expect(h.epoch).toEqual([0, 1]);
    expect(h.history.loss!.every(Number.isFinite)).toBe(true);
    // and fit works again afterwards
    await expect(model.fit(ds, { epochs: 1 })).resolves.toBeDefined();
    model.dispose();
  });

  it('using a disposed model -> E_DISPOSED (dispose twice is fine)', async () => {
    const model = await MLP.create(BASE);
    model.dispose();
    model.dispose();
    const x = new Float32Array(4).fill(0.1);
    await expectCode(() => model.predict(x), 'E_DISPOSED', BiasLearnError, 'disposed');
    await expectCode(() => model.fit(classification(10, 4, 3)), 'E_DISPOSED');
    await expectCode(() => model.evaluate(classification(10, 4, 3)), 'E_DISPOSED');
    await expectCode(() => model.gradients(classification(4, 4, 3)), 'E_DISPOSED');
    await expectCode(() => model.getLearned(), 'E_DISPOSED');
    await expectCode(() => model.weights(0), 'E_DISPOSED');
    await expectCode(() => model.learnedTensors(), 'E_DISPOSED');
    await expectCode(() => model.save('/tmp/never-written.blck'), 'E_DISPOSED');
  });
});

describe('backends and kernels', () => {
  it.skipIf(cudaAvailable())("backend 'cuda' when unavailable -> BackendUnavailableError with a reason", async () => {
    const err = await expectCode(
      () => MLP.create({ ...BASE, backend: 'cuda' }),
      'E_BACKEND_UNAVAILABLE',
      BackendUnavailableError,
    );
    expect(err.message).toMatch(/cuda/i);
    expect(err.message.length).toBeGreaterThan(30); // says why (not built / no device), not just "unavailable"
  });

  it('runKernel with an unknown op -> E_INVALID_ARG; an unknown backend -> E_INVALID_ARG', async () => {
    await expect(native().runKernel('cpu', 'matmul_please', {})).rejects.toMatchObject({
      code: 'E_INVALID_ARG',
      message: expect.stringContaining('matmul_please'),
    });
    await expect(Promise.resolve().then(() => native().runKernel('tpu', 'gemm', {}))).rejects.toMatchObject({
      code: 'E_INVALID_ARG',
    });
  });
});
