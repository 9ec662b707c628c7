/** `biaslearn train`: train one MLP, save model.blck, metrics.json and loss.svg. */
import { Option, type Command } from 'commander';
import type { Dataset } from '../data/dataset.js';
import { MLP } from '../model/mlp.js';
import { lossCurvePlot } from '../plot/loss.js';
import { EarlyStopping, type Callback } from '../train/callbacks.js';
import { TRAINABLE_SETS, type TrainableSet } from '../model/config.js';
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
import {
  addDataOptions,
  dataDefaults,
  loadData,
  resolveDataSpec,
  type DataFlags,
  type DataSpec,
  type LoadedData,
} from './data.js';
import { checkOutDir, prepareOutDir, writeRun } from './files.js';
import { fixed, lr as fmtLr, rate, seconds } from './format.js';
import { SEED_HELP, resolveCliSeed, seedText } from './seed.js';
import { println, type OutStream } from './io.js';
import { LastEpoch, saveInterrupted, saveOnInterrupt } from './interrupt_save.js';
import { intListParser, intParser, validationParser } from './parse.js';
import { TrainingProgress, fitWithProgress } from './progress.js';

interface TrainFlags extends DataFlags, CommonTrainingFlags {
  hidden?: number[];
  train: TrainableSet;
  seed: number;
  /** Set when --seed was omitted and the seed was drawn at random. */
  seedDrawn?: boolean;
  validationSplit?: number | 'test';
  earlyStopping?: number;
  out?: string;
  overwrite?: boolean;
}

export function registerTrain(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('train')
    .description('train one bias-learning MLP and save the model, metrics and loss curves')
    .optionsGroup('Model:')
    .option(
      '--hidden <widths>',
      'hidden widths, comma-separated for depth, e.g. 1024,1024 (default: 4096; 512 for spirals)',
      intListParser('hidden widths'),
    )
    .addOption(
      new Option('--train <set>', 'what learns: bias = every bias, weights frozen; readout = last layer; full = everything')
        .choices(TRAINABLE_SETS)
        .default('bias'),
    )
    .option('--seed <n>', SEED_HELP, intParser(0, 0xffffffff));
  addModelOptions(cmd);
  cmd.optionsGroup('Data:');
  addDataOptions(cmd);
  cmd.optionsGroup('Training:');
  addTrainingOptions(cmd);
  cmd
    .option(
      '--validation-split <f>',
      "fraction of the training data held out for validation, 0 for none, or 'test' to validate on the test split (default: 0.1; 'test' for fashion-mnist)",
      validationParser,
    )
    .option(
      '--early-stopping <patience>',
      'stop when val_loss has not improved for this many epochs; keep the best epoch',
      intParser(0),
    )
    .optionsGroup('Runtime and output:');
  addRuntimeOptions(cmd);
  cmd
    .option('--out <dir>', 'output folder (default: ./runs/<timestamp>)')
    .option('--overwrite', 'write into an --out folder that already holds files (default: refuse it)')
    .addHelpText(
      'after',
      `
Writes <out>/model.blck (checkpoint; remembers its data for \`biaslearn eval\`), <out>/metrics.json
(config, history, test accuracy, samples/s, timings, runtime) and <out>/loss.svg.

Examples:
  biaslearn train                                   # embedded spirals task, no files needed
  biaslearn train --data fashion-mnist --hidden 4096 --train bias --epochs 5
  biaslearn train --data mnist --hidden 1024,1024 --train full --lr 1e-3 --out runs/mnist-full`,
    )
    .action(async (flags: TrainFlags) => {
      const { seed, drawn } = resolveCliSeed(flags.seed as number | undefined);
      await runTrain({ ...flags, seed, seedDrawn: drawn }, ctx);
    });
  return cmd;
}

/** The data of a run: training split, validation (held out of it, or the test split) and test split. */
interface Splits {
  data: LoadedData;
  train: Dataset;
  validation: Dataset | undefined;
}

