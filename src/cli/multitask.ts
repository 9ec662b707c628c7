/**
 * `biaslearn multitask`: one network, one set of random frozen weights, several tasks, each with
 * its own biases (bias learning), unit gates (mask learning) or biases over shared learned
 * weights (full). Writes model.blck, metrics.json, accuracy.svg and loss.svg.
 */
import { dirname } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { accuracyBars, type AccuracyRow } from '../analysis/multitask/plots.js';
import {
  MULTITASK_TRAIN_MODES,
  READOUT_KINDS,
  type MultitaskOptions,
  type MultitaskTrainMode,
  type ReadoutKind,
} from '../multitask/config.js';
import { MultitaskModel, type MultitaskEvaluateResult, type MultitaskHistory } from '../multitask/model.js';
import {
  BASE_TASKS,
  loadTasks,
  parseTaskList,
  type BaseTask,
  type LoadedTasks,
  type TaskDataOptions,
  type TaskLoadProgress,
  type TaskSpec,
} from '../multitask/tasks.js';
import { lossCurvePlot } from '../plot/loss.js';
import {
  addModelOptions,
  addRuntimeOptions,
  precisionOptions,
  addTrainingOptions,
  applyThreads,
  lrSchedule,
  type CommonTrainingFlags,
} from './common.js';
import { elapsedSeconds, environmentInfo, type CliContext } from './context.js';
import { checkOutDir, prepareOutDir, writeRun, type RunFigure } from './files.js';
import { fixed, lr as fmtLr, rate, seconds, table } from './format.js';
import { UsageError, println, type OutStream } from './io.js';
import { DataLoadDisplay } from './load_progress.js';
import { floatParser, intListParser, intParser } from './parse.js';
import { MultitaskProgress, fitWithProgress } from './progress.js';
import { SEED_HELP, resolveCliSeed, seedText } from './seed.js';
import { LastEpoch, saveInterrupted, saveOnInterrupt } from './interrupt_save.js';

export { MultitaskProgress } from './progress.js';

export const DEFAULT_MULTITASK_TASKS = 'mnist,kmnist,fashion-mnist';

export interface MultitaskDataFlags {
  mnistDir?: string;
  kmnistDir?: string;
  fashionMnistDir?: string;
  testFraction?: number;
  dataSeed?: number;
  limit?: number;
  testLimit?: number;
}

interface MultitaskFlags extends MultitaskDataFlags, CommonTrainingFlags {
  tasks: string;
  hidden: number[];
  train: MultitaskTrainMode;
  schedule: 'joint' | 'sequential';
  readout: ReadoutKind;
  seed: number;
  /** Set when --seed was omitted and the seed was drawn at random. */
  seedDrawn?: boolean;
  maskSlope?: [number, number];
  maskInit?: number;
  inputCache: 'auto' | 'on' | 'off';
  singleTaskBaseline?: boolean;
  out?: string;
  overwrite?: boolean;
}

function slopeParser(value: string): [number, number] {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 2 || parts.some((v) => !Number.isFinite(v) || v <= 0))
    throw new InvalidArgumentError('Expected two positive numbers start,end, e.g. 1,50.');
  return [parts[0]!, parts[1]!];
}

/** The data flags of multitask and analyze. */
export function addMultitaskDataOptions(cmd: Command): Command {
  return cmd
    .option('--mnist-dir <dir>', 'folder with MNIST IDX files (default: <shared>/mnist, test split only: held out 8k/2k)')
    .option('--kmnist-dir <dir>', 'folder with KMNIST IDX files (default: <shared>/kmnist, test split only: held out 8k/2k)')
    .option('--fashion-mnist-dir <dir>', 'folder with Fashion-MNIST IDX files (default: /usr/share/datasets/fashion-mnist)')
    .option(
      '--test-fraction <f>',
      'test fraction of the holdout split of test-only folders (default: 0.2)',
      floatParser({ min: 0, max: 1, minOpen: true, maxOpen: true }),
    )
    .option('--data-seed <n>', 'seed of that holdout split (default: 0)', intParser(0, 0xffffffff))
    .option('--limit <n>', 'at most n training samples per task', intParser(1))
    .option('--test-limit <n>', 'at most n test samples per task', intParser(1));
}

