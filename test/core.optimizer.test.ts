// The one optimizer of native/train/params.h, seen through the MLP, the multi-task model and the RNN:
// AdamW (decoupled decay), SGD with Nesterov momentum and global gradient-norm clipping, each
// checked over two steps against a float64 reference that starts from the model's own values and
// gradients (gradients() at the same parameters: the same kernels as a training step). Tolerance:
// relative 2e-5 per tensor (float32 rounding of the update only).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  Dataset,
  MLP,
  MultitaskDataset,
  MultitaskModel,
  RNN,
  Rng,
  SequenceDataset,
  type OptimizerOptions,
} from '../src/index.js';
import { randomLabels, randomNormalF32, relNormError, sameBits } from './helpers/numeric.js';

interface OptState {
  m: Record<string, Float64Array>;
  v: Record<string, Float64Array>;
  t: number;
}

/** One step of `opt` in float64 on every tensor of `p` with gradients `g` (clipped to `clip` first). */
function refStep(
  p: Record<string, Float64Array>,
  g: Record<string, Float64Array>,
  s: OptState,
  opt: Required<OptimizerOptions>,
  clip: number,
): void {
  let sq = 0;
  for (const name of Object.keys(g)) for (const x of g[name]!) sq += x * x;
  const scale = clip > 0 && Math.sqrt(sq) > clip ? clip / Math.sqrt(sq) : 1;
  s.t++;
  for (const name of Object.keys(p)) {
    const w = p[name]!;
    s.m[name] ??= new Float64Array(w.length);
    s.v[name] ??= new Float64Array(w.length);
    const m = s.m[name];
    const v = s.v[name];
    for (let i = 0; i < w.length; i++) {
      let gi = g[name]![i]! * scale;
      if (opt.type === 'sgd') {
        gi += opt.weightDecay * w[i]!;
        if (opt.momentum === 0) {
          w[i]! -= opt.lr * gi;
          continue;
        }
        m[i] = opt.momentum * m[i]! + gi;
        w[i]! -= opt.lr * (opt.nesterov ? gi + opt.momentum * m[i]! : m[i]!);
        continue;
      }
      if (opt.type === 'adamw') w[i] = w[i]! * (1 - opt.lr * opt.weightDecay);
      else gi += opt.weightDecay * w[i]!;
      m[i] = opt.beta1 * m[i]! + (1 - opt.beta1) * gi;
      v[i] = opt.beta2 * v[i]! + (1 - opt.beta2) * gi * gi;
      const mh = m[i]! / (1 - opt.beta1 ** s.t),
        vh = v[i]! / (1 - opt.beta2 ** s.t);
      w[i]! -= (opt.lr * mh) / (Math.sqrt(vh) + opt.eps);
    }
  }
}

const f64 = (r: Record<string, Float32Array>): Record<string, Float64Array> =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Float64Array.from(v)]));

function expectCloseTensors(got: Record<string, Float32Array>, want: Record<string, Float64Array>, what: string): void {
  for (const name of Object.keys(want)) {
    const err = relNormError(got[name]!, want[name]!);
    expect(err, `${what}: ${name} rel err ${err}`).toBeLessThan(2e-5);
  }
}

const OPTS: { name: string; opt: OptimizerOptions; clip: number }[] = [
  { name: 'adamw', opt: { type: 'adamw', lr: 0.05, weightDecay: 0.3 }, clip: 0 },
  { name: 'adam + L2', opt: { type: 'adam', lr: 0.05, weightDecay: 0.1 }, clip: 0 },
  { name: 'sgd nesterov', opt: { type: 'sgd', lr: 0.2, momentum: 0.9, nesterov: true, weightDecay: 0.01 }, clip: 0 },
  { name: 'sgd momentum, clipped', opt: { type: 'sgd', lr: 0.5, momentum: 0.5 }, clip: 0.05 },
  { name: 'adamw, clipped', opt: { type: 'adamw', lr: 0.02, weightDecay: 0.5 }, clip: 1e-3 },
];

