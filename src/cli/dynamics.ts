/**
 * `biaslearn dynamics <study>`: learning dynamics of BPTT, one-step tBPTT, RFLO and e-prop in
 * linear teacher-student RNNs (docs/dynamics.md). Each study writes <out>/metrics.json and SVG
 * figures:
 *   simulate     train students on one teacher with each rule          loss.svg
 *   ode          per-mode ODEs against a data-aligned simulation       ode-<rule>.svg
 *   rank         spectra of W_K - W_0 and bias-only RFLO's subspace    rank.svg
 *   stability    Jacobian eigenvalues over the optimal manifold        stability.svg
 *   convergence  converged runs over seeds                              convergence.svg
 */
import { Option, type Command } from 'commander';
import {
  alignedTeacher,
  biasOnlySubspace,
  compareOdeToSimulation,
  convergenceFigure,
  convergenceStudy,
  DYNAMICS_RULES,
  generalTeacher,
  lossFigure,
  odeFigure,
  rankFigure,
  rankSpectra,
  simulateStudent,
  stabilityFigure,
  stabilityMap,
  type DynamicsRule,
  type Progress,
  type SimulationResult,
} from '../dynamics/index.js';
import { LiveBar } from '../train/progress_bar.js';
import { applyThreads } from './common.js';
import { elapsedSeconds, environmentInfo, type CliContext } from './context.js';
import { prepareOutDir, writeRun, type RunFigure } from './files.js';
import { InterruptedError, println, withInterrupt } from './io.js';
import { choiceListParser, floatParser, intParser } from './parse.js';

const ruleList = choiceListParser(DYNAMICS_RULES);

interface CommonFlags {
  seed: number;
  lr?: number;
  iterations?: number;
  batch?: number;
  steps?: number;
  wHat: number;
  threads?: number;
  out?: string;
  json?: boolean;
}

/** A bar on a TTY, else a line every 10 %. */
function progress(ctx: CliContext): { update: Progress; stop(): void } {
  const err = ctx.io.stderr;
  const bar = new LiveBar(err, { format: '{what} [{bar}] {value}/{total} | ETA {eta_formatted}', barsize: 30, etaBuffer: 50 });
  let lastTenth = -1;
  return {
    update: (done, total, what) => {
      if (err.isTTY) bar.update(done, total, { what });
      else {
        const tenth = Math.floor((10 * done) / total);
        if (tenth !== lastTenth) {
          lastTenth = tenth;
          println(err, `${what}: ${done}/${total}`);
        }
      }
    },
    stop: () => bar.stop(),
  };
}

function addCommon(cmd: Command, defaults: { iterations?: number; lr?: number } = {}): Command {
  return cmd
    .option('--seed <n>', 'seed of teacher, student, feedback and noise', intParser(0, 0x7fffffff), 0)
    .option('--lr <x>', `learning rate${defaults.lr ? ` (default ${defaults.lr})` : ''}`, floatParser({ min: 0 }))
    .option('--iterations <k>', `updates K${defaults.iterations ? ` (default ${defaults.iterations})` : ''}`, intParser(1))
    .option('--batch <n>', 'white-noise sequences per update', intParser(1))
    .option('--steps <T>', 'sequence length T', intParser(1))
    .option('--w-hat <x>', "RFLO's trace leak w-hat", floatParser({ min: -0.999, max: 0.999 }), 0.5)
    .option('--threads <n>', 'CPU threads for the native core, 0 = all cores', intParser(0, 1024))
    .option('--out <dir>', 'output folder (default: ./runs/dynamics-<study>-<timestamp>)')
    .option('--json', 'print the metrics as one JSON object on stdout');
}

function study(o: CommonFlags, update: Progress, signal: AbortSignal): Record<string, unknown> {
  const s: Record<string, unknown> = { seed: o.seed, wHat: o.wHat, onProgress: update, signal };
  for (const k of ['lr', 'iterations', 'batch', 'steps'] as const) if (o[k] !== undefined) s[k] = o[k];
  return s;
}

