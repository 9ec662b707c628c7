/**
 * `biaslearn multitask` and `biaslearn analyze` in-process through runCli, on small slices of the
 * real data (../shared/data MNIST / KMNIST test sets, --limit), plus the task-spec parser and the
 * derived-task transforms (permutation, rotation, label subsets) on hand-made images.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Dataset,
  MultitaskModel,
  applyTransforms,
  parseTaskList,
  parseTaskSpec,
  pixelPermutation,
  readCheckpoint,
  rotateImages,
} from '../src/index.js';
import { runCliCaptured } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'biaslearn-mtcli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = runCliCaptured;

describe('task specs and derived tasks', () => {
  it('parses bases and transform chains; rejects unknown parts', () => {
    expect(parseTaskSpec('mnist:perm1:rot90')).toEqual({
      name: 'mnist:perm1:rot90',
      base: 'mnist',
      transforms: [
        { kind: 'perm', seed: 1 },
        { kind: 'rot', degrees: 90 },
      ],
    });
    expect(parseTaskSpec('fmnist:classes0-4').name).toBe('fashion-mnist:classes0-4');
    expect(parseTaskList('mnist, kmnist ,fashion-mnist:parity').map((s) => s.name)).toEqual([
      'mnist',
      'kmnist',
      'fashion-mnist:parity',
    ]);
    expect(() => parseTaskSpec('cifar')).toThrow(/unknown base task 'cifar'/);
    expect(() => parseTaskSpec('mnist:blur')).toThrow(/unknown transform 'blur'/);
    expect(() => parseTaskList('mnist,mnist')).toThrow(/listed twice/);
  });

  it('rotations, permutations and label subsets on a 3x3 image', () => {
    // pixels 0..8 row-major; labels 0..3
    const x = new Float32Array(4 * 9);
    for (let r = 0; r < 4; r++) for (let i = 0; i < 9; i++) x[r * 9 + i] = i + 10 * r;
    const d = Dataset.classification(x, 9, Int32Array.from([0, 1, 2, 3]), 4);
    // 90 degrees counter-clockwise: the top row becomes the left column read upwards
    const r90 = rotateImages(d, 90);
    expect(Array.from(r90.x.subarray(0, 9))).toEqual([2, 5, 8, 1, 4, 7, 0, 3, 6]);
    expect(Array.from(rotateImages(d, 180).x.subarray(0, 9))).toEqual([8, 7, 6, 5, 4, 3, 2, 1, 0]);
    expect(Array.from(rotateImages(r90, 270).x)).toEqual(Array.from(x));
    // a non-multiple of 90 interpolates; the centre pixel is fixed
    expect(rotateImages(d, 45).x[4]).toBeCloseTo(4, 5);
    const p = pixelPermutation(9, 1);
    const perm = applyTransforms(d, [{ kind: 'perm', seed: 1 }]);
    for (let i = 0; i < 9; i++) expect(perm.x[i]).toBe(x[p[i]!]);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const sub = applyTransforms(d, [{ kind: 'classes', from: 1, to: 2 }]);
    expect(sub.n).toBe(2);
    expect(sub.outputSize).toBe(2);
    expect(Array.from((sub.targets as { labels: Int32Array }).labels)).toEqual([0, 1]);
    const par = applyTransforms(d, [{ kind: 'parity' }]);
    expect(Array.from((par.targets as { labels: Int32Array }).labels)).toEqual([0, 1, 0, 1]);
  });
});

const haveData = existsSync(join(process.cwd(), '..', 'shared', 'data', 'mnist'));

describe.skipIf(!haveData)('biaslearn multitask / analyze', () => {
  it('trains, saves, and analyses (bias vs mask), writing reports and figures', async () => {
    const common = [
      '--tasks',
      'mnist,kmnist,mnist:classes0-4',
      '--hidden',
      '512',
      '--epochs',
      '2',
      '--batch-size',
      '32',
      '--limit',
      '600',
      '--test-limit',
      '300',
      '--quiet',
      '--seed',
      '3',
    ];
    const a = await run('multitask', ...common, '--train', 'bias', '--out', join(work, 'bias'), '--single-task-baseline');
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/task mnist: 600 train \/ 300 test, 10 classes/);
    expect(a.stderr).toMatch(/per-task readout/);
    expect(a.stderr).toMatch(/val per task: mnist 0\.\d+ kmnist 0\.\d+ mnist:classes0-4 0\.\d+/);
    expect(a.stdout).toMatch(/task\s+multi-task bias\s+single-task bias\s+diff \(points\)/);
    const metrics = JSON.parse(readFileSync(join(work, 'bias', 'metrics.json'), 'utf8'));
    expect(Object.keys(metrics.test.perTask)).toEqual(['mnist', 'kmnist', 'mnist:classes0-4']);
    expect(metrics.test.perTask.mnist.accuracy).toBeGreaterThan(0.3);
    expect(metrics.history.perTask.kmnist.val_accuracy.length).toBe(2);
    expect(Object.keys(metrics.singleTask)).toEqual(['mnist', 'kmnist', 'mnist:classes0-4']);
    expect(readFileSync(join(work, 'bias', 'accuracy.svg'), 'utf8').startsWith('<svg')).toBe(true);
    const { header, tensors } = await readCheckpoint(join(work, 'bias', 'model.blck'));
    expect((header.metadata as { data: { tasks: string[] } }).data.tasks).toEqual(['mnist', 'kmnist', 'mnist:classes0-4']);
    expect(tensors['tasks.2.readout.bias']!.length).toBe(5);
    expect(tensors['tasks.0.layers.0.bias']!.length).toBe(512);

    const m = await run('multitask', ...common, '--train', 'mask', '--out', join(work, 'mask'));
    expect(m.code, m.stderr).toBe(0);
    expect(m.stderr).toMatch(/slope/);

    const r = await run(
      'analyze',
      join(work, 'bias', 'model.blck'),
      '--compare',
      join(work, 'mask', 'model.blck'),
      '--out',
      join(work, 'an'),
      '--k-max',
      '5',
      '--restarts',
      '2',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/bias learning: \d+ of 512 units kept/);
    expect(r.stdout).toMatch(/variance profiles, bias learning vs mask learning: Pearson/);
    const report = JSON.parse(readFileSync(join(work, 'an', 'report.json'), 'utf8'));
    expect(report.analysis.kSelection.criterion).toBe('silhouette');
    expect(report.analysis.clusters.length).toBe(report.analysis.kSelection.chosen);
    expect(Object.keys(report.analysis.perTask)).toEqual(['mnist', 'kmnist', 'mnist:classes0-4']);
    expect(typeof report.compare.varianceProfileCorrelation.spearman).toBe('number');
    for (const f of ['heatmap.svg', 'clusters.svg', 'accuracy.svg', 'heatmap-compare.svg'])
      expect(readFileSync(join(work, 'an', f), 'utf8').startsWith('<svg')).toBe(true);
    // the saved model loads and reproduces its reported accuracy
    const back = await MultitaskModel.load(join(work, 'bias', 'model.blck'));
    expect(back.taskNames).toEqual(['mnist', 'kmnist', 'mnist:classes0-4']);
    back.dispose();
  });

  it('usage errors exit 2 with one line; a missing data folder is a typed error', async () => {
    const bad = await run('multitask', '--tasks', 'mnist,cifar');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--tasks: unknown base task 'cifar'/);
    const trainMode = await run('multitask', '--train', 'weights');
    expect(trainMode.code).toBe(2);
    const missing = await run(
      'multitask',
      '--tasks',
      'kmnist',
      '--kmnist-dir',
      join(work, 'nope'),
      '--hidden',
      '8',
      '--out',
      join(work, 'x'),
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/error \[E_IO\]/);
    const notMt = await run('analyze', join(work, 'nope.blck'));
    expect(notMt.code).toBe(1);
  });
});
