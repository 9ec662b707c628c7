// The input-layer cache (fit option cacheInputLayer) must compute the same training steps as
// the plain path: P = X W_0^T reused across steps instead of multiplied per batch.
import { describe, expect, it } from 'vitest';
import { Dataset, MLP, Rng, ValidationError } from '../src/index.js';

function randomData(n: number, inputSize: number, classes: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(n * inputSize).map(() => rng.uniform() * 2 - 1);
  const labels = new Int32Array(n).map(() => rng.int(classes));
  return Dataset.classification(x, inputSize, labels, classes);
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-12);
}

describe('input-layer cache', () => {
  const cases: { train: 'bias' | 'readout'; hidden: number[] }[] = [
    { train: 'bias', hidden: [7] },
    { train: 'bias', hidden: [33, 5] },
    { train: 'readout', hidden: [17] },
    { train: 'bias', hidden: [] },
  ];
  for (const c of cases) {
    it(`${c.train} ${JSON.stringify(c.hidden)}: cached steps match plain steps`, async () => {
      const data = randomData(203, 13, 4, 7);
      const opts = { inputSize: 13, hidden: c.hidden, outputSize: 4, train: c.train, seed: 3, activation: 'tanh' as const };
      const plain = await MLP.create(opts);
      const cached = await MLP.create(opts);
      const hp = await plain.fit(data, { epochs: 3, batchSize: 16, seed: 5, cacheInputLayer: false });
      const hc = await cached.fit(data, { epochs: 3, batchSize: 16, seed: 5, cacheInputLayer: true });
      const lp = await plain.getLearned();
      const lc = await cached.getLearned();
      for (const name of Object.keys(lp)) expect(maxRelDiff(lc[name]!, lp[name]!)).toBeLessThan(1e-4);
      for (let e = 0; e < 3; e++)
        expect(Math.abs(hc.history.loss![e]! - hp.history.loss![e]!)).toBeLessThan(1e-4 * (1 + hp.history.loss![e]!));
      // and it learned something, so the comparison is not between two untouched models
      expect(hc.history.loss![2]!).toBeLessThan(hc.history.loss![0]!);
    });
  }

  it("refuses the cache when the first layer's weights learn", async () => {
    const data = randomData(20, 5, 3, 1);
    const m = await MLP.create({ inputSize: 5, hidden: [4], outputSize: 3, train: 'full' });
    await expect(m.fit(data, { epochs: 1, cacheInputLayer: true })).rejects.toSatisfy(
      (e: unknown) => e instanceof ValidationError && e.code === 'E_CONFIG',
    );
    expect(m.usesInputCache(data, 'auto')).toBe(false);
  });
});
