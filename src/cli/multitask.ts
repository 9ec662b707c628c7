/**
 * `biaslearn multitask`: one network, one set of random frozen weights, several tasks, each with
 * its own biases (bias learning), unit gates (mask learning) or biases over shared learned
 * weights (full). Writes model.blck, metrics.json, accuracy.svg and loss.svg.
 */
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { MULTITASK_TRAIN_MODES, READOUT_KINDS, type MultitaskTrainMode, type ReadoutKind } from '../multitask/config.js';
import { MultitaskModel, type MultitaskEvaluateResult, type MultitaskFitState, type MultitaskHistory } from '../multitask/model.js';
import { BASE_TASKS, loadTasks, parseTaskList, type BaseTask, type TaskDataOptions } from '../multitask/tasks.js';
import { Callback, type Logs, type ProgressInfo } from '../train/callbacks.js';
import { addModelOptions, addRuntimeOptions, addTrainingOptions, applyThreads, lrSchedule, type CommonTrainingFlags } from './common.js';
import { displayPath, environmentInfo, type CliContext } from './context.js';
import { prepareOutDir, writeJson } from './files.js';
import { fixed, lr as fmtLr, rate, seconds, table } from './format.js';
import { UsageError, println, withInterrupt, type OutStream } from './io.js';
import { floatParser, intListParser, intParser } from './parse.js';

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
  maskSlope?: [number, number];
  maskInit?: number;
  inputCache: 'auto' | 'on' | 'off';
  singleTaskBaseline?: boolean;
  out?: string;
}

function slopeParser(value: string): [number, number] {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 2 || parts.some((v) => !Number.isFinite(v) || v <= 0)) throw new InvalidArgumentError('Expected two positive numbers start,end, e.g. 1,50.');
  return [parts[0]!, parts[1]!];
}

/** The data flags of multitask and analyze. */
export function addMultitaskDataOptions(cmd: Command): Command {
  return cmd
    .option('--mnist-dir <dir>', 'folder with MNIST IDX files (default: <shared>/mnist, test split only: held out 8k/2k)')
    .option('--kmnist-dir <dir>', 'folder with KMNIST IDX files (default: <shared>/kmnist, test split only: held out 8k/2k)')
    .option('--fashion-mnist-dir <dir>', 'folder with Fashion-MNIST IDX files (default: /usr/share/datasets/fashion-mnist)')
    .option('--test-fraction <f>', 'test fraction of the holdout split of test-only folders (default: 0.2)', floatParser({ min: 0, max: 1, minOpen: true, maxOpen: true }))
    .option('--data-seed <n>', 'seed of that holdout split (default: 0)', intParser(0, 0xffffffff))
    .option('--limit <n>', 'at most n training samples per task', intParser(1))
    .option('--test-limit <n>', 'at most n test samples per task', intParser(1));
}

/** Library data options from the flags, on top of a recorded spec (analyze). */
export function taskDataOptions(flags: MultitaskDataFlags, base?: { dirs?: Record<string, string>; seed?: number; testFraction?: number; limit?: number; testLimit?: number }): TaskDataOptions {
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
    .option('--hidden <widths>', 'hidden widths, comma-separated for depth (default: 4096)', intListParser('hidden widths'), [4096])
    .addOption(new Option('--train <mode>', 'bias = a bias vector per task, weights frozen; mask = unit gates per task, weights and biases frozen; full = shared learned weights + per-task biases').choices(MULTITASK_TRAIN_MODES).default('bias'))
    .addOption(new Option('--schedule <how>', 'joint = mixed batches of every task; sequential = one task after another (earlier tasks frozen)').choices(['joint', 'sequential'] as const).default('joint'))
    .addOption(new Option('--readout <kind>', 'auto = shared when every task has the same classes, else per-task frozen readouts').choices(READOUT_KINDS).default('auto'))
    .option('--seed <n>', 'seed of the frozen random weights and of shuffling', intParser(0, 0xffffffff), 0)
    .option('--mask-slope <start,end>', 'mask learning: gate sigmoid slope, annealed geometrically over the epochs (default: 1,50); hard step at test', slopeParser)
    .option('--mask-init <theta>', 'mask learning: initial gate logit of every unit (default: 0)', floatParser());
  addModelOptions(cmd);
  cmd.optionsGroup('Data:');
  addMultitaskDataOptions(cmd);
  cmd.optionsGroup('Training:');
  addTrainingOptions(cmd);
  cmd
    .addOption(new Option('--input-cache <when>', 'reuse X W_0^T across steps (bias and mask modes): auto = when it fits in memory').choices(['auto', 'on', 'off'] as const).default('auto'))
    .option('--single-task-baseline', 'also train one single-task network per task (same width, seed and training) and report the differences')
    .optionsGroup('Runtime and output:');
  addRuntimeOptions(cmd);
  cmd
    .option('--out <dir>', 'output folder (default: ./runs/multitask-<timestamp>)')
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
      await runMultitask(flags, ctx);
    });
  return cmd;
}