describe('MLP optimizer against a float64 reference', () => {
  for (const c of OPTS) {
    for (const train of ['bias', 'full'] as const) {
      it(`${c.name}, train '${train}': two steps`, async () => {
        const rng = new Rng(11);
        const n = 7,
          I = 5,
          O = 3;
        const data = Dataset.classification(randomNormalF32(rng, n * I), I, randomLabels(rng, n, O), O);
        const model = await MLP.create({ inputSize: I, hidden: [9, 4], outputSize: O, train, seed: 5, optimizer: c.opt });
        const opt = model.config.optimizer;
        const p = f64(await model.getLearned());
        const state: OptState = { m: {}, v: {}, t: 0 };
        const all = Int32Array.from({ length: n }, (_, i) => i);
        for (let step = 0; step < 2; step++) {
          const g = f64((await model.gradients(data)).grads);
          refStep(p, g, state, opt, c.clip);
          await model.trainIndices(data, all, n, opt.lr, { clip: c.clip });
          expectCloseTensors(await model.getLearned(), p, `step ${step + 1}`);
        }
        model.dispose();
      });
    }
  }

  it('clipping scales the applied gradient: a tiny clip moves an SGD step by exactly lr * clip', async () => {
    const rng = new Rng(2);
    const n = 16,
      I = 6,
      O = 4;
    const data = Dataset.classification(randomNormalF32(rng, n * I), I, randomLabels(rng, n, O), O);
    const model = await MLP.create({
      inputSize: I,
      hidden: 8,
      outputSize: O,
      train: 'bias',
      seed: 1,
      optimizer: { type: 'sgd', lr: 1 },
    });
    const before = f64(await model.getLearned());
    await model.trainIndices(
      data,
      Int32Array.from({ length: n }, (_, i) => i),
      n,
      1,
      { clip: 1e-3 },
    );
    const after = await model.getLearned();
    let sq = 0;
    for (const k of Object.keys(before)) for (let i = 0; i < before[k]!.length; i++) sq += (after[k]![i]! - before[k]![i]!) ** 2;
    expect(Math.abs(Math.sqrt(sq) - 1e-3)).toBeLessThan(1e-6);
    model.dispose();
  });
});

describe('clip as a model option (MLP and multi-task, as the RNN)', () => {
  const rng = new Rng(31);
  const n = 13,
    I = 7,
    O = 3;
  const data = Dataset.classification(randomNormalF32(rng, n * I), I, randomLabels(rng, n, O), O);
  const all = Int32Array.from({ length: n }, (_, i) => i);

  it('MLP create({ clip }) steps exactly as a per-step clip, differs from no clip, and survives save/load', async () => {
    const base = {
      inputSize: I,
      hidden: [11],
      outputSize: O,
      train: 'bias' as const,
      seed: 3,
      optimizer: { type: 'sgd' as const, lr: 0.5 },
    };
    const viaConfig = await MLP.create({ ...base, clip: 2e-3 });
    const perStep = await MLP.create(base);
    const unclipped = await MLP.create(base);
    await viaConfig.trainIndices(data, all, 5, 0.5);
    await perStep.trainIndices(data, all, 5, 0.5, { clip: 2e-3 });
    await unclipped.trainIndices(data, all, 5, 0.5);
    const [a, b, c] = await Promise.all([viaConfig, perStep, unclipped].map((m) => m.getLearned()));
    for (const k of Object.keys(a!)) expect(sameBits(a![k]!, b![k]!), k).toBe(true);
    expect(Object.keys(a!).some((k) => !sameBits(a![k]!, c![k]!))).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'biaslearn-clip-'));
    try {
      await viaConfig.save(join(dir, 'm.blck'));
      const loaded = await MLP.load(join(dir, 'm.blck'));
      expect(loaded.config.clip).toBe(2e-3);
      loaded.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const m of [viaConfig, perStep, unclipped]) m.dispose();
  });

  it('multi-task create({ clip }) steps exactly as a per-step clip', async () => {
    const mt = MultitaskDataset.fromTasks([
      { name: 'a', data },
      { name: 'b', data },
    ]);
    const base = {
      inputSize: I,
      hidden: 9,
      seed: 4,
      tasks: [
        { name: 'a', classes: O },
        { name: 'b', classes: O },
      ],
      optimizer: { type: 'sgd' as const, lr: 0.5 },
    };
    const viaConfig = await MultitaskModel.create({ ...base, clip: 1e-3 });
    const perStep = await MultitaskModel.create(base);
    const idx = Int32Array.from({ length: mt.n }, (_, i) => i);
    await viaConfig.trainIndices(mt, idx, 6, 0.5);
    await perStep.trainIndices(mt, idx, 6, 0.5, { clip: 1e-3 });
    const a = await viaConfig.getLearned();
    const b = await perStep.getLearned();
    for (const k of Object.keys(a)) expect(sameBits(a[k]!, b[k]!), k).toBe(true);
    expect(viaConfig.config.clip).toBe(1e-3);
    viaConfig.dispose();
    perStep.dispose();
  });
});

