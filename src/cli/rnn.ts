/**
 * `biaslearn rnn`: train one bias-learning RNN on a dynamical-systems task and write model.blck,
 * metrics.json, trajectories.svg (target against generated / forecast trajectories), loss.svg
 * and eigenvalues.svg (spectra of W and of the Jacobian at a fixed point).
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { analyzeDynamics, type Eigenvalues } from '../analysis/rnn_dynamics.js';
import { ACTIVATIONS, type Activation } from '../model/config.js';
import type { BackendName } from '../native/binding.js';
import { lossCurvePlot, type HistoryLike } from '../plot/loss.js';
import {
  formatRule,
  parseRule,
  RNN_TRAINABLE_SETS,
  type RNNOptions,
  type RNNTrainablePreset,
  type ResolvedRule,
} from '../rnn/config.js';
import { eigenvaluePlot } from '../rnn/plots.js';
import { RNN } from '../rnn/rnn.js';
import { makeTask, TASK_NAMES, type RnnTask, type TaskName } from '../tasks/tasks.js';
import { applyThreads, precisionOptions, type PrecisionFlags } from './common.js';
import { elapsedSeconds, environmentInfo, type CliContext } from './context.js';
import { checkOutDir, prepareOutDir, writeRun, type RunFigure } from './files.js';
import { fixed, lr as fmtLr, seconds } from './format.js';
import { SEED_HELP, resolveCliSeed, seedText } from './seed.js';
import { println, type OutStream } from './io.js';
import { floatParser, intParser } from './parse.js';
import { EpochProgress, fitWithProgress } from './progress.js';
import { LastEpoch, saveInterrupted, saveOnInterrupt } from './interrupt_save.js';

interface RnnFlags extends PrecisionFlags {
  task: TaskName;
  hidden?: number;
  train: RNNTrainablePreset;
  learnState?: boolean;
  learnReadoutBias?: boolean;
  rule: ResolvedRule;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  optimizer: 'adam' | 'sgd';
  alpha?: number;
  form: 'leaky' | 'residual';
  gain?: number;
  inputScale?: number;
  activation: Activation;
  clip?: number;
  tau?: number;
  seed: number;
  /** Set when --seed was omitted and the seed was drawn at random. */
  seedDrawn?: boolean;
  eigen: 'auto' | 'on' | 'off';
  threads?: number;
  backend: BackendName;
  quiet?: boolean;
  out?: string;
  overwrite?: boolean;
}

function ruleParser(value: string): ResolvedRule {
  try {
    return parseRule(value);
  } catch {
    throw new InvalidArgumentError(
      'Expected bptt, tbptt:K (K >= 1, optionally tbptt:K:online), rflo, rflo:batch, rflo:sym, rflo:w=X or eprop[:batch][:sym].',
    );
  }
}

