/**
 * The generic training loop (src/train/fit.ts): fit over any FitSource (a toy source, an RNN's
 * SequenceDataset with no stand-in), one CallbackList (order, `this` binding, model hooks before
 * the user's and History last), plain-object callbacks with a typed `this.model` for every
 * model kind, the multi-task run state kept off the model (mask-slope schedule reproduced bit for
 * bit by hand), and unknown option keys refused with E_INVALID_ARG naming the key.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  BiasLearnError,
  Callback,
  CallbackList,
  Dataset,
  MLP,
  MultitaskDataset,
  MultitaskModel,
  RNN,
  Rng,
  type SequenceDataset,
  fit,
  maskSlopeAt,
  type FitState,
  type FitTarget,
  type Logs,
  type MultitaskFitState,
  type PassStats,
} from '../src/index.js';
import { randomLabels, randomNormalF32, sameBits } from './helpers/numeric.js';
import { errorOf } from './helpers/errors.js';
import { randomSeqs } from './helpers/sequences.js';

function classification(n: number, inputSize: number, classes: number, seed = 1): Dataset {
  const rng = new Rng(seed);
  return Dataset.classification(randomNormalF32(rng, n * inputSize), inputSize, randomLabels(rng, n, classes), classes);
}

function tasks(classes: number[], n: number, I: number, seed: number): MultitaskDataset {
  return MultitaskDataset.fromTasks(classes.map((c, k) => ({ name: `t${k}`, data: classification(n, I, c, seed * 10 + k) })));
}

async function expectUnknownKey(f: () => unknown, key: string): Promise<void> {
  const e = await errorOf(f);
  expect(e.code).toBe('E_INVALID_ARG');
  expect(e.message).toContain(`'${key}'`);
}

// ---------------------------------------------------------------- a toy source and target

/** n "samples" with no data at all: the loop needs nothing but n. */
class CountSource {
  constructor(readonly n: number) {}
}

/** Records every step; loss of a batch = sum of its indices (so the epoch loss is known exactly). */
class ToyTarget implements FitTarget<CountSource, { tag: string }> {
  readonly baseLr = 0.5;
  readonly steps: { indices: number[]; batchSize: number; lr: number; tag: string }[] = [];
  readonly validated: string[] = [];
  learned = { w: Float32Array.of(0) };

  checkFitData(data: unknown, what: string): CountSource {
    if (!(data instanceof CountSource)) throw new BiasLearnError('E_INVALID_ARG', `expected a CountSource for ${what}`);
    return data;
  }
  async trainIndices(
    _data: CountSource,
    indices: Int32Array,
    batchSize: number,
    lr: number,
    run: { tag: string },
  ): Promise<PassStats> {
    const nb = Math.ceil(indices.length / batchSize);
    const stats = { lossSum: new Float32Array(nb), correct: new Float32Array(nb), size: new Int32Array(nb) };
    for (let b = 0; b < nb; b++) {
      const batch = Array.from(indices.subarray(b * batchSize, (b + 1) * batchSize));
      this.steps.push({ indices: batch, batchSize, lr, tag: run.tag });
      stats.lossSum[b] = batch.reduce((s, i) => s + i, 0);
      stats.size[b] = batch.length;
    }
    return stats;
  }
  async evaluate(
    data: CountSource,
    _options: { batchSize?: number },
    run: { tag: string },
  ): Promise<{ loss: number; n: number }> {
    this.validated.push(run.tag);
    return { loss: data.n, n: data.n };
  }
  async getLearned(): Promise<Record<string, Float32Array>> {
    return { w: this.learned.w.slice() };
  }
  async setLearned(values: Record<string, Float32Array>): Promise<void> {
    this.learned = { w: values.w!.slice() };
  }
}

