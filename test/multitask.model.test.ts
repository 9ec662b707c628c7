/**
 * The multi-task model against an independent float64 reference written here (per sample b with
 * task t: A_l = act(A_{l-1} W_l^T + b_l[t]) (* sigmoid(slope theta_l[t]) in mask mode), logits =
 * A Wr^T + br[t], softmax cross-entropy over task t's logits columns), and the issue's guarantees:
 *   - gradients == central finite differences of the float64 mean loss (bias, mask, full modes;
 *     shared and per-task readouts); error ||g - fd|| / ||fd|| <= 1e-3 per tensor;
 *   - a mixed-task batch gives the same bias gradients as the per-task batches summed
 *     (n * g_mixed == sum_k n_k * g_k, atol 1e-6 + rtol 1e-5);
 *   - training other tasks, freezing tasks, and adding a task later leave earlier tasks' vectors
 *     bit-identical and their accuracy unchanged;
 *   - predict / evaluate per task match the reference; checkpoints round-trip;
 *   - unknown task names, out-of-range task ids (TypeScript and native paths) are typed errors.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import {
  Dataset,
  MLP,
  MultitaskDataset,
  MultitaskModel,
  Rng,
  ValidationError,
  readCheckpoint,
  type MultitaskOptions,
} from '../src/index.js';
import { assertClose, randomNormalF32, relNormError, sameBits } from './helpers/numeric.js';
import { actRef } from './helpers/activations.js';

const dir = mkdtempSync(join(tmpdir(), 'biaslearn-mt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------- data

/** A task: x ~ N(0, 1)^I, label = argmax of a random linear teacher (seeded). */
function teacherTask(seed: number, n: number, I: number, classes: number): Dataset {
  const rng = new Rng(seed);
  const W = randomNormalF32(rng, classes * I, 1);
  const x = randomNormalF32(rng, n * I, 1);
  const y = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    let bv = -Infinity;
    for (let c = 0; c < classes; c++) {
      let s = 0;
      for (let i = 0; i < I; i++) s += W[c * I + i]! * x[r * I + i]!;
      if (s > bv) {
        bv = s;
        best = c;
      }
    }
    y[r] = best;
  }
  return Dataset.classification(x, I, y, classes);
}

function tasksData(classes: number[], n: number, I: number, seed = 1): MultitaskDataset {
  return MultitaskDataset.fromTasks(classes.map((c, k) => ({ name: `t${k}`, data: teacherTask(seed * 100 + k, n, I, c) })));
}

// ---------------------------------------------------------------- float64 reference

interface Ref {
  W: Float64Array[];
  b: Float64Array[];
  theta: Float64Array[] | null;
  Wr: Float64Array;
  br: Float64Array;
  hidden: number[];
  I: number;
  R: number;
  off: number[];
  classes: number[];
  act: (z: number) => number;
  slope: number;
  hard: boolean;
}

async function refOf(m: MultitaskModel, slope: number, hard = false): Promise<Ref> {
  const L = m.config.hidden.length;
  const W: Float64Array[] = [];
  const b: Float64Array[] = [];
  const theta: Float64Array[] = [];
  for (let l = 0; l < L; l++) {
    W.push(Float64Array.from(await m.tensor(`layers.${l}.weight`)));
    b.push(Float64Array.from(await m.tensor(`layers.${l}.bias`)));
    if (m.config.train === 'mask') theta.push(Float64Array.from(await m.tensor(`layers.${l}.gate`)));
  }
  const classes = m.config.tasks.map((t) => t.classes);
  const off: number[] = [];
  let R = 0;
  if (m.config.readout === 'per-task')
    for (const c of classes) {
      off.push(R);
      R += c;
    }
  else {
    R = classes[0]!;
    classes.forEach(() => {
      off.push(0);
    });
  }
  const activation = m.config.activation;
  const act = (z: number): number => actRef(activation, z);
  return {
    W,
    b,
    theta: theta.length ? theta : null,
    Wr: Float64Array.from(await m.tensor('readout.weight')),
    br: Float64Array.from(await m.tensor('readout.bias')),
    hidden: m.config.hidden,
    I: m.config.inputSize,
    R,
    off,
    classes,
    act,
    slope,
    hard,
  };
}