/** Live bar with per-task running accuracy (TTY), one line per epoch with per-task validation accuracy. */
export class MultitaskProgress extends Callback {
  private bar: cliProgress.SingleBar | null = null;
  private readonly useBar: boolean;
  constructor(
    private readonly out: OutStream,
    private readonly mt: MultitaskModel,
    private readonly opts: { bar: boolean; epochs: number; prefix?: string },
  ) {
    super();
    this.useBar = opts.bar && out.isTTY === true;
  }

  private shortNames(): string[] {
    return this.mt.taskNames.map((n) => (n.length > 24 ? `${n.slice(0, 23)}~` : n));
  }

  private taskAcc(): string {
    const r = (this.fitState as MultitaskFitState).running;
    const names = this.shortNames();
    return names.map((n, k) => (r.count[k]! > 0 ? `${n} ${(r.correct[k]! / r.count[k]!).toFixed(3)}` : '')).filter(Boolean).join(' ');
  }

  private label(epoch: number): string {
    const e = `epoch ${String(epoch + 1).padStart(String(this.opts.epochs).length)}/${this.opts.epochs}`;
    return this.opts.prefix ? `${this.opts.prefix} ${e}` : e;
  }

  override onProgress(info: ProgressInfo): void {
    if (!this.useBar) return;
    const payload = { label: this.label(info.epoch), speed: rate(info.samplesPerSec), loss: fixed(info.loss), tasks: this.taskAcc() };
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        {
          stream: this.out as NodeJS.WritableStream,
          format: '{label} {bar} {percentage}% | {speed} samples/s | loss {loss} | {tasks} | ETA {eta_formatted}',
          hideCursor: true,
          clearOnComplete: true,
          barsize: 20,
          fps: 10,
          etaBuffer: 20,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(info.samplesTotal, info.samplesDone, payload);
    } else this.bar.update(info.samplesDone, payload);
  }

  override onEpochEnd(epoch: number, logs: Logs): void {
    this.stopBar();
    const parts = [`loss ${fixed(logs.loss)}`, `acc ${fixed(logs.acc)}`];
    if (logs.val_acc !== undefined) parts.push(`val_acc ${fixed(logs.val_acc)}`);
    if (logs.lr !== undefined) parts.push(`lr ${fmtLr(logs.lr)}`);
    const state = this.fitState as MultitaskFitState;
    if (this.mt.config.train === 'mask') parts.push(`slope ${state.slope.toPrecision(3)}`);
    if (logs.seconds !== undefined) parts.push(seconds(logs.seconds));
    if (logs.samplesPerSec !== undefined) parts.push(`${rate(logs.samplesPerSec)} samples/s`);
    const ev = state.validation;
    const per = ev ? this.shortNames().map((n, k) => {
      const t = ev.perTask[this.mt.taskNames[k]!];
      return t ? `${n} ${t.accuracy.toFixed(3)}` : '';
    }).filter(Boolean).join(' ') : this.taskAcc();
    this.out.write(`${this.label(epoch)}  ${parts.join('  ')}\n    ${ev ? 'val' : 'train'} per task: ${per}\n`);
  }

