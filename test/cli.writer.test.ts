/**
 * The CLI's one writer of run folders (src/cli/files.ts writeRun): which files it writes, in what
 * order, the JSON it writes (keys, indents, rounding, timings) and its typed errors.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { filesSummary, writeRun, type SavableModel } from '../src/cli/files.js';
import { BiasLearnError, MLP, readCheckpoint } from '../src/index.js';
import { lossCurvePlot } from '../src/plot/loss.js';

const work = mkdtempSync(join(tmpdir(), 'biaslearn-writer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let dirs = 0;
function freshDir(): string {
  const d = join(work, `run${++dirs}`);
  rmSync(d, { recursive: true, force: true });
  return mkdtempSync(`${d}-`);
}

/** A model whose checkpoint is its metadata as JSON (what was asked to be saved, and where). */
function fakeModel(): SavableModel & { saved: { path: string; metadata?: Record<string, unknown> }[] } {
  const saved: { path: string; metadata?: Record<string, unknown> }[] = [];
  return {
    saved,
    async save(path, options) {
      saved.push({ path, ...(options.metadata ? { metadata: options.metadata } : {}) });
      writeFileSync(path, JSON.stringify(options.metadata ?? null));
    },
  };
}

const history = { epoch: [0, 1, 2], history: { loss: [1, 0.5, 0.25], val_loss: [1.1, 0.7, 0.5] } };

describe('writeRun', () => {
  it('writes model.blck, the figures and metrics.json; returns the names in the order model, metrics, figures', async () => {
    const dir = freshDir();
    const model = fakeModel();
    const figures = [
      { file: 'loss.svg', spec: lossCurvePlot(history, { title: 'a' }) },
      { file: 'second.svg', spec: lossCurvePlot(history, { title: 'b' }) },
    ];
    const metrics = { command: 'x', config: { a: 1 }, history, timings: { trainSeconds: 2, saveSeconds: 0, totalSeconds: 0 } };
    const t0 = performance.now() - 5000;
    const written = await writeRun(dir, { model, metadata: { cli: { command: 'x' } }, figures, metrics, startedAt: t0 });
    expect(written.files).toEqual(['model.blck', 'metrics.json', 'loss.svg', 'second.svg']);
    expect(written.summary).toBe(filesSummary(dir, written.files));
    expect(written.summary.endsWith('/{model.blck,metrics.json,loss.svg,second.svg}')).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['loss.svg', 'metrics.json', 'model.blck', 'second.svg']);
    expect(model.saved).toEqual([{ path: join(dir, 'model.blck'), metadata: { cli: { command: 'x' } } }]);
    for (const f of ['loss.svg', 'second.svg']) expect(readFileSync(join(dir, f), 'utf8')).toMatch(/^<svg/);
    const text = readFileSync(join(dir, 'metrics.json'), 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toContain('\n  "command": "x",\n');
    const m = JSON.parse(text);
    // keys keep their order; the writer fills saveSeconds and totalSeconds in place
    expect(Object.keys(m)).toEqual(['command', 'config', 'history', 'timings']);
    expect(Object.keys(m.timings)).toEqual(['trainSeconds', 'saveSeconds', 'totalSeconds']);
    expect(m.timings.trainSeconds).toBe(2);
    expect(m.timings.saveSeconds).toBeGreaterThan(0);
    expect(m.timings.totalSeconds).toBeGreaterThanOrEqual(5);
    expect(m.timings.totalSeconds).toBeGreaterThan(m.timings.saveSeconds);
    // the caller's object is left alone
    expect(metrics.timings.saveSeconds).toBe(0);
  });

  it('without a model or figures: only the metrics file, under the name given; no timings added', async () => {
    const dir = freshDir();
    const written = await writeRun(dir, {
      metrics: { command: 'sweep', rows: [{ width: 7, acc: 0.5 }] },
      metricsFile: 'sweep.json',
    });
    expect(written.files).toEqual(['sweep.json']);
    expect(readdirSync(dir)).toEqual(['sweep.json']);
    expect(JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'))).toEqual({
      command: 'sweep',
      rows: [{ width: 7, acc: 0.5 }],
    });
    // written again (sweep rewrites its file after every run): replaced whole, no temp files left
    await writeRun(dir, { metrics: { command: 'sweep', rows: [] }, metricsFile: 'sweep.json' });
    expect(readdirSync(dir)).toEqual(['sweep.json']);
    expect(JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8')).rows).toEqual([]);
  });

  it('significantDigits rounds non-integer numbers only, at every depth', async () => {
    const dir = freshDir();
    const values = Array.from({ length: 7 }, (_, i) => Math.PI * 10 ** (i - 3) * (i % 2 ? -1 : 1));
    const metrics = {
      big: 123456789,
      ints: [1, -7, 0],
      values,
      nested: { x: [{ y: 1 / 3 }] },
      inf: Infinity,
      s: 'a',
      timings: { a: 1 / 7 },
    };
    await writeRun(dir, { metrics, significantDigits: 7 });
    const m = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
    expect(m.big).toBe(123456789);
    expect(m.ints).toEqual([1, -7, 0]);
    expect(m.values).toEqual(values.map((v) => Number(v.toPrecision(7))));
    expect(m.nested.x[0].y).toBe(0.3333333);
    expect(m.inf).toBeNull();
    expect(m.s).toBe('a');
    expect(m.timings.a).toBe(0.1428571);
    expect(Object.keys(m.timings)).toEqual(['a', 'saveSeconds']); // no startedAt: no totalSeconds
  });

  it('saves a real checkpoint that loads and predicts as the model did', async () => {
    const dir = freshDir();
    const mlp = await MLP.create({ inputSize: 3, hidden: [7], outputSize: 2, seed: 1 });
    const x = Float32Array.from({ length: 3 }, (_, i) => Math.sin(i + 1));
    try {
      await writeRun(dir, { model: mlp, metadata: { data: { name: 'spirals' } }, metrics: { command: 'train' } });
      const { header } = await readCheckpoint(join(dir, 'model.blck'));
      expect(header.metadata).toEqual({ data: { name: 'spirals' } });
      const back = await MLP.load(join(dir, 'model.blck'));
      expect(Array.from(await back.predict(x))).toEqual(Array.from(await mlp.predict(x)));
      back.dispose();
    } finally {
      mlp.dispose();
    }
  });

  it('an unwritable folder is a typed E_IO error naming the path; the metrics are not written after a failed figure', async () => {
    const missing = join(work, 'no', 'such', 'dir');
    const err = await writeRun(missing, { metrics: { a: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BiasLearnError);
    expect((err as BiasLearnError).code).toBe('E_IO');
    expect((err as Error).message).toContain(join(missing, 'metrics.json'));
    const dir = freshDir();
    const bad = await writeRun(dir, {
      figures: [{ file: join('sub', 'x.svg'), spec: lossCurvePlot(history) }],
      metrics: { a: 1 },
    }).catch((e: unknown) => e);
    expect((bad as BiasLearnError).code).toBe('E_IO');
    expect((bad as Error).message).toMatch(/cannot write SVG/);
    expect(existsSync(join(dir, 'metrics.json'))).toBe(false);
  });
});
