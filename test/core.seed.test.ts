/**
 * Seeds: an unseeded model draws a fresh random seed (crypto) and records it in its config and
 * checkpoint, so two unseeded models differ and each is reproducible from its checkpoint; an
 * explicit seed behaves as before; the CLI prints a drawn seed and records it in metrics.json.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MLP, MultitaskModel, RNN, readCheckpoint } from '../src/index.js';
import { freshSeed } from '../src/util/seed.js';
import { sameBits } from './helpers/numeric.js';
import { runCliCaptured } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'biaslearn-seed-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('freshSeed', () => {
  it('draws integers in [0, 2^32), not all equal', () => {
    const seeds = Array.from({ length: 64 }, () => freshSeed());
    for (const s of seeds) {
      expect(Number.isInteger(s)).toBe(true);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(2 ** 32);
    }
    expect(new Set(seeds).size).toBeGreaterThan(60);
  });
});

describe('unseeded models', () => {
  it('MLP: two unseeded models get different seeds and weights; a checkpoint records the seed and reproduces them', async () => {
    const a = await MLP.create({ inputSize: 7, hidden: [5], outputSize: 3 });
    const b = await MLP.create({ inputSize: 7, hidden: [5], outputSize: 3 });
    expect(a.config.seed).not.toBe(b.config.seed);
    expect(sameBits(await a.weights(0), await b.weights(0))).toBe(false);
    const path = join(work, 'a.blck');
    await a.save(path);
    expect((await readCheckpoint(path)).header.model.seed).toBe(a.config.seed);
    const back = await MLP.load(path);
    expect(sameBits(await back.weights(0), await a.weights(0))).toBe(true);
    const again = await MLP.create({ inputSize: 7, hidden: [5], outputSize: 3, seed: a.config.seed });
    expect(sameBits(await again.weights(0), await a.weights(0))).toBe(true);
    for (const m of [a, b, back, again]) m.dispose();
  });

  it('an explicit seed is kept as given (0 included)', async () => {
    const m = await MLP.create({ inputSize: 7, hidden: [5], outputSize: 3, seed: 0 });
    expect(m.config.seed).toBe(0);
    m.dispose();
  });

  it('RNN and multi-task models draw fresh seeds too', async () => {
    const r1 = await RNN.create({ inputSize: 1, hidden: 8, outputSize: 1 });
    const r2 = await RNN.create({ inputSize: 1, hidden: 8, outputSize: 1 });
    expect(r1.config.seed).not.toBe(r2.config.seed);
    const tasks = [
      { name: 'a', classes: 2 },
      { name: 'b', classes: 2 },
    ];
    const m1 = await MultitaskModel.create({ inputSize: 4, hidden: 8, tasks });
    const m2 = await MultitaskModel.create({ inputSize: 4, hidden: 8, tasks });
    expect(m1.config.seed).not.toBe(m2.config.seed);
    for (const m of [r1, r2, m1, m2]) m.dispose();
  });
});

describe('CLI', () => {
  const run = runCliCaptured;

  it('train without --seed prints the drawn seed and records it (metrics.json, checkpoint)', async () => {
    const out = join(work, 'run');
    const r = await run('train', '--samples', '120', '--hidden', '8', '--epochs', '1', '--quiet', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const m = /seed (\d+) \(random; --seed \1 repeats this run\)/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    const seed = Number(m![1]);
    expect(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).config.seed).toBe(seed);
    expect((await readCheckpoint(join(out, 'model.blck'))).header.model.seed).toBe(seed);
  });

  it('train --seed 3 prints "seed 3" only', async () => {
    const r = await run(
      'train',
      '--samples',
      '120',
      '--hidden',
      '8',
      '--epochs',
      '1',
      '--quiet',
      '--seed',
      '3',
      '--out',
      join(work, 'run3'),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/seed 3;/);
    expect(r.stderr).not.toMatch(/random/);
  });
});
