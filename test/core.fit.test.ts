/**
 * The training loop (src/train/fit.ts) and its callbacks and schedules: History contents,
 * callback order and awaiting, EarlyStopping (patience, restoreBestWeights), ReduceLROnPlateau,
 * learning-rate schedules, seeded shuffling and validationSplit, that bias-only training
 * learns, and that the event loop stays responsive while a large model trains.
 */
import { describe, it, expect } from 'vitest';
import {
  Callback,
  Dataset,
  EarlyStopping,
  LambdaCallback,
  MLP,
  ReduceLROnPlateau,
  Rng,
  cosineDecay,
  defaultLearningRate,
  spiralClassification,
  stepDecay,
  type BatchLogs,
  type Logs,
  type MLPOptions,
} from '../src/index.js';
import { randomLabels, randomNormalF32, sameBits, sleep } from './helpers/numeric.js';

const SMALL: MLPOptions = { inputSize: 6, hidden: [16], outputSize: 3, seed: 3 };
/** The default Adam learning rate when only biases learn (SMALL's trainable set). */
const LR = defaultLearningRate('bias');

function classification(n: number, inputSize: number, classes: number, seed = 1): Dataset {
  const rng = new Rng(seed);
  return Dataset.classification(randomNormalF32(rng, n * inputSize), inputSize, randomLabels(rng, n, classes), classes);
}

function sameLearned(a: Record<string, Float32Array>, b: Record<string, Float32Array>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  if (ka.join() !== kb.join()) return false;
  return ka.every((k) => sameBits(a[k]!, b[k]!));
}

/** Puts `values[epoch]` into logs[key] so that later callbacks see a scripted metric. */
function scriptedMetric(key: string, values: number[]): Callback {
  return new LambdaCallback({
    onEpochEnd: (epoch: number, logs: Logs) => {
      logs[key] = values[epoch] ?? values[values.length - 1]!;
    },
  });
}

/** Records a copy of the learned values at every epoch end. */
class Recorder extends Callback {
  snapshots: Record<string, Float32Array>[] = [];
  override async onEpochEnd(): Promise<void> {
    this.snapshots.push(await this.model.getLearned());
  }
}

describe('History', () => {
  it('holds loss, acc, val_loss, val_acc and lr for every epoch', async () => {
    const model = await MLP.create(SMALL);
    const train = classification(100, 6, 3, 1);
    const val = classification(40, 6, 3, 2);
    const h = await model.fit(train, { epochs: 3, batchSize: 16, validationData: val });
    expect(h.epoch).toEqual([0, 1, 2]);
    for (const k of ['loss', 'acc', 'val_loss', 'val_acc', 'lr', 'seconds', 'samplesPerSec']) {
      expect(h.history[k], k).toHaveLength(3);
      expect(h.history[k]!.every(Number.isFinite), k).toBe(true);
    }
    expect(h.history.lr).toEqual([LR, LR, LR]); // the default Adam lr for 'bias'
    for (const a of [...h.history.acc!, ...h.history.val_acc!]) {
      expect(a).toBeGreaterThanOrEqual(0);
      expect(a).toBeLessThanOrEqual(1);
    }
    // val metrics are the model's metrics on the validation data after the last epoch
    const ev = await model.evaluate(val, { batchSize: 256 });
    expect(h.last('val_loss')).toBeCloseTo(ev.loss, 6);
    expect(h.last('val_acc')).toBe(ev.accuracy);
    // accuracy is a fraction of whole samples
    for (const a of h.history.acc!) expect(Math.abs(a * 100 - Math.round(a * 100))).toBeLessThan(1e-9);
    expect(h.toJSON().history.loss).toEqual(h.history.loss);
    model.dispose();
  });

  it('regression History has loss and val_loss but no accuracy', async () => {
    const rng = new Rng(4);
    const ds = Dataset.regression(randomNormalF32(rng, 60 * 6), 6, randomNormalF32(rng, 60 * 2), 2);
    const model = await MLP.create({ ...SMALL, outputSize: 2, loss: 'mse' });
    const h = await model.fit(ds, { epochs: 2, batchSize: 8, validationData: ds });
    expect(h.history.loss).toHaveLength(2);
    expect(h.history.val_loss).toHaveLength(2);
    expect(h.history.acc).toBeUndefined();
    expect(h.history.val_acc).toBeUndefined();
    model.dispose();
  });
});

