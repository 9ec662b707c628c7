// The figures of issue #4, each from a recorded command, run one after another:
//   1. three real tasks (MNIST / KMNIST: seeded 8k/2k splits of their 10k sets; Fashion-MNIST full),
//      H hidden units, bias-only multi-task vs a single-task bias-only network per task
//      (same width, seed, epochs, batch, optimizer and schedule);            -> three-task/
//   2. samples/s of a batch mixing 7 tasks vs a single-task batch, widths 4096 and 16384;
//   3. seven tasks (3 image sets + 4 derived), bias learning: task variance, clusters;
//   4. the same seven tasks and seed with mask learning: accuracy per task, and the correlation of
//      the bias- and mask-learning variance profiles (biaslearn analyze --compare).
// Results: bench/results/multitask-figures.json (+ the runs' folders under bench/results/multitask-figures/).
//
// Usage: nice node bench/multitask_figures.mjs [--hidden 8192] [--epochs 10] [--only 1,2,3]
//        [--out bench/results/multitask-figures.json] [--dir bench/results/multitask-figures]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineInfo } from './machine.mjs';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const hidden = arg('hidden', '8192');
const epochs = arg('epochs', '10');
const only = new Set(arg('only', '1,2,3').split(','));
const out = arg('out', 'bench/results/multitask-figures.json');
const dir = arg('dir', 'bench/results/multitask-figures');
const SEVEN = 'mnist,kmnist,fashion-mnist,mnist:perm1,kmnist:perm2,mnist:rot90,kmnist:rot90';
mkdirSync(dir, { recursive: true });

const previous = existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : {};
const result = {
  ...previous,
  date: new Date().toISOString(),
  machine: machineInfo(),
};
function save() {
  writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(`${out}.tmp`, out);
}

