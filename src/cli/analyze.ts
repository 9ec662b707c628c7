/**
 * `biaslearn analyze <checkpoint> [--compare <checkpoint>]`: what the biases learn. Per-unit task
 * variance on each task's test inputs, k-means clusters of units by their normalised variance
 * profiles (k by silhouette), Spearman correlation of task variance and bias per cluster,
 * fraction of units active per task, and, with --compare (e.g. a mask-learning model of the same
 * seed and tasks), the correlation of the two models' variance profiles and their accuracies.
 * Writes report.json, heatmap.svg, clusters.svg and accuracy.svg.
 */
import { Option, type Command } from 'commander';
import {
  analyzeTaskVariance,
  compareVarianceProfiles,
  type ProfileComparison,
  type TaskVarianceAnalysis,
} from '../analysis/multitask/report.js';
import { accuracyBars, clusterBars, taskVarianceHeatmap, type AccuracyRow } from '../analysis/multitask/plots.js';
import { readCheckpoint } from '../model/checkpoint.js';
import { MultitaskModel, type ActivityStats, type MultitaskEvaluateResult } from '../multitask/model.js';
import { loadTasks, type LoadedTasks } from '../multitask/tasks.js';
import type { BackendName } from '../native/binding.js';
import { applyThreads } from './common.js';
import { displayPath, elapsedSeconds, environmentInfo, type CliContext } from './context.js';
import { filesSummary, checkOutDir, prepareOutDir, writeRun, type RunFigure } from './files.js';
import { fixed, seconds, table } from './format.js';
import { UsageError, println, type OutStream } from './io.js';
import { addMultitaskDataOptions, taskDataOptions, type MultitaskDataFlags } from './multitask.js';
import { floatParser, intParser } from './parse.js';

interface AnalyzeFlags extends MultitaskDataFlags {
  compare?: string;
  layer: number;
  seed: number;
  kMin: number;
  kMax?: number;
  restarts: number;
  silhouetteSample: number;
  minVariance: number;
  activeFraction: number;
  engagedThreshold: number;
  backend: BackendName;
  threads?: number;
  out?: string;
  overwrite?: boolean;
  json?: boolean;
}

export function registerAnalyze(program: Command, ctx: CliContext): Command {
  const cmd = program
    .command('analyze')
    .description('task variance, clusters of units, bias vs variance, and bias vs mask learning for a multi-task checkpoint')
    .argument('<checkpoint>', 'a model.blck written by `biaslearn multitask`')
    .optionsGroup('Analysis:')
    .option(
      '--compare <checkpoint>',
      'a second multi-task checkpoint of the same seed and tasks (e.g. --train mask) to compare variance profiles and accuracy',
    )
    .option('--layer <l>', 'hidden layer to analyse', intParser(0), 0)
    .option('--seed <n>', 'seed of k-means++ and of the silhouette subsample', intParser(0, 0x7fffffff), 0)
    .option('--k-min <k>', 'smallest number of clusters tried', intParser(2), 2)
    .option('--k-max <k>', 'largest number of clusters tried (default: min(20, 2 x tasks + 2))', intParser(2))
    .option('--restarts <n>', 'k-means++ restarts per k (lowest inertia kept)', intParser(1), 5)
    .option('--silhouette-sample <n>', 'units in the silhouette subsample', intParser(10), 2000)
    .option(
      '--min-variance <v>',
      'units whose task variances sum below this are silent and left out',
      floatParser({ min: 0 }),
      1e-3,
    )
    .option(
      '--active-fraction <f>',
      "a unit is active for a task when its activity is > 0 on at least this fraction of the task's inputs",
      floatParser({ min: 0, max: 1 }),
      0.01,
    )
    .option(
      '--engaged-threshold <t>',
      'a unit is engaged by a task when its normalised task variance is at least t',
      floatParser({ min: 0, max: 1 }),
      0.5,
    )
    .optionsGroup('Data (default: as recorded in the checkpoint):');
  addMultitaskDataOptions(cmd);
  cmd
    .optionsGroup('Runtime and output:')
    .addOption(new Option('--backend <name>', 'compute backend').choices(['cpu', 'cuda'] as const).default('cpu'))
    .option('--threads <n>', 'CPU threads for the native core, 0 = all cores', intParser(0, 1024))
    .option('--out <dir>', 'output folder (default: ./runs/analyze-<timestamp>)')
    .option('--overwrite', 'write into an --out folder that already holds files (default: refuse it)')
    .option('--json', 'print the report as one JSON object on stdout')
    .addHelpText(
      'after',
      `
Writes <out>/report.json (definitions, clusters, per-task results, comparison), <out>/heatmap.svg
(units x tasks, sorted by cluster), <out>/clusters.svg (per-cluster bars), <out>/accuracy.svg.

Examples:
  biaslearn analyze runs/multitask-bias/model.blck
  biaslearn analyze runs/multitask-bias/model.blck --compare runs/multitask-mask/model.blck --out runs/analysis`,
    )
    .action(async (checkpoint: string, flags: AnalyzeFlags) => {
      await runAnalyze(checkpoint, flags, ctx);
    });
  return cmd;
}

