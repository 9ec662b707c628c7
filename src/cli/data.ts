/**
 * The data flags shared by `train`, `eval` and `sweep`, and loading the train / test splits they
 * name. The resolved {@link DataSpec} is stored in checkpoints, so `eval` can rebuild the exact
 * test split a model was trained against.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { Dataset } from '../data/dataset.js';
import { datasetDir } from '../data/locations.js';
import { loadFashionMnist, loadIdxClassification, loadKmnist, loadMnist } from '../data/images.js';
import { spiralClassification } from '../data/synthetic.js';
import { BiasLearnError } from '../errors.js';
import { UsageError, type OutStream } from './io.js';
import { DataLoadDisplay } from './load_progress.js';
import { floatParser, intParser } from './parse.js';

export const DATA_NAMES = ['spirals', 'fashion-mnist', 'mnist', 'kmnist', 'idx'] as const;
export type DataName = (typeof DATA_NAMES)[number];
type ImageSetName = 'fashion-mnist' | 'mnist' | 'kmnist';

/** Defaults of the embedded task (no files needed). */
export const SPIRAL_DEFAULTS = { samples: 5000, classes: 3, embed: 64 } as const;
export const DEFAULT_TEST_FRACTION = 0.2;

/** Everything needed to rebuild the same train / test data (paths absolute). */
export interface DataSpec {
  name: DataName;
  /** Seed of generated data and of held-out splits. */
  seed: number;
  /** Test fraction of a held-out split (spirals, idx without test files, test-only image folders). */
  testFraction: number;
  /** Image sets: 'official' = train-* / t10k-* files; 'holdout' = t10k-* split into train / test. */
  split?: 'official' | 'holdout';
  dir?: string;
  images?: string;
  labels?: string;
  testImages?: string;
  testLabels?: string;
  samples?: number;
  classes?: number;
  embed?: number;
  /** Use at most this many training samples. */
  limit?: number;
}

export interface LoadedData {
  spec: DataSpec;
  /** Absent when only the test split was asked for. */
  train?: Dataset;
  test: Dataset;
  /** One line: what was loaded and how it was split. */
  description: string;
}

/** Raw values of the data flags as commander parsed them (undefined = not given). */
export interface DataFlags {
  data?: DataName;
  dataDir?: string;
  images?: string;
  labels?: string;
  testImages?: string;
  testLabels?: string;
  testFraction?: number;
  dataSeed?: number;
  samples?: number;
  classes?: number;
  embed?: number;
  limit?: number;
}

/** Adds the data flags to a command. Defaults are applied later, so "given or not" stays visible. */
export function addDataOptions(cmd: Command, opts: { evalMode?: boolean } = {}): Command {
  const dataDefault = opts.evalMode ? "the checkpoint's data" : 'spirals, the embedded task';
  cmd
    .addOption(new Option('--data <name>', `dataset (default: ${dataDefault})`).choices(DATA_NAMES))
    .option(
      '--data-dir <dir>',
      'folder with the IDX files of fashion-mnist / mnist / kmnist (default: $BIASLEARN_DATA/<name> or the user cache, then /usr/share/datasets/<name>; see `biaslearn data list`)',
    )
    .option('--images <file>', 'idx: images file ([n, rows, cols] ubyte, optionally .gz)')
    .option('--labels <file>', 'idx: labels file ([n])')
    .option('--test-images <file>', 'idx: separate test images (default: hold out --test-fraction)')
    .option('--test-labels <file>', 'idx: separate test labels')
    .option(
      '--test-fraction <f>',
      `fraction held out for testing when a set has no separate test split: spirals, idx, and the test-only mnist/kmnist folders (8k/2k) (default: ${DEFAULT_TEST_FRACTION})`,
      floatParser({ min: 0, max: 1, minOpen: true, maxOpen: true }),
    )
    .option('--data-seed <n>', 'seed of generated data and held-out splits (default: 0)', intParser(0, 0xffffffff))
    .option('--samples <n>', `spirals: samples generated, train + test (default: ${SPIRAL_DEFAULTS.samples})`, intParser(2))
    .option('--classes <k>', `spirals: classes (spiral arms) (default: ${SPIRAL_DEFAULTS.classes})`, intParser(2, 1000))
    .option(
      '--embed <d>',
      `spirals: input features the 2-D points are lifted to (default: ${SPIRAL_DEFAULTS.embed})`,
      intParser(2, 100000),
    )
    .option('--limit <n>', 'use at most n training samples (default: all)', intParser(1));
  return cmd;
}

