/** `biaslearn train`: train one MLP, save model.blck, metrics.json and loss.svg. */
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { MLP } from '../model/mlp.js';
import { EarlyStopping, type Callback } from '../train/callbacks.js';
import { TRAINABLE_SETS, type TrainableSet } from '../model/config.js';
import {
  addModelOptions,
  addRuntimeOptions,
  addTrainingOptions,
  applyThreads,
  lrSchedule,
  mlpOptions,
  type CommonTrainingFlags,
} from './common.js';
import { displayPath, environmentInfo, type CliContext } from './context.js';
import { addDataOptions, dataDefaults, loadData, resolveDataSpec, type DataFlags } from './data.js';
import { prepareOutDir, writeJson } from './files.js';
import { fixed, lr as fmtLr, rate, seconds } from './format.js';
import { println, withInterrupt } from './io.js';
import { intListParser, intParser, validationParser } from './parse.js';
import { TrainingProgress } from './progress.js';

interface TrainFlags extends DataFlags, CommonTrainingFlags {
  hidden?: number[];
  train: TrainableSet;
  seed: number;
  validationSplit?: number | 'test';
  earlyStopping?: number;
  out?: string;
}

export function registerTrain(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('train')
    .description('train one bias-learning MLP and save the model, metrics and loss curves')
    .optionsGroup('Model:')
    .option('--hidden <widths>', 'hidden widths, comma-separated for depth, e.g. 1024,1024 (default: 4096; 512 for spirals)', intListParser('hidden widths'))
    .addOption(new Option('--train <set>', 'what learns: bias = every bias, weights frozen; readout = last layer; full = everything').choices(TRAINABLE_SETS).default('bias'))
    .option('--seed <n>', 'seed of the frozen random weights and of shuffling', intParser(0, 0xffffffff), 0);
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
    .option('--early-stopping <patience>', 'stop when val_loss has not improved for this many epochs; keep the best epoch', intParser(0))
    .optionsGroup('Runtime and output:');
  addRuntimeOptions(cmd);
  cmd
    .option('--out <dir>', 'output folder (default: ./runs/<timestamp>)')
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
      await runTrain(flags, ctx);
    });
  return cmd;
}

