// Relaxation speed of the energy network (issue 9, item 6): free-phase steps per second at batch
// 256 for widths 1024 and 4096, one hidden layer (784-H-10) and two (784-H-H-10), next to the same
// run's sgemm ceiling for the products of one step. A step updates every layer once; its matrix
// products are, per layer k, U_{k-1} W_{k-1}^T and U_{k+1} W_k (the input drive W_0 x is formed
// once per batch and is not part of a step). The time per step is the least-squares slope of the
// time of free phases of S, 2S and 4S steps over the same batch, so the per-batch work (gather,
// input drive, loss) is the intercept and drops out.
// "ceiling share" = (time of the step's products at the sgemm rate measured for those exact
// shapes) / (measured step time): 1.0 means the step costs no more than its products alone.
//
// Usage (after `npm run build`): node bench/contrastive_relax_speed.mjs [--widths 1024,4096]
//        [--depths 1,2] [--batch 256] [--steps 40] [--reps 5] [--threads N] [--backend cpu]
//        [--out bench/results/contrastive-relax-speed-cpu.json]
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Dataset, EnergyNetwork, measureSgemm, runtimeInfo, setThreads } from '../dist/index.js';
import { machineInfo } from './machine.mjs';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const widths = arg('widths', '1024,4096').split(',').map(Number);
const depths = arg('depths', '1,2').split(',').map(Number);
const B = Number(arg('batch', '256'));
const S = Number(arg('steps', '40'));
const reps = Number(arg('reps', '5'));
const backend = arg('backend', 'cpu');
const threads = arg('threads', undefined);
if (threads !== undefined) setThreads(Number(threads));
const out = arg('out', `bench/results/contrastive-relax-speed-${backend}.json`);
const I = 784,
  O = 10;

const x = Float32Array.from({ length: B * I }, (_, i) => ((i * 2654435761) % 1000) / 1000);
const labels = Int32Array.from({ length: B }, (_, i) => i % O);
const data = Dataset.classification(x, I, labels, O);

/** Products of one step as [M, N, K, transB] (row-major C[M,N] = A[M,K] op(B)). */
function products(sizes) {
  const L = sizes.length - 1;
  const p = [];
  for (let k = 1; k <= L; k++) {
    if (k > 1) p.push([B, sizes[k], sizes[k - 1], true]); // U_{k-1} W_{k-1}^T
    if (k < L) p.push([B, sizes[k], sizes[k + 1], false]); // U_{k+1} W_k
  }
  return p;
}

async function secondsFor(model, steps) {
  const times = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await model.evaluate(data, { batchSize: B, relaxation: { freeSteps: steps } });
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Least-squares slope of y over x. */
function slope(x, y) {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let num = 0,
    den = 0;
  for (let i = 0; i < n; i++) {
    num += (x[i] - mx) * (y[i] - my);
    den += (x[i] - mx) ** 2;
  }
  return num / den;
}

const rows = [];
for (const depth of depths)
  for (const H of widths) {
    const sizes = [I, ...Array(depth).fill(H), O];
    const model = await EnergyNetwork.create({ inputSize: I, hidden: sizes.slice(1, -1), outputSize: O, seed: 1, backend });
    await secondsFor(model, S); // warm-up: workspace
    // Least-squares slope of the time over S, 2S, 4S steps: the per-batch work is the intercept.
    const counts = [S, 2 * S, 4 * S];
    const times = [];
    for (const c of counts) times.push(await secondsFor(model, c));
    const stepSeconds = slope(counts, times);
    if (!(stepSeconds > 0)) throw new Error(`${sizes.join('-')}: no time per step measured (${times.join(', ')} s)`);
    model.dispose();
    let flops = 0,
      ceilingSeconds = 0;
    const shapes = [];
    for (const [M, N, K, transB] of products(sizes)) {
      const g = await measureSgemm({ M, N, K, transB, reps: 20, backend });
      flops += 2 * M * N * K;
      ceilingSeconds += (2 * M * N * K) / (g.gflops * 1e9);
      shapes.push({ M, N, K, transB, sgemmGflops: g.gflops });
    }
    const row = {
      arch: sizes.join('-'),
      batch: B,
      stepsPerSecond: 1 / stepSeconds,
      productGflopsPerStep: flops / 1e9,
      achievedProductGflops: flops / stepSeconds / 1e9,
      ceilingShare: ceilingSeconds / stepSeconds,
      shapes,
    };
    rows.push(row);
    console.log(
      `${row.arch.padEnd(18)} ${row.stepsPerSecond.toFixed(1).padStart(9)} steps/s  products ${row.achievedProductGflops.toFixed(1)} GFLOP/s  ceiling share ${(100 * row.ceilingShare).toFixed(0)}%`,
    );
  }
const square = await measureSgemm({ M: 2048, N: 2048, K: 2048, reps: 3, backend });
const result = {
  command: `node bench/contrastive_relax_speed.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  backend,
  runtime: runtimeInfo(),
  machine: machineInfo(),
  sgemmSquare2048Gflops: square.gflops,
  rows,
  createdAt: new Date().toISOString(),
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
renameSync(`${out}.tmp`, out);
console.log(`square 2048 sgemm: ${square.gflops.toFixed(1)} GFLOP/s; wrote ${out}`);
