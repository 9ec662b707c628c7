/**
 * Checkpoints and resume: ModelCheckpoint (every epoch, best only with min/max, templates,
 * atomic writes, training state in the metadata) and fit({ initialEpoch }): 10 epochs, or 5 then
 * load + resume for 5 more, give the same biases bit for bit on the CPU (shuffling stream and
 * learning-rate schedule continue). Adam's moments live in the native model, which does not yet
 * expose them: the Adam case runs once the model implements OptimizerStateAccess.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MLP,
  ModelCheckpoint,
  RNN,
  Rng,
  SequenceDataset,
  formatCheckpointPath,
  hasOptimizerState,
  readCheckpoint,
  readOptimizerState,
  restoreTraining,
  stepDecay,
  writeOptimizerState,
  type MLPOptions,
} from '../src/index.js';
import { firstBitDiff, randomLabels, randomNormalF32 } from './helpers/numeric.js';

const work = mkdtempSync(join(tmpdir(), 'biaslearn-resume-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const I = 9;
const O = 4;
const rng = new Rng(3);
const x = randomNormalF32(rng, 61 * I);
const y = randomLabels(rng, 61, O);

async function sameLearned(
  a: { getLearned(): Promise<Record<string, Float32Array>> },
  b: { getLearned(): Promise<Record<string, Float32Array>> },
): Promise<void> {
  const la = await a.getLearned();
  const lb = await b.getLearned();
  for (const k of Object.keys(la)) expect(firstBitDiff(la[k]!, lb[k]!), k).toBe(-1);
}

async function resumeCase(options: MLPOptions, tag: string): Promise<void> {
  const fitOptions = {
    epochs: 10,
    batchSize: 8,
    seed: 11,
    validationSplit: 0.2,
    lrSchedule: stepDecay({ stepSize: 3, gamma: 0.5 }),
  };
  const straight = await MLP.create(options);
  await straight.fit(x, y, fitOptions);
  const first = await MLP.create(options);
  const template = join(work, tag, 'ckpt-{epoch:02d}.blck');
  await first.fit(x, y, { ...fitOptions, epochs: 5, callbacks: [new ModelCheckpoint(template)] });
  const path = join(work, tag, 'ckpt-05.blck');
  const resumed = await MLP.load(path);
  const info = await restoreTraining(path, resumed);
  expect(info.initialEpoch).toBe(5);
  await resumed.fit(x, y, { ...fitOptions, initialEpoch: info.initialEpoch });
  await sameLearned(straight, resumed);
  for (const m of [straight, first, resumed]) m.dispose();
}

describe('resume bit for bit', () => {
  it('SGD (no optimizer state): 10 epochs = 5 + load + resume 5 (step-decay schedule, shuffling, validation split)', async () => {
    await resumeCase({ inputSize: I, hidden: [17], outputSize: O, seed: 2, optimizer: { type: 'sgd', lr: 0.05 } }, 'sgd');
  });

  it('SGD, full training of every weight', async () => {
    await resumeCase(
      { inputSize: I, hidden: [7], outputSize: O, seed: 4, train: 'full', optimizer: { type: 'sgd', lr: 0.01 } },
      'sgd-full',
    );
  });

  it('Adam: 10 epochs = 5 + load + resume 5 (optimizer state restored)', async () => {
    expect(hasOptimizerState(MLP.prototype)).toBe(true);
    await resumeCase({ inputSize: I, hidden: [17], outputSize: O, seed: 2 }, 'adam');
  });

  it('Adam without the optimizer state differs from the straight run (why the state matters)', async () => {
    const straight = await MLP.create({ inputSize: I, hidden: [17], outputSize: O, seed: 2 });
    await straight.fit(x, y, { epochs: 4, batchSize: 8, seed: 1 });
    const part = await MLP.create({ inputSize: I, hidden: [17], outputSize: O, seed: 2 });
    await part.fit(x, y, { epochs: 2, batchSize: 8, seed: 1 });
    await part.resetOptimizer(); // a resume that lost the optimizer state
    await part.fit(x, y, { epochs: 4, initialEpoch: 2, batchSize: 8, seed: 1 });
    const a = await straight.biases(0);
    const b = await part.biases(0);
    expect(firstBitDiff(a, b)).toBeGreaterThanOrEqual(0);
    straight.dispose();
    part.dispose();
  });

  it('RNN (SGD): 6 epochs = 3 + load + resume 3', async () => {
    const r = new Rng(5);
    const seqs = SequenceDataset.create({
      inputs: Float32Array.from({ length: 6 * 5 * 2 }, () => r.normal()),
      targets: Float32Array.from({ length: 6 * 5 }, () => r.normal()),
      steps: 5,
      inputSize: 2,
      outputSize: 1,
    });
    const opts = { inputSize: 2, hidden: 8, outputSize: 1, seed: 3, optimizer: { type: 'sgd' as const, lr: 0.01 } };
    const a = await RNN.create(opts);
    await a.fit(seqs, { epochs: 6, batchSize: 2, seed: 4 });
    const b = await RNN.create(opts);
    await b.fit(seqs, { epochs: 3, batchSize: 2, seed: 4, callbacks: [new ModelCheckpoint(join(work, 'rnn-{epoch}.blck'))] });
    const c = await RNN.load(join(work, 'rnn-3.blck'));
    await c.fit(seqs, {
      epochs: 6,
      batchSize: 2,
      seed: 4,
      initialEpoch: (await restoreTraining(join(work, 'rnn-3.blck'), c)).initialEpoch,
    });
    await sameLearned(a, c);
    for (const m of [a, b, c]) m.dispose();
  });
});

describe('ModelCheckpoint', () => {
  it('saveBestOnly with mode max on val_accuracy (alias val_acc accepted), training state in the metadata', async () => {
    const m = await MLP.create({ inputSize: I, hidden: [17], outputSize: O, seed: 2 });
    const ck = new ModelCheckpoint(join(work, 'best', 'best.blck'), {
      monitor: 'val_acc',
      saveBestOnly: true,
      metadata: { note: 'x' },
    });
    const h = await m.fit(x, y, { epochs: 6, validationSplit: 0.3, seed: 1, callbacks: [ck] });
    const accs = h.history.val_accuracy!;
    const improved = accs.filter((a, i) => accs.slice(0, i).every((b) => a > b)).length;
    expect(ck.saved).toHaveLength(improved);
    expect(ck.monitor).toBe('val_accuracy');
    const best = Math.max(...accs);
    expect(ck.best).toBe(best);
    const { header } = await readCheckpoint(join(work, 'best', 'best.blck'));
    const t = header.metadata!.training as { epoch: number; best: number; lrScale: number; optimizerState: boolean };
    expect(t.epoch).toBe(accs.indexOf(best) + 1);
    expect(t.best).toBe(best);
    expect(t.lrScale).toBe(1);
    expect(header.metadata!.note).toBe('x');
    expect(t.optimizerState).toBe(true);
    // No temporary files left behind (atomic writes): the checkpoint and its optimizer state only.
    expect(readdirSync(join(work, 'best')).sort()).toEqual(['best.blck', 'best.blck.optimizer']);
    m.dispose();
  });

  it('templates: epoch and metrics with formats; unknown names and formats are typed errors', () => {
    expect(formatCheckpointPath('c-{epoch:02d}-{val_loss:.3f}.blck', 4, { val_loss: 0.12345 })).toBe('c-05-0.123.blck');
    expect(formatCheckpointPath('c-{epoch}-{val_acc:.2f}.blck', 0, { val_accuracy: 0.5 })).toBe('c-1-0.50.blck');
    expect(() => formatCheckpointPath('{nope}', 0, {})).toThrow(expect.objectContaining({ code: 'E_INVALID_ARG' }));
    expect(() => formatCheckpointPath('{epoch:x}', 0, {})).toThrow(expect.objectContaining({ code: 'E_INVALID_ARG' }));
    expect(() => new ModelCheckpoint('')).toThrow(expect.objectContaining({ code: 'E_INVALID_ARG' }));
  });

  it('writes and restores an optimizer state through OptimizerStateAccess (a model that has one)', async () => {
    const path = join(work, 'opt', 'fake.blck');
    const state = {
      steps: [7],
      tensors: { 'layers.0.bias.exp_avg': Float32Array.from([1, 2]), 'layers.0.bias.exp_avg_sq': Float32Array.from([3, 4]) },
    };
    let restored: typeof state | undefined;
    const fake = {
      async save(p: string, o?: { metadata?: Record<string, unknown> }) {
        const real = await MLP.create({ inputSize: 1, hidden: [1], outputSize: 1, seed: 0 });
        await real.save(p, o);
        real.dispose();
      },
      async getOptimizerState() {
        return state;
      },
      async setOptimizerState(s: typeof state) {
        restored = s;
      },
      async getLearned() {
        return {};
      },
      async setLearned() {},
    };
    const ck = new ModelCheckpoint(path);
    Object.assign(ck, { model: fake, fitState: { lrScale: 0.5, stopTraining: false } });
    await ck.onEpochEnd(2, { loss: 1 });
    expect(existsSync(`${path}.optimizer`)).toBe(true);
    expect((await readOptimizerState(`${path}.optimizer`)).steps).toEqual([7]);
    const info = await restoreTraining(path, fake);
    expect(info).toEqual({ initialEpoch: 3, lrScale: 0.5, optimizerRestored: true });
    expect(restored!.tensors['layers.0.bias.exp_avg_sq']).toEqual(Float32Array.from([3, 4]));
    await writeOptimizerState(join(work, 'opt', 'x.optimizer'), state);
    await expect(restoreTraining(join(work, 'opt', 'x.optimizer'), fake)).rejects.toMatchObject({ code: 'E_FORMAT' });
  });
});

/** Runs the CLI in process and sends it SIGINT once its stderr matches `when`. */
async function runCliInterrupted(when: RegExp, argv: string[]): Promise<{ code: number; stderr: string }> {
  const { runCli } = await import('../src/cli/main.js');
  let stderr = '';
  let sent = false;
  const io = {
    stdout: { write: () => true },
    stderr: {
      write: (s: string) => {
        stderr += s;
        if (!sent && when.test(stderr)) {
          sent = true;
          setImmediate(() => process.emit('SIGINT'));
        }
        return true;
      },
    },
  };
  const code = await runCli(argv, io);
  return { code, stderr };
}