async function finish(
  ctx: CliContext,
  name: string,
  o: CommonFlags,
  t0: number,
  metrics: Record<string, unknown>,
  figures: RunFigure[],
  summary: string[],
): Promise<void> {
  const dir = await prepareOutDir(o.out, `dynamics-${name}-`);
  const written = await writeRun(dir, {
    metrics: { study: name, ...metrics, environment: environmentInfo(), timings: { totalSeconds: elapsedSeconds(t0) } },
    figures,
    startedAt: t0,
    significantDigits: 6,
  });
  if (o.json) println(ctx.io.stdout, JSON.stringify(metrics));
  else {
    for (const line of summary) println(ctx.io.stdout, line);
    println(ctx.io.stdout, `wrote ${written.summary} in ${elapsedSeconds(t0).toFixed(1)} s`);
  }
}

async function run<T>(ctx: CliContext, o: CommonFlags, work: (update: Progress, signal: AbortSignal) => Promise<T>): Promise<T> {
  applyThreads(o.threads);
  const bar = progress(ctx);
  try {
    return await withInterrupt(async (signal) => {
      const result = await work(bar.update, signal);
      if (signal.aborted) throw new InterruptedError();
      return result;
    });
  } finally {
    bar.stop();
  }
}

const e = (v: number): string => (Number.isFinite(v) ? v.toExponential(2) : String(v));

