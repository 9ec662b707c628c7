// Frozen weights in bf16 vs fp32 (issue 15, docs/precision.md), in one run:
//   1. the bias-mode train step of the MLP 784 -> H -> 10 (no input-layer cache, so every step
//      multiplies [B, 784] x [784, H]), the precisions' models interleaved per (width, batch);
//   2. the frozen product alone, Y[B, H] = X[B, 784] W^T, per precision (CPU fp32: BLAS sgemm;
//      bf16: the bf16 kernel), in GFLOP/s and as a fraction of the peak measured in the same run:
//      on the CPU a microbenchmark of VDPBF16PS (bf16) / 512-bit FMA (fp32) chains on every thread;
//      on CUDA the backend's sgemm (the larger of the layer shape and 8192^3) and its bf16 product
//      at 16384 x 784. The peaks are taken before and after the rows; the larger counts.
// Each step is also reported as a fraction of the sgemm-bound rate (useful FLOPs per sample as in
// bench/mlp_train_step.mjs, against the fp32 peak).
// Targets: CPU bf16 step >= 1.7x the fp32 step (widths 1024, 4096, 16384, batch 256); CUDA bf16
// >= 4x fp32, fp32 >= 70% of sgemm-bound at 16384 x 1024; bench/gpu/precision_table.mjs sets the
// CUDA rows beside PyTorch eager fp32 and autocast bf16 (bench/torch_mlp_bias.py).
//
// Usage: node bench/precision_step.mjs [--widths 1024,4096,16384] [--batches 256] [--seconds 3]
//        [--precisions fp32,bf16 (cuda: fp32,tf32,bf16)] [--backend cpu|cuda] [--kernel auto|fallback]
//        [--threads N] [--out bench/results/precision-step-<backend>.json]
// Timings are only meaningful on a quiet machine (nothing else running).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Dataset, MLP, Rng, runtimeInfo, setThreads } from '../dist/index.js';
import { nativeFor } from '../dist/native/binding.js';
import { machineInfo } from './machine.mjs';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const widths = arg('widths', '1024,4096,16384').split(',').map(Number);
const batches = arg('batches', arg('batch', '256')).split(',').map(Number);
const minSeconds = Number(arg('seconds', '3'));
const backend = arg('backend', 'cpu');
const precisions = arg('precisions', backend === 'cuda' ? 'fp32,tf32,bf16' : 'fp32,bf16').split(',');
const kernelChoice = arg('kernel', 'auto');
const threads = arg('threads', undefined);
const out = arg('out', `bench/results/precision-step-${backend}${kernelChoice === 'fallback' ? '-fallback' : ''}.json`);
const I = 784;
const O = 10;
const native = nativeFor(backend);
if (threads !== undefined) setThreads(Number(threads));
const kernel = nativeFor('cpu').bf16Kernel(kernelChoice);

/** Useful FLOPs per sample of the bias step: forward 2 (I H + H O), backward into the hidden layer 2 H O. */
const usefulFlops = (H) => 2 * (I * H + H * O) + 2 * H * O;

function makeData(batch) {
  const rng = new Rng(42);
  const n = batch * 16;
  const x = new Float32Array(n * I).map(() => rng.uniform());
  const labels = new Int32Array(n).map(() => rng.int(O));
  return Dataset.classification(x, I, labels, O);
}

/** Samples/s of bias-mode training steps over `seconds` (after a warm-up of 2 batches). */
async function stepRate(model, data, batch, seconds) {
  const order = Int32Array.from({ length: data.n }, (_, i) => i);
  const lr = 1e-2;
  await model.trainIndices(data, order.subarray(0, batch * 2), batch, lr, { cacheInputLayer: false });
  let samples = 0;
  const t0 = performance.now();
  while ((performance.now() - t0) / 1000 < seconds) {
    await model.trainIndices(data, order, batch, lr, { cacheInputLayer: false });
    samples += data.n;
  }
  return samples / ((performance.now() - t0) / 1000);
}

async function productGflops(H, batch, precision) {
  const reps = Math.max(3, Math.min(50, Math.round((backend === 'cuda' ? 2e12 : 2e10) / (2 * batch * I * H))));
  const secs = await native.benchFrozenGemm(backend, batch, H, I, reps, precision);
  return (2 * batch * H * I) / secs / 1e9;
}

/** The peaks: the CPU's VDPBF16PS / FMA microbenchmark, or on CUDA the backend's sgemm and bf16 product. */
async function peaks() {
  if (backend !== 'cuda') return native.benchCpuPeak(1);
  const b = Math.max(...batches);
  const layer = (2 * b * 4096 * I) / (await native.benchGemm(backend, b, 4096, I, 15, true)) / 1e9;
  const square = (2 * 8192 ** 3) / (await native.benchGemm(backend, 8192, 8192, 8192, 5, false)) / 1e9;
  const bf16 = await productGflops(16384, b, 'bf16');
  return { fp32: Math.max(layer, square), bf16, layerShapeSgemm: layer, squareSgemm: square };
}

