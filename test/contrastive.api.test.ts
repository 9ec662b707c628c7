/**
 * The EnergyNetwork API: create / fit (callbacks, History) / evaluate / predict / gradients /
 * save + load (seed and learned values only; bit-identical predictions), option validation
 * (unknown keys, typed errors for beta 0 or non-finite, negative step counts, a non-converging
 * relaxation), the variance-optimal pi helper, and CUDA against CPU at the model level where a
 * device is present.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { optimalPi } from '../src/contrastive/config.js';
import { EnergyNetwork } from '../src/contrastive/energy_network.js';
import { Dataset } from '../src/data/dataset.js';
import { Rng } from '../src/util/rng.js';
import { probeBackends } from './helpers/backends.js';
import { errorOf } from './helpers/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'bl-contrastive-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const probe = await probeBackends();

/** Two Gaussian blobs per class in 7 dimensions, 3 classes. */
function blobs(n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const I = 7,
    K = 3;
  const centers = Array.from({ length: K }, () => Array.from({ length: I }, () => 2 * rng.normal()));
  const x = new Float32Array(n * I);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % K;
    labels[i] = k;
    for (let j = 0; j < I; j++) x[i * I + j] = centers[k]![j]! + 0.5 * rng.normal();
  }
  return Dataset.classification(x, I, labels, K);
}

const small = { inputSize: 7, hidden: [13], outputSize: 3, seed: 11, relaxation: { freeSteps: 30, nudgedSteps: 15 } };

