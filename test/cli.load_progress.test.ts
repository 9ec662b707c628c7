/**
 * Dataset loading progress in the CLI: DataLoadDisplay (a status line on a TTY, one line per split
 * up front otherwise) and train / eval / multitask showing it on stderr unless --quiet, stdout unchanged.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataLoadDisplay, formatBytes } from '../src/cli/load_progress.js';
import { writeIdx } from '../src/data/idx.js';
import { runCliCaptured } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'biaslearn-loadprog-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = runCliCaptured;

describe('DataLoadDisplay', () => {
  it('formatBytes', () => {
    expect([formatBytes(12), formatBytes(7_812), formatBytes(26_421_880)]).toEqual(['12 B', '7.8 kB', '26.4 MB']);
  });

  it('without a TTY: one line per split once both files are known, none per chunk', () => {
    let text = '';
    const d = new DataLoadDisplay({ write: (s: string) => (text += s) });
    const train = d.reporter('MNIST train', '/data/mnist');
    train({ file: 'a', bytesDone: 0, bytesTotal: 2_000_000 });
    expect(text).toBe('');
    train({ file: 'b', bytesDone: 0, bytesTotal: 7 });
    for (const done of [1_000_000, 2_000_000]) train({ file: 'a', bytesDone: done, bytesTotal: 2_000_000 });
    train({ file: 'b', bytesDone: 7, bytesTotal: 7 });
    d.finish();
    expect(text).toBe('loading MNIST train (2.0 MB) from /data/mnist\n');
  });

  it('on a TTY: one status line redrawn in place, complete and ended by a newline at finish', () => {
    let text = '';
    const d = new DataLoadDisplay({ write: (s: string) => (text += s), isTTY: true });
    const a = d.reporter('KMNIST test', '/k');
    const b = d.reporter('KMNIST train', '/k');
    a({ file: 'i', bytesDone: 0, bytesTotal: 3000 });
    a({ file: 'l', bytesDone: 0, bytesTotal: 1000 });
    b({ file: 'I', bytesDone: 0, bytesTotal: 6000 });
    b({ file: 'L', bytesDone: 0, bytesTotal: 1000 });
    a({ file: 'i', bytesDone: 3000, bytesTotal: 3000 });
    d.finish();
    expect(text.startsWith('\r\x1b[2Kloading KMNIST test: 0 B / 4.0 kB (0%)')).toBe(true);
    expect(text).not.toContain('\n\r');
    expect(text.endsWith('\r\x1b[2Kloading KMNIST test, KMNIST train: 3.0 kB / 11.0 kB (27%)\n')).toBe(true);
    expect(text.split('\n')).toHaveLength(2);
  });
});

describe('CLI: loading lines on stderr', () => {
  const n = 60;
  const dir = join(work, 'mnist');
  beforeAll(async () => {
    mkdirSync(dir, { recursive: true });
    const px = new Uint8Array(n * 16);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 10;
      for (let p = 0; p < 16; p++) px[i * 16 + p] = (i * 7 + p * 13) % 256;
    }
    await writeIdx(join(dir, 't10k-images-idx3-ubyte.gz'), [n, 4, 4], px);
    await writeIdx(join(dir, 't10k-labels-idx1-ubyte'), [n], y);
  });

  it('train shows the split with its size unless --quiet; eval shows it too', async () => {
    const size = statSync(join(dir, 't10k-images-idx3-ubyte.gz')).size + statSync(join(dir, 't10k-labels-idx1-ubyte')).size;
    const args = ['train', '--data', 'mnist', '--data-dir', dir, '--hidden', '8', '--epochs', '1', '--validation-split', '0'];
    const r = await run(...args, '--out', join(work, 'run'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`loading MNIST t10k (${formatBytes(size)}) from ${dir}\n`);
    expect(r.stdout).not.toContain('loading');
    const q = await run(...args, '--quiet', '--out', join(work, 'run-quiet'));
    expect(q.code, q.stderr).toBe(0);
    expect(q.stderr).not.toContain('loading');
    // The checkpoint records the data by name only: the folder is the user's to give again.
    const ev = await run('eval', join(work, 'run', 'model.blck'), '--data-dir', dir, '--json');
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stderr).toContain(`loading MNIST t10k (${formatBytes(size)}) from ${dir}\n`);
    expect(JSON.parse(ev.stdout).n).toBeGreaterThan(0);
  });

  it('multitask shows one line per base set and split unless --quiet', async () => {
    const args = ['multitask', '--tasks', 'mnist,mnist:parity', '--mnist-dir', dir, '--hidden', '8', '--epochs', '1'];
    const r = await run(...args, '--out', join(work, 'mt'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/^loading mnist test \(.+\) from .+$/gm)).toEqual([expect.stringContaining(dir)]);
    const q = await run(...args, '--quiet', '--out', join(work, 'mt-quiet'));
    expect(q.code, q.stderr).toBe(0);
    expect(q.stderr).not.toContain('loading');
  });
});