export function registerRnn(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('rnn')
    .description('train a bias-learning recurrent network on a dynamical-systems task (generation, forecasting, reaching)')
    .optionsGroup('Task and model:')
    .addOption(
      new Option('--task <name>', 'cosine / sine generation, vanderpol generation, lorenz / mackey-glass forecasting, reaching')
        .choices(TASK_NAMES)
        .default('cosine'),
    )
    .option('--hidden <m>', 'hidden units (default: per task, e.g. 200 for cosine, 512 for lorenz)', intParser(1))
    .addOption(
      new Option('--train <set>', 'what learns: bias = recurrent biases b; readout = A and c; full = W, B, A, b, c')
        .choices(RNN_TRAINABLE_SETS)
        .default('bias'),
    )
    .option('--learn-state', 'also learn the initial state r[0] (default: per task; on for generation and reaching)')
    .option('--no-learn-state', 'keep r[0] = 0')
    .option('--learn-readout-bias', 'also learn the readout bias c')
    .option('--alpha <a>', 'leak: r <- (1-a) r + a phi(...) (default: per task)', floatParser({ min: 0, max: 1, minOpen: true }))
    .addOption(
      new Option('--form <form>', "'residual' is r <- r + phi(...) (the paper's theorem)")
        .choices(['leaky', 'residual'] as const)
        .default('leaky'),
    )
    .option('--gain <g>', 'recurrent gain: W entries ~ N(0, g^2/m) (default: per task)', floatParser({ min: 0 }))
    .option('--input-scale <s>', 'input weights ~ U(-s, s)/sqrt(inputs) (default: per task)', floatParser({ min: 0 }))
    .addOption(
      new Option('--activation <name>', 'hidden activation (identity: a linear RNN)')
        .choices(ACTIVATIONS)
        .default('tanh-rational'),
    )
    .option('--tau <steps>', 'forecast horizon of lorenz / mackey-glass (default 27 / 6)', intParser(1))
    .option('--seed <n>', SEED_HELP, intParser(0, 0xffffffff))
    .optionsGroup('Training:')
    .option(
      '--rule <rule>',
      'bptt | tbptt:K[:online] | rflo[:batch][:sym][:w=X] | eprop[:batch][:sym] (rflo, eprop: random feedback, update every step)',
      ruleParser,
      parseRule('bptt'),
    )
    .option('--epochs <n>', 'passes over the training sequences (default: per task)', intParser(1))
    .option('--batch-size <n>', 'sequences per update (default: per task)', intParser(1))
    .option('--lr <rate>', 'learning rate (default: per task; lower for full training)', floatParser({ min: 0, minOpen: true }))
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['adam', 'sgd'] as const).default('adam'))
    .option(
      '--clip <norm>',
      'clip the global gradient norm before each update, 0 = off (default: per task)',
      floatParser({ min: 0 }),
    )
    .optionsGroup('Runtime and output:')
    .addOption(
      new Option('--eigen <when>', 'eigenvalue analysis: auto = when hidden <= 1024 (one to two minutes at 1024)')
        .choices(['auto', 'on', 'off'] as const)
        .default('auto'),
    )
    .option('--threads <n>', 'CPU threads for the native core, 0 = all cores', intParser(0, 1024))
    .addOption(new Option('--backend <name>', 'compute backend').choices(['cpu', 'cuda'] as const).default('cpu'))
    .addOption(
      new Option(
        '--weight-precision <p>',
        'frozen weights in fp32, or rounded to bf16 and multiplied in bf16 (docs/precision.md)',
      )
        .choices(['fp32', 'bf16'] as const)
        .default('fp32'),
    )
    .option('--tf32', 'CUDA: TF32 tensor-core products over fp32 frozen weights (opt-in)')
    .option('--quiet', 'no progress bar: a few summary lines')
    .option('--out <dir>', 'output folder (default: ./runs/rnn-<task>-<timestamp>)')
    .option('--overwrite', 'write into an --out folder that already holds files (default: refuse it)')
    .addHelpText(
      'after',
      `
Writes <out>/model.blck (checkpoint: config with seed + learned values), <out>/metrics.json (config,
history, test metrics: NMSE / R^2, closed-loop forecasts, reach errors, spectra), <out>/trajectories.svg,
<out>/loss.svg and <out>/eigenvalues.svg.

Examples:
  biaslearn rnn                                             # cosine generation, 200 units, bias + r[0]
  biaslearn rnn --task lorenz --hidden 1024 --train bias --rule bptt
  biaslearn rnn --task cosine --rule tbptt:10
  biaslearn rnn --task reaching --rule rflo --epochs 500`,
    )
    .action(async (flags: RnnFlags) => {
      const { seed, drawn } = resolveCliSeed(flags.seed as number | undefined);
      await runRnn({ ...flags, seed, seedDrawn: drawn }, ctx);
    });
  return cmd;
}

/** The model options and training settings of a run: the flags given, else the task's defaults. */
interface RnnPlan {
  options: RNNOptions & { hidden: number };
  lr: number;
  epochs: number;
  batchSize: number;
}

