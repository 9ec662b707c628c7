/**
 * `biaslearn sweep`: test accuracy over hidden widths x trainable sets x seeds (the paper's
 * accuracy-vs-width experiment). Writes sweep.json after every run and sweep.svg at the end.
 */
import { currentWorld } from '../distributed/world.js';
import { Option, type Command } from 'commander';
import { TRAINABLE_SETS } from '../model/config.js';
import { MLP } from '../model/mlp.js';
import { accuracyVsWidthPlot, summarizeByWidth, TRAIN_ORDER, type WidthAccuracyRow } from '../plot/accuracy.js';
import {
  addModelOptions,
  addRuntimeOptions,
  addTrainingOptions,
  applyThreads,
  lrSchedule,
  mlpOptions,
  samplesPerSecond,
  type CommonTrainingFlags,
} from './common.js';
import { elapsedSeconds, environmentInfo, type CliContext } from './context.js';
import { addDataOptions, dataDefaults, loadData, resolveDataSpec, type DataFlags, type LoadedData } from './data.js';
import { checkOutDir, prepareOutDir, writeRun, type RunFigure, type WrittenRun } from './files.js';
import { fixed, lr as fmtLr, rate, seconds, table } from './format.js';
import { println, type OutStream } from './io.js';
import { intListParser, intParser, trainListParser } from './parse.js';
import { TrainingProgress, fitWithProgress } from './progress.js';

type TrainSetName = (typeof TRAINABLE_SETS)[number];

interface SweepFlags extends DataFlags, CommonTrainingFlags {
  widths: number[];
  train: TrainSetName[];
  seeds: number;
  depth: number;
  out?: string;
  overwrite?: boolean;
}

export interface SweepRow extends WidthAccuracyRow {
  train: TrainSetName;
  testLoss: number;
  lr: number;
  trainSeconds: number;
  samplesPerSec: number;
}

export function registerSweep(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('sweep')
    .description('train every width x trainable set x seed; write sweep.json and an accuracy-vs-width plot')
    .optionsGroup('Sweep:')
    .addOption(
      new Option('--widths <list>', 'hidden widths to try, comma-separated')
        .argParser(intListParser('widths'))
        .default([256, 1024, 4096], '256,1024,4096'),
    )
    .addOption(
      new Option('--train <list>', `trainable sets, comma-separated from ${TRAINABLE_SETS.join(', ')}`)
        .argParser(trainListParser)
        .default([...TRAINABLE_SETS], TRAINABLE_SETS.join(',')),
    )
    .option('--seeds <n>', 'seeds per configuration (weight seeds 0..n-1)', intParser(1, 1000), 3)
    .option('--depth <n>', 'hidden layers, each of the swept width', intParser(1, 64), 1)
    .optionsGroup('Model:');
  addModelOptions(cmd);
  cmd.optionsGroup('Data:');
  addDataOptions(cmd);
  cmd.optionsGroup('Training:');
  addTrainingOptions(cmd);
  cmd.optionsGroup('Runtime and output:');
  addRuntimeOptions(cmd);
  cmd
    .option('--out <dir>', 'output folder (default: ./runs/sweep-<timestamp>)')
    .option('--overwrite', 'write into an --out folder that already holds files (default: refuse it)')
    .addHelpText(
      'after',
      `
Every run trains on the full training split and reports test accuracy (no validation split).
Writes <out>/sweep.json (rows: width, train, seed, testAccuracy, trainSeconds, samplesPerSec, ...)
after every run, and <out>/sweep.svg (test accuracy vs width, mean ± s.d. over seeds) at the end.

Examples:
  biaslearn sweep --widths 64,256,1024 --seeds 2            # embedded spirals task
  biaslearn sweep --data fashion-mnist --widths 256,1024,4096 --train bias,readout,full --seeds 3`,
    )
    .action(async (flags: SweepFlags) => {
      await runSweep(flags, ctx);
    });
  return cmd;
}

function pivot(rows: SweepRow[]): string {
  const summary = summarizeByWidth(rows);
  const trains = TRAIN_ORDER.filter((t) => summary.some((s) => s.train === t));
  const widths = [...new Set(summary.map((s) => s.width))].sort((a, b) => a - b);
  const body = widths.map((w) => [
    String(w),
    ...trains.map((t) => {
      const s = summary.find((x) => x.width === w && x.train === t);
      return s ? `${fixed(s.mean)} ± ${fixed(s.std)}` : '-';
    }),
  ]);
  return table(['width', ...trains], body);
}

/** One point of the sweep grid. */
interface SweepPoint {
  width: number;
  train: TrainSetName;
  seed: number;
}

/** sweep.json's config: the flags as resolved, null where the library default holds. */
function sweepConfig(flags: SweepFlags, data: LoadedData, seeds: number[], batchSize: number) {
  return {
    data: data.spec,
    dataDescription: data.description,
    widths: flags.widths,
    depth: flags.depth,
    train: flags.train,
    seeds,
    epochs: flags.epochs,
    batchSize,
    optimizer: flags.optimizer,
    lr: flags.lr ?? null,
    lrSchedule: flags.lrSchedule,
    activation: flags.activation,
    hiddenScale: flags.hiddenScale ?? null,
    readoutScale: flags.readoutScale ?? null,
    backend: flags.backend,
    threads: flags.threads ?? null,
  };
}