/** Logits of the task's columns for one row. */
function refLogits(r: Ref, x: ArrayLike<number>, row: number, t: number): Float64Array {
  let a: ArrayLike<number> = Array.from({ length: r.I }, (_, i) => x[row * r.I + i]!);
  let inSize = r.I;
  r.hidden.forEach((H, l) => {
    const z = new Float64Array(H);
    for (let h = 0; h < H; h++) {
      let s = r.b[l]![t * H + h]!;
      for (let i = 0; i < inSize; i++) s += a[i]! * r.W[l]![h * inSize + i]!;
      let v = r.act(s);
      if (r.theta) {
        const th = r.theta[l]![t * H + h]!;
        v *= r.hard ? (th > 0 ? 1 : 0) : 1 / (1 + Math.exp(-r.slope * th));
      }
      z[h] = v;
    }
    a = z;
    inSize = H;
  });
  const O = r.classes[t]!;
  const out = new Float64Array(O);
  for (let o = 0; o < O; o++) {
    const col = r.off[t]! + o;
    let s = r.br[t * r.R + col]!;
    for (let h = 0; h < inSize; h++) s += a[h]! * r.Wr[col * inSize + h]!;
    out[o] = s;
  }
  return out;
}

function refLoss(r: Ref, data: MultitaskDataset, taskMap: number[]): number {
  const labels = (data.union.targets as { labels: Int32Array }).labels;
  let s = 0;
  for (let i = 0; i < data.n; i++) {
    const t = taskMap[data.taskIds[i]!]!;
    const z = refLogits(r, data.union.x, i, t);
    const mx = Math.max(...z);
    let e = 0;
    for (const v of z) e += Math.exp(v - mx);
    s += Math.log(e) + mx - z[labels[i]!]!;
  }
  return s / data.n;
}

function tensorArray(r: Ref, name: string): Float64Array {
  const [, l, kind] = name.split('.');
  if (name === 'readout.weight') return r.Wr;
  if (name === 'readout.bias') return r.br;
  if (kind === 'weight') return r.W[Number(l)]!;
  if (kind === 'bias') return r.b[Number(l)]!;
  return r.theta![Number(l)]!;
}