function rnnPlan(flags: RnnFlags, task: RnnTask): RnnPlan {
  const d = task.defaults;
  const lr = flags.lr ?? (flags.train === 'full' ? d.lrFull : d.lr);
  const options = {
    inputSize: task.inputSize,
    hidden: flags.hidden ?? d.hidden,
    outputSize: task.outputSize,
    activation: flags.activation,
    ...(flags.form === 'residual' ? { form: 'residual' as const } : { alpha: flags.alpha ?? d.alpha }),
    recurrentGain: flags.gain ?? d.recurrentGain,
    inputScale: flags.inputScale ?? d.inputScale,
    train: flags.train,
    learnInitialState: flags.learnState ?? d.learnInitialState,
    learnReadoutBias: flags.learnReadoutBias ?? false,
    rule: flags.rule,
    clip: flags.clip ?? d.clip,
    seed: flags.seed,
    optimizer: { type: flags.optimizer, lr },
    backend: flags.backend,
    ...precisionOptions(flags),
  };
  return { options, lr, epochs: flags.epochs ?? d.epochs, batchSize: flags.batchSize ?? d.batchSize };
}

/** The two stderr lines before training: the task, then the model and its training. */
function describeRun(out: OutStream, task: RnnTask, rnn: RNN, flags: RnnFlags, plan: RnnPlan): void {
  const learned = rnn.learnedTensors();
  const c = rnn.config;
  println(out, `task: ${task.description} (${task.train.n} train / ${task.test.n} test sequences of ${task.train.steps} steps)`);
  println(
    out,
    `model: RNN ${task.inputSize}-${plan.options.hidden}-${task.outputSize}, ${flags.activation}, ${c.form === 'residual' ? 'residual r + phi' : `alpha ${c.alpha}`}, g ${c.recurrentGain}; ` +
      `learns ${learned.map((t) => t.name).join(', ')} (${learned.reduce((s, t) => s + t.size, 0)} values); ${formatRule(flags.rule)}, ${flags.optimizer} lr ${fmtLr(plan.lr)}, ` +
      `batch ${plan.batchSize}, ${plan.epochs} epochs, ${seedText(flags.seed, flags.seedDrawn === true)}, ${rnn.backend}`,
  );
}

/** At most ~`most` epochs of a history, first and last kept (generation tasks train thousands of one-sequence epochs). */
function thinHistory(history: HistoryLike, most: number): HistoryLike {
  const stride = Math.max(1, Math.ceil(history.epoch.length / most));
  const keep = history.epoch.map((_, i) => i).filter((i) => i % stride === 0 || i === history.epoch.length - 1);
  return {
    epoch: keep.map((i) => history.epoch[i]!),
    history: Object.fromEntries(Object.entries(history.history).map(([k, v]) => [k, keep.map((i) => v[i]!)])),
  };
}

/** Spectra of gain x W and of the Jacobian at a fixed point for the task's resting input: the figure and metrics.json's `dynamics`. */
async function dynamicsReport(
  rnn: RNN,
  task: RnnTask,
  title: string,
  out: OutStream,
): Promise<{ figure: RunFigure; dynamics: Record<string, unknown>; seconds: number }> {
  const m = rnn.config.hidden;
  if (m >= 512)
    println(
      out,
      `eigenvalues of two ${m} x ${m} matrices (LAPACK on worker threads, about ${Math.max(1, Math.round((m / 1024) ** 3 * 3))} s)...`,
    );
  const t0 = performance.now();
  const cue = task.fixedPointInput;
  const a = await analyzeDynamics(rnn, { input: cue });
  const seconds = elapsedSeconds(t0);
  const gW = rnn.config.gain;
  const { weightSpectrum: w, fixedPointJacobian: j, fixedPoint: fp } = a;
  const spec = eigenvaluePlot(
    [
      { label: `gain x W (radius ${fixed(gW * w.spectralRadius, 3)})`, re: w.re.map((v) => v * gW), im: w.im.map((v) => v * gW) },
      { label: `Jacobian at fixed point (radius ${fixed(j.spectralRadius, 3)})`, re: j.re, im: j.im },
    ],
    {
      title: `Eigenvalues: ${title}`,
      subtitle: `fixed point for input ${JSON.stringify(cue)} (damping ${fp.damping}): ${fp.converged ? 'converged' : 'not converged'}, residual ${fp.residual.toExponential(1)}`,
    },
  );
  const spectrum = (e: Eigenvalues) => ({ spectralRadius: e.spectralRadius, re: Array.from(e.re), im: Array.from(e.im) });
  const dynamics = {
    fixedPoint: {
      converged: fp.converged,
      damping: fp.damping,
      residual: fp.residual,
      iterations: fp.iterations,
      output: Array.from(a.fixedPointOutput),
    },
    weightSpectrum: spectrum(w),
    fixedPointJacobian: spectrum(j),
  };
  return { figure: { file: 'eigenvalues.svg', spec }, dynamics, seconds };
}

