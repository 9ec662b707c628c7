/**
 * `biaslearn rnn`: train one bias-learning RNN on a dynamical-systems task and write model.blck,
 * metrics.json, trajectories.svg (target against generated / forecast trajectories), loss.svg
 * and eigenvalues.svg (spectra of W and of the Jacobian at a fixed point).
 */
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { analyzeDynamics, type DynamicsAnalysis } from '../analysis/rnn_dynamics.js';
import { ACTIVATIONS, type Activation } from '../model/config.js';
import type { BackendName } from '../native/binding.js';
import { setThreads } from '../runtime.js';
import { formatRule, parseRule, RNN_TRAINABLE_SETS, type RNNOptions, type RNNTrainablePreset, type ResolvedRule } from '../rnn/config.js';
import { eigenvaluePlot, reachPlot, trajectoryPlot } from '../rnn/plots.js';
import { RNN } from '../rnn/rnn.js';
import { makeTask, reachingErrors, TASK_NAMES, type RnnTask, type TaskName } from '../tasks/tasks.js';
import { Callback, type Logs, type ProgressInfo } from '../train/callbacks.js';
import { displayPath, environmentInfo, type CliContext } from './context.js';
import { prepareOutDir, writeJson } from './files.js';
import { fixed, lr as fmtLr, seconds } from './format.js';
import { println, withInterrupt, type OutStream } from './io.js';
import { floatParser, intParser } from './parse.js';

interface RnnFlags {
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
  activation: Exclude<Activation, 'identity'>;
  clip?: number;
  tau?: number;
  seed: number;
  eigen: 'auto' | 'on' | 'off';
  threads?: number;
  backend: BackendName;
  quiet?: boolean;
  out?: string;
}

function ruleParser(value: string): ResolvedRule {
  try {
    return parseRule(value);
  } catch {
    throw new InvalidArgumentError("Expected bptt, tbptt:K (K >= 1, optionally tbptt:K:online), rflo, rflo:batch or rflo:sym.");
  }
}

export function registerRnn(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('rnn')
    .description('train a bias-learning recurrent network on a dynamical-systems task (generation, forecasting, reaching)')
    .optionsGroup('Task and model:')
    .addOption(new Option('--task <name>', 'cosine / sine generation, vanderpol generation, lorenz / mackey-glass forecasting, reaching').choices(TASK_NAMES).default('cosine'))
    .option('--hidden <m>', 'hidden units (default: per task, e.g. 200 for cosine, 512 for lorenz)', intParser(1))
    .addOption(new Option('--train <set>', 'what learns: bias = recurrent biases b; readout = A and c; full = W, B, A, b, c').choices(RNN_TRAINABLE_SETS).default('bias'))
    .option('--learn-state', 'also learn the initial state r[0] (default: per task; on for generation and reaching)')
    .option('--no-learn-state', 'keep r[0] = 0')
    .option('--learn-readout-bias', 'also learn the readout bias c')
    .option('--alpha <a>', 'leak: r <- (1-a) r + a phi(...) (default: per task)', floatParser({ min: 0, max: 1, minOpen: true }))
    .addOption(new Option('--form <form>', "'residual' is r <- r + phi(...) (the paper's theorem)").choices(['leaky', 'residual'] as const).default('leaky'))
    .option('--gain <g>', 'recurrent gain: W entries ~ N(0, g^2/m) (default: per task)', floatParser({ min: 0 }))
    .option('--input-scale <s>', 'input weights ~ U(-s, s)/sqrt(inputs) (default: per task)', floatParser({ min: 0 }))
    .addOption(new Option('--activation <name>', 'hidden activation').choices(ACTIVATIONS.filter((a) => a !== 'identity')).default('tanh-rational'))
    .option('--tau <steps>', 'forecast horizon of lorenz / mackey-glass (default 27 / 6)', intParser(1))
    .option('--seed <n>', 'seed of the frozen random weights and of shuffling', intParser(0, 0xffffffff), 0)
    .optionsGroup('Training:')
    .option('--rule <rule>', 'bptt | tbptt:K[:online] | rflo[:batch][:sym] (rflo: random feedback, update every step)', ruleParser, parseRule('bptt'))
    .option('--epochs <n>', 'passes over the training sequences (default: per task)', intParser(1))
    .option('--batch-size <n>', 'sequences per update (default: per task)', intParser(1))
    .option('--lr <rate>', 'learning rate (default: per task; lower for full training)', floatParser({ min: 0, minOpen: true }))
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['adam', 'sgd'] as const).default('adam'))
    .option('--clip <norm>', 'clip the global gradient norm before each update, 0 = off (default: per task)', floatParser({ min: 0 }))
    .optionsGroup('Runtime and output:')
    .addOption(new Option('--eigen <when>', 'eigenvalue analysis: auto = when hidden <= 1024 (one to two minutes at 1024)').choices(['auto', 'on', 'off'] as const).default('auto'))
    .option('--threads <n>', 'CPU threads for the native core, 0 = all cores', intParser(0, 1024))
    .addOption(new Option('--backend <name>', 'compute backend').choices(['cpu', 'cuda'] as const).default('cpu'))
    .option('--quiet', 'no progress bar: a few summary lines')
    .option('--out <dir>', 'output folder (default: ./runs/rnn-<task>-<timestamp>)')
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
      await runRnn(flags, ctx);
    });
  return cmd;
}

