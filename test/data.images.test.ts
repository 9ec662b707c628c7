import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeIdx } from '../src/data/idx.js';
import {
  FASHION_MNIST_DEFAULT_DIR,
  defaultSharedDataDir,
  loadFashionMnist,
  loadIdxClassification,
  loadKmnist,
  loadMnist,
} from '../src/data/images.js';
import type { Dataset } from '../src/data/dataset.js';
import { FileFormatError } from '../src/errors.js';

const projectRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const sharedDir = resolve(projectRoot, '..', 'shared', 'data');
const hasMnist = existsSync(join(sharedDir, 'mnist', 't10k-images-idx3-ubyte.gz'));
const hasKmnist = existsSync(join(sharedDir, 'kmnist', 't10k-images-idx3-ubyte.gz'));
const hasFashion = existsSync(join(FASHION_MNIST_DEFAULT_DIR, 't10k-images-idx3-ubyte.gz'));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'biaslearn-images-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes a tiny MNIST-like pair: n images of 2x3 with pixel (i, p) = (i * 6 + p) * 5, labels i % 3. */
async function writeTinySet(sub: string, n: number, prefix = 't10k', gzip = true): Promise<{ images: string; labels: string }> {
  const folder = join(dir, sub);
  await mkdir(folder, { recursive: true });
  const ext = gzip ? '.gz' : '';
  const images = join(folder, `${prefix}-images-idx3-ubyte${ext}`);
  const labels = join(folder, `${prefix}-labels-idx1-ubyte${ext}`);
  const px = new Uint8Array(n * 6);
  for (let i = 0; i < px.length; i++) px[i] = (i * 5) % 256;
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) y[i] = i % 3;
  await writeIdx(images, [n, 2, 3], px);
  await writeIdx(labels, [n], y);
  return { images, labels };
}

async function rejection(p: Promise<unknown>): Promise<FileFormatError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(FileFormatError);
    return err as FileFormatError;
  }
  throw new Error('expected a rejection');
}

function checkMnistLike(ds: Dataset): void {
  expect(ds.n).toBe(10000);
  expect(ds.inputSize).toBe(784);
  expect(ds.outputSize).toBe(10);
  if (ds.targets.kind !== 'classes') throw new Error('expected class targets');
  const counts = new Array<number>(10).fill(0);
  for (const c of ds.targets.labels) {
    if (c < 0 || c >= 10) throw new Error(`label ${c} out of range`);
    counts[c]! += 1;
  }
  expect(counts.every((c) => c > 500)).toBe(true);
  let min = Infinity;
  let max = -Infinity;
  for (const v of ds.x) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  expect(min).toBe(0);
  expect(max).toBe(1);
}