const peakBefore = await peaks();
const rows = [];
for (const batch of batches) {
  const data = makeData(batch);
  for (const H of widths) {
    const models = {};
    for (const p of precisions) {
      const precision = p === 'tf32' ? { tf32: true } : { weightPrecision: p };
      models[p] = await MLP.create({ inputSize: I, hidden: [H], outputSize: O, train: 'bias', seed: 1, backend, ...precision });
    }
    // interleaved halves, so a change of machine load hits every precision alike
    const rate = Object.fromEntries(precisions.map((p) => [p, 0]));
    for (let half = 0; half < 2; half++)
      for (const p of precisions) rate[p] += (await stepRate(models[p], data, batch, minSeconds / 2)) / 2;
    const row = { width: H, batch };
    for (const p of precisions) {
      row[`${p}SamplesPerSec`] = rate[p];
      row[`${p}FrozenBytes`] = models[p].frozenBytes();
      row[`${p}ProductGflops`] = await productGflops(H, batch, p);
    }
    if (rate.fp32 && rate.bf16) row.speedup = rate.bf16 / rate.fp32;
    for (const m of Object.values(models)) m.dispose();
    rows.push(row);
    console.error(`  H=${H} B=${batch}: ${precisions.map((p) => `${p} ${rate[p].toFixed(0)}`).join(', ')} samples/s`);
  }
}
const peakAfter = await peaks();
const peak = { bf16: Math.max(peakBefore.bf16, peakAfter.bf16), fp32: Math.max(peakBefore.fp32, peakAfter.fp32) };
for (const r of rows) {
  r.bf16FractionOfBf16Peak = peak.bf16 > 0 && r.bf16ProductGflops ? r.bf16ProductGflops / peak.bf16 : null;
  r.fp32FractionOfFp32Peak = peak.fp32 > 0 && r.fp32ProductGflops ? r.fp32ProductGflops / peak.fp32 : null;
  // the step's useful rate against the fp32 peak: 1 = as fast as an sgemm-bound step
  for (const p of precisions) r[`${p}FractionOfSgemmBound`] = (usefulFlops(r.width) * r[`${p}SamplesPerSec`]) / 1e9 / peak.fp32;
  if (r.speedup !== undefined) r.meetsTarget = r.speedup >= (backend === 'cuda' ? 4 : 1.7);
}

const result = {
  benchmark: 'precision-step',
  date: new Date().toISOString(),
  command: `node bench/precision_step.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  machine: machineInfo(),
  runtime: runtimeInfo(),
  backend,
  precisions,
  bf16Kernel: backend === 'cpu' ? kernel : 'cublasGemmEx bf16 x bf16, CUBLAS_COMPUTE_32F',
  peakGflops: { before: peakBefore, after: peakAfter, bf16: peak.bf16, fp32: peak.fp32 },
  rows,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
renameSync(`${out}.tmp`, out);

const where = backend === 'cpu' ? `on ${peakBefore.threads} threads` : '(cuBLAS)';
console.log(
  `${backend}: bf16 ${result.bf16Kernel}; peak ${where}: bf16 ${peak.bf16.toFixed(0)} GFLOP/s, fp32 ${peak.fp32.toFixed(0)} GFLOP/s; gemm ${result.runtime.gemm}`,
);
const pct = (f) => (f === null || f === undefined ? 'n/a' : `${(100 * f).toFixed(0)}%`);
const heads = precisions.map((p) => `${p} samples/s (of sgemm-bound)`).join(' | ');
console.log(
  `| width | batch | ${heads} | bf16 / fp32 | fp32 product GFLOP/s (of fp32 peak) | bf16 product GFLOP/s (of bf16 peak) | frozen MiB ${precisions.join(' / ')} |`,
);
console.log(`|---:|---:|${precisions.map(() => '---:|').join('')}---:|---:|---:|---:|`);
for (const r of rows) {
  const cells = precisions.map((p) => `${r[`${p}SamplesPerSec`].toFixed(0)} (${pct(r[`${p}FractionOfSgemmBound`])})`);
  const mib = precisions.map((p) => (r[`${p}FrozenBytes`] / 2 ** 20).toFixed(1)).join(' / ');
  const fp = r.fp32ProductGflops ? `${r.fp32ProductGflops.toFixed(0)} (${pct(r.fp32FractionOfFp32Peak)})` : 'n/a';
  const bf = r.bf16ProductGflops ? `${r.bf16ProductGflops.toFixed(0)} (${pct(r.bf16FractionOfBf16Peak)})` : 'n/a';
  const speed = r.speedup ? `${r.speedup.toFixed(2)}x` : 'n/a';
  console.log(`| ${r.width} | ${r.batch} | ${cells.join(' | ')} | ${speed} | ${fp} | ${bf} | ${mib} |`);
}
console.log(`wrote ${out}`);