describe('fit over any FitSource', () => {
  it('a source with only n: every epoch is a permutation of 0..n-1 in batches, run options reach every step', async () => {
    for (const [n, batchSize] of [
      [7, 3],
      [1, 1],
      [13, 5],
    ] as const) {
      const target = new ToyTarget();
      const h = await fit(target, new CountSource(n), {
        epochs: 3,
        batchSize,
        seed: 9,
        validationData: new CountSource(4),
        run: { tag: 'r' },
      });
      expect(h.epoch).toEqual([0, 1, 2]);
      const perEpoch = Math.ceil(n / batchSize);
      expect(target.steps).toHaveLength(3 * perEpoch);
      for (let e = 0; e < 3; e++) {
        const epochSteps = target.steps.slice(e * perEpoch, (e + 1) * perEpoch);
        expect(epochSteps.flatMap((s) => s.indices).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
        expect(epochSteps.map((s) => s.indices.length)).toEqual(
          Array.from({ length: perEpoch }, (_, b) => Math.min(batchSize, n - b * batchSize)),
        );
      }
      expect(new Set(target.steps.map((s) => `${s.tag} ${s.lr} ${s.batchSize}`))).toEqual(new Set([`r 0.5 ${batchSize}`]));
      // loss = mean over samples of the batch sums = (0 + 1 + ... + n-1) / n; no accuracy (not a classifier)
      expect(h.history.loss).toEqual([0, 1, 2].map(() => (n - 1) / 2));
      expect(h.history.acc).toBeUndefined();
      expect(h.history.val_loss).toEqual([4, 4, 4]);
      expect(target.validated).toEqual(['r', 'r', 'r']);
    }
  });

  it('validationSplit needs a source with split(); data the target refuses is refused', async () => {
    const e = await errorOf(() => fit(new ToyTarget(), new CountSource(10), { validationSplit: 0.2 }));
    expect(e.code).toBe('E_INVALID_ARG');
    expect(e.message).toMatch(/validationSplit is not supported/);
    expect((await errorOf(() => fit(new ToyTarget(), { n: 3 } as CountSource))).message).toMatch(/CountSource for training data/);
    expect((await errorOf(() => fit(new ToyTarget(), new CountSource(0)))).code).toBe('E_EMPTY');
  });

  it('the RNN trains on its SequenceDataset directly: no stand-in, no side-channel fields', async () => {
    const rnn = await RNN.create({ inputSize: 2, hidden: 7, outputSize: 1, seed: 3 });
    try {
      const train = randomSeqs(1, 7, 5, 2, 1);
      const val = randomSeqs(2, 3, 5, 2, 1);
      const seen: unknown[] = [];
      const original = rnn.trainIndices.bind(rnn);
      rnn.trainIndices = (data, ...rest) => {
        seen.push(data);
        return original(data, ...rest);
      };
      const h = await rnn.fit(train, { epochs: 2, batchSize: 3, validationData: val, closedLoop: true, warmup: 2 });
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((d) => d === train)).toBe(true);
      // validation ran in the fit's mode (closed loop from step 2)
      const closed = await rnn.evaluate(val, { closedLoop: true, warmup: 2 });
      const open = await rnn.evaluate(val);
      expect(h.last('val_loss')).toBe(closed.loss);
      expect(closed.loss).not.toBe(open.loss);
      expect(h.history.acc).toBeUndefined();
      expect('fitRun' in rnn).toBe(false);
      expect('isClassifier' in rnn).toBe(false);
      // validationSplit splits the sequences (seeded)
      const split = await rnn.fit(randomSeqs(3, 9, 4, 2, 1), { epochs: 1, validationSplit: 1 / 3, seed: 5 });
      expect(split.history.val_loss).toHaveLength(1);
      // a plain Dataset is not sequences
      const e = await errorOf(() => rnn.fit(classification(4, 2, 2) as never));
      expect(e.message).toMatch(/SequenceDataset for training data/);
    } finally {
      rnn.dispose();
    }
  });

  it('a second fit on the same RNN while one runs: E_CONCURRENT; the first completes', async () => {
    const rnn = await RNN.create({ inputSize: 1, hidden: 5, outputSize: 1 });
    try {
      const data = randomSeqs(4, 6, 8, 1, 1);
      const first = rnn.fit(data, { epochs: 3, batchSize: 2 });
      const e = await errorOf(() => rnn.fit(data));
      expect(e.code).toBe('E_CONCURRENT');
      expect((await first).epoch).toEqual([0, 1, 2]);
    } finally {
      rnn.dispose();
    }
  });
});