/** Holds out a fraction of the training split for validation, or validates on the test split ('test'). */
function splitValidation(data: LoadedData, validationSplit: number | 'test'): Splits {
  const all = data.train!;
  if (validationSplit === 'test') return { data, train: all, validation: data.test };
  if (validationSplit > 0) {
    const s = all.split(validationSplit, data.spec.seed);
    return { data, train: s.train, validation: s.validation };
  }
  return { data, train: all, validation: undefined };
}

/** The stderr lines before training: the data, then the model and its training. */
function describeRun(
  out: OutStream,
  { data, train, validation }: Splits,
  model: MLP,
  flags: TrainFlags,
  run: { arch: string; batchSize: number; lr: number },
): void {
  const learned = model.learnedTensors().reduce((s, t) => s + t.size, 0);
  const { arch, batchSize } = run;
  const valText = validation ? (validation === data.test ? ', validating on test' : `, ${validation.n} validation`) : '';
  println(out, `data: ${data.description}`);
  println(
    out,
    `model: MLP ${arch}, train ${flags.train} (${learned} learned values), ${flags.activation}, ${seedText(flags.seed, flags.seedDrawn === true)}; ` +
      `${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'} x ${train.n} samples${valText}, batch ${batchSize}, ` +
      `${flags.optimizer} lr ${fmtLr(run.lr)}${flags.lrSchedule === 'constant' ? '' : ` (${flags.lrSchedule})`}, ${model.backend}`,
  );
}

/** metrics.json's config: the flags as resolved (defaults applied), null where the library default holds. */
function trainConfig(
  flags: TrainFlags,
  model: MLP,
  splits: Splits,
  resolved: { hidden: number[]; batchSize: number; validationSplit: number | 'test'; optimizer: { type: string; lr: number } },
) {
  return {
    data: splits.data.spec,
    dataDescription: splits.data.description,
    hidden: resolved.hidden,
    train: flags.train,
    activation: flags.activation,
    seed: flags.seed,
    hiddenScale: flags.hiddenScale ?? null,
    readoutScale: flags.readoutScale ?? null,
    optimizer: resolved.optimizer,
    epochs: flags.epochs,
    batchSize: resolved.batchSize,
    lrSchedule: flags.lrSchedule,
    validationSplit: resolved.validationSplit,
    earlyStopping: flags.earlyStopping ?? null,
    backend: model.backend,
    threads: flags.threads ?? null,
  };
}

/** The data the flags name, and the settings whose defaults depend on it. */
function trainPlan(flags: TrainFlags): {
  dataSpec: DataSpec;
  hidden: number[];
  batchSize: number;
  validationSplit: number | 'test';
} {
  const dataSpec = resolveDataSpec(flags);
  const defaults = dataDefaults(dataSpec.name);
  const validationSplit = flags.validationSplit ?? (dataSpec.name === 'fashion-mnist' ? 'test' : 0.1);
  return { dataSpec, hidden: flags.hidden ?? defaults.hidden, batchSize: flags.batchSize ?? defaults.batchSize, validationSplit };
}

