/** Model and training flags shared by `train` and `sweep`, and their translation to library options. */
import { Option, type Command } from 'commander';
import {
  ACTIVATIONS,
  DEFAULT_FROZEN_READOUT_INIT,
  DEFAULT_HIDDEN_INIT,
  defaultLearningRate,
  type Activation,
  type MLPOptions,
  type TrainableSet,
} from '../model/config.js';
import type { BackendName } from '../native/binding.js';
import { setThreads } from '../runtime.js';
import { cosineDecay, constantLr, stepDecay, type LrSchedule } from '../train/schedules.js';
import { floatParser, intParser } from './parse.js';

export const OPTIMIZERS = ['adam', 'sgd'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];
export const LR_SCHEDULES = ['constant', 'cosine', 'step'] as const;
export type LrScheduleName = (typeof LR_SCHEDULES)[number];
export const CLI_ACTIVATIONS = ACTIVATIONS.filter((a) => a !== 'identity') as Exclude<Activation, 'identity'>[];

/** Learning rate used when --lr is not given: the library's default for the trainable set. */
export function defaultLr(train: TrainableSet, optimizer: OptimizerName): number {
  return defaultLearningRate(train, optimizer);
}

export const LR_HELP =
  'learning rate (default: the library default for --train: adam 5e-2 bias, 1e-2 readout, 1e-3 full; sgd 10x)';

/** Model flags beyond the architecture: activation and initial weight scales. */
export function addModelOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--activation <name>', 'hidden activation').choices(CLI_ACTIVATIONS).default('relu'))
    .option(
      '--hidden-scale <s>',
      `hidden weights ~ U(-a, a) with a = s / sqrt(fan_in) (default: ${DEFAULT_HIDDEN_INIT.scale.toFixed(3)} = sqrt 6)`,
      floatParser({ min: 0 }),
    )
    .option(
      '--readout-scale <s>',
      `readout weights ~ U(-a, a) with a = s / sqrt(fan_in) (default: ${DEFAULT_FROZEN_READOUT_INIT.scale} when the readout is frozen, 1 when it learns)`,
      floatParser({ min: 0 }),
    );
}

/** Optimisation flags (train and sweep). */
export function addTrainingOptions(cmd: Command): Command {
  return cmd
    .option('--epochs <n>', 'training epochs', intParser(1), 5)
    .option('--batch-size <n>', 'mini-batch size (default: 256; 32 for spirals)', intParser(1))
    .option('--lr <rate>', LR_HELP, floatParser({ min: 0, minOpen: true }))
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(OPTIMIZERS).default('adam'))
    .addOption(
      new Option(
        '--lr-schedule <name>',
        'per-epoch learning rate: cosine (to 0 over --epochs), constant, step (x0.1 every epochs/3)',
      )
        .choices(LR_SCHEDULES)
        .default('cosine'),
    );
}

/** The frozen-weight precision flags (train, sweep, multitask, rnn; src/model/precision.ts). */
export function addPrecisionOptions(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--weight-precision <p>',
        'frozen weights in fp32, or rounded to bf16 and multiplied in bf16 (docs/precision.md)',
      )
        .choices(['fp32', 'bf16'] as const)
        .default('fp32'),
    )
    .option('--tf32', 'CUDA: TF32 tensor-core products over fp32 frozen weights (opt-in)');
}

export interface PrecisionFlags {
  weightPrecision?: 'fp32' | 'bf16';
  tf32?: boolean;
}

/** The model options of the precision flags. */
export function precisionOptions(flags: PrecisionFlags): { weightPrecision: 'fp32' | 'bf16'; tf32: boolean } {
  return { weightPrecision: flags.weightPrecision ?? 'fp32', tf32: flags.tf32 === true };
}

/** Runtime flags (train and sweep). */
export function addRuntimeOptions(cmd: Command): Command {
  addPrecisionOptions(cmd);
  return cmd
    .option('--threads <n>', 'CPU threads for the native core, 0 = all cores (default: the runtime default)', intParser(0, 1024))
    .addOption(new Option('--backend <name>', 'compute backend').choices(['cpu', 'cuda'] as const).default('cpu'))
    .option('--quiet', 'no progress bar: one line per epoch (train) or per run (sweep)');
}

export interface CommonTrainingFlags extends PrecisionFlags {
  epochs: number;
  batchSize?: number;
  lr?: number;
  lrSchedule: LrScheduleName;
  optimizer: OptimizerName;
  activation: Exclude<Activation, 'identity'>;
  hiddenScale?: number;
  readoutScale?: number;
  threads?: number;
  backend: BackendName;
  quiet?: boolean;
}

export function applyThreads(threads: number | undefined): void {
  if (threads !== undefined) setThreads(threads);
}

/** MLP options for one model from the shared flags. */
export function mlpOptions(
  flags: CommonTrainingFlags,
  shape: { inputSize: number; outputSize: number; hidden: number[] },
  train: TrainableSet,
  seed: number,
): MLPOptions & { optimizer: { type: OptimizerName; lr: number } } {
  const lr = flags.lr ?? defaultLr(train, flags.optimizer);
  return {
    inputSize: shape.inputSize,
    hidden: shape.hidden,
    outputSize: shape.outputSize,
    activation: flags.activation,
    train,
    seed,
    ...(flags.hiddenScale !== undefined ? { weightInit: { scale: flags.hiddenScale } } : {}),
    ...(flags.readoutScale !== undefined ? { readoutInit: { scale: flags.readoutScale } } : {}),
    optimizer: { type: flags.optimizer, lr },
    backend: flags.backend,
    ...precisionOptions(flags),
  };
}

/** The per-epoch learning-rate schedule; step decays x0.1 every ceil(epochs / 3) epochs. */
export function lrSchedule(name: LrScheduleName, epochs: number): LrSchedule {
  if (name === 'cosine') return cosineDecay({ epochs });
  if (name === 'step') return stepDecay({ stepSize: Math.max(1, Math.ceil(epochs / 3)), gamma: 0.1 });
  return constantLr;
}

/** Training throughput: the samples of every epoch run over the summed epoch times (history.seconds). */
export function samplesPerSecond(history: { history: Record<string, number[]> }, n: number): number {
  const secs = history.history.seconds ?? [];
  return (
    (n * secs.length) /
    Math.max(
      secs.reduce((s, v) => s + v, 0),
      1e-9,
    )
  );
}