describe('loadIdxClassification', () => {
  it('scales pixels to [0, 1] and flattens images', async () => {
    const { images, labels } = await writeTinySet('tiny', 4);
    const ds = await loadIdxClassification(images, labels);
    expect([ds.n, ds.inputSize, ds.outputSize]).toEqual([4, 6, 3]);
    expect(ds.x[7]).toBeCloseTo(35 / 255, 7);
    expect(ds.targets.kind === 'classes' && Array.from(ds.targets.labels)).toEqual([0, 1, 2, 0]);
    const limited = await loadIdxClassification(images, labels, { limit: 2, numClasses: 10 });
    expect([limited.n, limited.outputSize]).toEqual([2, 10]);
  });

  it('onProgress follows both files (raw and gzip) to their sizes', async () => {
    for (const gzip of [true, false]) {
      const { images, labels } = await writeTinySet(`progress-${gzip}`, 7, 't10k', gzip);
      const last = new Map<string, number>();
      const total = new Map<string, number>();
      const ds = await loadIdxClassification(images, labels, {
        onProgress: ({ file, bytesDone, bytesTotal }) => {
          expect(bytesDone).toBeGreaterThanOrEqual(last.get(file) ?? 0);
          last.set(file, bytesDone);
          total.set(file, bytesTotal);
        },
      });
      expect(ds.n).toBe(7);
      expect([...last.keys()].sort()).toEqual([images, labels].sort());
      for (const f of [images, labels]) {
        expect(total.get(f)).toBe(statSync(f).size);
        expect(last.get(f)).toBe(total.get(f));
      }
    }
  });

  it('rejects mismatched counts and wrong dims', async () => {
    const a = await writeTinySet('count-a', 4);
    const b = await writeTinySet('count-b', 5);
    const e = await rejection(loadIdxClassification(a.images, b.labels));
    expect(e.code).toBe('E_FORMAT');
    expect(e.message).toMatch(/as many images as labels \(5 in .*\), got 4 images/);

    const e2 = await rejection(loadIdxClassification(a.labels, a.labels));
    expect(e2.code).toBe('E_FORMAT');
    expect(e2.message).toMatch(/expected 3 dims \[n, rows, cols\] for an images file, got \[4\]/);

    const e3 = await rejection(loadIdxClassification(a.images, a.images));
    expect(e3.message).toMatch(/expected 1 dim \[n\] for a labels file, got \[4, 2, 3\]/);

    const floatImages = join(dir, 'float-images.idx');
    await writeIdx(floatImages, [4, 2, 3], new Float32Array(24));
    const e4 = await rejection(loadIdxClassification(floatImages, a.labels));
    expect(e4.message).toMatch(/ubyte/);

    const e5 = await rejection(loadIdxClassification(a.images, a.labels, { numClasses: 2 }));
    expect(e5.code).toBe('E_FORMAT');
    expect(e5.path).toBe(a.labels);
    expect(e5.message).toMatch(/sample 2/);
  });

  it('named loaders accept files without .gz and a given dir', async () => {
    await writeTinySet('plain', 3, 'train', false);
    const ds = await loadMnist({ dir: join(dir, 'plain'), split: 'train' });
    expect(ds.n).toBe(3);
    expect(ds.outputSize).toBe(10);
  });

  it('missing files give E_IO saying what was looked for and how to get it', async () => {
    const fashion = await rejection(loadFashionMnist({ dir: join(dir, 'nowhere'), split: 'train' }));
    expect(fashion.code).toBe('E_IO');
    expect(fashion.message).toMatch(/Fashion-MNIST train (images|labels) not found/);
    expect(fashion.message).toMatch(/train-(images-idx3|labels-idx1)-ubyte\.gz/);
    expect(fashion.message).toMatch(/does not exist/);
    expect(fashion.message).toContain('apt-get install -y dataset-fashion-mnist');

    await mkdir(join(dir, 'empty-dir'));
    const mnist = await rejection(loadMnist({ dir: join(dir, 'empty-dir'), split: 'test' }));
    expect(mnist.code).toBe('E_IO');
    expect(mnist.message).toMatch(/MNIST test (images|labels) not found: looked for t10k-/);
    expect(mnist.message).not.toMatch(/does not exist/);
    expect(mnist.message).toMatch(/pass \{ dir \}/);

    await expect(loadKmnist({ split: 'validation' as 'test' })).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
  });

  it('defaultSharedDataDir is ../shared/data next to the package root', () => {
    expect(defaultSharedDataDir()).toBe(sharedDir);
  });
});

/** Test title that carries the skip reason only when the test is skipped. */
function title(what: string, present: boolean, reason: string): string {
  return present ? what : `${what} (skipped: ${reason})`;
}

describe('real datasets', () => {
  it.skipIf(!hasMnist)(
    title('MNIST test split: 10000 x 784, labels in [0, 10)', hasMnist, `${sharedDir}/mnist/t10k-*.gz not found`),
    async () => {
      checkMnistLike(await loadMnist({ split: 'test' }));
    },
  );

  it.skipIf(!hasKmnist)(
    title('KMNIST test split: 10000 x 784, labels in [0, 10)', hasKmnist, `${sharedDir}/kmnist/t10k-*.gz not found`),
    async () => {
      checkMnistLike(await loadKmnist({ split: 'test' }));
    },
  );

  it.skipIf(!hasFashion)(
    title(
      'Fashion-MNIST test split: 10000 x 784, labels in [0, 10)',
      hasFashion,
      `${FASHION_MNIST_DEFAULT_DIR} not found; apt-get install -y dataset-fashion-mnist`,
    ),
    async () => {
      const ds = await loadFashionMnist({ split: 'test' });
      checkMnistLike(ds);
      // first test image of Fashion-MNIST is an ankle boot (class 9)
      expect(ds.targets.kind === 'classes' && ds.targets.labels[0]).toBe(9);
    },
  );

  it.skipIf(!hasMnist)(
    title('MNIST shared dir has no train split: the error says so', hasMnist, 'shared MNIST not found'),
    async () => {
      const e = await rejection(loadMnist({ split: 'train' }));
      expect(e.code).toBe('E_IO');
      expect(e.message).toMatch(/only the t10k test split/);
    },
  );
});