  override onTrainEnd(): void {
    this.stopBar();
  }

  stopBar(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = null;
    }
  }
}

function accuracyTable(tasks: string[], cols: { title: string; result: MultitaskEvaluateResult }[], extra?: { title: string; values: (number | undefined)[] }): string {
  const header = ['task', ...cols.map((c) => c.title), ...(extra ? [extra.title] : [])];
  const rows = tasks.map((t, i) => [
    t,
    ...cols.map((c) => fixed(c.result.perTask[t]?.accuracy)),
    ...(extra ? [extra.values[i] === undefined ? '-' : (extra.values[i]! >= 0 ? '+' : '') + (100 * extra.values[i]!).toFixed(2)] : []),
  ]);
  rows.push(['mean', ...cols.map((c) => fixed(c.result.meanTaskAccuracy)), ...(extra ? [''] : [])]);
  return table(header, rows);
}

async function runMultitask(flags: MultitaskFlags, ctx: CliContext): Promise<void> {
  const { stderr, stdout } = ctx.io;
  const tStart = performance.now();
  applyThreads(flags.threads);
  const specs = (() => {
    try {
      return parseTaskList(flags.tasks);
    } catch (err) {
      throw new UsageError(`--tasks: ${(err as Error).message}`);
    }
  })();
  const tLoad = performance.now();
  const data = await loadTasks(specs, taskDataOptions(flags));
  const loadSeconds = (performance.now() - tLoad) / 1000;
  const batchSize = flags.batchSize ?? 256;
  const cacheInputLayer = flags.inputCache === 'auto' ? 'auto' : flags.inputCache === 'on';
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
  };
  const tCreate = performance.now();
  const model = await MultitaskModel.create(options);
  const createSeconds = (performance.now() - tCreate) / 1000;
  try {
    const outDir = await prepareOutDir(flags.out, 'multitask-');
    const learned = model.learnedTensors().reduce((s, t) => s + t.size, 0);
    for (const line of data.description) println(stderr, `task ${line}`);
    println(
      stderr,
      `model: ${data.train.inputSize}-${flags.hidden.join('-')}, ${data.train.tasks.length} tasks, train ${flags.train} (${learned} learned values), ${model.config.readout} readout, ${flags.activation}, seed ${flags.seed}; ` +
        `${flags.schedule} ${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}${flags.schedule === 'sequential' ? ' per task' : ''} x ${data.train.n} samples, batch ${batchSize}, ${flags.optimizer} lr ${fmtLr(model.config.optimizer.lr)} (${flags.lrSchedule}), ${model.backend}`,
    );
    const progress = new MultitaskProgress(stderr, model, { bar: !flags.quiet, epochs: flags.epochs });
    const tTrain = performance.now();
    const history: MultitaskHistory = await withInterrupt(async (signal) => {
      try {
        return await model.fit(data.train, {
          epochs: flags.epochs,
          batchSize,
          seed: flags.seed,
          schedule: flags.schedule,
          validationData: data.test,
          callbacks: [progress],
          lrSchedule: lrSchedule(flags.lrSchedule, flags.epochs),
          cacheInputLayer,
          signal,
        });
      } finally {
        progress.stopBar();
      }
    });
    const trainSeconds = (performance.now() - tTrain) / 1000;
    const epochSeconds = history.history.seconds ?? [];
    const samplesPerSec = (history.history.samplesPerSec ?? []).length ? epochSeconds.reduce((s, v, i) => s + v * history.history.samplesPerSec![i]!, 0) / Math.max(1e-9, epochSeconds.reduce((s, v) => s + v, 0)) : 0;
    const test = await model.evaluate(data.test);
    const taskNames = model.taskNames;

    // Optional single-task baselines: the same network and training, one task at a time.
    let single: Record<string, { accuracy: number; loss: number; trainSeconds: number }> | undefined;
    if (flags.singleTaskBaseline) {
      single = {};
      for (const t of data.train.tasks) {
        const one = await MultitaskModel.create({ ...options, tasks: [{ name: t.name, classes: t.classes }] });
        try {
          const p = new MultitaskProgress(stderr, one, { bar: !flags.quiet, epochs: flags.epochs, prefix: `[single ${t.name}]` });
          const t0 = performance.now();
          await withInterrupt((signal) =>
            one.fit(data.train.select([t.name]), { epochs: flags.epochs, batchSize, seed: flags.seed, callbacks: [p], lrSchedule: lrSchedule(flags.lrSchedule, flags.epochs), cacheInputLayer, signal }),
          );
          const r = await one.evaluate(data.test.select([t.name]));
          single[t.name] = { accuracy: r.accuracy, loss: r.loss, trainSeconds: (performance.now() - t0) / 1000 };
        } finally {
          one.dispose();
        }
      }
    }

    const tSave = performance.now();
    const modelPath = join(outDir, 'model.blck');
    await model.save(modelPath, { metadata: { data: data.spec, cli: { command: 'multitask', batchSize, schedule: flags.schedule, epochs: flags.epochs, lrSchedule: flags.lrSchedule } } });
    const metrics = {
      command: 'multitask',
      createdAt: new Date().toISOString(),
      config: { ...flags, batchSize, optimizer: model.config.optimizer },
      data: data.spec,
      dataDescription: data.description,
      model: model.config,
      learnedValues: learned,
      history: history.toJSON(),
      test: { loss: test.loss, accuracy: test.accuracy, meanTaskAccuracy: test.meanTaskAccuracy, perTask: test.perTask },
      ...(single
        ? {
            singleTask: single,
            differenceToSingleTask: Object.fromEntries(taskNames.map((t) => [t, test.perTask[t]!.accuracy - single![t]!.accuracy])),
          }
        : {}),
      samplesPerSec,
      timings: { loadSeconds, createSeconds, trainSeconds, saveSeconds: 0, totalSeconds: 0 },
      runtime: environmentInfo(),
    };
    const { lossCurvePlot, renderVegaLiteSvg, writeSvg } = await import('../plot/index.js');
    const { accuracyBars } = await import('../analysis/multitask/plots.js');
    const label = `multi-task ${flags.train}`;
    const rows = taskNames.map((t) => ({ task: t, model: label, accuracy: test.perTask[t]!.accuracy }));
    if (single) for (const t of taskNames) rows.push({ task: t, model: `single-task ${flags.train}`, accuracy: single[t]!.accuracy });
    await writeSvg(join(outDir, 'accuracy.svg'), await renderVegaLiteSvg(accuracyBars(rows, { title: `Test accuracy per task (${flags.hidden.join('-')} hidden, ${flags.train})`, tasks: taskNames })));
    await writeSvg(join(outDir, 'loss.svg'), await renderVegaLiteSvg(lossCurvePlot(history, { title: `multi-task ${flags.train}, ${taskNames.length} tasks` })));
    metrics.timings.saveSeconds = (performance.now() - tSave) / 1000;
    metrics.timings.totalSeconds = (performance.now() - tStart) / 1000;
    await writeJson(join(outDir, 'metrics.json'), metrics);

    const cols = [{ title: label, result: test }];
    if (single) {
      const fake: MultitaskEvaluateResult = {
        loss: 0,
        accuracy: 0,
        n: 0,
        perTask: Object.fromEntries(taskNames.map((t) => [t, { accuracy: single![t]!.accuracy, loss: single![t]!.loss, n: test.perTask[t]!.n }])),
        meanTaskAccuracy: taskNames.reduce((s, t) => s + single![t]!.accuracy, 0) / taskNames.length,
      };
      cols.push({ title: `single-task ${flags.train}`, result: fake });
    }
    println(stdout, accuracyTable(taskNames, cols, single ? { title: 'diff (points)', values: taskNames.map((t) => test.perTask[t]!.accuracy - single![t]!.accuracy) } : undefined));
    println(stdout, `trained in ${seconds(trainSeconds)} (${rate(samplesPerSec)} samples/s); saved ${displayPath(outDir)}/{model.blck,metrics.json,accuracy.svg,loss.svg}`);
  } finally {
    model.dispose();
  }
}
