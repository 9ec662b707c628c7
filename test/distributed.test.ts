/**
 * Distributed training over MPI (docs/distributed.md): 2 ranks with 1 thread each under mpirun,
 * against single-process training on the same global batches. Skipped with the reason where the
 * MPI module or mpirun is absent. Every run has a timeout: a fault must end the job, never hang it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMpiModule } from '../src/distributed/mpi_module.js';
import { ensureDist } from './helpers/dist.js';
import { mpiSkipReason, mpirun } from './helpers/mpi.js';

const root = join(import.meta.dirname, '..');
const skip = mpiSkipReason();
const worker = 'test/mpi/dp_train.mjs';

interface Result {
  tensors: Record<string, number[]>;
  history: Record<string, number[]>;
  hashes: string[];
  ranks: number;
}

describe('distributed: loading', () => {
  it('asking for MPI where the module is absent is E_MPI_UNAVAILABLE with the apt-get line', () => {
    expect(() => loadMpiModule(['/nonexistent/biaslearn_mpi.node'])).toThrow(
      expect.objectContaining({ code: 'E_MPI_UNAVAILABLE', message: expect.stringContaining('apt-get install libopenmpi-dev') }),
    );
  });
});

describe.skipIf(skip !== undefined)(`distributed: 2 ranks under mpirun${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let dir = '';
  beforeAll(() => {
    ensureDist(root);
    dir = mkdtempSync(join(tmpdir(), 'bl-mpi-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const runRanks = (kind: string, name: string, mode?: string) => {
    const out = join(dir, `${name}.json`);
    const r = mpirun(2, ['node', worker, kind, out, ...(mode ? [mode] : [])]);
    return { r, result: r.status === 0 ? (JSON.parse(readFileSync(out, 'utf8')) as Result) : undefined };
  };
  const runSingle = (kind: string, name: string): Result => {
    const out = join(dir, `${name}.json`);
    const r = spawnSync('node', [worker, kind, out], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(readFileSync(out, 'utf8')) as Result;
  };

  let firstMlp: Result | undefined;
  // Adam steps on the same global batches: only the order of the float32 sums differs.
  const TOL = 1e-6;
  for (const kind of ['mlp', 'multitask', 'rnn', 'energy']) {
    it(`${kind}: data-parallel equals single-process training within ${TOL}; every rank holds bit-identical weights`, () => {
      const { r, result } = runRanks(kind, `${kind}-2`);
      if (kind === 'mlp') firstMlp = result;
      expect(r.timedOut).toBe(false);
      expect(r.status, r.stderr).toBe(0);
      const single = runSingle(kind, `${kind}-1`);
      expect(result!.ranks).toBe(2);
      expect(result!.hashes).toHaveLength(2);
      expect(result!.hashes[1]).toBe(result!.hashes[0]);
      expect(Object.keys(result!.tensors).sort()).toEqual(Object.keys(single.tensors).sort());
      let changed = 0;
      for (const [name, values] of Object.entries(result!.tensors)) {
        const ref = single.tensors[name]!;
        for (let i = 0; i < values.length; i++) {
          expect(Math.abs(values[i]! - ref[i]!), `${name}[${i}]`).toBeLessThanOrEqual(TOL);
        }
        changed += values.length;
      }
      expect(changed).toBeGreaterThan(0);
      const loss = result!.history.loss!;
      const refLoss = single.history.loss!;
      expect(loss).toHaveLength(refLoss.length);
      for (const [e, l] of loss.entries())
        expect(Math.abs(l - refLoss[e]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(refLoss[e]!)));
    });
  }

  // Width-parallel: each rank's slice of the frozen weights is the full network's exactly; the
  // partial logits' sum differs from one gemm only in float32 rounding order.
  // [kind, trainable set, logit columns R]
  const widthCases: [string, string, number][] = [
    ['mlp', 'bias', 4],
    ['mlp', 'full', 4],
    ['multitask', 'mask', 7],
    ['multitask', 'full', 7],
  ];
  for (const [kind, train, R] of widthCases) {
    it(`width-parallel ${kind} (train ${train}, hidden 37 split 18 + 19) equals the one-process network within ${TOL}`, () => {
      const out2 = join(dir, `wp-${kind}-${train}-2.json`);
      const r = mpirun(2, ['node', 'test/mpi/wp_train.mjs', train, out2, kind]);
      expect(r.timedOut).toBe(false);
      expect(r.status, r.stderr).toBe(0);
      const out1 = join(dir, `wp-${kind}-${train}-1.json`);
      const one = spawnSync('node', ['test/mpi/wp_train.mjs', train, out1, kind], {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(one.status, one.stderr).toBe(0);
      type Wp = Result & {
        initial: Record<string, number[]>;
        predictions: number[];
        steps: number;
        comm: { calls: number; bytes: number };
      };
      const a = JSON.parse(readFileSync(out2, 'utf8')) as Wp;
      const b = JSON.parse(readFileSync(out1, 'utf8')) as Wp;
      expect(a.initial).toEqual(b.initial); // the slices' generated values, bit for bit
      for (const [name, values] of Object.entries(b.tensors)) {
        expect(a.tensors[name]).toHaveLength(values.length);
        for (let i = 0; i < values.length; i++)
          expect(Math.abs(a.tensors[name]![i]! - values[i]!), `${name}[${i}]`).toBeLessThanOrEqual(TOL);
      }
      for (let i = 0; i < b.predictions.length; i++)
        expect(Math.abs(a.predictions[i]! - b.predictions[i]!)).toBeLessThanOrEqual(1e-5);
      // One [B, R] float32 allreduce of partial logits per step: 45 samples, batches of 8, R logit columns, 3 epochs.
      expect(a.comm.calls).toBe(a.steps);
      expect(a.comm.bytes).toBe(3 * 45 * R * 4);
    });
  }

  it('one rank with BIASLEARN_FORCE_COLLECTIVE=1 runs the collective path and equals plain training bit for bit', () => {
    const out = join(dir, 'force-1.json');
    const r = mpirun(1, ['node', worker, 'mlp', out], 60_000, { BIASLEARN_FORCE_COLLECTIVE: '1' });
    expect(r.status, r.stderr).toBe(0);
    const forced = JSON.parse(readFileSync(out, 'utf8')) as Result & { comm: { calls: number } };
    const single = runSingle('mlp', 'force-ref');
    expect(forced.comm.calls).toBeGreaterThan(0); // one gradient allreduce per step
    expect(forced.tensors).toEqual(single.tensors); // a sum over one rank times 1/1 changes nothing
  });

  it('data-parallel training is deterministic run to run (bit for bit)', () => {
    const a = firstMlp ?? runRanks('mlp', 'det-a').result;
    const b = runRanks('mlp', 'det-b').result;
    expect(a?.hashes[0]).toBeDefined();
    expect(b?.hashes[0]).toBe(a?.hashes[0]);
  });

  const faults: [string, RegExp][] = [
    ['bad-input', /\[rank 1\] error \[E_LABEL_RANGE\]/],
    ['missing-file', /\[rank 1\] error \[E_IO\].*biaslearn-missing\.npy/],
    ['seed-mismatch', /error \[E_DISTRIBUTED\].*config\.seed is 7 on rank 0 and 8 on rank 1/],
  ];
  for (const [mode, message] of faults) {
    it(`a fault on one rank (${mode}) ends every rank with a clear error, never a hang`, () => {
      const t0 = Date.now();
      const { r } = runRanks('mlp', `fault-${mode}`, mode);
      expect(r.timedOut).toBe(false);
      expect(r.status).not.toBe(0);
      expect(r.stderr + r.stdout).toMatch(message);
      expect(Date.now() - t0).toBeLessThan(50_000);
    });
  }

  it('sweep under mpirun splits the grid over the ranks; rank 0 writes the same numbers as one process', () => {
    const args = ['sweep', '--widths', '8,16', '--train', 'bias', '--seeds', '2', '--epochs', '1', '--quiet'];
    const r = mpirun(2, ['node', 'dist/cli/main.js', ...args, '--out', join(dir, 'sweep-2')]);
    expect(r.status, r.stderr).toBe(0);
    const one = spawnSync('node', ['dist/cli/main.js', ...args, '--out', join(dir, 'sweep-1')], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(one.status, one.stderr).toBe(0);
    type Row = { width: number; seed: number; testAccuracy: number; testLoss: number };
    const rows = (name: string) =>
      (JSON.parse(readFileSync(join(dir, name, 'sweep.json'), 'utf8')) as { rows: Row[] }).rows.map((x) => [
        x.width,
        x.seed,
        x.testAccuracy,
        x.testLoss,
      ]);
    expect(rows('sweep-2')).toHaveLength(4);
    expect(rows('sweep-2')).toEqual(rows('sweep-1'));
  });

  it('the CLI under mpirun: rank 0 prints and writes the run', () => {
    const out = join(dir, 'cli');
    const r = mpirun(2, [
      'node',
      'dist/cli/main.js',
      'train',
      '--hidden',
      '16',
      '--epochs',
      '1',
      '--batch-size',
      '32',
      '--out',
      out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.match(/^test accuracy: /gm)).toHaveLength(1); // rank 1 prints nothing
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as Record<string, unknown>;
    expect(metrics).toBeTypeOf('object');
  });
});