function run(args, log) {
  const cmd = ['node', ...args].join(' ');
  console.log(`\n$ ${cmd}`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const secs = (performance.now() - t0) / 1000;
  writeFileSync(join(dir, `${log}.log`), `$ ${cmd}\n${r.stderr}\n${r.stdout}`);
  process.stdout.write(r.stdout);
  if (r.status !== 0) {
    process.stderr.write(r.stderr);
    throw new Error(`${cmd} exited ${r.status}`);
  }
  return { command: cmd.replace(/^node dist\/cli\/main\.js/, 'biaslearn'), seconds: secs };
}

const CLI = 'dist/cli/main.js';

if (only.has('1')) {
  const o = join(dir, 'three-task-bias');
  const c = run(
    [
      CLI,
      'multitask',
      '--tasks',
      'mnist,kmnist,fashion-mnist',
      '--hidden',
      hidden,
      '--train',
      'bias',
      '--epochs',
      epochs,
      '--single-task-baseline',
      '--quiet',
      '--out',
      o,
    ],
    'three-task-bias',
  );
  const m = JSON.parse(readFileSync(join(o, 'metrics.json'), 'utf8'));
  const perTask = Object.fromEntries(
    Object.keys(m.test.perTask).map((t) => [
      t,
      {
        multiTask: m.test.perTask[t].accuracy,
        singleTask: m.singleTask[t].accuracy,
        differencePoints: 100 * (m.test.perTask[t].accuracy - m.singleTask[t].accuracy),
      },
    ]),
  );
  result.threeTask = {
    ...c,
    hidden: Number(hidden),
    epochs: Number(epochs),
    data: m.dataDescription,
    perTask,
    withinThreePoints: Object.values(perTask).every((p) => p.differencePoints >= -3),
    samplesPerSec: m.samplesPerSec,
    trainSeconds: m.timings.trainSeconds,
    singleTaskTrainSeconds: Object.fromEntries(Object.entries(m.singleTask).map(([t, v]) => [t, v.trainSeconds])),
    figure: join(o, 'accuracy.svg'),
  };
  save();
}

if (only.has('2')) {
  const o = join(dir, 'throughput.json');
  const c = run(
    [
      'bench/multitask_throughput.mjs',
      '--widths',
      '4096,16384',
      '--batch',
      '256',
      '--tasks',
      '7',
      '--seconds',
      '2',
      '--rounds',
      '5',
      '--out',
      o,
    ],
    'throughput',
  );
  const b = JSON.parse(readFileSync(o, 'utf8'));
  result.throughput = {
    ...c,
    command: c.command.replace(/^node /, 'node '),
    rows: b.rows.map(({ rounds: _r, ...r }) => r),
    mixedOverSingle: Object.fromEntries(
      [...new Set(b.rows.map((r) => r.width))].map((w) => [
        w,
        b.rows.find((r) => r.width === w && r.config.startsWith('mixed')).ratioToSingleTaskBatch,
      ]),
    ),
  };
  result.throughput.atLeast90Percent = Object.values(result.throughput.mixedOverSingle).every((v) => v >= 0.9);
  save();
}

if (only.has('3')) {
  const ob = join(dir, 'seven-task-bias');
  const om = join(dir, 'seven-task-mask');
  const oa = join(dir, 'seven-task-analysis');
  const cb = run(
    [CLI, 'multitask', '--tasks', SEVEN, '--hidden', hidden, '--train', 'bias', '--epochs', epochs, '--quiet', '--out', ob],
    'seven-task-bias',
  );
  const cm = run(
    [CLI, 'multitask', '--tasks', SEVEN, '--hidden', hidden, '--train', 'mask', '--epochs', epochs, '--quiet', '--out', om],
    'seven-task-mask',
  );
  const ca = run(
    [CLI, 'analyze', join(ob, 'model.blck'), '--compare', join(om, 'model.blck'), '--out', oa],
    'seven-task-analysis',
  );
  const rep = JSON.parse(readFileSync(join(oa, 'report.json'), 'utf8'));
  const a = rep.analysis;
  result.sevenTask = {
    commands: { bias: cb.command, mask: cm.command, analyze: ca.command },
    seconds: { bias: cb.seconds, mask: cm.seconds, analyze: ca.seconds },
    hidden: Number(hidden),
    epochs: Number(epochs),
    tasks: SEVEN.split(','),
    accuracy: Object.fromEntries(
      Object.keys(rep.accuracy).map((t) => [t, { bias: rep.accuracy[t].accuracy, mask: rep.compare.accuracy[t].accuracy }]),
    ),
    meanTaskAccuracy: { bias: rep.meanTaskAccuracy, mask: rep.compare.meanTaskAccuracy },
    clusters: {
      k: a.kSelection.chosen,
      criterion: a.kSelection.criterion,
      kRange: [a.kSelection.kMin, a.kSelection.kMax],
      keptUnits: a.keptUnits,
      units: a.units,
      sizes: a.clusters.map((c) => c.size),
      dominant: a.clusters.map((c) => c.dominantTask),
      margins: a.clusters.map((c) => c.margin),
    },
    specialisedClusterPerTask: Object.fromEntries(Object.entries(a.perTask).map(([t, p]) => [t, p.specialisedClusters])),
    everyTaskHasSpecialisedCluster: a.everyTaskHasSpecialisedCluster,
    spearmanBiasVsVariancePerTask: Object.fromEntries(Object.entries(a.perTask).map(([t, p]) => [t, p.spearmanBiasVsVariance])),
    spearmanBiasVsVariancePerCluster: a.clusters.map((c) => c.spearmanBiasVsVariance),
    activeFraction: Object.fromEntries(
      Object.entries(a.perTask).map(([t, p]) => [
        t,
        { bias: p.activeFraction, mask: rep.compare.analysis.perTask[t].activeFraction },
      ]),
    ),
    mask: {
      k: rep.compare.analysis.kSelection.chosen,
      everyTaskHasSpecialisedCluster: rep.compare.analysis.everyTaskHasSpecialisedCluster,
    },
    varianceProfileCorrelation: rep.compare.varianceProfileCorrelation,
    figures: ['heatmap.svg', 'clusters.svg', 'heatmap-compare.svg', 'clusters-compare.svg', 'accuracy.svg'].map((f) =>
      join(oa, f),
    ),
  };
  save();
}
console.log(`\nwrote ${out}`);