describe('callbacks', () => {
  it('are called in order and awaited: an async hook delays the next one', async () => {
    const model = await MLP.create(SMALL);
    const n = 50;
    const batchSize = 16; // ceil(50 / 16) = 4 batches, the last of 2 samples
    const ds = classification(n, 6, 3);
    const events: string[] = [];
    const sizes: number[] = [];
    let busy = false;
    const enter = (name: string) => {
      if (busy) events.push(`OVERLAP at ${name}`);
      events.push(name);
    };
    const cb = new LambdaCallback({
      onTrainBegin: async () => {
        enter('trainBegin');
        busy = true;
        await sleep(15);
        busy = false;
      },
      onEpochBegin: (epoch: number, logs?: Logs) => {
        enter(`epochBegin ${epoch} lr=${logs?.lr}`);
      },
      onBatchEnd: async (batch: number, logs: BatchLogs) => {
        enter(`batch ${batch}`);
        sizes.push(logs.size);
        expect(Number.isFinite(logs.loss)).toBe(true);
        busy = true;
        await sleep(10);
        busy = false;
      },
      onEpochEnd: async (epoch: number, logs: Logs) => {
        enter(`epochEnd ${epoch}`);
        expect(logs.loss).toBeDefined();
        busy = true;
        await sleep(15);
        busy = false;
      },
      onTrainEnd: () => {
        enter('trainEnd');
      },
    });
    const h = await model.fit(ds, { epochs: 2, batchSize, callbacks: [cb] });
    const epoch = (e: number) => [`epochBegin ${e} lr=${LR}`, 'batch 0', 'batch 1', 'batch 2', 'batch 3', `epochEnd ${e}`];
    expect(events).toEqual(['trainBegin', ...epoch(0), ...epoch(1), 'trainEnd']);
    expect(sizes).toEqual([16, 16, 16, 2, 16, 16, 16, 2]);
    expect(h.epoch).toEqual([0, 1]);
    model.dispose();
  });

  it('the per-batch losses average to the epoch loss', async () => {
    const model = await MLP.create(SMALL);
    const ds = classification(45, 6, 3);
    const batches: BatchLogs[] = [];
    const h = await model.fit(ds, {
      epochs: 1,
      batchSize: 10,
      callbacks: [new LambdaCallback({ onBatchEnd: (_b, logs) => void batches.push(logs) })],
    });
    expect(batches.map((b) => b.size)).toEqual([10, 10, 10, 10, 5]);
    const weighted = batches.reduce((s, b) => s + b.loss * b.size, 0) / 45;
    expect(h.history.loss![0]).toBeCloseTo(weighted, 5);
    model.dispose();
  });
});

