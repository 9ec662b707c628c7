/**
 * Loaders for MNIST-like image classification sets stored as IDX files: an images file with dims
 * [n, rows, cols] of uint8 pixels and a labels file with dims [n] of integer classes.
 *
 * The loaded {@link Dataset} has x row-major [n, rows * cols] with pixels scaled to [0, 1] and
 * Int32 labels. Named loaders look for the official file names
 *   {train,t10k}-images-idx3-ubyte[.gz]   {train,t10k}-labels-idx1-ubyte[.gz]
 * (also the `-images.idx3-ubyte` spelling some mirrors use) in a directory; by default the first
 * folder of `datasetSearchDirs(name)` holding them ($BIASLEARN_DATA or the user cache, then the
 * system paths; see ./locations.ts). `biaslearn data fetch <name>` downloads them.
 */
import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { packageRoot } from '../util/package_root.js';
import { datasetDir, fetchCommand, howToGetDataset, splitsIn, type DatasetName } from './locations.js';
import { FileFormatError, ValidationError } from '../errors.js';
import { expectInt, expectOneOf } from '../util/validate.js';
import { Dataset } from './dataset.js';
import { readIdx, type IdxData, type ReadProgress } from './idx.js';

export type ImageSplit = 'train' | 'test';

export interface IdxClassificationOptions {
  /** Number of classes; default max(label) + 1. Labels must lie in [0, numClasses). */
  numClasses?: number;
  /** Keep only the first `limit` samples (default: all). */
  limit?: number;
  /** Progress of reading each of the two files (they are read concurrently; `file` says which). */
  onProgress?: (progress: ReadProgress) => void;
}

export interface NamedImageLoaderOptions {
  /** Folder holding the IDX files; each loader has its own default. */
  dir?: string;
  /** 'train' reads train-*, 'test' reads t10k-*. */
  split: ImageSplit;
  /** Keep only the first `limit` samples (default: all). */
  limit?: number;
  /** Progress of reading the images and labels files (see {@link IdxClassificationOptions.onProgress}). */
  onProgress?: (progress: ReadProgress) => void;
}

/** Where the Debian package `dataset-fashion-mnist` installs Fashion-MNIST (one of the system paths searched). */
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

let cachedSharedDataDir: string | undefined;

/**
 * `../shared/data` relative to the package root: the development checkout's shared MNIST / KMNIST
 * test sets. Not a default of any loader (the tests point BIASLEARN_DATA at it).
 */
export function defaultSharedDataDir(): string {
  cachedSharedDataDir ??= resolve(packageRoot(), '..', 'shared', 'data');
  return cachedSharedDataDir;
}

/** Integer-typed IDX data (labels) as Int32; anything else is a format error. */
function labelsToInt32(data: IdxData, path: string): Int32Array {
  if (data instanceof Float32Array || data instanceof Float64Array) {
    throw new FileFormatError(
      'E_FORMAT',
      path,
      `expected integer labels (ubyte, byte, short or int), got ${data.constructor.name}`,
    );
  }
  return data instanceof Int32Array ? data : Int32Array.from(data);
}

/**
 * Reads an IDX image file ([n, rows, cols] uint8) and an IDX label file ([n]) into a
 * classification Dataset with x = pixels / 255 (Float32, [n, rows * cols]) and Int32 labels.
 * Wrong dims, pixel type or mismatched counts are E_FORMAT errors.
 */
export async function loadIdxClassification(
  imagesPath: string,
  labelsPath: string,
  opts: IdxClassificationOptions = {},
): Promise<Dataset> {
  const limit = opts.limit === undefined ? undefined : expectInt('limit', opts.limit, 1);
  if (opts.numClasses !== undefined) expectInt('numClasses', opts.numClasses, 1);
  const readOpts = opts.onProgress ? { onProgress: opts.onProgress } : {};
  const [images, labels] = await Promise.all([readIdx(imagesPath, readOpts), readIdx(labelsPath, readOpts)]);

  if (images.dims.length !== 3) {
    throw new FileFormatError(
      'E_FORMAT',
      imagesPath,
      `expected 3 dims [n, rows, cols] for an images file, got [${images.dims.join(', ')}]`,
    );
  }
  if (!(images.data instanceof Uint8Array)) {
    throw new FileFormatError(
      'E_FORMAT',
      imagesPath,
      `expected ubyte (0x08) pixels for an images file, got ${images.data.constructor.name}`,
    );
  }
  if (labels.dims.length !== 1) {
    throw new FileFormatError('E_FORMAT', labelsPath, `expected 1 dim [n] for a labels file, got [${labels.dims.join(', ')}]`);
  }
  const [nImages, rows, cols] = images.dims as [number, number, number];
  const nLabels = labels.dims[0]!;
  if (nImages !== nLabels) {
    throw new FileFormatError(
      'E_FORMAT',
      imagesPath,
      `expected as many images as labels (${nLabels} in ${labelsPath}), got ${nImages} images`,
    );
  }
  if (nImages === 0 || rows * cols === 0) {
    throw new FileFormatError(
      'E_FORMAT',
      imagesPath,
      `expected at least one non-empty image, got dims [${images.dims.join(', ')}]`,
    );
  }

  const n = limit === undefined ? nImages : Math.min(limit, nImages);
  const pixelsPerImage = rows * cols;
  const pixels = images.data.subarray(0, n * pixelsPerImage);
  const x = new Float32Array(pixels.length);
  const inv = 1 / 255;
  for (let i = 0; i < pixels.length; i++) x[i] = pixels[i]! * inv;
  let y = labelsToInt32(labels.data, labelsPath);
  if (n < y.length) y = y.slice(0, n);

  let numClasses = opts.numClasses;
  if (numClasses === undefined) {
    let max = 0;
    for (let i = 0; i < y.length; i++) if (y[i]! > max) max = y[i]!;
    numClasses = max + 1;
  }
  try {
    return Dataset.classification(x, pixelsPerImage, y, numClasses);
  } catch (err) {
    if (err instanceof ValidationError && err.code === 'E_LABEL_RANGE') {
      throw new FileFormatError('E_FORMAT', labelsPath, err.message, { cause: err });
    }
    throw err;
  }
}