function given(flags: DataFlags, keys: (keyof DataFlags)[]): string[] {
  return keys.filter((k) => flags[k] !== undefined).map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
}

function rejectFlags(flags: DataFlags, keys: (keyof DataFlags)[], name: DataName, hint: string): void {
  const bad = given(flags, keys);
  if (bad.length)
    throw new UsageError(`${bad.join(', ')} ${bad.length === 1 ? 'does' : 'do'} not apply to --data ${name} (${hint})`);
}

/**
 * Resolves the data flags into a spec. With `base` (a checkpoint's spec) and no --data, the base is
 * kept and only the flags given override it; --data starts afresh from the defaults.
 */
export function resolveDataSpec(flags: DataFlags, base?: DataSpec): DataSpec {
  const start: DataSpec =
    flags.data === undefined && base
      ? { ...base }
      : { name: flags.data ?? 'spirals', seed: 0, testFraction: DEFAULT_TEST_FRACTION };
  const spec = start;
  const name = spec.name;
  if (flags.dataSeed !== undefined) spec.seed = flags.dataSeed;
  if (flags.testFraction !== undefined) spec.testFraction = flags.testFraction;
  if (flags.limit !== undefined) spec.limit = flags.limit;
  const abs = (p: string): string => resolve(p);

  if (name === 'spirals') {
    rejectFlags(flags, ['dataDir', 'images', 'labels', 'testImages', 'testLabels'], name, 'it is generated, not read from files');
    if (flags.samples !== undefined) spec.samples = flags.samples;
    if (flags.classes !== undefined) spec.classes = flags.classes;
    if (flags.embed !== undefined) spec.embed = flags.embed;
    spec.samples ??= SPIRAL_DEFAULTS.samples;
    spec.classes ??= SPIRAL_DEFAULTS.classes;
    spec.embed ??= SPIRAL_DEFAULTS.embed;
    if (spec.samples < 2 * spec.classes)
      throw new UsageError(`--samples must be at least 2 x --classes (${2 * spec.classes}), got ${spec.samples}`);
    return spec;
  }
  rejectFlags(flags, ['samples', 'classes', 'embed'], name, 'they configure --data spirals');
  if (name === 'idx') {
    rejectFlags(flags, ['dataDir'], name, 'name the files with --images and --labels');
    if (flags.images !== undefined) spec.images = abs(flags.images);
    if (flags.labels !== undefined) spec.labels = abs(flags.labels);
    if (flags.testImages !== undefined) spec.testImages = abs(flags.testImages);
    if (flags.testLabels !== undefined) spec.testLabels = abs(flags.testLabels);
    if (!spec.images || !spec.labels) throw new UsageError('--data idx needs --images <file> and --labels <file>');
    if ((spec.testImages === undefined) !== (spec.testLabels === undefined)) {
      throw new UsageError('--test-images and --test-labels go together: give both or neither');
    }
    spec.split = spec.testImages ? 'official' : 'holdout';
    return spec;
  }
  rejectFlags(
    flags,
    ['images', 'labels', 'testImages', 'testLabels'],
    name,
    'use --data-dir for a folder of IDX files, or --data idx',
  );
  if (flags.dataDir !== undefined) {
    spec.dir = abs(flags.dataDir);
    delete spec.split; // a new folder: look again for a train split
  }
  return spec;
}

function defaultDir(name: ImageSetName): string {
  return datasetDir(name);
}

const LOADERS = { 'fashion-mnist': loadFashionMnist, mnist: loadMnist, kmnist: loadKmnist } as const;
const TITLES: Record<DataName, string> = {
  spirals: 'spirals',
  'fashion-mnist': 'Fashion-MNIST',
  mnist: 'MNIST',
  kmnist: 'KMNIST',
  idx: 'IDX',
};

/** Whether a folder holds an official train split (any accepted spelling of train-images). */
function hasTrainSplit(dir: string): boolean {
  return ['train-images-idx3-ubyte', 'train-images.idx3-ubyte'].some(
    (b) => existsSync(join(dir, b)) || existsSync(join(dir, `${b}.gz`)),
  );
}