describe('Ctrl-C in the CLI', () => {
  it('train: SIGINT after epoch 1 saves that epoch (model.blck with its training state, metrics.json interrupted) and exits 130', async () => {
    const out = join(work, 'cli-interrupt');
    const { code, stderr } = await runCliInterrupted(/epoch +1\/\d+/, [
      'train',
      '--samples',
      '4000',
      '--hidden',
      '64',
      '--epochs',
      '50',
      '--seed',
      '1',
      '--quiet',
      '--out',
      out,
    ]);
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/interrupted: saved the last finished epoch \((\d+)\)/);
    const { readFileSync } = await import('node:fs');
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.interrupted).toBe(true);
    expect(metrics.epochsRun).toBeGreaterThanOrEqual(1);
    expect(metrics.epochsRun).toBeLessThan(50);
    expect(metrics.history.epoch).toHaveLength(metrics.epochsRun);
    const { header } = await readCheckpoint(join(out, 'model.blck'));
    expect((header.metadata!.training as { epoch: number }).epoch).toBe(metrics.epochsRun);
    const back = await MLP.load(join(out, 'model.blck'));
    back.dispose();
  });
});

describe('Ctrl-C in the rnn command', () => {
  it('rnn: SIGINT during training saves the last copied epoch and exits 130', async () => {
    const out = join(work, 'cli-interrupt-rnn');
    const { code, stderr } = await runCliInterrupted(/^epoch \d+\/\d+ /m, [
      'rnn',
      '--task',
      'cosine',
      '--hidden',
      '16',
      '--epochs',
      '100000',
      '--seed',
      '1',
      '--quiet',
      '--eigen',
      'off',
      '--out',
      out,
    ]);
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/interrupted: saved the last finished epoch/);
    const { readFileSync } = await import('node:fs');
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.interrupted).toBe(true);
    expect(metrics.epochsRun).toBeGreaterThanOrEqual(1);
    const back = await RNN.load(join(out, 'model.blck'));
    back.dispose();
  }, 60_000);
});
