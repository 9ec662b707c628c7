// Train-step throughput of the MLP 784 -> H -> 10 (batch 256) for the trainable sets bias,
// readout and full, next to this machine's sgemm rate measured in the same run.
//
// Useful FLOPs per sample (multiply-add = 2 flops; I = 784, O = 10):
//   forward                       2 (I H + H O)
//   bias:    + dA = dZ W2          2 H O               (bias gradients are sums, not counted)
//   readout: + dW2 = dZ^T A        2 H O
//   full:    + dW2, dA, dW1        2 H O + 2 H O + 2 I H
// fraction of ceiling = useful FLOPs * samples/s / sgemm FLOP/s.
// Mode 'bias+cache' is the bias step with the input-layer cache (fit's default): it skips the
// [B,I]x[I,H] product, so it is memory-bound; its row reports the same FLOP count as 'bias'
// ("equivalent" GFLOP/s) to show the speed-up, not a fraction of any ceiling it could reach.
//
// Usage: node bench/mlp_train_step.mjs [--widths 256,1024,4096,16384] [--modes bias,readout,full]
//        [--batch 256] [--seconds 3] [--backend cpu] [--out bench/results/mlp-train-step-cpu.json]
import { writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Dataset, MLP, Rng, measureSgemm, runtimeInfo } from '../dist/index.js';
import { machineInfo } from './machine.mjs';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const widths = arg('widths', '256,1024,4096,16384').split(',').map(Number);
const modes = arg('modes', 'bias,bias+cache,readout,full').split(',');
const batches = arg('batches', arg('batch', '256')).split(',').map(Number);
const square = Number(arg('square', '2048'));
const cacheLimitBytes = Number(arg('cache-limit-gib', '8')) * 2 ** 30;
const minSeconds = Number(arg('seconds', '3'));
const backend = arg('backend', 'cpu');
const out = arg('out', `bench/results/mlp-train-step-${backend}.json`);
const I = 784;
const O = 10;

function usefulFlops(mode, H) {
  const fwd = 2 * (I * H + H * O);
  if (mode === 'bias' || mode === 'bias+cache') return fwd + 2 * H * O;
  if (mode === 'readout') return fwd + 2 * H * O;
  return fwd + 4 * H * O + 2 * I * H;
}

// Random inputs in [0, 1) and random labels (throughput does not depend on the values);
// 16 batches per pass, so an uploaded dataset is reused across the timed passes.
function makeData(batch) {
  const rng = new Rng(42);
  const n = batch * 16;
  const x = new Float32Array(n * I).map(() => rng.uniform());
  const labels = new Int32Array(n).map(() => rng.int(O));
  return Dataset.classification(x, I, labels, O);
}

async function ceiling() {
  // The ceiling: the backend's sgemm on the first layer's product shape and on a large square.
  const layer = await measureSgemm({ M: batches[batches.length - 1], N: 4096, K: I, transB: true, reps: 15, backend });
  const sq = await measureSgemm({ M: square, N: square, K: square, reps: 5, backend });
  return { layerShape: layer.gflops, square: sq.gflops, ceiling: Math.max(layer.gflops, sq.gflops) };
}

async function timeMode(mode, H, batch, data) {
  const nSamples = data.n;
  const lr = mode === 'full' ? 1e-3 : 1e-2;
  const cacheInputLayer = mode === 'bias+cache';
  const train = cacheInputLayer ? 'bias' : mode;
  const model = await MLP.create({ inputSize: I, hidden: [H], outputSize: O, train, seed: 1, backend, optimizer: { lr } });
  const order = Int32Array.from({ length: nSamples }, (_, i) => i);
  // warm-up: workspace allocation and, for bias+cache, building the cache (not timed)
  await model.trainIndices(data, order.subarray(0, batch * 2), batch, lr, { cacheInputLayer });
  let samples = 0;
  const t0 = performance.now();
  while ((performance.now() - t0) / 1000 < minSeconds) {
    await model.trainIndices(data, order, batch, lr, { cacheInputLayer });
    samples += nSamples;
  }
  const secs = (performance.now() - t0) / 1000;
  model.dispose();
  return samples / secs;
}

const before = await ceiling();
const rows = [];
for (const batch of batches) {
  const data = makeData(batch);
  for (const H of widths) {
    for (const mode of modes) {
      if (mode === 'bias+cache' && data.n * H * 4 > cacheLimitBytes) continue;
      const sps = await timeMode(mode, H, batch, data);
      const gflops = (usefulFlops(mode, H) * sps) / 1e9;
      rows.push({ width: H, mode, batch, samplesPerSec: sps, usefulGflops: gflops });
      console.error(`  ${mode} H=${H} B=${batch}: ${sps.toFixed(0)} samples/s`);
    }
  }
}
const after = await ceiling();
const sgemm = Math.max(before.ceiling, after.ceiling);
for (const r of rows) r.fractionOfSgemm = r.usefulGflops / sgemm; // for bias+cache: equivalent rate
for (const r of rows) {
  if (r.mode !== 'bias') continue;
  const full = rows.find((q) => q.width === r.width && q.batch === r.batch && q.mode === 'full');
  if (full) r.speedupOverFull = r.samplesPerSec / full.samplesPerSec;
}

const result = {
  benchmark: 'mlp-train-step',
  date: new Date().toISOString(),
  command: `node bench/mlp_train_step.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  machine: machineInfo(),
  runtime: runtimeInfo(),
  backend,
  batches,
  sgemmGflops: { before, after, ceiling: sgemm },
  rows,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
renameSync(`${out}.tmp`, out);

console.log(
  `sgemm ceiling (${backend}, ${result.runtime.gemm}): ${sgemm.toFixed(1)} GFLOP/s  [layer shape ${before.layerShape.toFixed(1)}/${after.layerShape.toFixed(1)}, ${square}^3 ${before.square.toFixed(1)}/${after.square.toFixed(1)}]`,
);
console.log('| width | batch | mode | samples/s | useful GFLOP/s | fraction of sgemm | bias speed-up over full |');
console.log('|---:|---:|---|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.width} | ${r.batch} | ${r.mode} | ${r.samplesPerSec.toFixed(0)} | ${r.usefulGflops.toFixed(1)} | ${(100 * r.fractionOfSgemm).toFixed(1)}% | ${r.speedupOverFull ? `${r.speedupOverFull.toFixed(2)}x` : ''} |`,
  );
}
console.log(`wrote ${out}`);
