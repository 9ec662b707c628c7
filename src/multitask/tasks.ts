/**
 * Tasks out of the box: the image sets MNIST, KMNIST and Fashion-MNIST, and tasks derived from
 * them by a chain of transforms, written `base[:transform]...`:
 *
 *   perm<seed>      a fixed random pixel permutation (seeded), e.g. `mnist:perm1`
 *   rot<degrees>    rotation about the image centre (90/180/270 exact, others bilinear), `kmnist:rot90`
 *   flip            left-right mirror
 *   invert          pixel inversion, x -> 1 - x
 *   classes<a>-<b>  only the samples of classes a..b, relabelled 0..b-a (b-a+1 classes), `fashion-mnist:classes0-4`
 *   parity          two classes: even / odd label
 *   relabel<seed>   the classes permuted by a seeded permutation
 *
 * Each base set defaults to `datasetDir(name)` ($BIASLEARN_DATA or the user cache, then the system
 * paths; `biaslearn data fetch <name>` fills it). A folder with the official 60k / 10k splits is
 * used as is; one that holds only t10k (e.g. the development checkout's shared test sets) is split
 * into train / test with a seeded holdout (test fraction 0.2, i.e. 8,000 / 2,000). Any folder with
 * the official IDX files can be given per base set.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Dataset } from '../data/dataset.js';
import type { ReadProgress } from '../data/idx.js';
import { loadFashionMnist, loadKmnist, loadMnist } from '../data/images.js';
import { datasetDir } from '../data/locations.js';
import { ValidationError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { describe, expectInt, expectNumber, expectOneOf, expectOptions } from '../util/validate.js';
import { MultitaskDataset } from './data.js';

export const BASE_TASKS = ['mnist', 'kmnist', 'fashion-mnist'] as const;
export type BaseTask = (typeof BASE_TASKS)[number];

export type TaskTransform =
  | { kind: 'perm'; seed: number }
  | { kind: 'rot'; degrees: number }
  | { kind: 'flip' }
  | { kind: 'invert' }
  | { kind: 'classes'; from: number; to: number }
  | { kind: 'parity' }
  | { kind: 'relabel'; seed: number };

export interface TaskSpec {
  /** The normalised spec string, used as the task's name. */
  name: string;
  base: BaseTask;
  transforms: TaskTransform[];
}

/** The seven tasks of the default multi-task experiment: three image sets and four derived tasks. */
export const DEFAULT_SEVEN_TASKS = [
  'mnist',
  'kmnist',
  'fashion-mnist',
  'mnist:perm1',
  'kmnist:perm2',
  'mnist:rot90',
  'kmnist:rot90',
];

function transformName(t: TaskTransform): string {
  switch (t.kind) {
    case 'perm':
      return `perm${t.seed}`;
    case 'rot':
      return `rot${t.degrees}`;
    case 'classes':
      return `classes${t.from}-${t.to}`;
    case 'relabel':
      return `relabel${t.seed}`;
    default:
      return t.kind;
  }
}

/** Parses `base[:transform]...` (see the module comment); throws E_INVALID_ARG naming the bad part. */
export function parseTaskSpec(spec: string): TaskSpec {
  if (typeof spec !== 'string' || spec.trim() === '')
    throw new ValidationError('E_INVALID_ARG', `expected a task like 'mnist' or 'mnist:perm1', got ${describe(spec)}`);
  const [baseRaw, ...parts] = spec.trim().split(':');
  const base = baseRaw!.toLowerCase() === 'fmnist' ? 'fashion-mnist' : baseRaw!.toLowerCase();
  if (!(BASE_TASKS as readonly string[]).includes(base)) {
    throw new ValidationError(
      'E_INVALID_ARG',
      `unknown base task '${baseRaw}' in '${spec}'; expected one of ${BASE_TASKS.join(', ')}`,
    );
  }
  const transforms: TaskTransform[] = parts.map((p) => {
    const perm = /^perm(\d{1,9})$/.exec(p);
    if (perm) return { kind: 'perm', seed: Number(perm[1]) };
    const rot = /^rot(-?\d{1,3})$/.exec(p);
    if (rot) return { kind: 'rot', degrees: Number(rot[1]) };
    if (p === 'flip') return { kind: 'flip' };
    if (p === 'invert') return { kind: 'invert' };
    if (p === 'parity') return { kind: 'parity' };
    const classes = /^classes(\d{1,4})-(\d{1,4})$/.exec(p);
    if (classes) {
      const from = Number(classes[1]);
      const to = Number(classes[2]);
      if (to < from) throw new ValidationError('E_INVALID_ARG', `expected classes<a>-<b> with a <= b in '${spec}', got ${p}`);
      return { kind: 'classes', from, to };
    }
    const relabel = /^relabel(\d{1,9})$/.exec(p);
    if (relabel) return { kind: 'relabel', seed: Number(relabel[1]) };
    throw new ValidationError(
      'E_INVALID_ARG',
      `unknown transform '${p}' in '${spec}'; expected perm<seed>, rot<degrees>, flip, invert, classes<a>-<b>, parity or relabel<seed>`,
    );
  });
  const name = [base, ...transforms.map(transformName)].join(':');
  return { name, base: base as BaseTask, transforms };
}

