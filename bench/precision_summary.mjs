// Collects the runs of bench/precision_accuracy.sh (bench/results/precision/<run>-<fp32|bf16>/metrics.json)
// into bench/results/precision-accuracy.json and prints the table of docs/precision.md.
// Targets (issue 15): Fashion-MNIST and multi-task accuracy within 0.5 points of fp32; Lorenz R^2 within 0.01.
// Usage: node bench/precision_summary.mjs
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineInfo } from './machine.mjs';

const dir = 'bench/results/precision';
const out = 'bench/results/precision-accuracy.json';
const read = (name) => {
  const p = join(dir, name, 'metrics.json');
  return existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : null;
};

/** One figure: the same measure of the fp32 and bf16 runs of `run`, and its difference. */
function pair(run, what, measure, unit, limit) {
  const fp = read(`${run}-fp32`);
  const bf = read(`${run}-bf16`);
  if (!fp || !bf) return null;
  const a = measure(fp);
  const b = measure(bf);
  const diff = unit === 'points' ? 100 * (b - a) : b - a;
  return {
    run,
    what,
    fp32: a,
    bf16: b,
    difference: diff,
    unit,
    limit,
    withinLimit: Math.abs(diff) <= limit,
    weightPrecision: [fp.model?.weightPrecision, bf.model?.weightPrecision],
    commands: [fp.command, bf.command].map((c) => (typeof c === 'string' ? c : JSON.stringify(c))),
    runs: [join(dir, `${run}-fp32`), join(dir, `${run}-bf16`)],
  };
}

const figures = [
  pair('fashion-mnist-4096', 'Fashion-MNIST 784-4096-10 bias, 5 epochs: test accuracy', (m) => m.testAccuracy, 'points', 0.5),
  pair(
    'rnn-lorenz-512',
    'Lorenz, 512 units, bias, bptt: teacher-forced test R^2',
    (m) => m.evaluation.teacherForced.r2,
    'R^2',
    0.01,
  ),
  pair(
    'rnn-lorenz-1024',
    'Lorenz, 1024 units, bias, bptt: teacher-forced test R^2',
    (m) => m.evaluation.teacherForced.r2,
    'R^2',
    0.01,
  ),
  pair(
    'multitask-three-4096',
    'three tasks (MNIST, KMNIST, Fashion-MNIST), 4096 units, bias: mean task accuracy',
    (m) => m.test.meanTaskAccuracy,
    'points',
    0.5,
  ),
  pair(
    'multitask-three-8192',
    'three tasks, 8192 units, bias: mean task accuracy',
    (m) => m.test.meanTaskAccuracy,
    'points',
    0.5,
  ),
].filter((f) => f !== null);

// Per task of the multi-task runs (the 0.5-point limit is stated for the figure; per task for the record).
for (const f of figures) {
  if (!f.run.startsWith('multitask')) continue;
  const [fp, bf] = [read(`${f.run}-fp32`), read(`${f.run}-bf16`)];
  f.perTask = Object.fromEntries(
    Object.keys(fp.test.perTask).map((t) => {
      const a = fp.test.perTask[t].accuracy;
      const b = bf.test.perTask[t].accuracy;
      return [t, { fp32: a, bf16: b, differencePoints: 100 * (b - a) }];
    }),
  );
}

const result = { date: new Date().toISOString(), machine: machineInfo(), figures };
writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
renameSync(`${out}.tmp`, out);
console.log('| figure | fp32 | bf16 | bf16 - fp32 | limit |');
console.log('|---|---:|---:|---:|---:|');
for (const f of figures) {
  const v = (x) => (f.unit === 'points' ? `${(100 * x).toFixed(2)}%` : x.toFixed(4));
  const d = f.unit === 'points' ? `${f.difference.toFixed(2)} points` : f.difference.toFixed(4);
  console.log(
    `| ${f.what} | ${v(f.fp32)} | ${v(f.bf16)} | ${d} | ${f.limit} ${f.unit} ${f.withinLimit ? '(met)' : '(NOT met)'} |`,
  );
  for (const [t, p] of Object.entries(f.perTask ?? {}))
    console.log(`| &nbsp; task ${t} | ${v(p.fp32)} | ${v(p.bf16)} | ${p.differencePoints.toFixed(2)} points | |`);
}
console.log(`wrote ${out}`);