describe('EarlyStopping', () => {
  // best value at epoch 2, never improved afterwards
  const SCRIPT = [5, 4, 3, 3.5, 3.2, 3.9, 4, 4.1, 4.2, 4.3];

  it('stops once the monitored metric has not improved for `patience` epochs', async () => {
    const model = await MLP.create(SMALL);
    const es = new EarlyStopping({ monitor: 'score', mode: 'min', patience: 2 });
    const h = await model.fit(classification(40, 6, 3), {
      epochs: 10,
      batchSize: 8,
      callbacks: [scriptedMetric('score', SCRIPT), es],
    });
    // epochs 3 and 4 did not improve on epoch 2: that is `patience` = 2 epochs, so training
    // stops after epoch 4 (as in Keras / tfjs-layers, and as the class comment says)
    expect(es.bestEpoch).toBe(2);
    expect(es.best).toBe(3);
    expect(h.epoch).toEqual([0, 1, 2, 3, 4]);
    expect(es.stoppedEpoch).toBe(4);
    model.dispose();
  });

  it('patience 0 stops at the first epoch without improvement', async () => {
    const model = await MLP.create(SMALL);
    const es = new EarlyStopping({ monitor: 'score', mode: 'min', patience: 0 });
    const h = await model.fit(classification(40, 6, 3), {
      epochs: 10,
      batchSize: 8,
      callbacks: [scriptedMetric('score', SCRIPT), es],
    });
    expect(h.epoch).toEqual([0, 1, 2, 3]);
    expect(es.stoppedEpoch).toBe(3);
    model.dispose();
  });

  it('mode max / auto for accuracies, and minDelta counts small gains as no improvement', async () => {
    const model = await MLP.create(SMALL);
    // "val_acc"-like metric: auto mode must maximise. Gains of 0.001 are below minDelta 0.01.
    const es = new EarlyStopping({ monitor: 'my_acc', patience: 0, minDelta: 0.01 });
    const h = await model.fit(classification(40, 6, 3), {
      epochs: 10,
      batchSize: 8,
      callbacks: [scriptedMetric('my_acc', [0.5, 0.6, 0.7, 0.701, 0.9]), es],
    });
    expect(h.epoch).toEqual([0, 1, 2, 3]);
    expect(es.bestEpoch).toBe(2);
    model.dispose();
  });

  it('restoreBestWeights puts back the learned values of the best epoch, bit for bit', async () => {
    const model = await MLP.create(SMALL);
    const rec = new Recorder();
    const es = new EarlyStopping({ monitor: 'score', mode: 'min', patience: 2, restoreBestWeights: true });
    await model.fit(classification(60, 6, 3), {
      epochs: 10,
      batchSize: 8,
      callbacks: [rec, scriptedMetric('score', SCRIPT), es],
    });
    expect(es.bestEpoch).toBe(2);
    const last = rec.snapshots[rec.snapshots.length - 1]!;
    expect(rec.snapshots.length).toBeGreaterThan(3);
    expect(sameLearned(last, rec.snapshots[2]!)).toBe(false); // training went on after the best epoch
    expect(sameLearned(await model.getLearned(), rec.snapshots[2]!)).toBe(true);
    model.dispose();
  });

  it('without restoreBestWeights the last epoch values stay', async () => {
    const model = await MLP.create(SMALL);
    const rec = new Recorder();
    const es = new EarlyStopping({ monitor: 'score', mode: 'min', patience: 1 });
    await model.fit(classification(60, 6, 3), {
      epochs: 10,
      batchSize: 8,
      callbacks: [rec, scriptedMetric('score', SCRIPT), es],
    });
    expect(sameLearned(await model.getLearned(), rec.snapshots[rec.snapshots.length - 1]!)).toBe(true);
    model.dispose();
  });
});

