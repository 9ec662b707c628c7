/**
 * Progress and logging: fit({ verbose }) (Keras's 0 / 1 / 2), the exported ProgressBar callback
 * on any stream (lines without a TTY, a live bar on one), the input-cache status line, CSVLogger
 * and JsonLinesLogger (one row per finished epoch; append when resuming).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CSVLogger, JsonLinesLogger, MLP, ProgressBar, Rng } from '../src/index.js';
import { randomLabels, randomNormalF32 } from './helpers/numeric.js';

const work = mkdtempSync(join(tmpdir(), 'biaslearn-logging-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const I = 7;
const O = 3;
const rng = new Rng(1);
const x = randomNormalF32(rng, 50 * I);
const y = randomLabels(rng, 50, O);

async function model(): Promise<MLP> {
  return MLP.create({ inputSize: I, hidden: [11], outputSize: O, seed: 1 });
}

function sink(isTTY = false): { stream: { write(s: string): boolean; isTTY: boolean }; text: () => string } {
  let text = '';
  return {
    stream: {
      write: (s: string) => {
        text += s;
        return true;
      },
      isTTY,
    },
    text: () => text,
  };
}

describe('verbose', () => {
  it('0 (default) writes nothing; 2 writes one line per epoch to stderr', async () => {
    const m = await model();
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await m.fit(x, y, { epochs: 2 });
      expect(spy).not.toHaveBeenCalled();
      await m.fit(x, y, { epochs: 3, verbose: 2, validationSplit: 0.2 });
      const lines = spy.mock.calls
        .map((c) => String(c[0]))
        .join('')
        .trim()
        .split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(
        /^epoch 1\/3 {2}loss \d+\.\d{4} {2}accuracy \d\.\d{4} {2}val_loss \d+\.\d{4} {2}val_accuracy \d\.\d{4} {2}lr /,
      );
    } finally {
      spy.mockRestore();
    }
    await expect(m.fit(x, y, { verbose: 3 as never })).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
    m.dispose();
  });
});

describe('ProgressBar', () => {
  it('without a TTY: epoch lines numbered from initialEpoch, with the prefix', async () => {
    const m = await model();
    const s = sink();
    await m.fit(x, y, { epochs: 4, initialEpoch: 2, callbacks: [new ProgressBar({ stream: s.stream, prefix: '[run a]' })] });
    expect(
      s
        .text()
        .trim()
        .split('\n')
        .map((l) => l.slice(0, 18)),
    ).toEqual(['[run a] epoch 3/4 ', '[run a] epoch 4/4 ']);
    m.dispose();
  });

  it('on a TTY: draws a bar from the progress hook, then the epoch line', async () => {
    const m = await model();
    const s = sink(true);
    await m.fit(x, y, { epochs: 1, batchSize: 5, chunkMs: 1, callbacks: [new ProgressBar({ stream: s.stream })] });
    expect(s.text()).toMatch(/samples\/s/);
    expect(s.text()).toMatch(/epoch 1\/1 {2}loss /);
    m.dispose();
  });

  it('reports the input-cache build up front (size and cost)', async () => {
    // 2 n I H = 2 * 1000 * 784 * 640 = 1.0 GFLOP: reported; the small runs above print no status line.
    const m = await MLP.create({ inputSize: 784, hidden: [640], outputSize: O, seed: 1 });
    const s = sink();
    await m.fit(new Float32Array(1000 * 784).fill(0.5), new Int32Array(1000), {
      epochs: 1,
      batchSize: 500,
      cacheInputLayer: true,
      callbacks: [new ProgressBar({ stream: s.stream })],
    });
    expect(s.text()).toMatch(/^building the input-layer cache X W0\^T: 1000 x 640 floats \(2\.4 MiB\), one 1\.0 GFLOP product/);
    m.dispose();
  });
});

describe('CSVLogger and JsonLinesLogger', () => {
  it('one row per epoch; append continues the file', async () => {
    const m = await model();
    const csv = join(work, 'sub', 'log.csv');
    const jsonl = join(work, 'log.jsonl');
    await m.fit(x, y, { epochs: 2, validationSplit: 0.2, callbacks: [new CSVLogger(csv), new JsonLinesLogger(jsonl)] });
    await m.fit(x, y, {
      epochs: 3,
      initialEpoch: 2,
      validationSplit: 0.2,
      callbacks: [new CSVLogger(csv, { append: true }), new JsonLinesLogger(jsonl, { append: true })],
    });
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,samplesPerSec');
    expect(rows.slice(1).map((r) => r.split(',')[0])).toEqual(['0', '1', '2']);
    for (const r of rows.slice(1)) expect(r.split(',').every((c) => c !== '' && Number.isFinite(Number(c)))).toBe(true);
    const objs = readFileSync(jsonl, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(objs.map((o) => o.epoch)).toEqual([0, 1, 2]);
    expect(Object.keys(objs[0])).toEqual([
      'epoch',
      'loss',
      'accuracy',
      'val_loss',
      'val_accuracy',
      'lr',
      'seconds',
      'samplesPerSec',
    ]);
    expect(() => new CSVLogger('')).toThrow(/file path/);
    m.dispose();
  });
});
