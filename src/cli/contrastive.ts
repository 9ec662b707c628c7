/**
 * `biaslearn contrastive`: train one energy network with a contrastive rule (equilibrium
 * propagation and its temporally local forms); save model.blck, metrics.json and the figures
 * (loss.svg, error_vs_beta.svg, and random_phase_timeline.svg for the random-phase rule).
 */
import { Option, type Command } from 'commander';
import { CONTRASTIVE_RULES, type ContrastiveRule, type RelaxationOptions } from '../contrastive/config.js';
import { EnergyNetwork } from '../contrastive/energy_network.js';
import { errorVsBetaPlot, phaseTimelinePlot } from '../contrastive/plots.js';
import type { Dataset } from '../data/dataset.js';
import { ACTIVATIONS, type Activation } from '../model/activation.js';
import { lossCurvePlot } from '../plot/loss.js';
import type { Callback } from '../train/callbacks.js';
import { applyThreads, samplesPerSecond } from './common.js';
import { elapsedSeconds, environmentInfo, type CliContext } from './context.js';
import { addDataOptions, dataDefaults, loadData, resolveDataSpec, type DataFlags } from './data.js';
import { prepareOutDir, writeRun, type RunFigure } from './files.js';
import { fixed, rate, seconds } from './format.js';
import { println } from './io.js';
import { floatParser, intListParser, intParser } from './parse.js';
import { TrainingProgress, fitWithProgress } from './progress.js';
import { SEED_HELP, resolveCliSeed, seedText } from './seed.js';

interface ContrastiveFlags extends DataFlags {
  hidden?: number[];
  train: 'bias' | 'full';
  rule: ContrastiveRule;
  activation: Activation;
  outputActivation: Activation;
  hiddenScale: number;
  readoutScale: number;
  beta: number;
  stepSize: number;
  freeSteps: number;
  nudgedSteps: number;
  periods: number;
  pi: number;
  phases: number;
  phaseMin: number;
  phaseMax: number;
  traceTau: number;
  tolerance: number;
  clip: number;
  persistent?: boolean;
  stepUpdates: boolean;
  epochs: number;
  batchSize: number;
  lr?: number;
  optimizer: 'adam' | 'sgd';
  seed?: number;
  threads?: number;
  backend: 'cpu' | 'cuda';
  quiet?: boolean;
  betaPlot: boolean;
  out?: string;
}