describe('ReduceLROnPlateau and schedules', () => {
  it('ReduceLROnPlateau multiplies lr by factor after `patience` stalled epochs, down to minLr', async () => {
    const base = 0.02;
    const model = await MLP.create({ ...SMALL, optimizer: { lr: base } });
    const flat = new Array(6).fill(1);
    const h = await model.fit(classification(40, 6, 3), {
      epochs: 5,
      batchSize: 8,
      callbacks: [
        scriptedMetric('score', flat),
        new ReduceLROnPlateau({ monitor: 'score', mode: 'min', factor: 0.5, patience: 1 }),
      ],
    });
    expect(h.history.lr).toEqual([base, base, base / 2, base / 4, base / 8]);
    const model2 = await MLP.create({ ...SMALL, optimizer: { lr: base } });
    const h2 = await model2.fit(classification(40, 6, 3), {
      epochs: 5,
      batchSize: 8,
      callbacks: [
        scriptedMetric('score', flat),
        new ReduceLROnPlateau({ monitor: 'score', mode: 'min', factor: 0.5, patience: 1, minLr: base / 4 }),
      ],
    });
    expect(h2.history.lr).toEqual([base, base, base / 2, base / 4, base / 4]);
    model.dispose();
    model2.dispose();
  });

  it('ReduceLROnPlateau keeps lr while the metric improves', async () => {
    const model = await MLP.create(SMALL);
    const h = await model.fit(classification(40, 6, 3), {
      epochs: 4,
      batchSize: 8,
      callbacks: [
        scriptedMetric('score', [4, 3, 2, 1]),
        new ReduceLROnPlateau({ monitor: 'score', mode: 'min', factor: 0.5, patience: 1 }),
      ],
    });
    expect(h.history.lr).toEqual([LR, LR, LR, LR]);
    model.dispose();
  });

  it('stepDecay gives base * gamma^floor(epoch / stepSize) per epoch', async () => {
    const model = await MLP.create({ ...SMALL, optimizer: { lr: 0.04 } });
    const h = await model.fit(classification(40, 6, 3), {
      epochs: 5,
      batchSize: 8,
      lrSchedule: stepDecay({ stepSize: 2, gamma: 0.5 }),
    });
    const expected = [0.04, 0.04, 0.02, 0.02, 0.01];
    h.history.lr!.forEach((lr, e) => {
      expect(lr).toBeCloseTo(expected[e]!, 15);
    });
    model.dispose();
  });

  it('cosineDecay anneals from base to minLr', async () => {
    const base = 0.05;
    const minLr = 0.001;
    const model = await MLP.create({ ...SMALL, optimizer: { lr: base } });
    const h = await model.fit(classification(40, 6, 3), {
      epochs: 4,
      batchSize: 8,
      lrSchedule: cosineDecay({ epochs: 4, minLr }),
    });
    const expected = [0, 1, 2, 3].map((e) => minLr + 0.5 * (base - minLr) * (1 + Math.cos((Math.PI * e) / 4)));
    h.history.lr!.forEach((lr, e) => {
      expect(lr).toBeCloseTo(expected[e]!, 15);
    });
    expect(h.history.lr![0]).toBeCloseTo(base, 15);
    expect(h.history.lr![3]).toBeLessThan(h.history.lr![2]!);
    model.dispose();
  });

  it('the scheduled lr is the one the optimizer uses (same bits as a constant lr of that value)', async () => {
    const ds = classification(64, 6, 3);
    const a = await MLP.create({ ...SMALL, optimizer: { type: 'sgd', lr: 0.1 } });
    await a.fit(ds, { epochs: 1, batchSize: 8, seed: 5, lrSchedule: (_e, base) => base * 0.25 });
    const b = await MLP.create({ ...SMALL, optimizer: { type: 'sgd', lr: 0.025 } });
    await b.fit(ds, { epochs: 1, batchSize: 8, seed: 5 });
    const c = await MLP.create({ ...SMALL, optimizer: { type: 'sgd', lr: 0.1 } });
    await c.fit(ds, { epochs: 1, batchSize: 8, seed: 5 });
    expect(sameLearned(await a.getLearned(), await b.getLearned())).toBe(true);
    expect(sameLearned(await a.getLearned(), await c.getLearned())).toBe(false);
    a.dispose();
    b.dispose();
    c.dispose();
  });
});

describe('seeding', () => {
  it('same seed -> bit-identical learned values; different seed -> different', async () => {
    const ds = classification(200, 6, 3);
    const run = async (seed: number) => {
      const model = await MLP.create(SMALL);
      const h = await model.fit(ds, { epochs: 2, batchSize: 16, seed });
      const learned = await model.getLearned();
      model.dispose();
      return { h, learned };
    };
    const a = await run(11);
    const b = await run(11);
    const c = await run(12);
    expect(sameLearned(a.learned, b.learned)).toBe(true);
    expect(a.h.history.loss).toEqual(b.h.history.loss);
    expect(sameLearned(a.learned, c.learned)).toBe(false);
    // shuffle: false ignores the seed
    const noShuffle = async (seed: number) => {
      const model = await MLP.create(SMALL);
      await model.fit(ds, { epochs: 1, batchSize: 16, seed, shuffle: false });
      const learned = await model.getLearned();
      model.dispose();
      return learned;
    };
    expect(sameLearned(await noShuffle(1), await noShuffle(2))).toBe(true);
  });

  it('validationSplit is the seeded Dataset.split: same result as passing the split explicitly', async () => {
    const ds = classification(120, 6, 3);
    const a = await MLP.create(SMALL);
    const ha = await a.fit(ds, { epochs: 2, batchSize: 16, seed: 7, validationSplit: 0.25 });
    const split = ds.split(0.25, 7);
    expect(split.validation.n).toBe(30);
    const b = await MLP.create(SMALL);
    const hb = await b.fit(split.train, { epochs: 2, batchSize: 16, seed: 7, validationData: split.validation });
    expect(ha.history.loss).toEqual(hb.history.loss);
    expect(ha.history.val_loss).toEqual(hb.history.val_loss);
    expect(sameLearned(await a.getLearned(), await b.getLearned())).toBe(true);
    // a different seed holds out a different set
    const c = await MLP.create(SMALL);
    const hc = await c.fit(ds, { epochs: 2, batchSize: 16, seed: 8, validationSplit: 0.25 });
    expect(hc.history.val_loss).not.toEqual(ha.history.val_loss);
    a.dispose();
    b.dispose();
    c.dispose();
  });
});