function finiteDiff(r: Ref, name: string, data: MultitaskDataset, taskMap: number[], h = 1e-4): Float64Array {
  const p = tensorArray(r, name);
  const g = new Float64Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const keep = p[i]!;
    p[i] = keep + h;
    const up = refLoss(r, data, taskMap);
    p[i] = keep - h;
    const down = refLoss(r, data, taskMap);
    p[i] = keep;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

const BASE: Omit<MultitaskOptions, 'tasks'> = {
  inputSize: 6,
  hidden: 9,
  seed: 3,
  biasInit: { dist: 'uniform', scale: 0.5, relative: false },
};

// ---------------------------------------------------------------- gradients

describe('gradients match the float64 reference', () => {
  const CASES: { title: string; opts: Partial<MultitaskOptions>; classes: number[]; slope?: number }[] = [
    { title: 'bias, shared readout, relu, 1 hidden layer', opts: { train: 'bias' }, classes: [4, 4, 4] },
    {
      title: 'bias, per-task readout (5, 3, 4 classes), tanh, 2 hidden layers',
      opts: { train: 'bias', activation: 'tanh', hidden: [7, 5] },
      classes: [5, 3, 4],
    },
    {
      title: 'mask, shared readout, sigmoid, slope 2.5',
      opts: { train: 'mask', activation: 'sigmoid', maskInit: 0.3 },
      classes: [3, 3],
      slope: 2.5,
    },
    {
      title: 'mask, per-task readout, relu, 2 hidden layers, slope 1.5',
      opts: { train: 'mask', hidden: [8, 6] },
      classes: [2, 4, 3],
      slope: 1.5,
    },
    { title: 'full, per-task readout, tanh', opts: { train: 'full', activation: 'tanh' }, classes: [3, 5] },
    // every further activation
    {
      title: 'bias, per-task readout, softplus, 2 hidden layers',
      opts: { train: 'bias', activation: 'softplus', hidden: [7, 5] },
      classes: [3, 4],
    },
    {
      title: 'mask, shared readout, leaky-relu, slope 2',
      opts: { train: 'mask', activation: 'leaky-relu', maskInit: 0.3 },
      classes: [3, 3],
      slope: 2,
    },
    { title: 'full, per-task readout, hard-sigmoid', opts: { train: 'full', activation: 'hard-sigmoid' }, classes: [3, 5] },
    { title: 'bias, shared readout, tanh-rational', opts: { train: 'bias', activation: 'tanh-rational' }, classes: [4, 4] },
  ];
  for (const c of CASES) {
    it(c.title, async () => {
      const data = tasksData(c.classes, 5, 6, 2);
      const m = await MultitaskModel.create({
        ...BASE,
        ...c.opts,
        tasks: data.tasks.map((t) => ({ name: t.name, classes: t.classes })),
      });
      try {
        // perturb theta away from a constant so every gate differs
        if (c.opts.train === 'mask') {
          const learned = await m.getLearned();
          const rng = new Rng(9);
          for (const k of Object.keys(learned)) learned[k] = randomNormalF32(rng, learned[k]!.length, 1);
          await m.setLearned(learned);
        }
        const slope = c.slope ?? 1;
        const g = await m.gradients(data, { slope });
        const ref = await refOf(m, slope);
        const taskMap = data.tasks.map((_, k) => k);
        expect(g.loss).toBeCloseTo(refLoss(ref, data, taskMap), 5);
        const names = m.learnedTensors().map((t) => t.name);
        expect(Object.keys(g.grads).sort()).toEqual([...names].sort());
        if (c.opts.train === 'mask') expect(names.every((n) => /^layers\.\d+\.gate$/.test(n))).toBe(true);
        if (c.opts.train === 'bias') expect(names.every((n) => n.includes('bias'))).toBe(true);
        for (const name of names) {
          const fd = finiteDiff(ref, name, data, taskMap);
          const err = relNormError(g.grads[name]!, fd, 1e-6);
          expect(err, `${name}: ||g - fd|| / ||fd|| = ${err}`).toBeLessThan(1e-3);
        }
      } finally {
        m.dispose();
      }
    });
  }
});

describe('mixed-task batches', () => {
  for (const train of ['bias', 'mask'] as const) {
    it(`${train}: the mixed batch's gradients equal the per-task batches' summed (n g = sum_k n_k g_k)`, async () => {
      const classes = [4, 4, 4, 4, 4, 4, 4];
      const per = [9, 3, 14, 1, 6, 11, 5];
      const rng = new Rng(5);
      const tasks = classes.map((c, k) => ({ name: `t${k}`, data: teacherTask(50 + k, per[k]!, 11, c) }));
      // mixed: the union shuffled
      const union = MultitaskDataset.fromTasks(tasks);
      const perm = rng.permutation(union.n);
      const mixedTasks = union.taskIds;
      const shuffledX = new Float32Array(union.n * 11);
      const shuffledY = new Int32Array(union.n);
      const labels = (union.union.targets as { labels: Int32Array }).labels;
      const shuffledT: number[] = [];
      perm.forEach((src, i) => {
        shuffledX.set(union.union.x.subarray(src * 11, (src + 1) * 11), i * 11);
        shuffledY[i] = labels[src]!;
        shuffledT.push(mixedTasks[src]!);
      });
      const m = await MultitaskModel.create({
        inputSize: 11,
        hidden: 37,
        seed: 8,
        train,
        tasks: union.tasks.map((t) => ({ name: t.name, classes: t.classes })),
        biasInit: { dist: 'normal', scale: 0.3, relative: false },
      });
      try {
        // The union groups rows by task; each task alone keeps its row order.
        const mixed = await m.gradients(union, { slope: 2 });
        const sum: Record<string, Float64Array> = {};
        for (const [name, g] of Object.entries(mixed.grads)) sum[name] = new Float64Array(g.length);
        for (let k = 0; k < classes.length; k++) {
          const one = MultitaskDataset.fromTasks([tasks[k]!]);
          const g = await m.gradients(one, { slope: 2 });
          for (const [name, v] of Object.entries(g.grads)) for (let i = 0; i < v.length; i++) sum[name]![i]! += per[k]! * v[i]!;
        }
        for (const [name, g] of Object.entries(mixed.grads)) {
          assertClose(
            `${name}: n * mixed vs sum_k n_k * per-task`,
            Array.from(g, (v) => v * union.n),
            sum[name]!,
            1e-6,
            1e-5,
          );
        }
        // Interleaved rows (not grouped by task): the same gradients up to float rounding.
        const native = (
          m as unknown as {
            native: {
              live(): {
                gradients(
                  x: Float32Array,
                  y: Int32Array,
                  t: Int32Array,
                  s: number,
                ): Promise<{ grads: Record<string, Float32Array> }>;
              };
            };
          }
        ).native.live();
        const gi = await native.gradients(shuffledX, shuffledY, Int32Array.from(shuffledT), 2);
        for (const [name, g] of Object.entries(mixed.grads))
          assertClose(`${name}: interleaved vs grouped`, gi.grads[name]!, g, 1e-7, 1e-5);
      } finally {
        m.dispose();
      }
    });
  }
});

// ---------------------------------------------------------------- forward, evaluate, errors

describe('predict and evaluate per task', () => {
  it('predict matches the reference for every task, per-row task ids, hard gates in mask mode', async () => {
    for (const train of ['bias', 'mask'] as const) {
      const classes = [5, 3, 4];
      const data = tasksData(classes, 7, 6, 4);
      const m = await MultitaskModel.create({
        ...BASE,
        train,
        maskInit: 0.5,
        tasks: data.tasks.map((t) => ({ name: t.name, classes: t.classes })),
      });
      try {
        if (train === 'mask') {
          const learned = await m.getLearned();
          const rng = new Rng(1);
          for (const k of Object.keys(learned)) learned[k] = randomNormalF32(rng, learned[k]!.length, 1);
          await m.setLearned(learned);
        }
        const ref = await refOf(m, 1, true);
        const x = randomNormalF32(new Rng(2), 4 * 6, 1);
        for (let k = 0; k < 3; k++) {
          const got = await m.predict(x, m.taskNames[k]!);
          expect(got.length).toBe(4 * classes[k]!);
          const exp: number[] = [];
          for (let r = 0; r < 4; r++) exp.push(...refLogits(ref, x, r, k));
          assertClose(`task ${k}`, got, exp, 1e-5, 1e-5);
          const byIndex = await m.predict(x, k);
          expect(sameBits(byIndex, got)).toBe(true);
        }
        const ids = Int32Array.from([2, 0, 1, 0]);
        const mixed = await m.predict(x, ids);
        expect(mixed.length).toBe(4 * 5);
        for (let r = 0; r < 4; r++) {
          const z = refLogits(ref, x, r, ids[r]!);
          assertClose(`row ${r}`, mixed.subarray(r * 5, r * 5 + z.length), z, 1e-5, 1e-5);
          for (let o = z.length; o < 5; o++) expect(mixed[r * 5 + o]).toBe(-Infinity);
        }
      } finally {
        m.dispose();
      }
    }
  });

  it('evaluate reports per-task loss and accuracy that match the reference', async () => {
    const classes = [3, 4];
    const data = tasksData(classes, 40, 6, 6);
    const m = await MultitaskModel.create({ ...BASE, tasks: data.tasks.map((t) => ({ name: t.name, classes: t.classes })) });
    try {
      const r = await m.evaluate(data, { batchSize: 7 });
      const ref = await refOf(m, 1);
      const labels = (data.union.targets as { labels: Int32Array }).labels;
      data.tasks.forEach((t, k) => {
        let loss = 0;
        let hits = 0;
        for (let i = t.offset; i < t.offset + t.n; i++) {
          const z = refLogits(ref, data.union.x, i, k);
          const mx = Math.max(...z);
          loss += Math.log(z.reduce((s, v) => s + Math.exp(v - mx), 0)) + mx - z[labels[i]!]!;
          hits += z.indexOf(mx) === labels[i] ? 1 : 0;
        }
        expect(r.perTask[t.name]!.n).toBe(t.n);
        expect(r.perTask[t.name]!.loss).toBeCloseTo(loss / t.n, 5);
        expect(r.perTask[t.name]!.accuracy).toBe(hits / t.n);
      });
      expect(r.n).toBe(80);
    } finally {
      m.dispose();
    }
  });

  it('unknown task names and out-of-range task ids are typed errors (TypeScript and native paths)', async () => {
    const data = tasksData([3, 3], 8, 6, 7);
    const m = await MultitaskModel.create({ ...BASE, tasks: data.tasks.map((t) => ({ name: t.name, classes: t.classes })) });
    try {
      const x = new Float32Array(12);
      await expect(m.predict(x, 'nope')).rejects.toMatchObject({ code: 'E_INVALID_ARG', name: 'ValidationError' });
      await expect(m.predict(x, 2)).rejects.toBeInstanceOf(ValidationError);
      await expect(m.predict(x, -1)).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
      await expect(m.predict(x, Int32Array.from([0, 5]))).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
      expect(() => m.taskIndex('nope')).toThrow(/unknown task 'nope'/);
      // native path: bypass the TypeScript checks
      const h = (
        m as unknown as {
          native: { live(): { predict(x: Float32Array, t: Int32Array, hard: boolean, s: number): Promise<Float32Array> } };
        }
      ).native.live();
      await expect(h.predict(x, Int32Array.from([0, 2]), true, 1)).rejects.toMatchObject({
        code: 'E_INVALID_ARG',
        message: expect.stringMatching(/task id 2 out of range \[0, 2\)/),
      });
      // a dataset with a task the model does not have
      const other = MultitaskDataset.fromTasks([{ name: 'zzz', data: teacherTask(1, 4, 6, 3) }]);
      await expect(m.evaluate(other)).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
      await expect(m.fit(other)).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
      // a class-count mismatch
      const wrong = MultitaskDataset.fromTasks([{ name: 't0', data: teacherTask(1, 4, 6, 5) }]);
      await expect(m.evaluate(wrong)).rejects.toMatchObject({ code: 'E_CONFIG' });
      // the native dataset factory checks task ids too
      const { nativeFor: multitaskNative } = await import('../src/native/binding.js');
      await expect(
        multitaskNative('cpu').createMultitaskDataset(
          'cpu',
          new Float32Array(12),
          6,
          Int32Array.from([0, 0]),
          Int32Array.from([0, 3]),
          Int32Array.from([3, 3]),
        ),
      ).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
      // config errors
      await expect(
        MultitaskModel.create({
          ...BASE,
          tasks: [
            { name: 'a', classes: 3 },
            { name: 'a', classes: 3 },
          ],
        }),
      ).rejects.toMatchObject({ code: 'E_CONFIG' });
      await expect(
        MultitaskModel.create({
          ...BASE,
          readout: 'shared',
          tasks: [
            { name: 'a', classes: 3 },
            { name: 'b', classes: 4 },
          ],
        }),
      ).rejects.toMatchObject({ code: 'E_CONFIG' });
    } finally {
      m.dispose();
    }
  });
});

// ---------------------------------------------------------------- training guarantees

async function vectors(m: MultitaskModel): Promise<Record<string, Record<string, Float32Array>>> {
  const out: Record<string, Record<string, Float32Array>> = {};
  for (const n of m.taskNames) out[n] = await m.taskVectors(n);
  return out;
}

function expectSameVectors(a: Record<string, Float32Array>, b: Record<string, Float32Array>, what: string): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const k of Object.keys(a)) expect(sameBits(a[k]!, b[k]!), `${what}: ${k} changed`).toBe(true);
}