interface NamedSet {
  title: string;
  name: DatasetName;
  numClasses: number;
}

/** How to obtain the files of `set` in `dir`, appended to "not found" errors. */
function howToGet(set: NamedSet, dir: string, defaulted: boolean): string {
  if (splitsIn(dir).join() === 'test') {
    return `${dir} holds only the t10k test split (use Dataset.split for train/validation halves; \`${fetchCommand(set.name)}\` downloads the full set); otherwise pass { dir } naming a folder with the official IDX files`;
  }
  if (defaulted) return howToGetDataset(set.name);
  const apt = set.name === 'fashion-mnist' ? ' (or `apt-get install -y dataset-fashion-mnist`)' : '';
  return `pass { dir } naming a folder with the official IDX files, or fetch them with \`${fetchCommand(set.name)}\`${apt}`;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The first existing file among the accepted spellings of `{prefix}-{kind}-idx{d}-ubyte[.gz]`. */
async function findIdxFile(
  set: NamedSet,
  dir: string,
  defaulted: boolean,
  split: ImageSplit,
  kind: 'images' | 'labels',
): Promise<string> {
  const prefix = split === 'train' ? 'train' : 't10k';
  const d = kind === 'images' ? 3 : 1;
  const base = `${prefix}-${kind}-idx${d}-ubyte`;
  const candidates = [`${base}.gz`, base, `${prefix}-${kind}.idx${d}-ubyte.gz`, `${prefix}-${kind}.idx${d}-ubyte`];
  for (const name of candidates) {
    const path = join(dir, name);
    if (await isFile(path)) return path;
  }
  const where = isDirectory(dir) ? `in ${dir}` : `in ${dir} (the directory does not exist)`;
  throw new FileFormatError(
    'E_IO',
    join(dir, candidates[0]!),
    `${set.title} ${split} ${kind} not found: looked for ${base}.gz or ${base} ${where}; ${howToGet(set, dir, defaulted)}`,
  );
}

async function loadNamed(set: NamedSet, opts: NamedImageLoaderOptions): Promise<Dataset> {
  if (opts === null || typeof opts !== 'object') {
    throw new ValidationError(
      'E_INVALID_ARG',
      `expected an options object { split, dir? } for ${set.title} loader, got ${typeof opts}`,
    );
  }
  const split = expectOneOf('split', opts.split, ['train', 'test'] as const);
  const dir = opts.dir ?? datasetDir(set.name);
  const defaulted = opts.dir === undefined;
  const [imagesPath, labelsPath] = await Promise.all([
    findIdxFile(set, dir, defaulted, split, 'images'),
    findIdxFile(set, dir, defaulted, split, 'labels'),
  ]);
  const loadOpts: IdxClassificationOptions = { numClasses: set.numClasses };
  if (opts.limit !== undefined) loadOpts.limit = opts.limit;
  if (opts.onProgress !== undefined) loadOpts.onProgress = opts.onProgress;
  return loadIdxClassification(imagesPath, labelsPath, loadOpts);
}

const FASHION_MNIST: NamedSet = { title: 'Fashion-MNIST', name: 'fashion-mnist', numClasses: 10 };
const MNIST: NamedSet = { title: 'MNIST', name: 'mnist', numClasses: 10 };
const KMNIST: NamedSet = { title: 'Kuzushiji-MNIST', name: 'kmnist', numClasses: 10 };

/** Fashion-MNIST (10 classes, 28x28; 60,000 train / 10,000 test); default dir `datasetDir('fashion-mnist')`. */
export function loadFashionMnist(opts: NamedImageLoaderOptions): Promise<Dataset> {
  return loadNamed(FASHION_MNIST, opts);
}

/** MNIST digits (10 classes, 28x28; 60,000 train / 10,000 test); default dir `datasetDir('mnist')`. */
export function loadMnist(opts: NamedImageLoaderOptions): Promise<Dataset> {
  return loadNamed(MNIST, opts);
}

/** Kuzushiji-MNIST (10 classes, 28x28; 60,000 train / 10,000 test); default dir `datasetDir('kmnist')`. */
export function loadKmnist(opts: NamedImageLoaderOptions): Promise<Dataset> {
  return loadNamed(KMNIST, opts);
}