/** Parses a comma-separated task list; names must be unique. */
export function parseTaskList(list: string | string[]): TaskSpec[] {
  if (typeof list !== 'string' && !(Array.isArray(list) && list.every((s) => typeof s === 'string')))
    throw new ValidationError(
      'E_INVALID_ARG',
      `expected a comma-separated string or an array of task specs, got ${describe(list)}`,
    );
  const items = Array.isArray(list) ? list : list.split(',');
  const specs = items
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(parseTaskSpec);
  if (specs.length === 0) throw new ValidationError('E_INVALID_ARG', 'expected at least one task');
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) throw new ValidationError('E_INVALID_ARG', `task '${s.name}' is listed twice`);
    seen.add(s.name);
  }
  return specs;
}

// ------------------------------------------------------------------ transforms

function side(d: Dataset, what: string): number {
  const s = Math.round(Math.sqrt(d.inputSize));
  if (s * s !== d.inputSize)
    throw new ValidationError('E_SHAPE', `${what} needs square images; input size ${d.inputSize} is not a square`);
  return s;
}

function labelsOf(d: Dataset): Int32Array {
  if (d.targets.kind !== 'classes') throw new ValidationError('E_CONFIG', 'expected a classification dataset');
  return d.targets.labels;
}

/** A {@link Dataset} argument (E_INVALID_ARG otherwise). */
function expectDataset(name: string, d: unknown): Dataset {
  if (!(d instanceof Dataset)) throw new ValidationError('E_INVALID_ARG', `expected a Dataset for ${name}, got ${describe(d)}`);
  return d;
}

/** x'[:, i] = x[:, perm[i]] for a seeded permutation of the input features. */
export function pixelPermutation(inputSize: number, seed: number): Int32Array {
  expectInt('inputSize', inputSize, 0, 1 << 30);
  expectInt('seed', seed, 0, 0xffffffff);
  return new Rng((seed ^ 0x7e57ab1e) >>> 0).permutation(inputSize);
}

function mapPixels(d: Dataset, src: Int32Array, weights?: { idx: Int32Array; w: Float32Array; taps: number }): Dataset {
  const I = d.inputSize;
  const n = d.n;
  const x = new Float32Array(n * I);
  for (let r = 0; r < n; r++) {
    const row = r * I;
    if (weights) {
      for (let i = 0; i < I; i++) {
        let v = 0;
        for (let t = 0; t < weights.taps; t++) {
          const j = weights.idx[i * weights.taps + t]!;
          if (j >= 0) v += weights.w[i * weights.taps + t]! * d.x[row + j]!;
        }
        x[row + i] = v;
      }
    } else {
      for (let i = 0; i < I; i++) x[row + i] = src[i]! < 0 ? 0 : d.x[row + src[i]!]!;
    }
  }
  return Dataset.classification(x, I, labelsOf(d), d.outputSize);
}

/** Rotation by `degrees` counter-clockwise about the image centre: exact for multiples of 90, else bilinear with zero fill. */
export function rotateImages(d: Dataset, degrees: number): Dataset {
  expectDataset('d', d);
  expectNumber('degrees', degrees);
  const S = side(d, 'rotation');
  const deg = ((degrees % 360) + 360) % 360;
  const I = S * S;
  const c = (S - 1) / 2;
  if (deg % 90 === 0) {
    const src = new Int32Array(I);
    for (let r = 0; r < S; r++) {
      for (let col = 0; col < S; col++) {
        // output pixel (r, col) takes the input pixel rotated back by `deg`
        let sr = r;
        let sc = col;
        if (deg === 90) {
          sr = col;
          sc = S - 1 - r;
        } else if (deg === 180) {
          sr = S - 1 - r;
          sc = S - 1 - col;
        } else if (deg === 270) {
          sr = S - 1 - col;
          sc = r;
        }
        src[r * S + col] = sr * S + sc;
      }
    }
    return mapPixels(d, src);
  }
  const th = (deg * Math.PI) / 180;
  const cos = Math.cos(th);
  const sin = Math.sin(th);
  const idx = new Int32Array(I * 4).fill(-1);
  const w = new Float32Array(I * 4);
  for (let r = 0; r < S; r++) {
    for (let col = 0; col < S; col++) {
      // inverse rotation of the output coordinate (x right, y up)
      const x = col - c;
      const y = c - r;
      const sx = cos * x + sin * y;
      const sy = -sin * x + cos * y;
      const fc = sx + c;
      const fr = c - sy;
      const r0 = Math.floor(fr);
      const c0 = Math.floor(fc);
      const dr = fr - r0;
      const dc = fc - c0;
      const o = (r * S + col) * 4;
      const taps: [number, number, number][] = [
        [r0, c0, (1 - dr) * (1 - dc)],
        [r0, c0 + 1, (1 - dr) * dc],
        [r0 + 1, c0, dr * (1 - dc)],
        [r0 + 1, c0 + 1, dr * dc],
      ];
      taps.forEach(([rr, cc, ww], t) => {
        if (rr >= 0 && rr < S && cc >= 0 && cc < S && ww > 0) {
          idx[o + t] = rr * S + cc;
          w[o + t] = ww;
        }
      });
    }
  }
  return mapPixels(d, new Int32Array(0), { idx, w, taps: 4 });
}