/** Trains and tests one model of the grid (depth layers of the point's width). */
async function trainOne(
  data: LoadedData,
  flags: SweepFlags,
  point: SweepPoint,
  batchSize: number,
  label: string,
  out: OutStream,
): Promise<SweepRow> {
  const { width, seed } = point;
  const train = data.train!;
  const hidden = Array.from({ length: flags.depth }, () => width);
  const options = mlpOptions(flags, { inputSize: train.inputSize, outputSize: train.outputSize, hidden }, point.train, seed);
  const model = await MLP.create(options);
  try {
    const progress = new TrainingProgress(out, { bar: !flags.quiet, epochLines: false, prefix: label, epochs: flags.epochs });
    const t0 = performance.now();
    const history = await fitWithProgress(progress, (signal) =>
      model.fit(train, {
        epochs: flags.epochs,
        batchSize,
        seed,
        callbacks: [progress],
        lrSchedule: lrSchedule(flags.lrSchedule, flags.epochs),
        signal,
        dataParallel: false, // under mpirun each rank trains its own grid points
      }),
    );
    const trainSeconds = elapsedSeconds(t0);
    const samplesPerSec = samplesPerSecond(history, train.n);
    const r = await model.evaluate(data.test);
    return {
      width,
      train: point.train,
      seed,
      testAccuracy: r.accuracy ?? NaN,
      testLoss: r.loss,
      lr: options.optimizer.lr,
      trainSeconds,
      samplesPerSec,
    };
  } finally {
    model.dispose();
  }
}

async function runSweep(flags: SweepFlags, ctx: CliContext): Promise<void> {
  // An unusable --out fails here, before data loads or anything trains.
  await checkOutDir(flags.out, flags.overwrite);
  const { stderr, stdout } = ctx.io;
  const tStart = performance.now();
  const dataSpec = resolveDataSpec(flags);
  const batchSize = flags.batchSize ?? dataDefaults(dataSpec.name).batchSize;
  applyThreads(flags.threads);
  const data = await loadData(dataSpec, { withTrain: true, ...(flags.quiet ? {} : { progress: stderr }) });
  const outDir = await prepareOutDir(flags.out, 'sweep-', flags.overwrite);
  const seeds = Array.from({ length: flags.seeds }, (_, i) => i);
  const grid: SweepPoint[] = flags.widths.flatMap((width) =>
    flags.train.flatMap((train) => seeds.map((seed) => ({ width, train, seed }))),
  );
  const epochs = `${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}`;
  println(stderr, `data: ${data.description}`);
  println(
    stderr,
    `sweep: widths ${flags.widths.join(',')}${flags.depth > 1 ? ` (x${flags.depth} layers)` : ''} x train ${flags.train.join(',')} x ${seeds.length} seed${seeds.length === 1 ? '' : 's'} = ${grid.length} runs, ` +
      `${epochs}, batch ${batchSize}, ${flags.optimizer}`,
  );

  const rows: SweepRow[] = [];
  const config = sweepConfig(flags, data, seeds, batchSize);
  const runtime = environmentInfo();
  // sweep.json is rewritten after every run (complete: false), so a stopped sweep keeps its rows.
  const record = (complete: boolean, figures?: RunFigure[]): Promise<WrittenRun> =>
    writeRun(outDir, {
      metricsFile: 'sweep.json',
      metrics: {
        command: 'sweep',
        createdAt: new Date().toISOString(),
        complete,
        config,
        rows,
        summary: summarizeByWidth(rows),
        runtime,
      },
      ...(figures ? { figures } : {}),
    });
  // Under mpirun rank r trains the grid points k = r, r + size, ...; rank 0 gathers the rows in grid order.
  const world = currentWorld();
  world?.agree('the sweep grid and settings', { grid, config: { ...config, threads: null } });
  const mine = grid.flatMap((point, k) => (k % (world?.size ?? 1) === (world?.rank ?? 0) ? [{ point, k }] : []));
  const byIndex = new Map<number, SweepRow>();
  for (const { point, k } of mine) {
    const label = `[${k + 1}/${grid.length}] width ${point.width} ${point.train} seed ${point.seed}`;
    const row = await trainOne(data, flags, point, batchSize, label, stderr);
    byIndex.set(k, row);
    rows.push(row);
    await record(false);
    println(
      stderr,
      `${label}: test acc ${fixed(row.testAccuracy)}  loss ${fixed(row.testLoss)}  lr ${fmtLr(row.lr)}  ${seconds(row.trainSeconds)}  ${rate(row.samplesPerSec)} samples/s`,
    );
  }
  if (world && world.size > 1) {
    const gathered = world.gather(JSON.stringify([...byIndex]));
    for (const text of gathered) for (const [k, row] of JSON.parse(text) as [number, SweepRow][]) byIndex.set(k, row);
    rows.length = 0;
    rows.push(...[...byIndex].sort((a, b) => a[0] - b[0]).map(([, row]) => row));
  }
  const title = `Test accuracy vs width: ${data.spec.name}, ${epochs}`;
  const written = await record(true, [{ file: 'sweep.svg', spec: accuracyVsWidthPlot(rows, { title }) }]);

  println(
    stdout,
    `test accuracy (mean ± s.d. over ${seeds.length} seed${seeds.length === 1 ? '' : 's'}), ${data.spec.name}, ${epochs}:`,
  );
  println(stdout, pivot(rows));
  println(stdout, `${grid.length} runs in ${seconds(elapsedSeconds(tStart))}; saved ${written.summary}`);
}
