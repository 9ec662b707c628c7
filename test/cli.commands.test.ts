/**
 * The compiled `biaslearn` command, run as a child process (node dist/cli/main.js). dist is rebuilt
 * first when any source file is newer than its compiled output.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultLearningRate } from '../src/model/config.js';
import { type CliRun, repoRoot, runCliProcess } from './helpers/cli.js';
import { ensureDist } from './helpers/dist.js';

const root = repoRoot;
const work = mkdtempSync(join(tmpdir(), 'biaslearn-cli-'));

const cli = (args: string[], timeout?: number): Promise<CliRun> => runCliProcess(args, work, timeout);

beforeAll(() => ensureDist(root), 240_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** One line on stderr, no stack trace. */
function expectOneLineError(r: CliRun, pattern: RegExp): void {
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('biaslearn --help / --version / info', () => {
  it('--help lists every subcommand and exits 0', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const sub of ['train', 'eval', 'sweep', 'info']) expect(r.stdout).toMatch(new RegExp(`^\\s+${sub}\\b`, 'm'));
    expect(r.stdout).toContain('Exit codes');
  });

  it('train --help documents its flags with defaults', async () => {
    const r = await cli(['train', '--help']);
    expect(r.code).toBe(0);
    for (const flag of [
      '--data',
      '--data-dir',
      '--images',
      '--labels',
      '--hidden',
      '--train',
      '--epochs',
      '--batch-size',
      '--lr',
      '--optimizer',
      '--activation',
      '--seed',
      '--validation-split',
      '--hidden-scale',
      '--readout-scale',
      '--threads',
      '--backend',
      '--out',
      '--early-stopping',
      '--lr-schedule',
      '--quiet',
    ]) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toMatch(/--epochs <n>\s+training epochs \(default: 5\)/);
  });

  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('info --json reports backends, gemm and threads', async () => {
    const r = await cli(['info', '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as { backends: string[]; gemm: string; threads: number };
    expect(info.backends).toContain('cpu');
    expect(typeof info.gemm).toBe('string');
    expect(info.threads).toBeGreaterThanOrEqual(1);
  });
});

describe('biaslearn train / eval', () => {
  const out = join(work, 'run1');
  let trained: CliRun;
  beforeAll(async () => {
    trained = await cli(['train', '--hidden', '64', '--epochs', '1', '--samples', '1500', '--out', out]);
  }, 60_000);

  it('trains the embedded task and writes model, metrics and loss curve', () => {
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stdout).toMatch(/test accuracy: \d\.\d{4}/);
    expect(trained.stderr).toMatch(/^epoch 1\/1 .*loss/m); // not a TTY: one line per epoch
    for (const f of ['model.blck', 'metrics.json', 'loss.svg']) expect(existsSync(join(out, f)), f).toBe(true);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.config.data.name).toBe('spirals');
    expect(metrics.config.hidden).toEqual([64]);
    expect(metrics.history.history.loss).toHaveLength(1);
    expect(metrics.testAccuracy).toBeGreaterThan(0);
    expect(metrics.samplesPerSec).toBeGreaterThan(0);
    expect(metrics.runtime.backends).toContain('cpu');
    expect(metrics.samples).toMatchObject({ train: 1080, validation: 120, test: 300 });
    const printed = Number(/test accuracy: (\d\.\d+)/.exec(trained.stdout)![1]);
    expect(printed).toBeCloseTo(metrics.testAccuracy, 4);
    const svg = readFileSync(join(out, 'loss.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toMatch(/<path|<line/);
  });

  it('eval rebuilds the recorded test split and reproduces the test accuracy', async () => {
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    const r = await cli(['eval', join(out, 'model.blck'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { accuracy: number; loss: number; n: number };
    expect(res.n).toBe(metrics.test.n);
    expect(res.accuracy).toBe(metrics.testAccuracy);
    expect(res.loss).toBeCloseTo(metrics.test.loss, 6);
    const text = await cli(['eval', join(out, 'model.blck')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`test accuracy: ${metrics.testAccuracy.toFixed(4)}`);
  });

  it('eval with data of the wrong shape is a BiasLearnError (exit 1)', async () => {
    const r = await cli(['eval', join(out, 'model.blck'), '--embed', '8']);
    expect(r.code).toBe(1);
    expectOneLineError(r, /^error \[E_SHAPE\]: /);
  });
});

describe('biaslearn errors', () => {
  it('an unknown flag exits 2 with a one-line message', async () => {
    const r = await cli(['train', '--bogus']);
    expect(r.code).toBe(2);
    expectOneLineError(r, /^error: unknown option '--bogus'/);
  });

  it('an invalid value exits 2 naming the flag', async () => {
    const r = await cli(['train', '--hidden', 'abc']);
    expect(r.code).toBe(2);
    expectOneLineError(r, /--hidden.*'abc' is invalid/);
  });

  it('a missing checkpoint is error [E_IO] with exit 1', async () => {
    const r = await cli(['eval', join(work, 'nope.blck')]);
    expect(r.code).toBe(1);
    expectOneLineError(r, /^error \[E_IO\]: .*nope\.blck/);
  });
});

describe('biaslearn sweep', () => {
  it('trains every combination and writes sweep.json and an SVG plot', async () => {
    const out = join(work, 'sweep1');
    const r = await cli([
      'sweep',
      '--widths',
      '16,32',
      '--train',
      'bias,full',
      '--seeds',
      '1',
      '--epochs',
      '1',
      '--samples',
      '900',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const sweep = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
    expect(sweep.complete).toBe(true);
    expect(sweep.rows).toHaveLength(4);
    for (const row of sweep.rows) {
      expect(Object.keys(row)).toEqual(
        expect.arrayContaining(['width', 'train', 'seed', 'testAccuracy', 'trainSeconds', 'samplesPerSec']),
      );
      expect(row.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(row.testAccuracy).toBeLessThanOrEqual(1);
    }
    expect(sweep.rows.map((x: { width: number; train: string }) => `${x.width}/${x.train}`)).toEqual([
      '16/bias',
      '16/full',
      '32/bias',
      '32/full',
    ]);
    // Per-mode default learning rates.
    // the library's per-set defaults (defaultLearningRate): adam 5e-2 bias, 1e-3 full
    expect(sweep.rows.find((x: { train: string }) => x.train === 'bias').lr).toBe(defaultLearningRate('bias'));
    expect(sweep.rows.find((x: { train: string }) => x.train === 'full').lr).toBe(defaultLearningRate('full'));
    const svg = readFileSync(join(out, 'sweep.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toMatch(/<path|<line/);
    expect(svg).not.toContain('NaN');
    // The printed table: one row per width, one column per trainable set.
    expect(r.stdout).toMatch(/width\s+bias\s+full/);
    expect(r.stdout).toMatch(/^\s*16\s+\d\.\d{4} ± 0\.0000/m);
    expect(r.stdout).toMatch(/^\s*32\s+/m);
  });
});