describe('EnergyNetwork', () => {
  it('fit trains a bias-only network (EP centered), with callbacks and History; evaluate and predict agree', async () => {
    const data = blobs(301, 1);
    const model = await EnergyNetwork.create({ ...small, train: 'bias', optimizer: { type: 'adam', lr: 0.05 } });
    const before = await model.evaluate(data);
    const epochs: number[] = [];
    const h = await model.fit(data, {
      epochs: 4,
      batchSize: 32,
      callbacks: [{ onEpochEnd: (e: number) => void epochs.push(e) }],
    });
    expect(epochs).toEqual([0, 1, 2, 3]);
    expect(h.history.loss).toHaveLength(4);
    const after = await model.evaluate(data);
    expect(after.loss).toBeLessThan(before.loss);
    expect(after.accuracy!).toBeGreaterThan(0.8);
    expect(after.residual).toBeLessThan(1e-3);
    const cls = await model.predictClasses(data);
    const hits = cls.reduce((a, c, i) => a + (c === (data.targets.kind === 'classes' ? data.targets.labels[i] : -1) ? 1 : 0), 0);
    expect(hits / data.n).toBeCloseTo(after.accuracy!, 6);
    expect(model.toString()).toContain('EnergyNetwork(7-13-3');
    model.dispose();
  });

  for (const rule of [
    'chl',
    'ep',
    'ep-random-sign',
    'coupled',
    'continual-ep',
    'oscillating',
    'random-phase',
    'exact',
  ] as const) {
    it(`rule ${rule}: one epoch lowers the loss (full network, SGD)`, async () => {
      const data = blobs(150, 2);
      const model = await EnergyNetwork.create({ ...small, train: 'full', optimizer: { type: 'sgd', lr: 0.05 } });
      const before = await model.evaluate(data);
      await model.fit(data, { epochs: 2, batchSize: 25, relaxation: { rule, beta: rule === 'coupled' ? 0.5 : 0.2 } });
      const after = await model.evaluate(data);
      expect(after.loss, rule).toBeLessThan(before.loss);
      model.dispose();
    });
  }

  it('save/load: the seed regenerates the frozen weights; learned values and predictions are bit-identical', async () => {
    const data = blobs(40, 3);
    const model = await EnergyNetwork.create({
      ...small,
      hidden: [5, 9],
      train: {
        layers: [
          { weight: false, bias: true },
          { weight: true, bias: false },
          { weight: false, bias: true },
        ],
      },
    });
    expect(model.learnedTensors().map((t) => t.name)).toEqual(['layers.0.bias', 'layers.1.weight', 'layers.2.bias']);
    await model.fit(data, { epochs: 1, batchSize: 8 });
    const path = join(dir, 'm.blck');
    await model.save(path);
    const back = await EnergyNetwork.load(path);
    expect(back.config).toEqual(model.config);
    const a = await model.predict(data),
      b = await back.predict(data);
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    expect(await back.weights(0)).toEqual(await model.weights(0));
    model.dispose();
    back.dispose();
  });

  it('gradients: the chosen rule by name, per learned tensor; exact vs centered EP agree in direction', async () => {
    const data = blobs(17, 4);
    const model = await EnergyNetwork.create({
      ...small,
      activation: 'sigmoid',
      relaxation: { freeSteps: 200, nudgedSteps: 200 },
    });
    const ex = await model.gradients(data, { rule: 'exact' });
    const ep = await model.gradients(data, { rule: 'ep-centered', beta: 0.05 });
    expect(Object.keys(ex.grads)).toEqual(['layers.0.bias', 'layers.1.bias']);
    const a = [...ex.grads['layers.0.bias']!, ...ex.grads['layers.1.bias']!];
    const b = [...ep.grads['layers.0.bias']!, ...ep.grads['layers.1.bias']!];
    const dot = a.reduce((s, v, i) => s + v * b[i]!, 0);
    const cos = dot / Math.hypot(...a) / Math.hypot(...b);
    expect(cos).toBeGreaterThan(0.99);
    const rp = await model.gradients(data, { rule: 'random-phase', phases: 20 });
    expect(rp.phases!.nPlus + rp.phases!.nMinus).toBe(20);
    model.dispose();
  });

  it('typed errors: unknown keys, beta 0 or non-finite, negative or zero step counts, pi out of range', async () => {
    expect((await errorOf(() => EnergyNetwork.create({ ...small, widht: 3 } as never))).code).toBe('E_INVALID_ARG');
    const model = await EnergyNetwork.create(small);
    const data = blobs(9, 5);
    for (const bad of [
      { beta: 0 },
      { beta: Number.NaN },
      { beta: Infinity },
      { freeSteps: -1 },
      { nudgedSteps: 0 },
      { stepSize: 0 },
      { pi: 1 },
      { traceTau: 0.5 },
      { rule: 'nope' },
    ])
      expect((await errorOf(() => model.gradients(data, bad as never))).code, JSON.stringify(bad)).toBe('E_INVALID_ARG');
    expect((await errorOf(() => model.fit(data, { relaxation: { freeStep: 3 } as never }))).code).toBe('E_INVALID_ARG');
    expect((await errorOf(() => model.evaluate(blobs(9, 5).subset(Int32Array.of(0)), { batchSize: 0 }))).code).toBe(
      'E_INVALID_ARG',
    );
    expect(
      (
        await errorOf(() =>
          EnergyNetwork.create({
            ...small,
            train: {
              layers: [
                { weight: false, bias: false },
                { weight: false, bias: false },
              ],
            },
          }),
        )
      ).code,
    ).toBe('E_CONFIG');
    model.dispose();
  });

  it('a relaxation that does not converge within tolerance is an E_NOT_CONVERGED error, not silently used', async () => {
    const model = await EnergyNetwork.create({ ...small, weightInit: { dist: 'uniform', scale: 8, relative: true } });
    const data = blobs(12, 6);
    const err = await errorOf(() => model.fit(data, { epochs: 1, relaxation: { freeSteps: 2, tolerance: 1e-6 } }));
    expect(err.code).toBe('E_NOT_CONVERGED');
    // without a tolerance it is reported: lastResidual
    await model.fit(data, { epochs: 1, relaxation: { freeSteps: 2 } });
    expect(model.lastResidual).toBeGreaterThan(1e-6);
    model.dispose();
  });

  it("persistent particles: a later epoch starts near each sample's free state (smaller residual after 3 steps)", async () => {
    const data = blobs(64, 8);
    const residual = async (persistent: boolean) => {
      const model = await EnergyNetwork.create({ ...small, optimizer: { type: 'sgd', lr: 1e-9 } });
      await model.fit(data, { epochs: 3, batchSize: 16, shuffle: true, relaxation: { freeSteps: 3, persistent } });
      const r = model.lastResidual;
      model.dispose();
      return r;
    };
    const fresh = await residual(false),
      persisted = await residual(true);
    expect(persisted).toBeLessThan(0.1 * fresh);
  });

  it('stepUpdates false: continual EP summed over a batch and applied once equals one EP update (SGD)', async () => {
    const data = blobs(16, 9);
    const trained = async (rule: 'ep' | 'continual-ep') => {
      const model = await EnergyNetwork.create({ ...small, train: 'full', optimizer: { type: 'sgd', lr: 0.1 } });
      await model.fit(data, { epochs: 1, batchSize: 16, shuffle: false, relaxation: { rule, beta: 0.1, stepUpdates: false } });
      const v = await model.getLearned();
      model.dispose();
      return Object.values(v).flatMap((a) => Array.from(a));
    };
    const ep = await trained('ep'),
      cep = await trained('continual-ep');
    const start = await EnergyNetwork.create({ ...small, train: 'full' });
    const v0 = Object.values(await start.getLearned()).flatMap((a) => Array.from(a));
    start.dispose();
    const moved = Math.hypot(...ep.map((v, i) => v - v0[i]!));
    expect(moved).toBeGreaterThan(1e-3);
    expect(Math.hypot(...cep.map((v, i) => v - ep[i]!))).toBeLessThan(1e-4 * moved);
  });

  it('optimalPi: sqrt(m+) / (sqrt(m+) + sqrt(m-)), clamped, 0.5 for equal moments', () => {
    expect(optimalPi(1, 1)).toBe(0.5);
    expect(optimalPi(4, 1)).toBeCloseTo(2 / 3, 12);
    expect(optimalPi(1, 0)).toBe(0.99);
    expect(() => optimalPi(-1, 1)).toThrow();
  });

  it.skipIf(!probe.backends.includes('cuda'))('CUDA matches the CPU: free state, EP and exact gradients', async () => {
    const data = blobs(33, 7);
    const opts = { ...small, train: 'full' as const, activation: 'sigmoid' as const };
    const cpu = await EnergyNetwork.create(opts);
    const gpu = await EnergyNetwork.create({ ...opts, backend: 'cuda' });
    const a = await cpu.predict(data),
      b = await gpu.predict(data);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);
    for (const rule of ['ep-centered', 'exact', 'continual-ep'] as const) {
      const ga = await cpu.gradients(data, { rule }),
        gb = await gpu.gradients(data, { rule });
      for (const k of Object.keys(ga.grads))
        for (let i = 0; i < ga.grads[k]!.length; i++)
          expect(Math.abs(ga.grads[k]![i]! - gb.grads[k]![i]!), `${rule} ${k}`).toBeLessThan(
            1e-4 * (1 + Math.abs(ga.grads[k]![i]!)),
          );
    }
    cpu.dispose();
    gpu.dispose();
  });
});