describe('training', () => {
  it('joint bias learning learns every task; training a subset leaves the others bit-identical', async () => {
    const train = tasksData([4, 4, 4], 300, 10, 11);
    const test = tasksData([4, 4, 4], 200, 10, 11);
    const m = await MultitaskModel.create({
      inputSize: 10,
      hidden: 256,
      seed: 1,
      tasks: train.tasks.map((t) => ({ name: t.name, classes: t.classes })),
    });
    try {
      const before = await m.evaluate(test);
      const h = await m.fit(train, { epochs: 6, batchSize: 32, seed: 1, validationData: test });
      const after = await m.evaluate(test);
      for (const t of m.taskNames) {
        expect(after.perTask[t]!.accuracy).toBeGreaterThan(before.perTask[t]!.accuracy + 0.1);
        expect(after.perTask[t]!.accuracy).toBeGreaterThan(0.6);
        expect(h.perTask[t]!.val_acc.length).toBe(6);
      }
      expect(h.history.val_acc!.length).toBe(6);
      // train t1 only (sequential continuation): t0 and t2 do not move, not by one bit
      const v0 = await vectors(m);
      const steps0 = m.taskSteps();
      await m.fit(train, { epochs: 1, batchSize: 32, tasks: ['t1'] });
      const v1 = await vectors(m);
      expectSameVectors(v1.t0!, v0.t0!, 't0');
      expectSameVectors(v1.t2!, v0.t2!, 't2');
      expect(sameBits(v1.t1!['layers.0.bias']!, v0.t1!['layers.0.bias']!)).toBe(false);
      const steps1 = m.taskSteps();
      expect(steps1.t0).toBe(steps0.t0);
      expect(steps1.t1).toBeGreaterThan(steps0.t1!);
      const again = await m.evaluate(test);
      expect(again.perTask.t0!.accuracy).toBe(after.perTask.t0!.accuracy);
      expect(again.perTask.t2!.loss).toBe(after.perTask.t2!.loss);
    } finally {
      m.dispose();
    }
  });

  for (const mode of ['bias', 'mask'] as const) {
    it(`${mode}: adding a task later leaves every earlier task bit-identical (per-task readout)`, async () => {
      const train = tasksData([3, 5, 4], 200, 8, 21);
      const test = tasksData([3, 5, 4], 100, 8, 21);
      const first = train.select(['t0', 't1']);
      const m = await MultitaskModel.create({
        inputSize: 8,
        hidden: 64,
        seed: 2,
        train: mode,
        readout: 'per-task',
        tasks: first.tasks.map((t) => ({ name: t.name, classes: t.classes })),
      });
      let m2: MultitaskModel | undefined;
      try {
        await m.fit(first, { epochs: 2, batchSize: 16 });
        const before = await vectors(m);
        const acc = await m.evaluate(test.select(['t0', 't1']));
        m2 = await m.addTask({ name: 't2', classes: 4 });
        expect(m2.taskNames).toEqual(['t0', 't1', 't2']);
        // frozen weights regenerate identically
        expect(sameBits(await m2.tensor('layers.0.weight'), await m.tensor('layers.0.weight'))).toBe(true);
        await m2.fit(train.select(['t2']), { epochs: 2, batchSize: 16 });
        const after = await vectors(m2);
        expectSameVectors(after.t0!, before.t0!, 't0');
        expectSameVectors(after.t1!, before.t1!, 't1');
        const acc2 = await m2.evaluate(test);
        expect(acc2.perTask.t0).toEqual(acc.perTask.t0);
        expect(acc2.perTask.t1).toEqual(acc.perTask.t1);
        expect(acc2.perTask.t2!.accuracy).toBeGreaterThan(0.3);
        if (mode === 'mask') {
          // biases never learn in mask mode
          const b = await m2.tensor('layers.0.bias');
          expect(sameBits(b.subarray(0, 64), b.subarray(64, 128))).toBe(true);
        }
      } finally {
        m.dispose();
        m2?.dispose();
      }
    });
  }

  it('sequential schedule: each task in turn; earlier tasks keep their validation accuracy exactly', async () => {
    const train = tasksData([4, 4], 200, 8, 31);
    const test = tasksData([4, 4], 100, 8, 31);
    const m = await MultitaskModel.create({
      inputSize: 8,
      hidden: 64,
      seed: 4,
      tasks: train.tasks.map((t) => ({ name: t.name, classes: t.classes })),
    });
    try {
      const h = await m.fit(train, { epochs: 2, batchSize: 16, schedule: 'sequential', validationData: test });
      expect(h.phase).toEqual(['t0', 't0', 't1', 't1']);
      expect(h.epoch).toEqual([0, 1, 2, 3]);
      const v = h.perTask.t0!.val_acc;
      expect(v[2]).toBe(v[1]);
      expect(v[3]).toBe(v[1]);
      // during t0's phase, t1 had not moved
      expect(h.perTask.t1!.val_acc[0]).toBe(h.perTask.t1!.val_acc[1]);
    } finally {
      m.dispose();
    }
  });

  it('the input-layer cache gives the same training as the plain path (bias and mask)', async () => {
    for (const train of ['bias', 'mask'] as const) {
      const data = tasksData([4, 4], 100, 12, 41);
      const make = () =>
        MultitaskModel.create({
          inputSize: 12,
          hidden: 48,
          seed: 5,
          train,
          tasks: data.tasks.map((t) => ({ name: t.name, classes: t.classes })),
        });
      const a = await make();
      const b = await make();
      try {
        await a.fit(data, { epochs: 2, batchSize: 16, cacheInputLayer: true });
        await b.fit(data, { epochs: 2, batchSize: 16, cacheInputLayer: false });
        const la = await a.getLearned();
        const lb = await b.getLearned();
        for (const k of Object.keys(la)) assertClose(`${train} ${k}`, la[k]!, lb[k]!, 1e-4, 1e-3);
      } finally {
        a.dispose();
        b.dispose();
      }
    }
  });

  it('a one-task model (shared readout) trains exactly like the MLP of the same seed, bit for bit', async () => {
    const data = tasksData([5], 300, 9, 61);
    const t = data.task('t0');
    for (const cacheInputLayer of [false, true]) {
      const mlp = await MLP.create({ inputSize: 9, hidden: [40], outputSize: 5, train: 'bias', seed: 12 });
      const mt = await MultitaskModel.create({ inputSize: 9, hidden: 40, tasks: data.tasks, train: 'bias', seed: 12 });
      try {
        expect(sameBits(await mt.tensor('layers.0.weight'), await mlp.weights(0))).toBe(true);
        expect(sameBits(await mt.tensor('readout.weight'), await mlp.weights(1))).toBe(true);
        await mlp.fit(t, { epochs: 2, batchSize: 32, seed: 4, cacheInputLayer });
        await mt.fit(data, { epochs: 2, batchSize: 32, seed: 4, cacheInputLayer });
        expect(sameBits(await mt.taskBias('t0'), await mlp.biases(0))).toBe(true);
        expect(sameBits((await mt.taskVectors('t0'))['readout.bias']!, await mlp.biases(1))).toBe(true);
      } finally {
        mlp.dispose();
        mt.dispose();
      }
    }
  });

  it('checkpoints hold the seed and one vector per task, and round-trip exactly', async () => {
    for (const train of ['bias', 'mask', 'full'] as const) {
      const data = tasksData([3, 5], 60, 6, 51);
      const m = await MultitaskModel.create({
        ...BASE,
        train,
        readout: 'per-task',
        tasks: data.tasks.map((t) => ({ name: t.name, classes: t.classes })),
      });
      try {
        await m.fit(data, { epochs: 1, batchSize: 8 });
        const path = join(dir, `${train}.blck`);
        await m.save(path, { metadata: { note: 'test' } });
        const { header, tensors } = await readCheckpoint(path);
        expect(header.model.kind).toBe('multitask-mlp');
        const names = Object.keys(tensors).sort();
        if (train === 'bias')
          expect(names).toEqual([
            'tasks.0.layers.0.bias',
            'tasks.0.readout.bias',
            'tasks.1.layers.0.bias',
            'tasks.1.readout.bias',
          ]);
        if (train === 'mask') expect(names).toEqual(['tasks.0.layers.0.gate', 'tasks.1.layers.0.gate']);
        if (train === 'full') expect(names).toContain('layers.0.weight');
        expect(tensors['tasks.1.readout.bias']?.length ?? 5).toBe(5);
        const back = await MultitaskModel.load(path);
        try {
          expect(back.config).toEqual(m.config);
          const x = randomNormalF32(new Rng(3), 5 * 6, 1);
          for (const t of m.taskNames) expect(sameBits(await back.predict(x, t), await m.predict(x, t))).toBe(true);
          const la = await m.getLearned();
          const lb = await back.getLearned();
          for (const k of Object.keys(la)) expect(sameBits(la[k]!, lb[k]!)).toBe(true);
        } finally {
          back.dispose();
        }
      } finally {
        m.dispose();
      }
    }
  });
});