interface Recorded {
  tasks: string[];
  dirs?: Record<string, string>;
  seed?: number;
  testFraction?: number;
  limit?: number;
  testLimit?: number;
}

async function recordedData(path: string): Promise<Recorded> {
  const { header } = await readCheckpoint(path);
  if (header.model.kind !== 'multitask-mlp')
    throw new UsageError(`${path} is not a multi-task checkpoint (it holds a '${String(header.model.kind)}' model)`);
  const d = header.metadata?.data as Recorded | undefined;
  if (d && Array.isArray(d.tasks)) return d;
  const tasks = (header.model.tasks as { name: string }[]).map((t) => t.name);
  return { tasks };
}

/** One analysed model: its test results, activity statistics and the task-variance analysis. */
interface Analysed {
  model: MultitaskModel;
  /** "bias learning", "mask learning", ... */
  label: string;
  stats: ActivityStats;
  analysis: TaskVarianceAnalysis;
  test: MultitaskEvaluateResult;
}

async function analyzeOne(
  model: MultitaskModel,
  data: LoadedTasks,
  flags: AnalyzeFlags,
  log: (s: string) => void,
): Promise<Analysed> {
  const label = `${model.config.train} learning`;
  log(`${label}: evaluating ${data.test.n} test samples of ${model.taskNames.length} tasks`);
  const test = await model.evaluate(data.test);
  log(`${label}: task variance of ${model.config.hidden[flags.layer]} units (layer ${flags.layer})`);
  const stats = await model.activity(data.test, { layer: flags.layer, threshold: 0 });
  log(`${label}: k-means on the normalised profiles, k chosen by silhouette`);
  const biases =
    model.config.train === 'mask' ? undefined : await Promise.all(model.taskNames.map((t) => model.taskBias(t, flags.layer)));
  const analysis = analyzeTaskVariance(stats, biases, {
    minTotalVariance: flags.minVariance,
    kMin: flags.kMin,
    ...(flags.kMax !== undefined ? { kMax: flags.kMax } : {}),
    seed: flags.seed,
    restarts: flags.restarts,
    silhouetteSample: flags.silhouetteSample,
    minActiveFraction: flags.activeFraction,
    engagedThreshold: flags.engagedThreshold,
  });
  return { model, label, stats, analysis, test };
}

function summary(tasks: string[], label: string, a: TaskVarianceAnalysis, test: MultitaskEvaluateResult): string {
  const r = a.report;
  const lines = [
    `${label}: ${r.keptUnits} of ${r.units} units kept (${r.excludedUnits} silent); k = ${r.kSelection.chosen} by silhouette in [${r.kSelection.kMin}, ${r.kSelection.kMax}]`,
  ];
  lines.push(
    table(
      ['task', 'test acc', 'specialised clusters', 'active', 'engaged', 'spearman(TV, bias)'],
      tasks.map((t) => {
        const p = r.perTask[t]!;
        return [
          t,
          fixed(test.perTask[t]?.accuracy),
          p.specialisedClusters.map((c) => `C${c}`).join(' ') || 'none',
          fixed(p.activeFraction, 3),
          fixed(p.engagedFraction, 3),
          p.spearmanBiasVsVariance === null ? '-' : fixed(p.spearmanBiasVsVariance, 3),
        ];
      }),
    ),
  );
  lines.push(
    table(
      ['cluster', 'units', 'dominant task', 'margin', ...tasks],
      r.clusters.map((c) => [
        `C${c.id}`,
        String(c.size),
        c.dominantTask,
        fixed(c.margin, 3),
        ...c.meanProfile.map((v) => fixed(v, 2)),
      ]),
    ),
  );
  return lines.join('\n');
}

/** The checkpoint (and --compare's) with the test data they were trained on; the pair must share seed, widths and tasks. */
async function loadModels(checkpoint: string, flags: AnalyzeFlags): Promise<{ data: LoadedTasks; models: MultitaskModel[] }> {
  const rec = await recordedData(checkpoint);
  if (flags.compare) {
    const other = await recordedData(flags.compare);
    if (other.tasks.join(',') !== rec.tasks.join(','))
      throw new UsageError(
        `--compare: ${flags.compare} has tasks ${other.tasks.join(',')}, ${checkpoint} has ${rec.tasks.join(',')}`,
      );
  }
  const data = await loadTasks(rec.tasks, taskDataOptions(flags, rec));
  const model = await MultitaskModel.load(checkpoint, { backend: flags.backend });
  let second: MultitaskModel | undefined;
  try {
    second = flags.compare ? await MultitaskModel.load(flags.compare, { backend: flags.backend }) : undefined;
    if (second && (second.config.seed !== model.config.seed || second.config.hidden.join() !== model.config.hidden.join())) {
      throw new UsageError(
        `--compare: the models must share the seed and hidden widths (got seed ${model.config.seed} / ${second.config.seed}, hidden ${model.config.hidden.join('-')} / ${second.config.hidden.join('-')})`,
      );
    }
  } catch (err) {
    model.dispose();
    second?.dispose();
    throw err;
  }
  return { data, models: second ? [model, second] : [model] };
}