// ---------------------------------------------------------------- callbacks

describe('CallbackList', () => {
  it('calls each hook of every callback in list order, awaited, with this bound and model/fitState set', async () => {
    const events: string[] = [];
    const model = { name: 'm' };
    const state: FitState = { lrScale: 1, stopTraining: false };
    class Named extends Callback<typeof model> {
      constructor(private readonly tag: string) {
        super();
      }
      override async onEpochEnd(epoch: number): Promise<void> {
        await new Promise((r) => setTimeout(r, 3));
        events.push(`${this.tag} end ${epoch} ${this.model.name}`);
      }
    }
    const plain = {
      count: 0,
      onEpochBegin(this: { count: number; model: typeof model; fitState: FitState }, epoch: number) {
        this.count++;
        events.push(`plain begin ${epoch} ${this.model.name} ${this.fitState === state}`);
      },
      onEpochEnd(epoch: number) {
        events.push(`plain end ${epoch}`);
      },
    };
    const list = new CallbackList([new Named('a'), plain, new Named('b')], model, state);
    expect(list.wantsBatches).toBe(false);
    await list.onEpochBegin(0, {});
    await list.onEpochEnd(0, {});
    await list.onEpochBegin(1, {});
    expect(events).toEqual(['plain begin 0 m true', 'a end 0 m', 'plain end 0', 'b end 0 m', 'plain begin 1 m true']);
    expect(plain.count).toBe(2);
  });

  it('refuses what is not a callback, a non-function hook and a misspelt hook of a plain object, naming it', async () => {
    const state = { lrScale: 1, stopTraining: false };
    expect(() => new CallbackList([42], {}, state)).toThrow(/callbacks\[0\]/);
    expect(() => new CallbackList([{ onEpochEnd: 3 }], {}, state)).toThrow(/callbacks\[0\]\.onEpochEnd/);
    expect(() => new CallbackList([{ onEpochEnd() {} }, { onEpochEnds() {} }], {}, state)).toThrow(
      /unknown hook 'onEpochEnds' for callbacks\[1\]/,
    );
    const model = await MLP.create({ inputSize: 3, hidden: 4, outputSize: 2 });
    const e = await errorOf(() =>
      model.fit(classification(5, 3, 2), { callbacks: [{ onTrainBegin() {}, onBatchEnded() {} } as never] }),
    );
    expect(e.code).toBe('E_INVALID_ARG');
    expect(e.message).toMatch(/onBatchEnded/);
    model.dispose();
  });

  it('in fit: model hooks first, then the user callbacks, History last (it records what callbacks added)', async () => {
    const model = await MLP.create({ inputSize: 3, hidden: 5, outputSize: 2, seed: 1 });
    const seenKeys: string[][] = [];
    const h = await model.fit(classification(7, 3, 2), {
      epochs: 2,
      batchSize: 3,
      callbacks: [
        {
          onEpochEnd(_e: number, logs: Logs) {
            logs.extra = 1;
          },
        },
        {
          onEpochEnd(_e: number, logs: Logs) {
            seenKeys.push(Object.keys(logs));
          },
        },
      ],
    });
    expect(seenKeys[0]).toEqual(['loss', 'accuracy', 'lr', 'seconds', 'samplesPerSec', 'extra']);
    expect(h.history.extra).toEqual([1, 1]);
    model.dispose();
  });
});