function applyTransform(d: Dataset, t: TaskTransform): Dataset {
  switch (t.kind) {
    case 'perm':
      return mapPixels(d, pixelPermutation(d.inputSize, t.seed));
    case 'rot':
      return rotateImages(d, t.degrees);
    case 'flip': {
      const S = side(d, 'flip');
      const src = new Int32Array(S * S);
      for (let r = 0; r < S; r++) for (let c = 0; c < S; c++) src[r * S + c] = r * S + (S - 1 - c);
      return mapPixels(d, src);
    }
    case 'invert': {
      const x = new Float32Array(d.x.length);
      for (let i = 0; i < x.length; i++) x[i] = 1 - d.x[i]!;
      return Dataset.classification(x, d.inputSize, labelsOf(d), d.outputSize);
    }
    case 'classes': {
      if (t.to >= d.outputSize)
        throw new ValidationError('E_INVALID_ARG', `classes${t.from}-${t.to}: the data has only ${d.outputSize} classes`);
      const labels = labelsOf(d);
      const keep: number[] = [];
      for (let i = 0; i < labels.length; i++) if (labels[i]! >= t.from && labels[i]! <= t.to) keep.push(i);
      if (keep.length === 0) throw new ValidationError('E_EMPTY', `classes${t.from}-${t.to}: no samples of those classes`);
      const sub = d.subset(Int32Array.from(keep));
      const l2 = labelsOf(sub).map((l) => l - t.from);
      return Dataset.classification(sub.x, sub.inputSize, l2, t.to - t.from + 1);
    }
    case 'parity':
      return Dataset.classification(
        d.x,
        d.inputSize,
        labelsOf(d).map((l) => l % 2),
        2,
      );
    case 'relabel': {
      const perm = new Rng((t.seed ^ 0x1abe1) >>> 0).permutation(d.outputSize);
      return Dataset.classification(
        d.x,
        d.inputSize,
        labelsOf(d).map((l) => perm[l]!),
        d.outputSize,
      );
    }
  }
}

/** Applies a task's transforms to a base dataset, in order. */
export function applyTransforms(d: Dataset, transforms: TaskTransform[]): Dataset {
  expectDataset('d', d);
  if (!Array.isArray(transforms))
    throw new ValidationError('E_INVALID_ARG', `expected an array of transforms, got ${describe(transforms)}`);
  return transforms.reduce(applyTransform, d);
}

// ------------------------------------------------------------------ loading

export interface TaskDataOptions {
  /** Folders of the IDX files per base set (default: the shared folder / the Debian package folder). */
  dirs?: Partial<Record<BaseTask, string>>;
  /** Seed of the holdout split of test-only folders (default 0). */
  seed?: number;
  /** Test fraction of that holdout (default 0.2: 8,000 / 2,000 of a 10k set). */
  testFraction?: number;
  /** Keep at most this many training samples per task (default: all). */
  limit?: number;
  /** Keep at most this many test samples per task (default: all). */
  testLimit?: number;
  /** Progress of reading each IDX file, with the base set and split it belongs to. */
  onProgress?: (progress: TaskLoadProgress) => void;
}

/** {@link ReadProgress} of one file of a base set's split. */
export interface TaskLoadProgress extends ReadProgress {
  task: BaseTask;
  split: 'train' | 'test';
}

export interface LoadedTasks {
  train: MultitaskDataset;
  test: MultitaskDataset;
  /** One line per task: where it came from and its sizes. */
  description: string[];
  /** What was loaded, to rebuild the same data later (recorded in checkpoints). */
  spec: { tasks: string[]; dirs: Record<string, string>; seed: number; testFraction: number; limit?: number; testLimit?: number };
}

