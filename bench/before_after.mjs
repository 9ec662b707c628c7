// Side-by-side throughput of two builds of biaslearn on this machine, in one session: the
// train-step benchmarks (bench/mlp_train_step.mjs, bench/rnn_train_step.mjs) of a "before"
// checkout and of this one, run alternately (before, after, before, after, ...) so that drift of
// the machine hits both alike. Each row reports the median samples/s of each side and the ratio.
//
// Usage: node bench/before_after.mjs --before /path/to/old/checkout [--rounds 2] [--seconds 3]
//        [--benches mlp,rnn] [--bench-args "--modes bias --widths 1024,4096"]
//        [--before-build DIR] [--after-build DIR] [--out bench/results/before-after.json]
// The old checkout must be built (npm install there). Each side runs its own bench script
// against its own dist/ and addon; per-run JSON goes to a folder named like --out without .json.
// --before-build / --after-build load the CPU module from DIR/biaslearn.node (BIASLEARN_BUILD_DIR),
// e.g. a prebuilt binary against a -march=native build of the same checkout (--before .).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const beforeDir = arg('before');
if (!beforeDir) throw new Error('expected --before <built checkout of the old code>');
const rounds = Number(arg('rounds', '2'));
const seconds = arg('seconds', '3');
const out = arg('out', 'bench/results/before-after.json');
const benchArgs = (arg('bench-args', '') ?? '').split(' ').filter(Boolean);
const buildDir = { before: arg('before-build'), after: arg('after-build') };
const benchNames = arg('benches', 'mlp,rnn').split(',');
const runDir = out.replace(/\.json$/, ''); // per-run JSON beside the summary
mkdirSync(runDir, { recursive: true });

const BENCHES = [
  { name: 'mlp', script: 'bench/mlp_train_step.mjs', rate: 'samplesPerSec', key: (r) => `${r.mode} H=${r.width} B=${r.batch}` },
  { name: 'rnn', script: 'bench/rnn_train_step.mjs', rate: 'sequencesPerSec', key: (r) => `${r.mode} m=${r.width} B=${r.batch}` },
];
const runs = { before: {}, after: {} };
const selected = BENCHES.filter((b) => benchNames.includes(b.name));
for (let round = 1; round <= rounds; round++) {
  for (const bench of selected) {
    for (const side of ['before', 'after']) {
      const dir = side === 'before' ? resolve(beforeDir) : here;
      const file = resolve(runDir, `${bench.name}-${side}-${round}.json`);
      console.error(`round ${round}: ${bench.name} ${side}`);
      const env = buildDir[side] ? { ...process.env, BIASLEARN_BUILD_DIR: resolve(buildDir[side]) } : process.env;
      execFileSync(process.execPath, [join(dir, bench.script), '--seconds', seconds, ...benchArgs, '--out', file], {
        cwd: dir,
        env,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const json = JSON.parse(readFileSync(file, 'utf8'));
      runs[side][bench.name] ??= [];
      runs[side][bench.name].push(json);
    }
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const rows = [];
for (const bench of selected) {
  const keys = runs.after[bench.name][0].rows.map(bench.key);
  for (const key of keys) {
    const pick = (side) =>
      runs[side][bench.name].map((j) => j.rows.find((r) => bench.key(r) === key)?.[bench.rate]).filter(Number.isFinite);
    const b = pick('before');
    const a = pick('after');
    if (!b.length || !a.length) continue;
    rows.push({
      bench: bench.name,
      row: key,
      unit: bench.rate,
      before: median(b),
      after: median(a),
      ratio: median(a) / median(b),
      beforeRuns: b,
      afterRuns: a,
    });
  }
}
// sgemm ceiling (GFLOP/s) each run measured, as its own JSON reports it
const ceilings = (side) =>
  Object.fromEntries(selected.map((b) => [b.name, runs[side][b.name].map((j) => j.sgemmGflops ?? j.sgemm ?? null)]));
const result = {
  benchmark: 'before-after',
  date: new Date().toISOString(),
  command: `node bench/before_after.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  rounds,
  sgemmCeilings: { before: ceilings('before'), after: ceilings('after') },
  rows,
};
writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
renameSync(`${out}.tmp`, out);
console.log('| bench | row | unit | before | after | after / before |');
console.log('|---|---|---|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.bench} | ${r.row} | ${r.unit} | ${r.before.toFixed(1)} | ${r.after.toFixed(1)} | ${r.ratio.toFixed(3)} |`);
}
console.log(`wrote ${out}`);