async function runTrain(flags: TrainFlags, ctx: CliContext): Promise<void> {
  // An unusable --out fails here, before data loads or anything trains.
  await checkOutDir(flags.out, flags.overwrite);
  const { stderr, stdout } = ctx.io;
  const tStart = performance.now();
  const { dataSpec, hidden, batchSize, validationSplit } = trainPlan(flags);
  applyThreads(flags.threads);
  const tLoad = performance.now();
  const splits = splitValidation(
    await loadData(dataSpec, { withTrain: true, ...(flags.quiet ? {} : { progress: stderr }) }),
    validationSplit,
  );
  const { data, train, validation } = splits;
  const loadSeconds = elapsedSeconds(tLoad);
  const tCreate = performance.now();
  const options = mlpOptions(
    flags,
    { inputSize: train.inputSize, outputSize: train.outputSize, hidden },
    flags.train,
    flags.seed,
  );
  const model = await MLP.create(options);
  const createSeconds = elapsedSeconds(tCreate);
  try {
    // Created once the data loaded and the model was built: bad data or an unavailable backend leave no empty folder.
    const outDir = await prepareOutDir(flags.out, '', flags.overwrite);
    const arch = [train.inputSize, ...hidden, train.outputSize].join('-');
    describeRun(stderr, splits, model, flags, { arch, batchSize, lr: options.optimizer.lr });
    const progress = new TrainingProgress(stderr, { bar: !flags.quiet, epochLines: true, epochs: flags.epochs });
    const early =
      flags.earlyStopping !== undefined
        ? new EarlyStopping({ monitor: 'val_loss', patience: flags.earlyStopping, restoreBestWeights: true })
        : undefined;
    const last = new LastEpoch();
    const callbacks: Callback[] = early ? [progress, early, last] : [progress, last];
    const tTrain = performance.now();
    const metadata = { data: data.spec, cli: { command: 'train', batchSize, validationSplit } };
    const history = await fitWithProgress(progress, (signal) =>
      model.fit(train, {
        epochs: flags.epochs,
        batchSize,
        seed: flags.seed,
        ...(validation ? { validationData: validation } : {}),
        callbacks,
        lrSchedule: lrSchedule(flags.lrSchedule, flags.epochs),
        signal,
      }),
    ).catch(
      saveOnInterrupt(stderr, last, () => {
        const config = trainConfig(flags, model, splits, { hidden, batchSize, validationSplit, optimizer: options.optimizer });
        return saveInterrupted(
          outDir,
          model,
          last,
          { command: 'train', createdAt: new Date().toISOString(), config, model: model.config },
          metadata,
        );
      }),
    );
    const trainSeconds = elapsedSeconds(tTrain);
    const samplesPerSec = samplesPerSecond(history, train.n);
    if (early && early.stoppedEpoch >= 0) {
      println(
        stderr,
        `early stopping after epoch ${early.stoppedEpoch + 1}; restored epoch ${early.bestEpoch + 1} (val_loss ${fixed(early.best)})`,
      );
    }
    const tEval = performance.now();
    const test = await model.evaluate(data.test);
    const evalSeconds = elapsedSeconds(tEval);

    const metrics = {
      command: 'train',
      createdAt: new Date().toISOString(),
      config: trainConfig(flags, model, splits, { hidden, batchSize, validationSplit, optimizer: options.optimizer }),
      model: model.config,
      learnedValues: model.learnedTensors().reduce((s, t) => s + t.size, 0),
      samples: { train: train.n, validation: validation && validation !== data.test ? validation.n : 0, test: data.test.n },
      history: history.toJSON(),
      epochsRun: history.epoch.length,
      ...(early ? { earlyStopping: { stoppedEpoch: early.stoppedEpoch, bestEpoch: early.bestEpoch, best: early.best } } : {}),
      test: { loss: test.loss, accuracy: test.accuracy ?? null, n: test.n },
      testAccuracy: test.accuracy ?? null,
      samplesPerSec,
      timings: { loadSeconds, createSeconds, trainSeconds, evalSeconds, saveSeconds: 0, totalSeconds: 0 },
      runtime: environmentInfo(),
    };
    const title = `${flags.train} learning, MLP ${arch}, ${data.spec.name}`;
    const written = await writeRun(outDir, {
      model,
      metadata,
      figures: [{ file: 'loss.svg', spec: lossCurvePlot(history, { title }) }],
      metrics,
      startedAt: tStart,
    });
    println(stdout, `test accuracy: ${fixed(test.accuracy)} (loss ${fixed(test.loss)}, ${test.n} samples)`);
    println(stdout, `trained in ${seconds(trainSeconds)} (${rate(samplesPerSec)} samples/s); saved ${written.summary}`);
  } finally {
    model.dispose();
  }
}