function holdout(all: Dataset, spec: DataSpec): { train: Dataset; test: Dataset } {
  const s = all.split(spec.testFraction, spec.seed);
  return { train: s.train, test: s.validation };
}

function limited(train: Dataset, spec: DataSpec): Dataset {
  return spec.limit !== undefined && spec.limit < train.n ? train.take(spec.limit) : train;
}

function sizes(train: Dataset | undefined, test: Dataset): string {
  return train ? `${train.n} train / ${test.n} test` : `${test.n} test`;
}

/** Options of {@link loadData}. */
export interface LoadDataOptions {
  /** Also load the training split (else only the test split). */
  withTrain: boolean;
  /** Where to show the progress of reading files (stderr; a status line on a TTY, a line per split otherwise); none when absent. */
  progress?: OutStream;
}

/** Loads the data a spec names: the test split always, the training split when `withTrain`. */
export async function loadData(spec: DataSpec, opts: LoadDataOptions): Promise<LoadedData> {
  const display = opts.progress ? new DataLoadDisplay(opts.progress) : undefined;
  try {
    return await load(spec, opts.withTrain, display);
  } catch (err) {
    // The library's hints name its API ("pass { dir }"); say which flag does that here.
    if (err instanceof BiasLearnError && err.message.includes('{ dir }')) {
      throw new BiasLearnError(err.code, err.message.replace(/pass \{ dir \}/g, 'pass --data-dir <dir>'), { cause: err });
    }
    throw err;
  } finally {
    display?.finish();
  }
}

async function load(specIn: DataSpec, withTrain: boolean, display: DataLoadDisplay | undefined): Promise<LoadedData> {
  const spec: DataSpec = { ...specIn };
  /** The loader option reporting one split's progress (none without a display). */
  const progress = (what: string, where: string) => (display ? { onProgress: display.reporter(what, where) } : {});
  const opts = { withTrain };
  let train: Dataset | undefined;
  let test: Dataset;
  let how: string;
  if (spec.name === 'spirals') {
    const all = spiralClassification({ n: spec.samples!, classes: spec.classes!, embed: spec.embed!, seed: spec.seed });
    ({ train, test } = holdout(all, spec));
    how = `${spec.classes} classes, ${spec.embed} features, seed ${spec.seed}`;
  } else if (spec.name === 'idx') {
    if (spec.split === 'official') {
      test = await loadIdxClassification(spec.testImages!, spec.testLabels!, progress('IDX test', spec.testImages!));
      if (opts.withTrain)
        train = await loadIdxClassification(spec.images!, spec.labels!, {
          numClasses: test.outputSize,
          ...progress('IDX train', spec.images!),
        });
      how = spec.images!;
    } else {
      ({ train, test } = holdout(await loadIdxClassification(spec.images!, spec.labels!, progress('IDX', spec.images!)), spec));
      how = `${spec.images}, held-out test ${spec.testFraction}, seed ${spec.seed}`;
    }
  } else {
    const load = LOADERS[spec.name];
    const dir = spec.dir ?? defaultDir(spec.name);
    spec.split ??= hasTrainSplit(dir) ? 'official' : 'holdout';
    if (spec.split === 'official') {
      const title = TITLES[spec.name];
      test = await load({ split: 'test', dir, ...progress(`${title} test`, dir) });
      if (opts.withTrain)
        train = await load({
          split: 'train',
          dir,
          ...(spec.limit !== undefined ? { limit: spec.limit } : {}),
          ...progress(`${title} train`, dir),
        });
      how = dir;
    } else {
      ({ train, test } = holdout(await load({ split: 'test', dir, ...progress(`${TITLES[spec.name]} t10k`, dir) }), spec));
      how = `${dir}, t10k split into train / test with test fraction ${spec.testFraction}, seed ${spec.seed}`;
    }
  }
  if (train) train = limited(train, spec);
  if (!opts.withTrain) train = undefined;
  const description = `${TITLES[spec.name]} (${sizes(train, test)}; ${how})`;
  return { spec, ...(train ? { train } : {}), test, description };
}

/** Data-dependent defaults: the embedded spirals task is small, so smaller model and batches. */
export function dataDefaults(name: DataName): { hidden: number[]; batchSize: number } {
  return name === 'spirals' ? { hidden: [512], batchSize: 32 } : { hidden: [4096], batchSize: 256 };
}
