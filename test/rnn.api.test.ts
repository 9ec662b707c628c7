/**
 * The RNN's public API: training through the generic fit loop, modes (autonomous, input-driven,
 * teacher-forced, closed loop), determinism across thread counts, checkpoints, typed errors,
 * the task generators, metrics and the dynamics analysis.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MLP,
  RNN,
  SequenceDataset,
  ValidationError,
  cosineTask,
  eigenvalues,
  findFixedPoint,
  integrate,
  lorenzTask,
  mackeyGlassTask,
  parseRule,
  reachingErrors,
  reachingTask,
  readCheckpoint,
  runtimeInfo,
  rnnJacobian,
  rnnParameters,
  rnnStep,
  setThreads,
  trajectoryMetrics,
  vanDerPolField,
  vanDerPolTask,
} from '../src/index.js';
import { nativeFor as rnnNative } from '../src/native/binding.js';
import { firstBitDiff, relNormError, sameBits } from './helpers/numeric.js';
import { errorOf } from './helpers/errors.js';
import { randomSeqs } from './helpers/sequences.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'biaslearn-rnn-'));
});
afterAll(async () => {
  setThreads(0);
  await rm(dir, { recursive: true, force: true });
});

describe('training', () => {
  it('bias + initial state learns cosine generation through fit (loss falls, NMSE small)', async () => {
    const task = cosineTask({ periods: 2 });
    const rnn = await RNN.create({ inputSize: 1, hidden: 64, outputSize: 1, learnInitialState: true, seed: 1 });
    const history = await rnn.fit(task.train, { epochs: 400, batchSize: 1 });
    const loss = history.history.loss!;
    expect(loss[loss.length - 1]!).toBeLessThan(loss[0]! * 0.05);
    const ev = await rnn.evaluate(task.test, { score: 'all' });
    expect(ev.nmse).toBeLessThan(0.05);
    expect(rnn.optimizerSteps).toBe(400);
    rnn.dispose();
  });

  it('every rule trains and reports per-batch losses; online rules take more steps', async () => {
    const data = randomSeqs(1, 6, 10, 2, 1);
    const idx = Int32Array.from({ length: 6 }, (_, i) => i);
    for (const [rule, steps] of [
      ['bptt', 2],
      ['tbptt:3', 2],
      ['tbptt:3:online', 8],
      ['rflo', 20],
      ['rflo:batch', 2],
      ['rflo:sym', 20],
    ] as const) {
      const rnn = await RNN.create({ inputSize: 2, hidden: 16, outputSize: 1, learnInitialState: true, seed: 2 });
      const s = await rnn.trainSequences(data, idx, 3, 1e-2, { rule });
      expect(Array.from(s.size)).toEqual([3, 3]);
      expect(s.lossSum.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
      expect(rnn.optimizerSteps, rule).toBe(steps);
      rnn.dispose();
    }
  });

  it("evaluate's loss equals the native training pass loss (lr 0) and the metrics agree with a direct computation", async () => {
    const data = randomSeqs(3, 5, 8, 2, 2);
    const rnn = await RNN.create({ inputSize: 2, hidden: 20, outputSize: 2, alpha: 0.5, seed: 3 });
    const ev = await rnn.evaluate(data, { score: 'all' });
    const s = await rnn.trainSequences(data, Int32Array.from([0, 1, 2, 3, 4]), 5, 0);
    expect(ev.loss).toBeCloseTo(s.lossSum[0]! / 5, 5);
    const { outputs } = await rnn.predict(data);
    const m = trajectoryMetrics(outputs, data.targets, 5, 8, 2);
    expect(ev.mse).toBeCloseTo(m.mse, 10);
    expect(ev.r2).toBeCloseTo(1 - m.nmse, 6);
    rnn.dispose();
  });

  it('gradient clipping bounds the update; clip 0 is off', async () => {
    const data = randomSeqs(4, 4, 6, 1, 1);
    const idx = Int32Array.of(0, 1, 2, 3);
    const moved = async (clip: number): Promise<number> => {
      const rnn = await RNN.create({ inputSize: 1, hidden: 8, outputSize: 1, seed: 4, optimizer: { type: 'sgd', lr: 1 } });
      const before = (await rnn.getLearned())['recurrent.bias']!;
      await rnn.trainSequences(data, idx, 4, 1, { clip });
      const after = (await rnn.getLearned())['recurrent.bias']!;
      rnn.dispose();
      return Math.hypot(...Array.from(after, (v, i) => v - before[i]!));
    };
    const free = await moved(0);
    expect(free).toBeGreaterThan(1e-3);
    expect(await moved(free / 10)).toBeCloseTo(free / 10, 5);
  });
});

describe('modes', () => {
  it('closed loop with delay d equals teacher forcing on the network’s own delayed outputs', async () => {
    const rnn = await RNN.create({ inputSize: 3, hidden: 24, outputSize: 2, alpha: 0.7, seed: 5, readoutScale: 0.5 });
    const data = randomSeqs(5, 3, 12, 3, 2);
    for (const [warmup, delay] of [
      [0, 1],
      [4, 3],
    ] as const) {
      const closed = await rnn.predict(data, { closedLoop: true, warmup, delay });
      const inputs = Float32Array.from(data.inputs);
      const start = Math.max(warmup, delay);
      for (let s = 0; s < 3; s++)
        for (let t = start; t < 12; t++)
          for (let o = 0; o < 2; o++) inputs[(s * 12 + t) * 3 + o] = closed.outputs[(s * 12 + t - delay) * 2 + o]!;
      const forced = await rnn.predict(
        SequenceDataset.create({ inputs, targets: data.targets, steps: 12, inputSize: 3, outputSize: 2 }),
      );
      expect(relNormError(closed.outputs, forced.outputs)).toBeLessThan(1e-6);
    }
    rnn.dispose();
  });

  it('predicted states follow the float64 update r <- decay r + gain tanh(W r + B x + b) from the initial state', async () => {
    const rnn = await RNN.create({
      inputSize: 2,
      hidden: 9,
      outputSize: 1,
      alpha: 0.4,
      seed: 6,
      biasInit: { dist: 'normal', scale: 0.3, relative: false },
      stateInit: { dist: 'uniform', scale: 0.5, relative: false },
      learnInitialState: true,
    });
    const data = randomSeqs(6, 1, 7, 2, 1);
    const { states, outputs } = await rnn.predict(data, { states: true });
    const p = await rnnParameters(rnn);
    let r: Float64Array = p.r0.slice(0, 9);
    expect(relNormError(states!.subarray(0, 9), r)).toBeLessThan(1e-7);
    for (let t = 0; t < 7; t++) {
      r = rnnStep(p, r, data.inputs.subarray(t * 2, t * 2 + 2));
      expect(relNormError(states!.subarray((t + 1) * 9, (t + 2) * 9), r)).toBeLessThan(1e-5);
      let y = p.c[0]!;
      for (let h = 0; h < 9; h++) y += p.A[h]! * r[h]!;
      expect(outputs[t]).toBeCloseTo(y, 5);
    }
    rnn.dispose();
  });

  it('generate: autonomous (no input) and constant-cue free running, per-condition initial states', async () => {
    const auto = await RNN.create({
      inputSize: 0,
      hidden: 16,
      outputSize: 1,
      learnInitialState: true,
      conditions: 2,
      seed: 7,
      stateInit: { dist: 'uniform', scale: 1, relative: false },
    });
    const a = await auto.generate({ steps: 30, condition: 0 });
    const b = await auto.generate({ steps: 30, condition: 1 });
    expect(a.outputs.length).toBe(30);
    expect(sameBits(a.outputs, b.outputs)).toBe(false);
    auto.dispose();
    const cued = await RNN.create({ inputSize: 1, hidden: 16, outputSize: 1, seed: 7 });
    const c1 = await cued.generate({ steps: 20, input: [1] });
    const c2 = await cued.generate({ steps: 20, input: new Float32Array(20).fill(1) });
    expect(sameBits(c1.outputs, c2.outputs)).toBe(true);
    cued.dispose();
  });
});

describe('determinism', () => {
  // Every RNN kernel splits its work at boundaries that depend on the sizes only and sums in a
  // fixed order, so with the built-in gemm the thread count never changes a bit. OpenBLAS picks
  // different kernels (and K splits) for different thread counts, so with it the results agree
  // to rounding across thread counts and bit for bit at a fixed count.
  it('training is bit-identical run to run, and across 1, 2 and 3 threads up to the BLAS (bptt, tbptt, rflo; m = 300)', async () => {
    const data = randomSeqs(8, 10, 9, 3, 2, 2);
    const idx = Int32Array.from({ length: 10 }, (_, i) => i);
    const trainAll = async (): Promise<Float32Array[]> => {
      const row: Float32Array[] = [];
      for (const rule of ['bptt', 'tbptt:4:online', 'rflo']) {
        const rnn = await RNN.create({
          inputSize: 3,
          hidden: 300,
          outputSize: 2,
          learnInitialState: true,
          conditions: 2,
          alpha: 0.5,
          seed: 8,
          train: rule === 'rflo' ? 'bias' : 'full',
          clip: 1,
        });
        await rnn.trainSequences(data, idx, 5, 1e-2, { rule });
        const l = await rnn.getLearned();
        row.push(
          ...Object.keys(l)
            .sort()
            .map((k) => l[k]!),
        );
        rnn.dispose();
      }
      return row;
    };
    const results: Float32Array[][] = [];
    for (const threads of [1, 2, 3]) {
      setThreads(threads);
      results.push(await trainAll());
      if (threads === 2) {
        const again = await trainAll();
        again.forEach((t, k) => {
          expect(firstBitDiff(t, results[1]![k]!), `run to run, tensor ${k}`).toBe(-1);
        });
      }
    }
    setThreads(0);
    const builtin = runtimeInfo().gemm === 'builtin';
    for (let k = 0; k < results[0]!.length; k++) {
      for (const other of [1, 2]) {
        if (builtin)
          expect(firstBitDiff(results[0]![k]!, results[other]![k]!), `tensor ${k}: 1 vs ${other + 1} threads`).toBe(-1);
        else
          expect(relNormError(results[other]![k]!, results[0]![k]!), `tensor ${k}: 1 vs ${other + 1} threads`).toBeLessThan(1e-5);
      }
    }
  });
});

describe('checkpoints', () => {
  it('save/load round-trips bit for bit; the file holds only the learned values', async () => {
    const data = randomSeqs(9, 4, 10, 2, 1, 2);
    const rnn = await RNN.create({
      inputSize: 2,
      hidden: 300,
      outputSize: 1,
      learnInitialState: true,
      conditions: 2,
      alpha: 0.3,
      recurrentGain: 1.2,
      seed: 123,
      rule: 'tbptt:5',
    });
    await rnn.fit(data, { epochs: 3, batchSize: 2 });
    const path = join(dir, 'rnn.blck');
    await rnn.save(path, { metadata: { note: 'test' } });
    const again = await RNN.load(path);
    expect(again.config).toEqual(rnn.config);
    const a = await rnn.getLearned();
    const b = await again.getLearned();
    for (const k of Object.keys(a)) expect(sameBits(a[k]!, b[k]!), k).toBe(true);
    expect(sameBits(await rnn.tensor('recurrent.weight'), await again.tensor('recurrent.weight'))).toBe(true);
    expect(sameBits((await rnn.predict(data)).outputs, (await again.predict(data)).outputs)).toBe(true);
    const size = (await stat(path)).size;
    expect(size).toBeLessThan(4 * (300 + 2 * 300) + 8192); // b and r0 only, never W (90k values)
    const { header } = await readCheckpoint(path);
    expect(header.model.kind).toBe('rnn');
    expect(header.tensors.map((t) => t.name).sort()).toEqual(['initial_state', 'recurrent.bias']);
    await expect(MLP.load(path)).rejects.toMatchObject({ code: 'E_FORMAT' });
    rnn.dispose();
    again.dispose();
  });

  it('loading an MLP checkpoint as an RNN is E_FORMAT; a missing file is E_IO', async () => {
    const mlp = await MLP.create({ inputSize: 3, hidden: [4], outputSize: 2 });
    const path = join(dir, 'mlp.blck');
    await mlp.save(path);
    mlp.dispose();
    expect((await errorOf(() => RNN.load(path))).code).toBe('E_FORMAT');
    expect((await errorOf(() => RNN.load(join(dir, 'nope.blck')))).code).toBe('E_IO');
  });
});

describe('typed errors', () => {
  it('sequence length 0 -> E_EMPTY (TypeScript and native)', async () => {
    const e = await errorOf(() =>
      SequenceDataset.create({ targets: new Float32Array(0), steps: 0, inputSize: 1, outputSize: 1 }),
    );
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.code).toBe('E_EMPTY');
    await expect(
      Promise.resolve().then(() => rnnNative('cpu').createSeqDataset('cpu', { n: 1, steps: 0, in: 0, out: 1 })),
    ).rejects.toMatchObject({ code: 'E_EMPTY' });
  });

  it('wrong input width -> E_SHAPE', async () => {
    const rnn = await RNN.create({ inputSize: 2, hidden: 8, outputSize: 1 });
    const e = await errorOf(() => rnn.fit(randomSeqs(1, 2, 5, 3, 1)));
    expect(e.code).toBe('E_SHAPE');
    expect(e.message).toContain('expected 2 input columns');
    expect(
      (
        await errorOf(() =>
          SequenceDataset.create({
            inputs: new Float32Array(7),
            targets: new Float32Array(5),
            steps: 5,
            inputSize: 2,
            outputSize: 1,
          }),
        )
      ).code,
    ).toBe('E_SHAPE');
    rnn.dispose();
  });

  it('NaN in inputs or targets -> E_NONFINITE (TypeScript and native)', async () => {
    const inputs = new Float32Array(10).fill(1);
    inputs[7] = NaN;
    const e = await errorOf(() =>
      SequenceDataset.create({ inputs, targets: new Float32Array(5), steps: 5, inputSize: 2, outputSize: 1 }),
    );
    expect(e.code).toBe('E_NONFINITE');
    expect(e.message).toContain('NaN');
    await expect(rnnNative('cpu').createSeqDataset('cpu', { n: 1, steps: 5, in: 2, out: 1, x: inputs })).rejects.toMatchObject({
      code: 'E_NONFINITE',
    });
    const y = new Float32Array(5);
    y[2] = Infinity;
    await expect(rnnNative('cpu').createSeqDataset('cpu', { n: 1, steps: 5, in: 0, out: 1, y })).rejects.toMatchObject({
      code: 'E_NONFINITE',
    });
  });

  it('unknown rule -> E_INVALID_ARG (TypeScript and native); tbptt:0 too', async () => {
    for (const bad of ['sgd', 'tbptt', 'tbptt:0', 'tbptt:x', 'rflo:fast', 'bptt:3']) {
      const e = await errorOf(() => parseRule(bad));
      expect(e.code, bad).toBe('E_INVALID_ARG');
    }
    expect((await errorOf(() => RNN.create({ inputSize: 1, hidden: 4, outputSize: 1, rule: 'magic' }))).code).toBe(
      'E_INVALID_ARG',
    );
    const h = await rnnNative('cpu').createRnn(
      {
        inputSize: 1,
        hidden: 4,
        outputSize: 1,
        conditions: 1,
        activation: 'tanh',
        decay: 0,
        gain: 1,
        seed: 0,
        trainable: {
          recurrentWeight: false,
          inputWeight: false,
          readoutWeight: false,
          recurrentBias: true,
          readoutBias: false,
          initialState: false,
        },
        optimizer: { kind: 'adam' },
      } as never,
      'cpu',
    );
    const ds = await rnnNative('cpu').createSeqDataset('cpu', { n: 1, steps: 3, in: 1, out: 1, x: new Float32Array(3) });
    expect(() => h.train(ds, Int32Array.of(0), 1, 0.1, { rule: 'magic' as 'bptt' })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_ARG' }),
    );
    expect(() => h.train(ds, Int32Array.of(0), 1, 0.1, { rule: 'tbptt', window: 0 })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_ARG' }),
    );
    h.dispose();
  });

  it('bad configurations and calls: closed loop without room, condition out of range, disposed, nothing to train', async () => {
    const rnn = await RNN.create({ inputSize: 1, hidden: 8, outputSize: 2 });
    expect((await errorOf(() => rnn.predict(randomSeqs(1, 1, 4, 1, 2), { closedLoop: true }))).code).toBe('E_CONFIG');
    expect((await errorOf(() => rnn.predict(randomSeqs(1, 3, 4, 1, 2, 3)))).code).toBe('E_SHAPE');
    expect((await errorOf(() => RNN.create({ inputSize: 1, hidden: 0, outputSize: 1 }))).code).toBe('E_INVALID_ARG');
    expect((await errorOf(() => RNN.create({ inputSize: 1, hidden: 4, outputSize: 1, train: {} }))).code).toBe('E_CONFIG');
    expect((await errorOf(() => RNN.create({ inputSize: 1, hidden: 4, outputSize: 1, alpha: 1.5 }))).code).toBe('E_INVALID_ARG');
    rnn.dispose();
    expect((await errorOf(() => rnn.predict(randomSeqs(1, 1, 4, 1, 2)))).code).toBe('E_DISPOSED');
  });
});

describe('tasks', () => {
  it('are seeded, correctly shaped and finite', () => {
    for (const make of [
      () => cosineTask(),
      () => vanDerPolTask(),
      () => lorenzTask({ samples: 3000 }),
      () => mackeyGlassTask({ samples: 2000 }),
      () => reachingTask(),
    ]) {
      const a = make();
      const b = make();
      expect(sameBits(a.train.targets, b.train.targets), a.name).toBe(true);
      expect(a.train.inputSize).toBe(a.inputSize);
      expect(a.test.outputSize).toBe(a.outputSize);
      expect(a.train.targets.every(Number.isFinite)).toBe(true);
    }
    const c = cosineTask();
    expect(c.train.steps).toBe(100);
    expect(c.train.targets[24]).toBeCloseTo(1, 6); // period 25: target t is time t + 1
    const l = lorenzTask({ samples: 3000, tau: 27 });
    // the target of step t is the input of step t + 27
    expect(l.train.targets[0]).toBe(l.train.inputs[27]);
    expect(l.train.lossWeights[0]).toBe(0); // washout
    expect(lorenzTask({ samples: 3000, seed: 1 }).train.inputs[0]).not.toBe(l.train.inputs[0]);
  });

  it('RK4 is fourth order (Van der Pol) and Mackey-Glass stays in its known range', () => {
    const f = vanDerPolField(1);
    const err = (sub: number): number => {
      const coarse = integrate(f, [2, 0], 0.2, 11, sub);
      const fine = integrate(f, [2, 0], 0.2, 11, 64);
      return Math.abs(coarse[20]! - fine[20]!);
    };
    expect(err(1) / err(2)).toBeGreaterThan(12); // ~16 for fourth order
    const mg = mackeyGlassTask({ samples: 1500 });
    expect(mg.train.n).toBeGreaterThan(0);
  });

  it('reaching: 8 trained targets on the circle, 8 unseen ones between them; final error of the targets is 0', () => {
    const t = reachingTask();
    expect(t.reaching!.trainTargets).toHaveLength(8);
    expect(t.reaching!.testTargets[0]![0]).toBeCloseTo(Math.cos(Math.PI / 8), 6);
    const e = reachingErrors(t.train.targets, t.reaching!.trainTargets, t.train.steps, t.reaching!.moveSteps);
    expect(e.finalError).toBeLessThan(1e-6);
    expect(e.holdSpeed).toBeLessThan(1e-6);
  });
});

describe('dynamics analysis', () => {
  it('the Jacobian equals finite differences of the update; Newton finds a fixed point; eigenvalues are right', async () => {
    const rnn = await RNN.create({
      inputSize: 1,
      hidden: 12,
      outputSize: 1,
      alpha: 0.6,
      recurrentGain: 1.8,
      seed: 10,
      biasInit: { dist: 'normal', scale: 0.5, relative: false },
    });
    const p = await rnnParameters(rnn);
    const r = Float64Array.from({ length: 12 }, (_, i) => Math.sin(i));
    const J = rnnJacobian(p, r, [0.5]);
    const h = 1e-6;
    for (let j = 0; j < 12; j++) {
      const up = Float64Array.from(r);
      const dn = Float64Array.from(r);
      up[j]! += h;
      dn[j]! -= h;
      const fu = rnnStep(p, up, [0.5]);
      const fd = rnnStep(p, dn, [0.5]);
      for (let i = 0; i < 12; i++) expect(J[i * 12 + j]).toBeCloseTo((fu[i]! - fd[i]!) / (2 * h), 6);
    }
    const fp = findFixedPoint(p, { input: [0.5] });
    expect(fp.converged).toBe(true);
    const f = rnnStep(p, fp.state, [0.5]);
    expect(relNormError(f, fp.state, 1e-12)).toBeLessThan(1e-8);
    // a rotation by 0.3 rad scaled by 0.9 has eigenvalues 0.9 e^{+-0.3i}
    const c = 0.9 * Math.cos(0.3);
    const s = 0.9 * Math.sin(0.3);
    const ev = eigenvalues([c, -s, s, c], 2);
    expect(ev.spectralRadius).toBeCloseTo(0.9, 10);
    expect(Math.abs(ev.im[0]!)).toBeCloseTo(s, 10);
    // the spectrum of W: radius about g for a random N(0, g^2/m) matrix (loosely, m = 12)
    const w = eigenvalues(p.W, 12);
    expect(w.spectralRadius).toBeGreaterThan(0.5);
    expect(w.spectralRadius).toBeLessThan(4);
    rnn.dispose();
  });
});
