// Scaling over MPI (docs/distributed.md): the bias-learning MLP (784 inputs, one hidden layer of
// --width, 10 outputs) at 1 and 2 ranks with 1 thread each, --steps global batches timed after a
// warm-up epoch. Data-parallel: --batch samples per rank per step. Width-parallel: the same
// --batch on every rank, width / ranks hidden units each (per-rank memory and step time).
// Prints a table; writes bench/results/distributed.json. Needs biaslearn_mpi.node and mpirun; run on a quiet machine:
//   npm run build:ts && node bench/distributed.mjs --width 4096 --batch 256 --steps 40
// Quick check of the script itself: node bench/distributed.mjs --width 64 --batch 16 --steps 4 --out /tmp/d.json
import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { machineInfo } from './machine.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const width = Number(arg('width', 4096));
const batch = Number(arg('batch', 256));
const steps = Number(arg('steps', 40));
const ranksList = arg('ranks', '1,2').split(',').map(Number);
const out = arg('out', join(import.meta.dirname, 'results', 'distributed.json'));
const root = join(import.meta.dirname, '..');

const env = {
  ...process.env,
  OMPI_ALLOW_RUN_AS_ROOT: '1',
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1',
  OPENBLAS_NUM_THREADS: '1',
  OMP_NUM_THREADS: '1',
};
function run(ranks, mode) {
  const args = ['-np', String(ranks), '--bind-to', 'core', '--map-by', 'core', 'node', 'bench/distributed_worker.mjs'];
  const r = spawnSync('mpirun', [...args, String(width), String(batch), String(steps), '784', mode], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) {
    console.error(r.stderr || r.stdout);
    process.exit(1);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
const rows = ranksList.map((ranks) => run(ranks, 'data'));
const widthRows = ranksList.map((ranks) => run(ranks, 'width'));
const base = rows.find((x) => x.ranks === 1);
console.log(`data-parallel MLP 784-${width}-10, train bias, ${batch} samples per rank per step, 1 thread per rank`);
console.log('ranks  samples/s  speed-up  step ms  comm ms/step  comm bytes/step  max RSS MiB');
for (const x of rows) {
  x.speedup = base ? x.samplesPerSec / base.samplesPerSec : null;
  x.stepMs = (x.seconds / x.steps) * 1000;
  console.log(
    `${String(x.ranks).padStart(5)}  ${x.samplesPerSec.toFixed(0).padStart(9)}  ${(x.speedup ?? 0).toFixed(2).padStart(8)}  ${x.stepMs.toFixed(1).padStart(7)}  ${(x.commSecondsPerStep * 1000).toFixed(3).padStart(12)}  ${String(x.commBytesPerStep).padStart(15)}  ${x.maxRssMiB.toFixed(0).padStart(11)}`,
  );
}
console.log(`\nwidth-parallel MLP 784-${width}-10, train bias, ${batch} samples per step on every rank, 1 thread per rank`);
console.log('ranks  units/rank  weights MiB/rank  step ms  comm ms/step  comm bytes/step  max RSS MiB');
for (const x of widthRows) {
  x.stepMs = (x.seconds / x.steps) * 1000;
  x.unitsPerRank = Math.ceil(width / x.ranks);
  console.log(
    `${String(x.ranks).padStart(5)}  ${String(x.unitsPerRank).padStart(10)}  ${x.weightMiBPerRank.toFixed(1).padStart(16)}  ${x.stepMs.toFixed(1).padStart(7)}  ${(x.commSecondsPerStep * 1000).toFixed(3).padStart(12)}  ${String(x.commBytesPerStep).padStart(15)}  ${x.maxRssMiB.toFixed(0).padStart(11)}`,
  );
}
const result = {
  bench: 'distributed',
  command: `node bench/distributed.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  createdAt: new Date().toISOString(),
  machine: machineInfo(),
  target: 'speed-up >= 1.8 at 2 ranks (width 4096, batch 256 per rank)',
  rows,
  widthParallel: widthRows,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
renameSync(`${out}.tmp`, out);
console.log(`wrote ${out}`);