async function runRnn(flags: RnnFlags, ctx: CliContext): Promise<void> {
  // An unusable --out fails here, before data loads or anything trains.
  await checkOutDir(flags.out, flags.overwrite);
  const { stderr, stdout } = ctx.io;
  const tStart = performance.now();
  applyThreads(flags.threads);
  const task = makeTask(flags.task, flags.tau !== undefined ? { tau: flags.tau } : {});
  const plan = rnnPlan(flags, task);
  const { epochs, batchSize, lr } = plan;
  const tCreate = performance.now();
  const rnn = await RNN.create(plan.options);
  const createSeconds = elapsedSeconds(tCreate);
  try {
    const outDir = await prepareOutDir(flags.out, `rnn-${task.name}-`, flags.overwrite);
    describeRun(stderr, task, rnn, flags, plan);
    const progress = new EpochProgress(stderr, epochs, !flags.quiet);
    const tTrain = performance.now();
    // Ctrl-C keeps the last epoch copied (at most once a second: RNN epochs can be tiny).
    const last = new LastEpoch(1000);
    const history = await fitWithProgress(progress, (signal) =>
      rnn.fit(task.train, { epochs, batchSize, seed: flags.seed, callbacks: [progress, last], signal, shuffle: true }),
    ).catch(
      saveOnInterrupt(stderr, last, () =>
        saveInterrupted(
          outDir,
          rnn,
          last,
          { command: 'rnn', createdAt: new Date().toISOString(), task: task.name, model: rnn.config },
          { cli: { command: 'rnn', task: task.name } },
        ),
      ),
    );
    const trainSeconds = elapsedSeconds(tTrain);

    const tEval = performance.now();
    const title = `${task.name}: ${flags.train} learning, m = ${plan.options.hidden}, ${formatRule(flags.rule)}`;
    const { evaluation, figures, summary } = await task.report(rnn, { title });
    figures.push({ file: 'loss.svg', spec: lossCurvePlot(thinHistory(history, 200), { title }) });
    const evalSeconds = elapsedSeconds(tEval);
    const eigen =
      flags.eigen === 'on' || (flags.eigen === 'auto' && plan.options.hidden <= 1024)
        ? await dynamicsReport(rnn, task, title, stderr)
        : undefined;
    if (eigen) figures.push(eigen.figure);

    const rule = formatRule(flags.rule);
    const metrics = {
      command: 'rnn',
      createdAt: new Date().toISOString(),
      task: {
        name: task.name,
        kind: task.kind,
        description: task.description,
        trainSequences: task.train.n,
        testSequences: task.test.n,
        steps: task.train.steps,
      },
      config: { ...flags, rule, epochs, batchSize, lr },
      model: rnn.config,
      learnedValues: rnn.learnedTensors().reduce((s, x) => s + x.size, 0),
      history: history.toJSON(),
      evaluation,
      summary,
      ...(eigen ? { dynamics: eigen.dynamics } : {}),
      timings: { createSeconds, trainSeconds, evalSeconds, eigenSeconds: eigen?.seconds ?? 0, saveSeconds: 0, totalSeconds: 0 },
      runtime: environmentInfo(),
    };
    const metadata = { task: task.name, taskDescription: task.description, cli: { command: 'rnn', epochs, batchSize, rule } };
    // 7 significant digits keep metrics.json small (thousands of epochs, m-long spectra).
    const written = await writeRun(outDir, { model: rnn, metadata, figures, metrics, significantDigits: 7, startedAt: tStart });
    println(stdout, summary);
    println(stdout, `trained in ${seconds(trainSeconds)}; saved ${written.summary}`);
  } finally {
    rnn.dispose();
  }
}