/** The folder a base task's files are looked up in by default. */
export function defaultTaskDir(base: BaseTask): string {
  expectOneOf('base', base, BASE_TASKS);
  return datasetDir(base);
}

function hasTrainSplit(dir: string): boolean {
  return ['train-images-idx3-ubyte', 'train-images.idx3-ubyte'].some(
    (b) => existsSync(join(dir, b)) || existsSync(join(dir, `${b}.gz`)),
  );
}

const LOADERS = { mnist: loadMnist, kmnist: loadKmnist, 'fashion-mnist': loadFashionMnist } as const;

/** Train / test splits of a base set: official files when the folder has a train split, else a seeded holdout of t10k. */
export async function loadBaseTask(
  base: BaseTask,
  opts: TaskDataOptions = {},
): Promise<{ train: Dataset; test: Dataset; how: string }> {
  expectOneOf('base', base, BASE_TASKS);
  expectOptions('loadBaseTask options', opts);
  const dir = opts.dirs?.[base] ?? defaultTaskDir(base);
  const report = opts.onProgress;
  const load = (split: 'train' | 'test'): Promise<Dataset> =>
    LOADERS[base]({ split, dir, ...(report ? { onProgress: (p: ReadProgress) => report({ ...p, task: base, split }) } : {}) });
  if (hasTrainSplit(dir)) {
    const [train, test] = await Promise.all([load('train'), load('test')]);
    return { train, test, how: `${dir} (official train / test)` };
  }
  const seed = opts.seed ?? 0;
  const fraction = opts.testFraction ?? 0.2;
  const all = await load('test');
  const s = all.split(fraction, seed);
  return { train: s.train, test: s.validation, how: `${dir} (t10k split ${s.train.n} / ${s.validation.n}, seed ${seed})` };
}

/** Loads every task of a list (base sets read once), applies the transforms, builds the unions. */
export async function loadTasks(specs: (string | TaskSpec)[], opts: TaskDataOptions = {}): Promise<LoadedTasks> {
  if (!Array.isArray(specs))
    throw new ValidationError('E_INVALID_ARG', `expected an array of task specs, got ${describe(specs)}`);
  expectOptions('loadTasks options', opts);
  const list = specs.map((s, i) => {
    if (typeof s === 'string') return parseTaskSpec(s);
    if (typeof s !== 'object' || s === null || typeof s.name !== 'string' || !Array.isArray(s.transforms))
      throw new ValidationError(
        'E_INVALID_ARG',
        `expected a task spec string or { name, base, transforms } for specs[${i}], got ${describe(s)}`,
      );
    expectOneOf(`specs[${i}].base`, s.base, BASE_TASKS);
    return s;
  });
  const seed = expectInt('seed', opts.seed ?? 0, 0, 0xffffffff);
  const testFraction = expectNumber('testFraction', opts.testFraction ?? 0.2, 0, 1, { exclusiveMin: true });
  if (opts.limit !== undefined) expectInt('limit', opts.limit, 1);
  if (opts.testLimit !== undefined) expectInt('testLimit', opts.testLimit, 1);
  const bases = new Map<BaseTask, Promise<{ train: Dataset; test: Dataset; how: string }>>();
  const trains: { name: string; data: Dataset }[] = [];
  const tests: { name: string; data: Dataset }[] = [];
  const description: string[] = [];
  for (const spec of list) {
    if (!bases.has(spec.base)) bases.set(spec.base, loadBaseTask(spec.base, { ...opts, seed, testFraction }));
    const base = await bases.get(spec.base)!;
    let train = applyTransforms(base.train, spec.transforms);
    let test = applyTransforms(base.test, spec.transforms);
    if (opts.limit !== undefined && opts.limit < train.n) train = train.take(opts.limit);
    if (opts.testLimit !== undefined && opts.testLimit < test.n) test = test.take(opts.testLimit);
    trains.push({ name: spec.name, data: train });
    tests.push({ name: spec.name, data: test });
    description.push(`${spec.name}: ${train.n} train / ${test.n} test, ${train.outputSize} classes; ${base.how}`);
  }
  const dirs: Record<string, string> = {};
  for (const b of bases.keys()) dirs[b] = opts.dirs?.[b] ?? defaultTaskDir(b);
  return {
    train: MultitaskDataset.fromTasks(trains),
    test: MultitaskDataset.fromTasks(tests),
    description,
    spec: {
      tasks: list.map((s) => s.name),
      dirs,
      seed,
      testFraction,
      ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
      ...(opts.testLimit !== undefined ? { testLimit: opts.testLimit } : {}),
    },
  };
}