describe('learning', () => {
  it('bias-only training learns the 3-arm spiral (loss falls by > 3x, held-out accuracy > 85 %)', async () => {
    const train = spiralClassification({ n: 1500, classes: 3, seed: 1, turns: 0.75 });
    const test = spiralClassification({ n: 600, classes: 3, seed: 2, turns: 0.75 });
    const model = await MLP.create({
      inputSize: 2,
      hidden: [1024],
      outputSize: 3,
      seed: 1,
      train: 'bias',
      optimizer: { lr: 0.02 },
      // wide random features over the unit disc: the biases place each unit's threshold
      weightInit: { dist: 'normal', scale: 4, relative: false },
      biasInit: { dist: 'uniform', scale: 4, relative: false },
    });
    const before = await model.evaluate(train);
    const w0 = await model.weights(0);
    const h = await model.fit(train, { epochs: 25, batchSize: 32, seed: 1 });
    const after = await model.evaluate(train);
    const held = await model.evaluate(test);
    console.log(
      `[core.fit] spiral, bias-only: train loss ${before.loss.toFixed(3)} -> ${after.loss.toFixed(3)}, train acc ${after.accuracy!.toFixed(3)}, held-out acc ${held.accuracy!.toFixed(3)}`,
    );
    expect(after.loss).toBeLessThan(before.loss / 3);
    expect(h.history.loss![h.history.loss!.length - 1]!).toBeLessThan(h.history.loss![0]!);
    expect(after.accuracy!).toBeGreaterThan(0.85);
    expect(held.accuracy!).toBeGreaterThan(0.85);
    // and the weights never moved
    expect(sameBits(await model.weights(0), w0)).toBe(true);
    model.dispose();
  });
});

describe('responsiveness', () => {
  // A timer's lag also counts the time the OS gives other processes (vitest runs files in parallel,
  // CI machines are shared): a transient spike is retried; a fit that blocks the JS thread fails every try.
  it('the event loop keeps running while a 784 -> 1024 -> 10 model trains an epoch on 8000 samples', { retry: 2 }, async () => {
    const rng = new Rng(3);
    const n = 8000;
    const ds = Dataset.classification(randomNormalF32(rng, n * 784), 784, randomLabels(rng, n, 10), 10);
    const model = await MLP.create({ inputSize: 784, hidden: [1024], outputSize: 10, seed: 1 });
    let last = performance.now();
    let maxLag = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxLag = Math.max(maxLag, now - last - 10);
      last = now;
      ticks++;
    }, 10);
    const t0 = performance.now();
    last = t0;
    const h = await model.fit(ds, { epochs: 1, batchSize: 32 });
    const elapsed = performance.now() - t0;
    clearInterval(timer);
    console.log(
      `[core.fit] event loop during fit: max lag ${maxLag.toFixed(1)} ms over ${ticks} ticks, epoch took ${elapsed.toFixed(0)} ms`,
    );
    expect(h.epoch).toEqual([0]);
    expect(ticks).toBeGreaterThan(elapsed / 10 / 3); // the timer really ran throughout
    expect(maxLag).toBeLessThan(50);
    model.dispose();
  });
});