describe('multi-task optimizer against a float64 reference', () => {
  function tasks(seed: number, classes: number[], n: number, I: number): MultitaskDataset {
    const rng = new Rng(seed);
    return MultitaskDataset.fromTasks(
      classes.map((c, k) => ({
        name: `t${k}`,
        data: Dataset.classification(randomNormalF32(rng, n * I), I, randomLabels(rng, n, c), c),
      })),
    );
  }

  for (const c of OPTS) {
    for (const train of ['bias', 'full', 'mask'] as const) {
      it(`${c.name}, train '${train}': two steps; the task outside the batch keeps its bits`, async () => {
        const I = 5;
        const data = tasks(3, [3, 3, 3], 4, I);
        const model = await MultitaskModel.create({
          inputSize: I,
          hidden: [7],
          tasks: [
            { name: 't0', classes: 3 },
            { name: 't1', classes: 3 },
            { name: 't2', classes: 3 },
          ],
          train,
          seed: 9,
          maskInit: 0.5,
          optimizer: c.opt,
        });
        const opt = model.config.optimizer;
        // the batch: every sample of t0 and t1, none of t2
        const batch = data.select(['t0', 't1']);
        const idx = Int32Array.from({ length: batch.n }, (_, i) => i);
        const p = f64(await model.getLearned());
        const t2Before = await model.taskVectors('t2');
        const state: OptState = { m: {}, v: {}, t: 0 };
        for (let step = 0; step < 2; step++) {
          const g = f64((await model.gradients(batch)).grads);
          // per-task rows of t2 have zero gradient in this batch and are never stepped
          const stepped = f64(await model.getLearned());
          refStep(stepped, g, state, opt, c.clip);
          for (const info of model.learnedTensors()) {
            const dst = p[info.name]!;
            if (!info.perTask) dst.set(stepped[info.name]!);
            else dst.set(stepped[info.name]!.subarray(0, 2 * info.cols), 0); // rows of t0, t1
          }
          await model.trainIndices(batch, idx, batch.n, opt.lr, { clip: c.clip });
          expectCloseTensors(await model.getLearned(), p, `step ${step + 1}`);
        }
        const t2After = await model.taskVectors('t2');
        for (const k of Object.keys(t2Before)) expect(sameBits(t2After[k]!, t2Before[k]!), k).toBe(true);
        model.dispose();
      });
    }
  }
});

describe('RNN optimizer (the same ParamSet) against a float64 reference', () => {
  for (const c of OPTS) {
    it(`${c.name}: two BPTT steps`, async () => {
      const rng = new Rng(4);
      const n = 3,
        T = 5;
      const data = SequenceDataset.create({
        inputs: randomNormalF32(rng, n * T * 2),
        targets: randomNormalF32(rng, n * T),
        steps: T,
        inputSize: 2,
        outputSize: 1,
      });
      const rnn = await RNN.create({ inputSize: 2, hidden: 6, outputSize: 1, train: 'full', seed: 8, optimizer: c.opt });
      const opt = rnn.config.optimizer;
      const p = f64(await rnn.getLearned());
      const state: OptState = { m: {}, v: {}, t: 0 };
      const all = Int32Array.from({ length: n }, (_, i) => i);
      for (let step = 0; step < 2; step++) {
        const g = f64((await rnn.gradients(data, { rule: 'bptt' })).grads);
        refStep(p, g, state, opt, c.clip);
        await rnn.trainSequences(data, all, n, opt.lr, { rule: 'bptt', clip: c.clip });
        expectCloseTensors(await rnn.getLearned(), p, `step ${step + 1}`);
      }
      rnn.dispose();
    });
  }
});
