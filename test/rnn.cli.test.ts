/**
 * `biaslearn rnn` as a child process (node dist/cli/main.js; dist is rebuilt first when a source
 * file is newer): outputs of a short cosine run and of a forecasting run, and usage errors.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RNN } from '../src/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'dist', 'cli', 'main.js');
const work = mkdtempSync(join(tmpdir(), 'biaslearn-rnn-cli-'));

function cli(args: string[], timeout = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [main, ...args],
      { cwd: work, timeout, env: { ...process.env, BIASLEARN_DEBUG: '' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(() => {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
    );
  const stale =
    !existsSync(main) ||
    walk(join(root, 'src')).some((src) => {
      const out = join(root, 'dist', relative(join(root, 'src'), src)).replace(/\.ts$/, '.js');
      return !existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs;
    });
  if (stale) {
    try {
      execFileSync(
        process.execPath,
        [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')],
        { cwd: root, stdio: 'pipe' },
      );
    } catch (err) {
      if (!existsSync(main)) throw err; // type errors elsewhere still emit JavaScript
    }
  }
}, 180_000);

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