/** heatmap.svg and clusters.svg (with -compare twins for the second model), then accuracy.svg. */
function analysisFigures(tasks: string[], first: Analysed, other: Analysed | undefined): RunFigure[] {
  const figures = (a: Analysed, suffix: string): RunFigure[] => [
    {
      file: `heatmap${suffix}.svg`,
      spec: taskVarianceHeatmap(a.analysis, { title: `Normalised task variance (${a.label}), units sorted by cluster` }),
    },
    {
      file: `clusters${suffix}.svg`,
      spec: clusterBars(a.analysis, { title: `Mean normalised task variance per cluster (${a.label})` }),
    },
  ];
  const rows: AccuracyRow[] = tasks.map((t) => ({ task: t, model: first.label, accuracy: first.test.perTask[t]!.accuracy }));
  if (other)
    for (const t of tasks)
      rows.push({
        task: t,
        model: other.label + (other.label === first.label ? ' (2)' : ''),
        accuracy: other.test.perTask[t]!.accuracy,
      });
  return [
    ...figures(first, ''),
    ...(other ? figures(other, '-compare') : []),
    { file: 'accuracy.svg', spec: accuracyBars(rows, { tasks }) },
  ];
}

/** report.json: definitions, clusters and per-task results of the model, and of the compared one with the profile correlation. */
function analysisReport(
  checkpoint: string,
  flags: AnalyzeFlags,
  data: LoadedTasks,
  first: Analysed,
  other: Analysed | undefined,
  comparison: ProfileComparison | undefined,
  t0: number,
) {
  const c = first.model.config;
  return {
    command: 'analyze',
    createdAt: new Date().toISOString(),
    checkpoint: displayPath(checkpoint),
    data: data.spec,
    dataDescription: data.description,
    model: { train: c.train, hidden: c.hidden, seed: c.seed, readout: c.readout, tasks: c.tasks },
    accuracy: first.test.perTask,
    meanTaskAccuracy: first.test.meanTaskAccuracy,
    analysis: first.analysis.report,
    ...(other && comparison
      ? {
          compare: {
            checkpoint: displayPath(flags.compare!),
            model: { train: other.model.config.train, hidden: other.model.config.hidden, seed: other.model.config.seed },
            accuracy: other.test.perTask,
            meanTaskAccuracy: other.test.meanTaskAccuracy,
            analysis: other.analysis.report,
            varianceProfileCorrelation: comparison,
          },
        }
      : {}),
    seconds: elapsedSeconds(t0),
    runtime: environmentInfo(),
  };
}

/** The text report on stdout: each model's summary, then how their variance profiles correlate. */
function printAnalysis(
  out: OutStream,
  tasks: string[],
  first: Analysed,
  other: Analysed | undefined,
  comparison: ProfileComparison | undefined,
): void {
  println(out, summary(tasks, first.label, first.analysis, first.test));
  if (!other || !comparison) return;
  println(out, '');
  println(out, summary(tasks, other.label, other.analysis, other.test));
  println(out, '');
  println(
    out,
    `variance profiles, ${first.label} vs ${other.label}: Pearson ${fixed(comparison.pearson, 3)}, Spearman ${fixed(comparison.spearman, 3)} over ${comparison.units} units x ${tasks.length} tasks`,
  );
  println(
    out,
    table(
      ['task', 'pearson', 'spearman'],
      tasks.map((t) => [t, fixed(comparison.perTask[t]!.pearson, 3), fixed(comparison.perTask[t]!.spearman, 3)]),
    ),
  );
}

async function runAnalyze(checkpoint: string, flags: AnalyzeFlags, ctx: CliContext): Promise<void> {
  // An unusable --out fails here, before data loads or anything trains.
  await checkOutDir(flags.out, flags.overwrite);
  const t0 = performance.now();
  applyThreads(flags.threads);
  const { data, models } = await loadModels(checkpoint, flags);
  try {
    const outDir = await prepareOutDir(flags.out, 'analyze-', flags.overwrite);
    const tasks = models[0]!.taskNames;
    const log = (line: string): void => {
      if (!flags.json) println(ctx.io.stderr, line);
    };
    const first = await analyzeOne(models[0]!, data, flags, log);
    const other = models[1] ? await analyzeOne(models[1], data, flags, log) : undefined;
    const comparison = other ? compareVarianceProfiles(first.stats, other.stats, flags.minVariance) : undefined;
    const report = analysisReport(checkpoint, flags, data, first, other, comparison, t0);
    await writeRun(outDir, { figures: analysisFigures(tasks, first, other), metrics: report, metricsFile: 'report.json' });
    if (flags.json) {
      println(ctx.io.stdout, JSON.stringify(report));
      return;
    }
    printAnalysis(ctx.io.stdout, tasks, first, other, comparison);
    // The -compare figures are written but, as always, not listed here.
    println(
      ctx.io.stdout,
      `analysed in ${seconds(elapsedSeconds(t0))}; wrote ${filesSummary(outDir, ['report.json', 'heatmap.svg', 'clusters.svg', 'accuracy.svg'])}`,
    );
  } finally {
    for (const m of models) m.dispose();
  }
}