export function registerContrastive(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('contrastive')
    .description('train an energy network (layered Hopfield, EP) with a contrastive rule; save model, metrics and figures')
    .optionsGroup('Model:')
    .option(
      '--hidden <widths>',
      'hidden widths, comma-separated for depth (default: 4096; 512 for spirals)',
      intListParser('hidden widths'),
    )
    .addOption(
      new Option('--train <set>', 'bias = every bias learns, weights frozen; full = weights and biases')
        .choices(['bias', 'full'])
        .default('bias'),
    )
    .addOption(new Option('--activation <name>', 'hidden activation rho').choices(ACTIVATIONS).default('hard-sigmoid'))
    .addOption(new Option('--output-activation <name>', 'output activation').choices(ACTIVATIONS).default('identity'))
    .option('--hidden-scale <s>', 'hidden weights ~ U(-a, a), a = s / sqrt(fan_in)', floatParser({ min: 0 }), 2.45)
    .option('--readout-scale <s>', 'readout (and feedback) weights ~ U(-a, a), a = s / sqrt(fan_in)', floatParser({ min: 0 }), 1)
    .option('--seed <n>', SEED_HELP, intParser(0, 0xffffffff))
    .optionsGroup('Rule and relaxation:')
    .addOption(
      new Option('--rule <name>', 'learning rule (docs/contrastive.md)').choices(CONTRASTIVE_RULES).default('ep-centered'),
    )
    .option(
      '--beta <b>',
      'nudge strength (coupled: fraction toward the target; oscillating: amplitude); nonzero',
      floatParser(),
      0.2,
    )
    .option('--step-size <eps>', 'relaxation step size in (0, 1]', floatParser({ min: 0, minOpen: true, max: 1 }), 0.5)
    .option('--free-steps <n>', 'free-phase steps T1', intParser(1), 20)
    .option('--nudged-steps <n>', 'nudged/clamped steps T2 (exact: adjoint steps; oscillating: period)', intParser(1), 10)
    .option('--periods <n>', 'oscillating: periods per batch', intParser(1), 1)
    .option(
      '--pi <p>',
      'random-phase: probability of a nudged phase, in (0, 1)',
      floatParser({ min: 0, minOpen: true, max: 1, maxOpen: true }),
      0.5,
    )
    .option('--phases <n>', 'random-phase: phases per batch', intParser(1), 2)
    .option('--phase-min <n>', 'random-phase: shortest phase (steps)', intParser(1), 5)
    .option('--phase-max <n>', 'random-phase: longest phase (steps)', intParser(1), 15)
    .option(
      '--trace-tau <steps>',
      'random-phase: baseline trace time constant (steps), 0 = no baseline',
      floatParser({ min: 0 }),
      2,
    )
    .option(
      '--tolerance <t>',
      'fail (E_NOT_CONVERGED) when the free phase ends with max |dU| above t; 0 = report only',
      floatParser({ min: 0 }),
      0,
    )
    .option('--clip <norm>', 'global gradient-norm clip before each update, 0 = off', floatParser({ min: 0 }), 0)
    .option('--no-step-updates', 'temporally local rules: sum the per-step updates over the batch and apply them once (for adam)')
    .option('--persistent', "training: start each sample's free phase from its last free state (persistent particles)")
    .optionsGroup('Data:');
  addDataOptions(cmd);
  cmd
    .optionsGroup('Training:')
    .option('--epochs <n>', 'training epochs', intParser(1), 1)
    .option('--batch-size <n>', 'mini-batch size', intParser(1), 64)
    .option('--lr <rate>', 'learning rate (default: adam 0.01 bias, 0.001 full; sgd x10)', floatParser({ min: 0, minOpen: true }))
    .addOption(
      new Option('--optimizer <name>', 'optimizer (temporally local rules update every step: sgd is the natural choice)')
        .choices(['adam', 'sgd'])
        .default('adam'),
    )
    .optionsGroup('Runtime and output:')
    .option('--threads <n>', 'CPU threads for the native core, 0 = all cores', intParser(0, 1024))
    .addOption(new Option('--backend <name>', 'compute backend').choices(['cpu', 'cuda'] as const).default('cpu'))
    .option('--no-beta-plot', 'skip error_vs_beta.svg (estimators against the exact gradient on one batch)')
    .option('--quiet', 'no progress bar: one line per epoch')
    .option('--out <dir>', 'output folder (default: ./runs/<timestamp>)')
    .addHelpText(
      'after',
      `
Writes <out>/model.blck (seed + learned values), <out>/metrics.json (config, relaxation, history,
test accuracy, free-phase residual, timings), <out>/loss.svg, <out>/error_vs_beta.svg and, for
--rule random-phase, <out>/random_phase_timeline.svg. The test split is the validation data.

Examples:
  biaslearn contrastive                                        # spirals, bias-only, centered EP
  biaslearn contrastive --data fashion-mnist --hidden 4096 --rule ep-centered --epochs 1
  biaslearn contrastive --data fashion-mnist --hidden 512 --train full --lr 1e-3 --epochs 3
  biaslearn contrastive --data fashion-mnist --hidden 1024 --rule random-phase --optimizer sgd --lr 0.2`,
    )
    .action(async (flags: ContrastiveFlags) => {
      const { seed, drawn } = resolveCliSeed(flags.seed as number | undefined);
      await runContrastive({ ...flags, seed }, drawn, ctx);
    });
  return cmd;
}

function relaxationOf(f: ContrastiveFlags): RelaxationOptions {
  return {
    rule: f.rule,
    beta: f.beta,
    stepSize: f.stepSize,
    freeSteps: f.freeSteps,
    nudgedSteps: f.nudgedSteps,
    periods: f.periods,
    pi: f.pi,
    phases: f.phases,
    phaseMin: f.phaseMin,
    phaseMax: f.phaseMax,
    traceTau: f.traceTau,
    tolerance: f.tolerance,
    clip: f.clip,
    persistent: f.persistent === true,
    stepUpdates: f.stepUpdates,
  };
}

/** Relative error of the EP estimators (and the run's rule) against the exact gradient on one batch, per beta. */
async function betaRows(model: EnergyNetwork, batch: Dataset, rule: ContrastiveRule) {
  const flat = (g: Record<string, Float32Array>) => Object.keys(g).flatMap((k) => Array.from(g[k]!));
  const exact = flat((await model.gradients(batch, { rule: 'exact', nudgedSteps: 100, freeSteps: 100 })).grads);
  const norm = Math.hypot(...exact);
  const rows: { estimator: string; beta: number; relError: number }[] = [];
  const rules = [...new Set<ContrastiveRule>(['ep', 'ep-centered', ...(rule === 'exact' || rule === 'chl' ? [] : [rule])])];
  for (const r of rules)
    for (const beta of [0.5, 0.2, 0.1, 0.05, 0.02]) {
      const g = flat((await model.gradients(batch, { rule: r, beta, freeSteps: 100 })).grads);
      rows.push({ estimator: r, beta, relError: Math.hypot(...g.map((v, i) => v - exact[i]!)) / norm });
    }
  return rows;
}