/** One bar over all epochs (tasks with one sequence train for thousands of tiny epochs). */
class RnnProgress extends Callback {
  private bar: cliProgress.SingleBar | null = null;
  private lastLine = 0;
  constructor(
    private readonly out: OutStream,
    private readonly epochs: number,
    private readonly live: boolean,
  ) {
    super();
  }
  override onEpochEnd(epoch: number, logs: Logs): void {
    const payload = { loss: fixed(logs.loss, 5), val: logs.val_loss === undefined ? '' : ` | val ${fixed(logs.val_loss, 5)}` };
    if (this.live && this.out.isTTY) {
      if (!this.bar) {
        this.bar = new cliProgress.SingleBar(
          { stream: this.out as NodeJS.WritableStream, format: 'epoch {value}/{total} {bar} {percentage}% | loss {loss}{val} | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true, barsize: 24, fps: 10, etaBuffer: 50 },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(this.epochs, 0, payload);
      }
      this.bar.update(epoch + 1, payload);
      return;
    }
    const every = Math.max(1, Math.round(this.epochs / 10));
    if (epoch + 1 === this.epochs || epoch + 1 - this.lastLine >= every) {
      this.lastLine = epoch + 1;
      this.out.write(`epoch ${epoch + 1}/${this.epochs}  loss ${fixed(logs.loss, 5)}${payload.val}  ${seconds(logs.seconds ?? 0)}\n`);
    }
  }
  override onProgress(_info: ProgressInfo): void {}
  stopBar(): void {
    this.bar?.stop();
    this.bar = null;
  }
  override onTrainEnd(): void {
    this.stopBar();
  }
}

async function runRnn(flags: RnnFlags, ctx: CliContext): Promise<void> {
  const { stderr, stdout } = ctx.io;
  const tStart = performance.now();
  if (flags.threads !== undefined) setThreads(flags.threads);
  const task: RnnTask = makeTask(flags.task, flags.tau !== undefined ? { tau: flags.tau } : {});
  const d = task.defaults;
  const full = flags.train === 'full';
  const lr = flags.lr ?? (full ? d.lrFull : d.lr);
  const epochs = flags.epochs ?? d.epochs;
  const batchSize = flags.batchSize ?? d.batchSize;
  const options: RNNOptions = {
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
  };
  const tCreate = performance.now();
  const rnn = await RNN.create(options);
  const createSeconds = (performance.now() - tCreate) / 1000;
  try {
    const outDir = await prepareOutDir(flags.out, `rnn-${task.name}-`);
    const learned = rnn.learnedTensors();
    println(stderr, `task: ${task.description} (${task.train.n} train / ${task.test.n} test sequences of ${task.train.steps} steps)`);
    println(
      stderr,
      `model: RNN ${task.inputSize}-${options.hidden}-${task.outputSize}, ${flags.activation}, ${rnn.config.form === 'residual' ? 'residual r + phi' : `alpha ${rnn.config.alpha}`}, g ${rnn.config.recurrentGain}; ` +
        `learns ${learned.map((t) => t.name).join(', ')} (${learned.reduce((s, t) => s + t.size, 0)} values); ${formatRule(flags.rule)}, ${flags.optimizer} lr ${fmtLr(lr)}, ` +
        `batch ${batchSize}, ${epochs} epochs, seed ${flags.seed}, ${rnn.backend}`,
    );
    const progress = new RnnProgress(stderr, epochs, !flags.quiet);
    const tTrain = performance.now();
    const history = await withInterrupt(async (signal) => {
      try {
        return await rnn.fit(task.train, { epochs, batchSize, seed: flags.seed, callbacks: [progress], signal, shuffle: true });
      } finally {
        progress.stopBar();
      }
    });
    const trainSeconds = (performance.now() - tTrain) / 1000;

    // ---- evaluation
    const tEval = performance.now();
    const evaluation: Record<string, unknown> = {};
    const svgs: { name: string; spec: Parameters<typeof trajectoryPlot>[0] | unknown }[] = [];
    const { renderVegaLiteSvg, writeSvg, lossCurvePlot } = await import('../plot/index.js');
    const title = `${task.name}: ${flags.train} learning, m = ${options.hidden}, ${formatRule(flags.rule)}`;
    let trajSpec;
    let summary: string;
    if (task.kind === 'forecast') {
      const f = task.forecast!;
      const tf = await rnn.evaluate(task.test);
      const closed = await rnn.evaluate(task.test, { closedLoop: true, delay: f.tau, warmup: f.warmup, score: { from: f.warmup } });
      // the first tau steps after the loop closes feed back forecasts made from true inputs
      const closedShort = await rnn.evaluate(task.test, { closedLoop: true, delay: f.tau, warmup: f.warmup, score: { from: f.warmup, to: f.warmup + f.tau } });
      const trainTf = await rnn.evaluate(task.train);
      evaluation.teacherForced = tf;
      evaluation.closedLoop = { ...closed, delay: f.tau, warmup: f.warmup };
      evaluation.closedLoopFirstTau = { ...closedShort, from: f.warmup, to: f.warmup + f.tau };
      evaluation.train = trainTf;
      const first = task.test.subset([0]);
      const a = await rnn.predict(first);
      const b = await rnn.predict(first, { closedLoop: true, delay: f.tau, warmup: f.warmup });
      trajSpec = trajectoryPlot(
        [
          { label: 'target', values: first.targets },
          { label: 'teacher-forced', values: a.outputs },
          { label: `closed loop (from step ${f.warmup})`, values: b.outputs },
        ],
        { outputNames: task.outputNames, steps: first.steps, title: `${title} (held-out sequence 1)`, marks: [{ label: 'loop closes', step: f.warmup }] },
      );
      summary = `test R^2 ${fixed(tf.r2)} (NMSE ${fixed(tf.nmse)}) teacher-forced; closed loop R^2 ${fixed(closed.r2)} (NMSE ${fixed(closed.nmse)}), ${fixed(closedShort.r2)} over its first ${f.tau} steps`;
    } else if (task.kind === 'reaching') {
      const r = task.reaching!;
      const tr = await rnn.predict(task.train);
      const te = await rnn.predict(task.test);
      const T = task.train.steps;
      const trainErr = reachingErrors(tr.outputs, r.trainTargets, T, r.moveSteps);
      const testErr = reachingErrors(te.outputs, r.testTargets, T, r.moveSteps);
      evaluation.train = { ...(await rnn.evaluate(task.train)), ...trainErr };
      evaluation.test = { ...(await rnn.evaluate(task.test)), ...testErr };
      const trials = [...r.trainTargets.map((g, k) => ({ g, k, set: 'trained', out: tr.outputs, data: task.train })), ...r.testTargets.map((g, k) => ({ g, k, set: 'unseen', out: te.outputs, data: task.test }))];
      trajSpec = reachPlot(
        trials.map((t) => ({ label: `${t.set} ${t.k + 1}`, goal: t.g, target: t.data.targets.subarray(t.k * T * 2, (t.k + 1) * T * 2), network: t.out.subarray(t.k * T * 2, (t.k + 1) * T * 2) })),
        { steps: T, title: `${title}: trained and unseen targets` },
      );
      summary = `final position error: trained targets ${fixed(trainErr.finalError)}, unseen targets ${fixed(testErr.finalError)} (radius 1)`;
    } else {
      const ev = await rnn.evaluate(task.test, { score: 'all' });
      evaluation.test = ev;
      if (task.extended) {
        evaluation.extended = { ...(await rnn.evaluate(task.extended, { score: 'all' })), steps: task.extended.steps };
      }
      const shown = task.extended ?? task.test;
      const p = await rnn.predict(shown);
      trajSpec = trajectoryPlot([{ label: 'target', values: shown.targets }, { label: 'network (free running)', values: p.outputs }], {
        outputNames: task.outputNames,
        steps: shown.steps,
        title: `${title}${task.extended ? ` (trained on ${task.test.steps} steps)` : ''}`,
        ...(task.extended ? { marks: [{ label: 'end of training window', step: task.test.steps }] } : {}),
      });
      const ext = evaluation.extended as { nmse: number } | undefined;
      summary = `free-running NMSE ${fixed(ev.nmse, 5)} over ${task.test.steps} steps${ext ? `, ${fixed(ext.nmse, 5)} over ${task.extended!.steps}` : ''} (R^2 ${fixed(ev.r2)})`;
    }
    svgs.push({ name: 'trajectories.svg', spec: trajSpec });
    // At most ~200 epochs on the loss plot (generation tasks train for thousands of one-sequence epochs).
    const stride = Math.max(1, Math.ceil(history.epoch.length / 200));
    const keep = history.epoch.map((_, i) => i).filter((i) => i % stride === 0 || i === history.epoch.length - 1);
    const thin = { epoch: keep.map((i) => history.epoch[i]!), history: Object.fromEntries(Object.entries(history.history).map(([k, v]) => [k, keep.map((i) => v[i]!)])) };
    svgs.push({ name: 'loss.svg', spec: lossCurvePlot(thin, { title }) });
    const evalSeconds = (performance.now() - tEval) / 1000;

    // ---- eigenvalues
    let analysis: DynamicsAnalysis | undefined;
    let eigenSeconds = 0;
    const doEigen = flags.eigen === 'on' || (flags.eigen === 'auto' && options.hidden <= 1024);
    if (doEigen) {
      if (options.hidden >= 512) println(stderr, `eigenvalues of two ${options.hidden} x ${options.hidden} matrices (ml-matrix, single-threaded)...`);
      const tEig = performance.now();
      const cue = task.kind === 'generation' ? new Array(task.inputSize).fill(1) : new Array(task.inputSize).fill(0);
      analysis = await analyzeDynamics(rnn, { input: cue });
      eigenSeconds = (performance.now() - tEig) / 1000;
      const gW = rnn.config.gain;
      svgs.push({
        name: 'eigenvalues.svg',
        spec: eigenvaluePlot(
          [
            { label: `gain x W (radius ${fixed(gW * analysis.weightSpectrum.spectralRadius, 3)})`, re: analysis.weightSpectrum.re.map((v) => v * gW), im: analysis.weightSpectrum.im.map((v) => v * gW) },
            { label: `Jacobian at fixed point (radius ${fixed(analysis.fixedPointJacobian.spectralRadius, 3)})`, re: analysis.fixedPointJacobian.re, im: analysis.fixedPointJacobian.im },
          ],
          { title: `Eigenvalues: ${title}`, subtitle: `fixed point for input ${JSON.stringify(cue)} (damping ${analysis.fixedPoint.damping}): ${analysis.fixedPoint.converged ? 'converged' : 'not converged'}, residual ${analysis.fixedPoint.residual.toExponential(1)}` },
        ),
      });
    }

    const tSave = performance.now();
    const modelPath = join(outDir, 'model.blck');
    await rnn.save(modelPath, { metadata: { task: task.name, taskDescription: task.description, cli: { command: 'rnn', epochs, batchSize, rule: formatRule(flags.rule) } } });
    for (const s of svgs) await writeSvg(join(outDir, s.name), await renderVegaLiteSvg(s.spec as Parameters<typeof renderVegaLiteSvg>[0]));
    const spectrum = (e: { re: Float64Array; im: Float64Array; spectralRadius: number }) => ({ spectralRadius: e.spectralRadius, re: Array.from(e.re), im: Array.from(e.im) });
    const metrics = {
      command: 'rnn',
      createdAt: new Date().toISOString(),
      task: { name: task.name, kind: task.kind, description: task.description, trainSequences: task.train.n, testSequences: task.test.n, steps: task.train.steps },
      config: { ...flags, rule: formatRule(flags.rule), epochs, batchSize, lr },
      model: rnn.config,
      learnedValues: learned.reduce((s, t) => s + t.size, 0),
      history: history.toJSON(),
      evaluation,
      summary,
      ...(analysis
        ? {
            dynamics: {
              fixedPoint: { converged: analysis.fixedPoint.converged, damping: analysis.fixedPoint.damping, residual: analysis.fixedPoint.residual, iterations: analysis.fixedPoint.iterations, output: Array.from(analysis.fixedPointOutput) },
              weightSpectrum: spectrum(analysis.weightSpectrum),
              fixedPointJacobian: spectrum(analysis.fixedPointJacobian),
            },
          }
        : {}),
      timings: { createSeconds, trainSeconds, evalSeconds, eigenSeconds, saveSeconds: (performance.now() - tSave) / 1000, totalSeconds: (performance.now() - tStart) / 1000 },
      runtime: environmentInfo(),
    };
    // 7 significant digits keep metrics.json small (thousands of epochs, m-long spectra).
    await writeJson(join(outDir, 'metrics.json'), JSON.parse(JSON.stringify(metrics, (_k, v: unknown) => (typeof v === 'number' && Number.isFinite(v) && !Number.isInteger(v) ? Number(v.toPrecision(7)) : v))));
    println(stdout, summary);
    const files = ['model.blck', 'metrics.json', ...svgs.map((s) => s.name)];
    println(stdout, `trained in ${seconds(trainSeconds)}; saved ${displayPath(outDir)}/{${files.join(',')}}`);
  } finally {
    rnn.dispose();
  }
}
