/**
 * `biaslearn sweep`: test accuracy over hidden widths x trainable sets x seeds (the paper's
 * accuracy-vs-width experiment). Writes sweep.json after every run and sweep.svg at the end.
 */
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { TRAINABLE_SETS } from '../model/config.js';
import { MLP } from '../model/mlp.js';
import { summarizeByWidth, TRAIN_ORDER, type WidthAccuracyRow } from '../plot/accuracy.js';
import { addModelOptions, addRuntimeOptions, addTrainingOptions, applyThreads, lrSchedule, mlpOptions, type CommonTrainingFlags } from './common.js';
import { displayPath, environmentInfo, type CliContext } from './context.js';
import { addDataOptions, dataDefaults, loadData, resolveDataSpec, type DataFlags } from './data.js';
import { prepareOutDir, writeJson } from './files.js';
import { fixed, lr as fmtLr, rate, seconds, table } from './format.js';
import { println, withInterrupt } from './io.js';
import { intListParser, intParser, trainListParser } from './parse.js';
import { TrainingProgress } from './progress.js';

type TrainSetName = (typeof TRAINABLE_SETS)[number];

interface SweepFlags extends DataFlags, CommonTrainingFlags {
  widths: number[];
  train: TrainSetName[];
  seeds: number;
  depth: number;
  out?: string;
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
    .addOption(new Option('--widths <list>', 'hidden widths to try, comma-separated').argParser(intListParser('widths')).default([256, 1024, 4096], '256,1024,4096'))
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

async function runSweep(flags: SweepFlags, ctx: CliContext): Promise<void> {
  const { stderr, stdout } = ctx.io;
  const tStart = performance.now();
  const dataSpec = resolveDataSpec(flags);
  const batchSize = flags.batchSize ?? dataDefaults(dataSpec.name).batchSize;
  applyThreads(flags.threads);
  const data = await loadData(dataSpec, { withTrain: true });
  const outDir = await prepareOutDir(flags.out, 'sweep-');
  const train = data.train!;
  const seeds = Array.from({ length: flags.seeds }, (_, i) => i);
  const total = flags.widths.length * flags.train.length * seeds.length;
  println(stderr, `data: ${data.description}`);
  println(
    stderr,
    `sweep: widths ${flags.widths.join(',')}${flags.depth > 1 ? ` (x${flags.depth} layers)` : ''} x train ${flags.train.join(',')} x ${seeds.length} seed${seeds.length === 1 ? '' : 's'} = ${total} runs, ` +
      `${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}, batch ${batchSize}, ${flags.optimizer}`,
  );

  const rows: SweepRow[] = [];
  const config = {
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
  const runtime = environmentInfo();
  const jsonPath = join(outDir, 'sweep.json');
  const save = (complete: boolean): Promise<void> =>
    writeJson(jsonPath, { command: 'sweep', createdAt: new Date().toISOString(), complete, config, rows, summary: summarizeByWidth(rows), runtime });

  let k = 0;
  for (const width of flags.widths) {
    for (const trainSet of flags.train) {
      for (const seed of seeds) {
        k++;
        const label = `[${k}/${total}] width ${width} ${trainSet} seed ${seed}`;
        const hidden = Array.from({ length: flags.depth }, () => width);
        const options = mlpOptions(flags, { inputSize: train.inputSize, outputSize: train.outputSize, hidden }, trainSet, seed);
        const model = await MLP.create(options);
        try {
          const progress = new TrainingProgress(stderr, { bar: !flags.quiet, epochLines: false, prefix: label, epochs: flags.epochs });
          const t0 = performance.now();
          const history = await withInterrupt(async (signal) => {
            try {
              return await model.fit(train, { epochs: flags.epochs, batchSize, seed, callbacks: [progress], lrSchedule: lrSchedule(flags.lrSchedule, flags.epochs), signal });
            } finally {
              progress.stopBar();
            }
          });
          const trainSeconds = (performance.now() - t0) / 1000;
          const epochSecs = (history.history.seconds ?? []).reduce((s, v) => s + v, 0);
          const samplesPerSec = (train.n * history.epoch.length) / Math.max(epochSecs, 1e-9);
          const r = await model.evaluate(data.test);
          const row: SweepRow = { width, train: trainSet, seed, testAccuracy: r.accuracy ?? NaN, testLoss: r.loss, lr: options.optimizer.lr, trainSeconds, samplesPerSec };
          rows.push(row);
          await save(false);
          println(stderr, `${label}: test acc ${fixed(row.testAccuracy)}  loss ${fixed(row.testLoss)}  lr ${fmtLr(row.lr)}  ${seconds(trainSeconds)}  ${rate(samplesPerSec)} samples/s`);
        } finally {
          model.dispose();
        }
      }
    }
  }
  await save(true);
  const { accuracyVsWidthPlot, renderVegaLiteSvg, writeSvg } = await import('../plot/index.js');
  const title = `Test accuracy vs width: ${data.spec.name}, ${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}`;
  await writeSvg(join(outDir, 'sweep.svg'), await renderVegaLiteSvg(accuracyVsWidthPlot(rows, { title })));

  println(stdout, `test accuracy (mean ± s.d. over ${seeds.length} seed${seeds.length === 1 ? '' : 's'}), ${data.spec.name}, ${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'}:`);
  println(stdout, pivot(rows));
  println(stdout, `${total} runs in ${seconds((performance.now() - tStart) / 1000)}; saved ${displayPath(outDir)}/{sweep.json,sweep.svg}`);
}