async function runContrastive(flags: ContrastiveFlags & { seed: number }, seedDrawn: boolean, ctx: CliContext): Promise<void> {
  const { stderr, stdout } = ctx.io;
  const tStart = performance.now();
  applyThreads(flags.threads);
  const dataSpec = resolveDataSpec(flags);
  const hidden = flags.hidden ?? dataDefaults(dataSpec.name).hidden;
  const tLoad = performance.now();
  const data = await loadData(dataSpec, { withTrain: true, ...(flags.quiet ? {} : { progress: stderr }) });
  const train = data.train!;
  const loadSeconds = elapsedSeconds(tLoad);
  const L = hidden.length + 1;
  const lr = flags.lr ?? (flags.train === 'full' ? 1e-3 : 1e-2) * (flags.optimizer === 'sgd' ? 10 : 1);
  const model = await EnergyNetwork.create({
    inputSize: train.inputSize,
    hidden,
    outputSize: train.outputSize,
    activation: flags.activation,
    outputActivation: flags.outputActivation,
    train: flags.train,
    seed: flags.seed,
    weightInit: Array.from({ length: L }, (_, l) => ({
      dist: 'uniform' as const,
      scale: l === L - 1 ? flags.readoutScale : flags.hiddenScale,
      relative: true,
    })),
    optimizer: { type: flags.optimizer, lr },
    relaxation: relaxationOf(flags),
    backend: flags.backend,
  });
  try {
    const outDir = await prepareOutDir(flags.out);
    const arch = [train.inputSize, ...hidden, train.outputSize].join('-');
    println(stderr, `data: ${data.description}`);
    println(
      stderr,
      `model: energy network ${arch}, train ${flags.train}, ${flags.activation}, rule ${flags.rule} (beta ${flags.beta}, ` +
        `T1 ${flags.freeSteps}, T2 ${flags.nudgedSteps}, eps ${flags.stepSize}), ${seedText(flags.seed, seedDrawn)}; ` +
        `${flags.epochs} epoch(s) x ${train.n}, batch ${flags.batchSize}, ${flags.optimizer} lr ${lr}, ${model.backend}`,
    );
    if (flags.rule === 'random-phase') model.logUnit = 0;
    const progress = new TrainingProgress(stderr, { bar: !flags.quiet, epochLines: true, epochs: flags.epochs });
    const residuals: number[] = [];
    const residualLog: Callback = { onEpochEnd: () => void residuals.push(model.lastResidual) } as unknown as Callback;
    const tTrain = performance.now();
    const history = await fitWithProgress(progress, (signal) =>
      model.fit(train, {
        epochs: flags.epochs,
        batchSize: flags.batchSize,
        seed: flags.seed,
        validationData: data.test,
        callbacks: [progress, residualLog],
        signal,
      }),
    );
    const trainSeconds = elapsedSeconds(tTrain);
    const test = await model.evaluate(data.test);
    const figures: RunFigure[] = [
      { file: 'loss.svg', spec: lossCurvePlot(history, { title: `${flags.rule}, energy network ${arch}, ${dataSpec.name}` }) },
    ];
    let beta: { estimator: string; beta: number; relError: number }[] | undefined;
    if (flags.betaPlot) {
      beta = await betaRows(model, train.take(Math.min(64, train.n)), flags.rule);
      figures.push({ file: 'error_vs_beta.svg', spec: errorVsBetaPlot(beta) });
    }
    if (flags.rule === 'random-phase' && model.lastPhaseLog.length)
      figures.push({ file: 'random_phase_timeline.svg', spec: phaseTimelinePlot(model.lastPhaseLog, 0) });
    const samplesPerSec = samplesPerSecond(history, train.n);
    const metrics = {
      command: 'contrastive',
      createdAt: new Date().toISOString(),
      config: {
        data: dataSpec,
        hidden,
        epochs: flags.epochs,
        batchSize: flags.batchSize,
        backend: model.backend,
        threads: flags.threads ?? null,
      },
      model: model.config,
      learnedValues: model.learnedTensors().reduce((s, t) => s + t.size, 0),
      history: history.toJSON(),
      freePhaseResidualPerEpoch: residuals,
      test: { loss: test.loss, accuracy: test.accuracy ?? null, n: test.n, residual: test.residual },
      testAccuracy: test.accuracy ?? null,
      ...(beta ? { errorVsBeta: beta } : {}),
      samplesPerSec,
      timings: { loadSeconds, trainSeconds },
      runtime: environmentInfo(),
    };
    const written = await writeRun(outDir, {
      model,
      metadata: { data: dataSpec, cli: { command: 'contrastive' } },
      figures,
      metrics,
      startedAt: tStart,
    });
    println(
      stdout,
      `test accuracy: ${fixed(test.accuracy)} (loss ${fixed(test.loss)}, ${test.n} samples, free-phase residual ${test.residual.toExponential(2)})`,
    );
    println(stdout, `trained in ${seconds(trainSeconds)} (${rate(samplesPerSec)} samples/s); saved ${written.summary}`);
  } finally {
    model.dispose();
  }
}