async function runTrain(flags: TrainFlags, ctx: CliContext): Promise<void> {
  const { stderr, stdout } = ctx.io;
  const tStart = performance.now();
  const dataSpec = resolveDataSpec(flags);
  const defaults = dataDefaults(dataSpec.name);
  const hidden = flags.hidden ?? defaults.hidden;
  const batchSize = flags.batchSize ?? defaults.batchSize;
  const validationSplit = flags.validationSplit ?? (dataSpec.name === 'fashion-mnist' ? 'test' : 0.1);
  applyThreads(flags.threads);

  const tLoad = performance.now();
  const data = await loadData(dataSpec, { withTrain: true });
  let train = data.train!;
  let validation = validationSplit === 'test' ? data.test : undefined;
  if (typeof validationSplit === 'number' && validationSplit > 0) {
    const s = train.split(validationSplit, data.spec.seed);
    train = s.train;
    validation = s.validation;
  }
  const loadSeconds = (performance.now() - tLoad) / 1000;

  const tCreate = performance.now();
  const options = mlpOptions(flags, { inputSize: train.inputSize, outputSize: train.outputSize, hidden }, flags.train, flags.seed);
  const model = await MLP.create(options);
  const createSeconds = (performance.now() - tCreate) / 1000;
  try {
    // Created once the data loaded and the model was built: bad data or an unavailable backend leave no empty folder.
    const outDir = await prepareOutDir(flags.out);
    const learned = model.learnedTensors().reduce((s, t) => s + t.size, 0);
    const arch = [train.inputSize, ...hidden, train.outputSize].join('-');
    const valText = validation ? (validation === data.test ? ', validating on test' : `, ${validation.n} validation`) : '';
    println(stderr, `data: ${data.description}`);
    println(
      stderr,
      `model: MLP ${arch}, train ${flags.train} (${learned} learned values), ${flags.activation}, seed ${flags.seed}; ` +
        `${flags.epochs} epoch${flags.epochs === 1 ? '' : 's'} x ${train.n} samples${valText}, batch ${batchSize}, ` +
        `${flags.optimizer} lr ${fmtLr(options.optimizer.lr)}${flags.lrSchedule === 'constant' ? '' : ` (${flags.lrSchedule})`}, ${model.backend}`,
    );

    const progress = new TrainingProgress(stderr, { bar: !flags.quiet, epochLines: true, epochs: flags.epochs });
    const callbacks: Callback[] = [progress];
    const early = flags.earlyStopping !== undefined ? new EarlyStopping({ monitor: 'val_loss', patience: flags.earlyStopping, restoreBestWeights: true }) : undefined;
    if (early) callbacks.push(early);

    const tTrain = performance.now();
    const history = await withInterrupt(async (signal) => {
      try {
        return await model.fit(train, {
          epochs: flags.epochs,
          batchSize,
          seed: flags.seed,
          ...(validation ? { validationData: validation } : {}),
          callbacks,
          lrSchedule: lrSchedule(flags.lrSchedule, flags.epochs),
          signal,
        });
      } finally {
        progress.stopBar();
      }
    });
    const trainSeconds = (performance.now() - tTrain) / 1000;
    const epochSeconds = history.history.seconds ?? [];
    const samplesSeen = train.n * epochSeconds.length;
    const samplesPerSec = samplesSeen / Math.max(epochSeconds.reduce((s, v) => s + v, 0), 1e-9);
    if (early && early.stoppedEpoch >= 0) {
      println(stderr, `early stopping after epoch ${early.stoppedEpoch + 1}; restored epoch ${early.bestEpoch + 1} (val_loss ${fixed(early.best)})`);
    }

    const tEval = performance.now();
    const test = await model.evaluate(data.test);
    const evalSeconds = (performance.now() - tEval) / 1000;

    const tSave = performance.now();
    const modelPath = join(outDir, 'model.blck');
    await model.save(modelPath, { metadata: { data: data.spec, cli: { command: 'train', batchSize, validationSplit } } });
    const metrics = {
      command: 'train',
      createdAt: new Date().toISOString(),
      config: {
        data: data.spec,
        dataDescription: data.description,
        hidden,
        train: flags.train,
        activation: flags.activation,
        seed: flags.seed,
        hiddenScale: flags.hiddenScale ?? null,
        readoutScale: flags.readoutScale ?? null,
        optimizer: options.optimizer,
        epochs: flags.epochs,
        batchSize,
        lrSchedule: flags.lrSchedule,
        validationSplit,
        earlyStopping: flags.earlyStopping ?? null,
        backend: model.backend,
        threads: flags.threads ?? null,
      },
      model: model.config,
      learnedValues: learned,
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
    const { lossCurvePlot, renderVegaLiteSvg, writeSvg } = await import('../plot/index.js');
    const title = `${flags.train} learning, MLP ${arch}, ${data.spec.name}`;
    await writeSvg(join(outDir, 'loss.svg'), await renderVegaLiteSvg(lossCurvePlot(history, { title })));
    metrics.timings.saveSeconds = (performance.now() - tSave) / 1000;
    metrics.timings.totalSeconds = (performance.now() - tStart) / 1000;
    await writeJson(join(outDir, 'metrics.json'), metrics);

    println(stdout, `test accuracy: ${fixed(test.accuracy)} (loss ${fixed(test.loss)}, ${test.n} samples)`);
    println(stdout, `trained in ${seconds(trainSeconds)} (${rate(samplesPerSec)} samples/s); saved ${displayPath(outDir)}/{model.blck,metrics.json,loss.svg}`);
  } finally {
    model.dispose();
  }
}