describe('this.model inside a callback is the model fit was called on', () => {
  const dir = mkdtempSync(join(tmpdir(), 'biaslearn-fitloop-'));

  it('MLP: a plain object and a Callback<MLP> subclass can save the model', async () => {
    const model = await MLP.create({ inputSize: 4, hidden: 6, outputSize: 3, seed: 2 });
    const models: unknown[] = [];
    class Saver extends Callback<MLP> {
      override async onTrainEnd(): Promise<void> {
        await this.model.save(join(dir, 'mlp-class.blck'));
        expectTypeOf(this.model).toEqualTypeOf<MLP>();
      }
    }
    await model.fit(classification(9, 4, 3), {
      epochs: 2,
      batchSize: 4,
      callbacks: [
        new Saver(),
        {
          async onEpochEnd(epoch) {
            models.push(this.model);
            expectTypeOf(this.model).toEqualTypeOf<MLP>();
            await this.model.save(join(dir, `mlp-${epoch}.blck`));
          },
        },
      ],
    });
    expect(models).toEqual([model, model]);
    const back = await MLP.load(join(dir, 'mlp-1.blck'));
    const x = randomNormalF32(new Rng(3), 4 * 4);
    expect(sameBits(await back.predict(x), await model.predict(x))).toBe(true);
    back.dispose();
    model.dispose();
  });

  it('RNN and MultitaskModel: plain-object callbacks see (and can save) their model', async () => {
    const rnn = await RNN.create({ inputSize: 1, hidden: 4, outputSize: 1 });
    const mt = await MultitaskModel.create({
      inputSize: 3,
      hidden: 5,
      tasks: [
        { name: 't0', classes: 2 },
        { name: 't1', classes: 3 },
      ],
    });
    try {
      let sawRnn = false;
      await rnn.fit(randomSeqs(1, 3, 4, 1, 1), {
        callbacks: [
          {
            async onTrainEnd() {
              sawRnn = this.model === rnn;
              expectTypeOf(this.model).toEqualTypeOf<RNN>();
              await this.model.save(join(dir, 'rnn.blck'));
            },
          },
        ],
      });
      expect(sawRnn).toBe(true);
      let sawMt = false;
      await mt.fit(tasks([2, 3], 6, 3, 1), {
        callbacks: [
          {
            async onTrainEnd() {
              sawMt = this.model === mt;
              expectTypeOf(this.model).toEqualTypeOf<MultitaskModel>();
              await this.model.save(join(dir, 'mt.blck'));
            },
          },
        ],
      });
      expect(sawMt).toBe(true);
      expect((await RNN.load(join(dir, 'rnn.blck'))).config.hidden).toBe(4);
      expect((await MultitaskModel.load(join(dir, 'mt.blck'))).taskNames).toEqual(['t0', 't1']);
    } finally {
      rnn.dispose();
      mt.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('typing: this.model is the fitted model kind, not any (compile-time only)', () => {
    // Never called: typecheck (npm test) verifies these lines.
    const typeOnly = (mlp: MLP, rnn: RNN, data: Dataset, seq: SequenceDataset) => {
      void mlp.fit(data, {
        callbacks: [
          {
            onEpochEnd() {
              void this.model.save('x');
              // @ts-expect-error an MLP has no generate()
              void this.model.generate({ steps: 1 });
            },
          },
        ],
      });
      void rnn.fit(seq, {
        callbacks: [
          { onTrainEnd: () => undefined },
          {
            onEpochEnd() {
              void this.model.generate({ steps: 2 });
            },
          },
        ],
      });
    };
    expect(typeof typeOnly).toBe('function');
  });
});

// ---------------------------------------------------------------- multi-task run state

describe('multi-task fit keeps its state in the run, not on the model', () => {
  it('no training-state fields after fit; callbacks see slope, running sums and validation in this.fitState', async () => {
    const train = tasks([3, 2], 20, 4, 2);
    const test = tasks([3, 2], 8, 4, 3);
    const m = await MultitaskModel.create({
      inputSize: 4,
      hidden: 7,
      train: 'mask',
      tasks: train.tasks.map((t) => ({ name: t.name, classes: t.classes })),
    });
    try {
      const keysBefore = Object.keys(m).sort();
      const seen: { slope: number; counted: number; val: boolean }[] = [];
      const h = await m.fit(train, {
        epochs: 3,
        batchSize: 7,
        validationData: test,
        callbacks: [
          {
            onEpochBegin(epoch) {
              const s = this.fitState as MultitaskFitState;
              expect(s.slope).toBe(maskSlopeAt(this.model.config.maskSlope, epoch, 3));
            },
            onEpochEnd() {
              const s = this.fitState as MultitaskFitState;
              seen.push({ slope: s.slope, counted: s.running.count.reduce((a, b) => a + b, 0), val: s.validation !== undefined });
            },
          },
        ],
      });
      expect(Object.keys(m).sort()).toEqual(keysBefore);
      for (const field of ['slope', 'running', 'lastEvaluation', 'resetRunning']) expect(field in m, field).toBe(false);
      const slopes = [0, 1, 2].map((e) => maskSlopeAt(m.config.maskSlope, e, 3));
      expect(seen).toEqual(slopes.map((slope) => ({ slope, counted: 40, val: true })));
      expect(h.slope).toEqual(slopes);
      expect(h.phase).toEqual(['joint', 'joint', 'joint']);
      expect(h.perTask.t1!.val_acc).toHaveLength(3);
    } finally {
      m.dispose();
    }
  });

  it('mask learning: fit equals a hand-run loop of trainIndices at maskSlopeAt(epoch), bit for bit', async () => {
    const data = tasks([3, 4], 17, 5, 4);
    const opts = {
      inputSize: 5,
      hidden: [6, 5],
      train: 'mask' as const,
      seed: 7,
      maskSlope: { start: 0.5, end: 9 },
      tasks: data.tasks.map((t) => ({ name: t.name, classes: t.classes })),
    };
    const a = await MultitaskModel.create(opts);
    const b = await MultitaskModel.create(opts);
    try {
      const epochs = 4;
      const batchSize = 5;
      const seed = 3;
      const h = await a.fit(data, { epochs, batchSize, seed });
      const rng = new Rng(seed ^ 0x5eed);
      const losses: number[] = [];
      for (let e = 0; e < epochs; e++) {
        const order = rng.permutation(data.n);
        const s = await b.trainIndices(data.union, order, batchSize, b.config.optimizer.lr, {
          slope: maskSlopeAt(b.config.maskSlope, e, epochs),
          cacheInputLayer: 'auto',
        });
        losses.push(s.lossSum.reduce((x, y) => x + y, 0) / data.n);
      }
      const la = await a.getLearned();
      const lb = await b.getLearned();
      for (const k of Object.keys(la)) expect(sameBits(la[k]!, lb[k]!), k).toBe(true);
      expect(h.history.loss).toEqual(losses);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it("the CLI's multi-task progress reads slope, per-task sums and validation from the run state", async () => {
    const { MultitaskProgress } = await import('../src/cli/multitask.js');
    const train = tasks([2, 3], 12, 3, 7);
    const test = tasks([2, 3], 6, 3, 8);
    const m = await MultitaskModel.create({
      inputSize: 3,
      hidden: 4,
      train: 'mask',
      tasks: train.tasks.map((t) => ({ name: t.name, classes: t.classes })),
    });
    try {
      let out = '';
      const progress = new MultitaskProgress({ write: (c: string) => (out += c) }, m, { bar: false, epochs: 2 });
      await m.fit(train, { epochs: 2, batchSize: 5, validationData: test, callbacks: [progress] });
      const slopes = [0, 1].map((e) => maskSlopeAt(m.config.maskSlope, e, 2).toPrecision(3));
      expect(out).toContain(`slope ${slopes[0]}`);
      expect(out).toContain(`slope ${slopes[1]}`);
      expect(out).toMatch(/val per task: t0 \d\.\d{3} t1 \d\.\d{3}/);
      out = '';
      await m.fit(train, {
        epochs: 1,
        batchSize: 5,
        callbacks: [new MultitaskProgress({ write: (c: string) => (out += c) }, m, { bar: false, epochs: 1 })],
      });
      expect(out).toMatch(/train per task: t0 \d\.\d{3} t1 \d\.\d{3}/);
    } finally {
      m.dispose();
    }
  });

  it('a second multi-task fit while one runs: E_CONCURRENT', async () => {
    const data = tasks([2, 2], 30, 3, 5);
    const m = await MultitaskModel.create({
      inputSize: 3,
      hidden: 4,
      tasks: data.tasks.map((t) => ({ name: t.name, classes: t.classes })),
    });
    try {
      const first = m.fit(data, { epochs: 2, batchSize: 4, schedule: 'sequential' });
      expect((await errorOf(() => m.fit(data))).code).toBe('E_CONCURRENT');
      expect((await first).phase).toEqual(['t0', 't0', 't1', 't1']);
    } finally {
      m.dispose();
    }
  });
});

// ---------------------------------------------------------------- unknown option keys

describe('unknown option keys are refused with E_INVALID_ARG naming the key', () => {
  it('MLP: create, fit, evaluate, predict, load (and nested optimizer / init keys)', async () => {
    const base = { inputSize: 3, hidden: 4, outputSize: 2 };
    await expectUnknownKey(() => MLP.create({ ...base, hiden: 4 } as never), 'hiden');
    await expectUnknownKey(() => MLP.create({ ...base, optimizer: { learningRate: 0.1 } } as never), 'learningRate');
    await expectUnknownKey(() => MLP.create({ ...base, weightInit: { sacle: 2 } } as never), 'sacle');
    const model = await MLP.create({ ...base, clip: 1 });
    const ds = classification(5, 3, 2);
    const e = await errorOf(() => model.fit(ds, { epoch: 3 } as never));
    expect(e.message).toMatch(/unknown option 'epoch' for fit options \(did you mean 'epochs'\?\)/);
    await expectUnknownKey(() => model.fit(ds, { epochs: 1, validationdata: ds } as never), 'validationdata');
    await expectUnknownKey(() => model.evaluate(ds, { batchsize: 3 } as never), 'batchsize');
    await expectUnknownKey(() => model.predict(ds, { batchSize: 3 } as never), 'batchSize');
    await expectUnknownKey(() => MLP.load('/nonexistent.blck', { backnd: 'cpu' } as never), 'backnd');
    // the right keys still work
    await model.fit(ds, { epochs: 1, batchSize: 2, cacheInputLayer: false });
    model.dispose();
  });

  it('MultitaskModel: create, fit, evaluate, predict, load', async () => {
    const base = { inputSize: 3, hidden: 4, tasks: [{ name: 't0', classes: 2 }] };
    await expectUnknownKey(() => MultitaskModel.create({ ...base, mode: 'mask' } as never), 'mode');
    await expectUnknownKey(() => MultitaskModel.create({ ...base, maskSlope: { begin: 1 } } as never), 'begin');
    const m = await MultitaskModel.create({ ...base, clip: 0.5 });
    const data = tasks([2], 6, 3, 6);
    await expectUnknownKey(() => m.fit(data, { epoch: 2 } as never), 'epoch');
    await expectUnknownKey(() => m.fit(data, { sequential: true } as never), 'sequential');
    await expectUnknownKey(() => m.evaluate(data, { gate: 'soft' } as never), 'gate');
    await expectUnknownKey(() => m.predict(data.union, 't0', { hard: true } as never), 'hard');
    await expectUnknownKey(() => MultitaskModel.load('/nonexistent.blck', { device: 'cpu' } as never), 'device');
    // validationSplit keeps its own message
    expect((await errorOf(() => m.fit(data, { validationSplit: 0.5 } as never))).message).toMatch(
      /validationSplit is not supported for multi-task data/,
    );
    m.dispose();
  });

  it('RNN: create, fit, evaluate, predict, load, generate', async () => {
    const base = { inputSize: 1, hidden: 3, outputSize: 1 };
    await expectUnknownKey(() => RNN.create({ ...base, leak: 0.5 } as never), 'leak');
    const rnn = await RNN.create({ ...base, optimizer: { lr: 0.01 } });
    const data = randomSeqs(7, 2, 3, 1, 1);
    await expectUnknownKey(() => rnn.fit(data, { epoch: 2 } as never), 'epoch');
    await expectUnknownKey(() => rnn.fit(data, { cacheInputLayer: true } as never), 'cacheInputLayer');
    await expectUnknownKey(() => rnn.evaluate(data, { closedloop: true } as never), 'closedloop');
    await expectUnknownKey(() => rnn.predict(data, { state: true } as never), 'state');
    await expectUnknownKey(() => rnn.generate({ steps: 2, cue: [1] } as never), 'cue');
    await expectUnknownKey(() => RNN.load('/nonexistent.blck', { backed: 'cpu' } as never), 'backed');
    rnn.dispose();
  });

  it('the free fit function: unknown keys too', async () => {
    await expectUnknownKey(() => fit(new ToyTarget(), new CountSource(3), { epochz: 1 } as never), 'epochz');
  });
});
