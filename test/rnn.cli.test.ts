/**
 * `biaslearn rnn` as a child process (node dist/cli/main.js; dist is rebuilt first when a source
 * file is newer): outputs of a short cosine run and of a forecasting run, and usage errors.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RNN } from '../src/index.js';
import { type CliRun, repoRoot, runCliProcess } from './helpers/cli.js';
import { ensureDist } from './helpers/dist.js';

const root = repoRoot;
const work = mkdtempSync(join(tmpdir(), 'biaslearn-rnn-cli-'));

const cli = (args: string[], timeout?: number): Promise<CliRun> => runCliProcess(args, work, timeout);

beforeAll(() => ensureDist(root), 240_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('biaslearn rnn', () => {
  it('--activation identity trains a linear RNN (gain 0.8: stable) and records it in the checkpoint', async () => {
    const r = await cli([
      'rnn',
      '--task',
      'cosine',
      '--hidden',
      '12',
      '--epochs',
      '3',
      '--activation',
      'identity',
      '--gain',
      '0.8',
      '--out',
      'linear',
      '--quiet',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const model = await RNN.load(join(work, 'linear', 'model.blck'));
    expect(model.config.activation).toBe('identity');
    model.dispose();
  });
  it('cosine: checkpoint, metrics.json, trajectory, loss and eigenvalue SVGs', async () => {
    const r = await cli([
      'rnn',
      '--task',
      'cosine',
      '--hidden',
      '40',
      '--epochs',
      '60',
      '--out',
      'cos',
      '--quiet',
      '--eigen',
      'on',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/free-running NMSE [\d.]+ over 100 steps/);
    for (const f of ['model.blck', 'metrics.json', 'trajectories.svg', 'loss.svg', 'eigenvalues.svg'])
      expect(existsSync(join(work, 'cos', f)), f).toBe(true);
    expect(readFileSync(join(work, 'cos', 'trajectories.svg'), 'utf8')).toMatch(/^<svg/);
    const m = JSON.parse(readFileSync(join(work, 'cos', 'metrics.json'), 'utf8'));
    expect(m.history.epoch).toHaveLength(60);
    expect(m.model.trainable).toMatchObject({ recurrentBias: true, initialState: true, recurrentWeight: false });
    expect(m.dynamics.weightSpectrum.re).toHaveLength(40);
    expect(Number.isFinite(m.evaluation.test.nmse)).toBe(true);
    const model = await RNN.load(join(work, 'cos', 'model.blck'));
    expect(model.hidden).toBe(40);
    model.dispose();
  });

  it('lorenz with tbptt: teacher-forced and closed-loop metrics', async () => {
    const r = await cli([
      'rnn',
      '--task',
      'lorenz',
      '--hidden',
      '24',
      '--epochs',
      '1',
      '--rule',
      'tbptt:20',
      '--out',
      'lor',
      '--quiet',
      '--eigen',
      'off',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/teacher-forced; closed loop R\^2/);
    const m = JSON.parse(readFileSync(join(work, 'lor', 'metrics.json'), 'utf8'));
    expect(m.config.rule).toBe('tbptt:20');
    expect(m.evaluation.closedLoop.delay).toBe(27);
    expect(existsSync(join(work, 'lor', 'eigenvalues.svg'))).toBe(false);
  });

  it('bad flags are usage errors (exit 2, one line)', async () => {
    for (const args of [
      ['rnn', '--rule', 'backprop'],
      ['rnn', '--rule', 'tbptt:0'],
      ['rnn', '--task', 'weather'],
      ['rnn', '--alpha', '0'],
    ]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const help = await cli(['rnn', '--help']);
    expect(help.code).toBe(0);
    for (const flag of ['--task', '--hidden', '--train', '--rule', '--learn-state', '--alpha', '--gain', '--eigen', '--out'])
      expect(help.stdout).toContain(flag);
  });
});
