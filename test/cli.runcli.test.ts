/** The CLI in-process through runCli (no build needed): usage errors, idx data, parsers. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveDataSpec } from '../src/cli/data.js';
import { table } from '../src/cli/format.js';
import { floatParser, intListParser, intParser, trainListParser, validationParser } from '../src/cli/parse.js';
import { writeIdx } from '../src/data/idx.js';
import { MLP } from '../src/model/mlp.js';
import { runCliCaptured } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'biaslearn-runcli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = runCliCaptured;

describe('usage errors exit 2 with one line', () => {
  const cases: [string[], RegExp][] = [
    [['trian'], /unknown command 'trian'.*Did you mean train/],
    [['train', '--epochs', '0'], /--epochs.*'0' is invalid.*integer >= 1/],
    [['train', '--epochs', '1.5'], /--epochs/],
    [['train', '--train', 'foo'], /--train.*'foo' is invalid.*bias, readout, full/],
    [['train', '--hidden', '64,'], /--hidden/],
    [['train', '--lr', 'fast'], /--lr/],
    [['train', '--validation-split', '1'], /--validation-split/],
    [['train', '--optimizer', 'rmsprop'], /--optimizer/],
    [['train', '--data', 'cifar'], /--data.*cifar/],
    [['train', '--data', 'idx'], /--data idx needs --images <file> and --labels <file>/],
    [['train', '--data', 'mnist', '--samples', '100'], /--samples does not apply to --data mnist/],
    [['train', '--images', 'a.idx'], /--images does not apply to --data spirals/],
    [['train', '--samples', '3'], /--samples must be at least/],
    [['sweep', '--seeds', '0'], /--seeds/],
    [['sweep', '--train', 'bias,nope'], /--train.*nope/],
    [['eval'], /missing required argument 'checkpoint'/],
    [['info', 'extra'], /too many arguments/],
  ];
  for (const [argv, pattern] of cases) {
    it(argv.join(' '), async () => {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^error: /);
      expect(lines[0]).toMatch(pattern);
      expect(r.stdout).toBe('');
    });
  }

  it('no command prints the help to stderr', async () => {
    const r = await run();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: biaslearn');
  });

  it('help <command> and --help exit 0 on stdout', async () => {
    const r = await run('help', 'sweep');
    expect(r.code).toBe(0);
    for (const flag of ['--widths', '--train', '--seeds', '--epochs', '--batch-size', '--out', '--data'])
      expect(r.stdout).toContain(flag);
    expect((await run('eval', '--help')).stdout).toContain('--json');
  });
});

describe('idx data and checkpoints', () => {
  const n = 240;
  const images = join(work, 'images-idx3-ubyte');
  const labels = join(work, 'labels-idx1-ubyte.gz');

  it('trains on --data idx with a held-out split and eval reproduces it', async () => {
    const px = new Uint8Array(n * 16);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 3;
      for (let p = 0; p < 16; p++) px[i * 16 + p] = (p % 3 === y[i] ? 200 : 20) + ((i * 7 + p) % 30);
    }
    await writeIdx(images, [n, 4, 4], px);
    await writeIdx(labels, [n], y);
    const out = join(work, 'idx-run');
    const r = await run(
      'train',
      '--data',
      'idx',
      '--images',
      images,
      '--labels',
      labels,
      '--hidden',
      '16',
      '--epochs',
      '2',
      '--validation-split',
      '0',
      '--out',
      out,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/IDX \(192 train \/ 48 test/);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.config.data).toMatchObject({ name: 'idx', images, labels, split: 'holdout' });
    // Recorded paths are never opened: without --images / --labels, eval asks for them.
    const noPaths = await run('eval', join(out, 'model.blck'), '--json');
    expect(noPaths.code).toBe(2);
    expect(noPaths.stderr).toMatch(/pass --images and --labels/);
    const ev = await run('eval', join(out, 'model.blck'), '--images', images, '--labels', labels, '--json');
    expect(ev.code, ev.stderr).toBe(0);
    expect(JSON.parse(ev.stdout).accuracy).toBe(metrics.testAccuracy);
    // Separate test files: the official split, all n samples.
    const ev2 = await run(
      'eval',
      join(out, 'model.blck'),
      ...['--images', images, '--labels', labels, '--test-images', images, '--test-labels', labels, '--json'],
    );
    expect(ev2.code, ev2.stderr).toBe(0);
    expect(JSON.parse(ev2.stdout).n).toBe(n);
  });

  it('a checkpoint without recorded data needs --data (exit 2)', async () => {
    const model = await MLP.create({ inputSize: 64, hidden: [8], outputSize: 3 });
    const path = join(work, 'bare.blck');
    await model.save(path);
    model.dispose();
    const r = await run('eval', path);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/does not record its training data; pass --data/);
    const ok = await run('eval', path, '--data', 'spirals', '--samples', '300', '--json');
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).n).toBe(60);
  });

  it('a corrupt checkpoint is error [E_FORMAT] with exit 1', async () => {
    const path = join(work, 'bad.blck');
    await writeIdx(path, [1], new Uint8Array(1));
    const r = await run('eval', path);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error \[E_FORMAT\]: /);
  });
});

describe('parsers and helpers', () => {
  it('parse integers, floats and lists strictly', () => {
    expect(intParser(1)('12')).toBe(12);
    for (const bad of ['0', '-3', '1.5', 'abc', '', '1e3']) expect(() => intParser(1)(bad)).toThrow(/integer >= 1/);
    expect(floatParser({ min: 0, minOpen: true })('1e-3')).toBe(1e-3);
    expect(() => floatParser({ min: 0, minOpen: true })('0')).toThrow(/> 0/);
    expect(() => floatParser()('NaN')).toThrow();
    expect(intListParser('widths')('256, 1024')).toEqual([256, 1024]);
    expect(() => intListParser('widths')('256,,1024')).toThrow(/widths/);
    expect(trainListParser('full,bias,full')).toEqual(['full', 'bias']);
    expect(validationParser('test')).toBe('test');
    expect(validationParser('0')).toBe(0);
    expect(() => validationParser('1')).toThrow(/'test'/);
  });

  it('resolveDataSpec keeps a recorded spec and applies only the flags given', () => {
    const base = resolveDataSpec({ data: 'spirals', samples: 800 });
    expect(base).toMatchObject({ name: 'spirals', samples: 800, classes: 3, embed: 64, seed: 0, testFraction: 0.2 });
    expect(resolveDataSpec({ dataSeed: 5 }, base)).toMatchObject({ samples: 800, seed: 5 });
    expect(resolveDataSpec({ data: 'spirals' }, base)).toMatchObject({ samples: 5000 });
    expect(resolveDataSpec({ data: 'mnist', dataDir: 'x' }).dir).toMatch(/\/x$/);
  });

  it('formats tables with numeric columns right-aligned', () => {
    expect(
      table(
        ['width', 'bias'],
        [
          ['16', '0.5000'],
          ['1024', '0.7500'],
        ],
      ),
    ).toBe('width    bias\n-----  ------\n   16  0.5000\n 1024  0.7500');
  });
});