/** Library data options from the flags, on top of a recorded spec (analyze). */
export function taskDataOptions(
  flags: MultitaskDataFlags,
  base?: { dirs?: Record<string, string>; seed?: number; testFraction?: number; limit?: number; testLimit?: number },
): TaskDataOptions {
  const dirs: Partial<Record<BaseTask, string>> = {};
  for (const b of BASE_TASKS) if (base?.dirs?.[b]) dirs[b] = base.dirs[b];
  if (flags.mnistDir) dirs.mnist = flags.mnistDir;
  if (flags.kmnistDir) dirs.kmnist = flags.kmnistDir;
  if (flags.fashionMnistDir) dirs['fashion-mnist'] = flags.fashionMnistDir;
  const seed = flags.dataSeed ?? base?.seed;
  const testFraction = flags.testFraction ?? base?.testFraction;
  const limit = flags.limit ?? base?.limit;
  const testLimit = flags.testLimit ?? base?.testLimit;
  return {
    dirs,
    ...(seed !== undefined ? { seed } : {}),
    ...(testFraction !== undefined ? { testFraction } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(testLimit !== undefined ? { testLimit } : {}),
  };
}

export function registerMultitask(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('multitask')
    .description('train one network with shared random frozen weights on several tasks, each with its own biases (or gates)')
    .optionsGroup('Tasks and model:')
    .option(
      '--tasks <list>',
      `comma-separated tasks: mnist, kmnist, fashion-mnist, each optionally followed by transforms :perm<seed> :rot<deg> :flip :invert :classes<a>-<b> :parity :relabel<seed> (default: ${DEFAULT_MULTITASK_TASKS})`,
      DEFAULT_MULTITASK_TASKS,
    )
    .option(
      '--hidden <widths>',
      'hidden widths, comma-separated for depth (default: 4096)',
      intListParser('hidden widths'),
      [4096],
    )
    .addOption(
      new Option(
        '--train <mode>',
        'bias = a bias vector per task, weights frozen; mask = unit gates per task, weights and biases frozen; full = shared learned weights + per-task biases',
      )
        .choices(MULTITASK_TRAIN_MODES)
        .default('bias'),
    )
    .addOption(
      new Option(
        '--schedule <how>',
        'joint = mixed batches of every task; sequential = one task after another (earlier tasks frozen)',
      )
        .choices(['joint', 'sequential'] as const)
        .default('joint'),
    )
    .addOption(
      new Option('--readout <kind>', 'auto = shared when every task has the same classes, else per-task frozen readouts')
        .choices(READOUT_KINDS)
        .default('auto'),
    )
    .option('--seed <n>', SEED_HELP, intParser(0, 0xffffffff))
    .option(
      '--mask-slope <start,end>',
      'mask learning: gate sigmoid slope, annealed geometrically over the epochs (default: 1,50); hard step at test',
      slopeParser,
    )
    .option('--mask-init <theta>', 'mask learning: initial gate logit of every unit (default: 0)', floatParser());
  addModelOptions(cmd);
  cmd.optionsGroup('Data:');
  addMultitaskDataOptions(cmd);
  cmd.optionsGroup('Training:');
  addTrainingOptions(cmd);
  cmd
    .addOption(
      new Option('--input-cache <when>', 'reuse X W_0^T across steps (bias and mask modes): auto = when it fits in memory')
        .choices(['auto', 'on', 'off'] as const)
        .default('auto'),
    )
    .option(
      '--single-task-baseline',
      'also train one single-task network per task (same width, seed and training) and report the differences',
    )
    .optionsGroup('Runtime and output:');
  addRuntimeOptions(cmd);
  cmd
    .option('--out <dir>', 'output folder (default: ./runs/multitask-<timestamp>)')
    .option('--overwrite', 'write into an --out folder that already holds files (default: refuse it)')
    .addHelpText(
      'after',
      `
Writes <out>/model.blck (the seed and one bias vector per task), <out>/metrics.json (config,
per-task history and test accuracy, samples/s) and <out>/accuracy.svg, <out>/loss.svg.
Analyse the result with \`biaslearn analyze <out>/model.blck\`.

Examples:
  biaslearn multitask --tasks mnist,kmnist,fashion-mnist --hidden 8192 --train bias
  biaslearn multitask --tasks mnist,kmnist,fashion-mnist,mnist:perm1,kmnist:perm2,mnist:rot90,kmnist:rot90 --train mask
  biaslearn multitask --tasks mnist,mnist:classes0-4,fashion-mnist:parity --schedule sequential --epochs 3`,
    )
    .action(async (flags: MultitaskFlags) => {
      const { seed, drawn } = resolveCliSeed(flags.seed as number | undefined);
      await runMultitask({ ...flags, seed, seedDrawn: drawn }, ctx);
    });
  return cmd;
}

function accuracyTable(
  tasks: string[],
  cols: { title: string; result: MultitaskEvaluateResult }[],
  extra?: { title: string; values: (number | undefined)[] },
): string {
  const header = ['task', ...cols.map((c) => c.title), ...(extra ? [extra.title] : [])];
  const rows = tasks.map((t, i) => [
    t,
    ...cols.map((c) => fixed(c.result.perTask[t]?.accuracy)),
    ...(extra
      ? [extra.values[i] === undefined ? '-' : (extra.values[i]! >= 0 ? '+' : '') + (100 * extra.values[i]!).toFixed(2)]
      : []),
  ]);
  rows.push(['mean', ...cols.map((c) => fixed(c.result.meanTaskAccuracy)), ...(extra ? [''] : [])]);
  return table(header, rows);
}

/** Per-task test results of the single-task baselines, by task name. */
type Baselines = Record<string, { accuracy: number; loss: number; trainSeconds: number }>;

/** What a multi-task run settled on beyond the flags. */
interface MultitaskPlan {
  options: MultitaskOptions;
  batchSize: number;
  cacheInputLayer: boolean | 'auto';
}

function parseTasks(list: string): TaskSpec[] {
  try {
    return parseTaskList(list);
  } catch (err) {
    throw new UsageError(`--tasks: ${(err as Error).message}`);
  }
}

function multitaskPlan(flags: MultitaskFlags, data: LoadedTasks): MultitaskPlan {
  const options = {
    inputSize: data.train.inputSize,
    hidden: flags.hidden,
    tasks: data.train.tasks.map((t) => ({ name: t.name, classes: t.classes })),
    train: flags.train,
    activation: flags.activation,
    readout: flags.readout,
    seed: flags.seed,
    ...(flags.hiddenScale !== undefined ? { weightInit: { scale: flags.hiddenScale } } : {}),
    ...(flags.readoutScale !== undefined ? { readoutInit: { scale: flags.readoutScale } } : {}),
    ...(flags.maskInit !== undefined ? { maskInit: flags.maskInit } : {}),
    ...(flags.maskSlope ? { maskSlope: { start: flags.maskSlope[0], end: flags.maskSlope[1] } } : {}),
    optimizer: { type: flags.optimizer, ...(flags.lr !== undefined ? { lr: flags.lr } : {}) },
    backend: flags.backend,
    ...precisionOptions(flags),
  };
  return {
    options,
    batchSize: flags.batchSize ?? 256,
    cacheInputLayer: flags.inputCache === 'auto' ? 'auto' : flags.inputCache === 'on',
  };
}

/** One stderr line per task, then the model and its training. */
function describeRun(out: OutStream, data: LoadedTasks, model: MultitaskModel, flags: MultitaskFlags, batchSize: number): void {
  const learned = model.learnedTensors().reduce((s, t) => s + t.size, 0);
  for (const line of data.description) println(out, `task ${line}`);
  println(
    out,
    `model: ${data.train.inputSize}-${flags.hidden.join('-')}, ${data.train.tasks.length} tasks, train ${flags.train} (${learned} learned values), ${model.config.readout} readout, ${flags.activation}, ${seedText(flags.seed, flags.seedDrawn === true)}; ` +
      `${flags.schedule} ${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}${flags.schedule === 'sequential' ? ' per task' : ''} x ${data.train.n} samples, batch ${batchSize}, ${flags.optimizer} lr ${fmtLr(model.config.optimizer.lr)} (${flags.lrSchedule}), ${model.backend}`,
  );
}

/** Training options shared by the multi-task run and its single-task baselines. */
function fitOptions(flags: MultitaskFlags, plan: MultitaskPlan) {
  return {
    epochs: flags.epochs,
    batchSize: plan.batchSize,
    seed: flags.seed,
    lrSchedule: lrSchedule(flags.lrSchedule, flags.epochs),
    cacheInputLayer: plan.cacheInputLayer,
  };
}

/** The same network and training, one task at a time: each task's test accuracy without the others. */
async function singleTaskBaselines(
  data: LoadedTasks,
  flags: MultitaskFlags,
  plan: MultitaskPlan,
  out: OutStream,
): Promise<Baselines> {
  const single: Baselines = {};
  for (const t of data.train.tasks) {
    const one = await MultitaskModel.create({ ...plan.options, tasks: [{ name: t.name, classes: t.classes }] });
    try {
      const p = new MultitaskProgress(out, one, { bar: !flags.quiet, epochs: flags.epochs, prefix: `[single ${t.name}]` });
      const t0 = performance.now();
      await fitWithProgress(p, (signal) =>
        one.fit(data.train.select([t.name]), { ...fitOptions(flags, plan), callbacks: [p], signal }),
      );
      const r = await one.evaluate(data.test.select([t.name]));
      single[t.name] = { accuracy: r.accuracy, loss: r.loss, trainSeconds: elapsedSeconds(t0) };
    } finally {
      one.dispose();
    }
  }
  return single;
}

/** Samples per second over the whole run: per-epoch rates weighted by epoch time. */
function meanSamplesPerSec(history: MultitaskHistory): number {
  const secs = history.history.seconds ?? [];
  const rates = history.history.samplesPerSec ?? [];
  return rates.length
    ? secs.reduce((s, v, i) => s + v * rates[i]!, 0) /
        Math.max(
          1e-9,
          secs.reduce((s, v) => s + v, 0),
        )
    : 0;
}

/** accuracy.svg (multi-task against single-task per task) and loss.svg. */
function multitaskFigures(
  flags: MultitaskFlags,
  tasks: string[],
  test: MultitaskEvaluateResult,
  single: Baselines | undefined,
  history: MultitaskHistory,
): RunFigure[] {
  const rows: AccuracyRow[] = tasks.map((t) => ({
    task: t,
    model: `multi-task ${flags.train}`,
    accuracy: test.perTask[t]!.accuracy,
  }));
  if (single) for (const t of tasks) rows.push({ task: t, model: `single-task ${flags.train}`, accuracy: single[t]!.accuracy });
  const title = `Test accuracy per task (${flags.hidden.join('-')} hidden, ${flags.train})`;
  return [
    { file: 'accuracy.svg', spec: accuracyBars(rows, { title, tasks }) },
    { file: 'loss.svg', spec: lossCurvePlot(history, { title: `multi-task ${flags.train}, ${tasks.length} tasks` }) },
  ];
}

/** The per-task test accuracy table on stdout, with the single-task column and the difference in points. */
function printAccuracy(
  out: OutStream,
  flags: MultitaskFlags,
  tasks: string[],
  test: MultitaskEvaluateResult,
  single: Baselines | undefined,
): void {
  const cols = [{ title: `multi-task ${flags.train}`, result: test }];
  if (!single) {
    println(out, accuracyTable(tasks, cols));
    return;
  }
  const perTask = Object.fromEntries(
    tasks.map((t) => [t, { accuracy: single[t]!.accuracy, loss: single[t]!.loss, n: test.perTask[t]!.n }]),
  );
  const meanTaskAccuracy = tasks.reduce((s, t) => s + single[t]!.accuracy, 0) / tasks.length;
  cols.push({ title: `single-task ${flags.train}`, result: { loss: 0, accuracy: 0, n: 0, perTask, meanTaskAccuracy } });
  println(
    out,
    accuracyTable(tasks, cols, {
      title: 'diff (points)',
      values: tasks.map((t) => test.perTask[t]!.accuracy - single[t]!.accuracy),
    }),
  );
}

/** Routes each file's progress to the display's line of its base set and split. */
function taskLoadReporter(display: DataLoadDisplay): (p: TaskLoadProgress) => void {
  const reporters = new Map<string, (p: TaskLoadProgress) => void>();
  return (p) => {
    const key = `${p.task} ${p.split}`;
    let r = reporters.get(key);
    if (!r) {
      r = display.reporter(key, dirname(p.file));
      reporters.set(key, r);
    }
    r(p);
  };
}

async function runMultitask(flags: MultitaskFlags, ctx: CliContext): Promise<void> {
  // An unusable --out fails here, before data loads or anything trains.
  await checkOutDir(flags.out, flags.overwrite);
  const { stderr, stdout } = ctx.io;
  const tStart = performance.now();
  applyThreads(flags.threads);
  const specs = parseTasks(flags.tasks);
  const tLoad = performance.now();
  const display = flags.quiet ? undefined : new DataLoadDisplay(stderr);
  let data: LoadedTasks;
  try {
    data = await loadTasks(specs, { ...taskDataOptions(flags), ...(display ? { onProgress: taskLoadReporter(display) } : {}) });
  } finally {
    display?.finish();
  }
  const loadSeconds = elapsedSeconds(tLoad);
  const plan = multitaskPlan(flags, data);
  const tCreate = performance.now();
  const model = await MultitaskModel.create(plan.options);
  const createSeconds = elapsedSeconds(tCreate);
  try {
    const outDir = await prepareOutDir(flags.out, 'multitask-', flags.overwrite);
    describeRun(stderr, data, model, flags, plan.batchSize);
    const progress = new MultitaskProgress(stderr, model, { bar: !flags.quiet, epochs: flags.epochs });
    const tTrain = performance.now();
    const last = new LastEpoch();
    const history = await fitWithProgress(progress, (signal) =>
      model.fit(data.train, {
        ...fitOptions(flags, plan),
        schedule: flags.schedule,
        validationData: data.test,
        callbacks: [progress, last],
        signal,
      }),
    ).catch(
      saveOnInterrupt(stderr, last, () =>
        saveInterrupted(
          outDir,
          model,
          last,
          { command: 'multitask', createdAt: new Date().toISOString(), model: model.config },
          { data: data.spec, cli: { command: 'multitask' } },
        ),
      ),
    );
    const trainSeconds = elapsedSeconds(tTrain);
    const samplesPerSec = meanSamplesPerSec(history);
    const test = await model.evaluate(data.test);
    const tasks = model.taskNames;
    const single = flags.singleTaskBaseline ? await singleTaskBaselines(data, flags, plan, stderr) : undefined;

    const metrics = {
      command: 'multitask',
      createdAt: new Date().toISOString(),
      config: { ...flags, batchSize: plan.batchSize, optimizer: model.config.optimizer },
      data: data.spec,
      dataDescription: data.description,
      model: model.config,
      learnedValues: model.learnedTensors().reduce((s, t) => s + t.size, 0),
      history: history.toJSON(),
      test: { loss: test.loss, accuracy: test.accuracy, meanTaskAccuracy: test.meanTaskAccuracy, perTask: test.perTask },
      ...(single
        ? {
            singleTask: single,
            differenceToSingleTask: Object.fromEntries(tasks.map((t) => [t, test.perTask[t]!.accuracy - single[t]!.accuracy])),
          }
        : {}),
      samplesPerSec,
      timings: { loadSeconds, createSeconds, trainSeconds, saveSeconds: 0, totalSeconds: 0 },
      runtime: environmentInfo(),
    };
    const cli = {
      command: 'multitask',
      batchSize: plan.batchSize,
      schedule: flags.schedule,
      epochs: flags.epochs,
      lrSchedule: flags.lrSchedule,
    };
    const figures = multitaskFigures(flags, tasks, test, single, history);
    const written = await writeRun(outDir, { model, metadata: { data: data.spec, cli }, figures, metrics, startedAt: tStart });
    printAccuracy(stdout, flags, tasks, test, single);
    println(stdout, `trained in ${seconds(trainSeconds)} (${rate(samplesPerSec)} samples/s); saved ${written.summary}`);
  } finally {
    model.dispose();
  }
}