export function registerDynamics(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('dynamics')
    .description('learning dynamics of BPTT, tBPTT, RFLO and e-prop in linear teacher-student RNNs (docs/dynamics.md)');

  addCommon(
    cmd
      .command('simulate')
      .description('train linear students on one linear teacher with each rule; loss curves')
      .option('--rules <list>', 'comma-separated rules', ruleList, [...DYNAMICS_RULES])
      .addOption(
        new Option('--teacher <form>', 'general, or aligned (data-aligned modes)')
          .choices(['general', 'aligned'])
          .default('general'),
      )
      .option('--hidden <H>', 'hidden units', intParser(1), 32)
      .option('--inputs <I>', 'inputs', intParser(1), 3)
      .option('--outputs <O>', 'outputs', intParser(1), 1)
      .option('--modes <m>', 'modes of an aligned teacher (default min(H, I, O))', intParser(1))
      .addOption(
        new Option('--loss <where>', 'loss on the final step or the whole sequence')
          .choices(['final', 'sequence'])
          .default('final'),
      )
      .addOption(new Option('--feedback <f>', 'rflo / eprop feedback').choices(['random', 'symmetric']).default('random'))
      .option('--train-bias', 'also learn the recurrent bias b'),
  ).action(async (o: CommonFlags & Record<string, unknown>) => {
    const t0 = performance.now();
    const rules = o.rules as DynamicsRule[];
    const sizes = { hidden: o.hidden as number, inputSize: o.inputs as number, outputSize: o.outputs as number, seed: o.seed };
    const teacher =
      o.teacher === 'aligned'
        ? alignedTeacher({ ...sizes, ...(o.modes === undefined ? {} : { modes: o.modes as number }) })
        : generalTeacher(sizes);
    const results = await run(ctx, o, async (update, signal) => {
      const out: SimulationResult[] = [];
      for (const rule of rules)
        out.push(
          await simulateStudent({
            ...(study(o, update, signal) as object),
            teacher,
            rule,
            loss: o.loss as 'final' | 'sequence',
            feedback: o.feedback as 'random' | 'symmetric',
            train: { W: true, B: true, A: true, b: o.trainBias === true },
            onProgress: (d, n) => update(d, n, rule),
          }),
        );
      return out;
    });
    const metrics = {
      teacher: { form: o.teacher, ...sizes },
      runs: results.map((r) => ({
        rule: r.rule,
        lr: r.lr,
        iterations: r.iterations,
        steps: r.steps,
        batch: r.batch,
        teacherLoss: r.teacherLoss,
        initialLoss: r.loss[0],
        finalLoss: r.loss[r.loss.length - 1],
        diverged: r.diverged,
        seconds: r.seconds,
        k: r.k,
        loss: r.loss,
      })),
    };
    await finish(
      ctx,
      'simulate',
      o,
      t0,
      metrics,
      [{ file: 'loss.svg', spec: lossFigure(results) }],
      [...results.map((r) => `${r.rule}: loss ${e(r.loss[0]!)} -> ${e(r.loss[r.loss.length - 1]!)} (${r.seconds.toFixed(1)} s)`)],
    );
  });

  addCommon(
    cmd
      .command('ode')
      .description('integrate the per-mode ODEs and compare them with a data-aligned simulation')
      .option('--rules <list>', 'comma-separated rules', ruleList, [...DYNAMICS_RULES])
      .option('--modes <m>', 'modes (network m x m x m)', intParser(1, 64), 3)
      .option('--transient <f>', 'fraction of the run left out of the error', floatParser({ min: 0, max: 1 }), 0.2),
    { iterations: 2000, lr: 0.01 },
  ).action(async (o: CommonFlags & { rules: DynamicsRule[]; modes: number; transient: number }) => {
    const t0 = performance.now();
    const results = await run(ctx, o, async (update, signal) => {
      const out = [];
      for (const rule of o.rules)
        out.push(
          await compareOdeToSimulation({
            lr: 0.01,
            iterations: 2000,
            ...(study(o, update, signal) as object),
            rule,
            modes: o.modes,
            transient: o.transient,
          }),
        );
      return out;
    });
    await finish(
      ctx,
      'ode',
      o,
      t0,
      { comparisons: results },
      results.map((c) => ({ file: `ode-${c.rule}.svg`, spec: odeFigure(c) })),
      results.map(
        (c) =>
          `${c.rule} (lr ${c.lr}, after k = ${c.transientIterations}): max error per mode ` +
          c.modes.map((m) => `|a*b*| ${m.strength.toFixed(2)}: ${e(m.maxRelError)}`).join(', '),
      ),
    );
  });

  addCommon(
    cmd
      .command('rank')
      .description('singular values of W_K - W_0 per rule, and bias-only RFLO moving b inside span(F)')
      .option('--rules <list>', 'comma-separated rules', ruleList, ['bptt', 'eprop', 'tbptt', 'rflo'])
      .option('--hidden <H>', 'hidden units', intParser(1), 32)
      .option('--inputs <I>', 'inputs', intParser(1), 3)
      .option('--outputs <O>', 'outputs', intParser(1), 1)
      .option('--tol <x>', 'relative threshold of the numerical rank', floatParser({ min: 0 }), 1e-6),
    { iterations: 2000, lr: 0.02 },
  ).action(async (o: CommonFlags & { rules: DynamicsRule[]; hidden: number; inputs: number; outputs: number; tol: number }) => {
    const t0 = performance.now();
    const { rank, bias } = await run(ctx, o, async (update, signal) => {
      const s = study(o, update, signal) as object;
      const rank = await rankSpectra({
        ...s,
        rules: o.rules,
        hidden: o.hidden,
        inputSize: o.inputs,
        outputSize: o.outputs,
        tol: o.tol,
      });
      const bias = [];
      for (const feedback of ['random', 'symmetric'] as const)
        bias.push({ feedback, ...(await biasOnlySubspace({ lr: 0.005, iterations: 1000, ...s, feedback, hidden: o.hidden })) });
      return { rank, bias };
    });
    await finish(
      ctx,
      'rank',
      o,
      t0,
      { rank, biasOnly: bias },
      [{ file: 'rank.svg', spec: rankFigure(rank) }],
      [
        ...rank.results.map(
          (r) =>
            `${r.rule}: rank(W_K - W_0) = ${r.rankW}, sigma_2/sigma_1 = ${e(r.svW[1] ?? 0)}` +
            (r.outsideSpanW === undefined ? '' : `, outside span(F) ${e(r.outsideSpanW)}`),
        ),
        ...bias.map((b) => `bias-only rflo (${b.feedback} feedback): b_K - b_0 outside span(F) ${e(b.outsideSpan)}`),
      ],
    );
  });

  addCommon(
    cmd
      .command('stability')
      .description('Jacobian eigenvalues over the optimal manifold (a b = a* b*, w = w*) and runs that leave it')
      .option('--a-star <x>', 'teacher a*', floatParser(), 1)
      .option('--b-star <x>', 'teacher b*', floatParser(), 1)
      .option('--w-star <x>', 'teacher w*', floatParser({ min: -0.999, max: 0.999 }), 0.5),
  ).action(async (o: CommonFlags & { aStar: number; bStar: number; wStar: number }) => {
    const t0 = performance.now();
    const s = await run(ctx, o, (update, signal) =>
      stabilityMap({ ...(study(o, update, signal) as object), teacher: { a: o.aStar, b: o.bStar, w: o.wStar } }),
    );
    const unstable = (rule: string, aHat: number): string => {
      const rows = s.rows.filter((r) => r.rule === rule && r.aHat === aHat);
      return `${rows.filter((r) => !r.stable).length}/${rows.length} unstable`;
    };
    await finish(
      ctx,
      'stability',
      o,
      t0,
      s as unknown as Record<string, unknown>,
      [{ file: 'stability.svg', spec: stabilityFigure(s) }],
      [
        `bptt ${unstable('bptt', 1)}, tbptt ${unstable('tbptt', 1)}, rflo a-hat +1 ${unstable('rflo', 1)}, rflo a-hat -1 ${unstable('rflo', -1)}`,
        `|Delta| at a = b = 0: ${s.nonOptimal.map((n) => `${n.rule} ${e(n.residual)}`).join(', ')}`,
        ...s.leave.map((l) => `rflo ${l.source} a-hat ${l.aHat}: distance ${e(l.finalDistance)}, ends optimal ${l.endsOptimal}`),
      ],
    );
  });

  addCommon(
    cmd
      .command('convergence')
      .description('how many runs per rule reach the stated loss, over seeds')
      .option('--rules <list>', 'comma-separated rules', ruleList, [...DYNAMICS_RULES])
      .option('--seeds <n>', 'runs per rule', intParser(1), 20)
      .option('--hidden <H>', 'hidden units', intParser(1), 16)
      .option('--inputs <I>', 'inputs', intParser(1), 4)
      .option('--outputs <O>', 'outputs', intParser(1), 4)
      .option('--modes <m>', 'teacher modes', intParser(1), 4)
      .option('--threshold <x>', 'converged: final loss / zero-student loss below this', floatParser({ min: 0 }), 1e-2)
      .option('--concurrency <n>', 'simulations at once', intParser(1, 64), 2),
    { iterations: 4000, lr: 0.02 },
  ).action(
    async (
      o: CommonFlags & {
        rules: DynamicsRule[];
        seeds: number;
        hidden: number;
        inputs: number;
        outputs: number;
        modes: number;
        threshold: number;
        concurrency: number;
      },
    ) => {
      const t0 = performance.now();
      const c = await run(ctx, o, (update, signal) =>
        convergenceStudy({
          ...(study(o, update, signal) as object),
          rules: o.rules,
          seeds: o.seeds,
          hidden: o.hidden,
          inputSize: o.inputs,
          outputSize: o.outputs,
          modes: o.modes,
          threshold: o.threshold,
          concurrency: o.concurrency,
        }),
      );
      await finish(
        ctx,
        'convergence',
        o,
        t0,
        c as unknown as Record<string, unknown>,
        [{ file: 'convergence.svg', spec: convergenceFigure(c) }],
        [
          `criterion: ${c.criterion}`,
          ...c.summary.map(
            (s) => `${s.rule}: ${s.converged}/${s.runs} converged, median relative loss ${e(s.medianRelativeLoss)}`,
          ),
          `${c.runs.length} runs in ${c.seconds.toFixed(1)} s`,
        ],
      );
    },
  );
  return cmd;
}
