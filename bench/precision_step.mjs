// Frozen weights in bf16 vs fp32 on the CPU (issue 15, docs/precision.md), in one run:
//   1. the bias-mode train step of the MLP 784 -> H -> 10 (batch 256, no input-layer cache, so
//      every step multiplies [B, 784] x [784, H]), fp32 and bf16 models interleaved per width;
//   2. the frozen product alone, Y[B, H] = X[B, 784] W^T, in fp32 (BLAS sgemm) and bf16 (the bf16
//      kernel), as GFLOP/s and as a fraction of this CPU's peak measured in the same run by a
//      microbenchmark of VDPBF16PS (bf16) / 512-bit FMA (fp32) chains on every thread (the peak
//      is taken before and after the rows; the larger counts).
// Targets: bf16 step >= 1.7x the fp32 step at every width; the bf16 product's fraction of the bf16 peak reported.
//
// Usage: node bench/precision_step.mjs [--widths 1024,4096,16384] [--batch 256] [--seconds 3]
//        [--kernel auto|fallback] [--threads N] [--out bench/results/precision-step-cpu.json]
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
const batch = Number(arg('batch', '256'));
const minSeconds = Number(arg('seconds', '3'));
const kernelChoice = arg('kernel', 'auto');
const threads = arg('threads', undefined);
const out = arg('out', `bench/results/precision-step-cpu${kernelChoice === 'fallback' ? '-fallback' : ''}.json`);
const I = 784;
const O = 10;
const native = nativeFor('cpu');
if (threads !== undefined) setThreads(Number(threads));
const kernel = native.bf16Kernel(kernelChoice);

function makeData() {
  const rng = new Rng(42);
  const n = batch * 16;
  const x = new Float32Array(n * I).map(() => rng.uniform());
  const labels = new Int32Array(n).map(() => rng.int(O));
  return Dataset.classification(x, I, labels, O);
}

/** Samples/s of bias-mode training steps over `seconds` (after a warm-up of 2 batches). */
async function stepRate(model, data, seconds) {
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

async function productGflops(H, precision) {
  const reps = Math.max(3, Math.min(50, Math.round(2e10 / (2 * batch * I * H))));
  const secs = await native.benchFrozenGemm('cpu', batch, H, I, reps, precision);
  return (2 * batch * H * I) / secs / 1e9;
}

const peakBefore = await native.benchCpuPeak(1);
const data = makeData();
const rows = [];
for (const H of widths) {
  const models = {};
  for (const p of ['fp32', 'bf16'])
    models[p] = await MLP.create({ inputSize: I, hidden: [H], outputSize: O, train: 'bias', seed: 1, weightPrecision: p });
  // interleaved halves, so a change of machine load hits both precisions alike
  const rate = { fp32: 0, bf16: 0 };
  for (let half = 0; half < 2; half++)
    for (const p of ['fp32', 'bf16']) rate[p] += (await stepRate(models[p], data, minSeconds / 2)) / 2;
  const row = {
    width: H,
    batch,
    fp32SamplesPerSec: rate.fp32,
    bf16SamplesPerSec: rate.bf16,
    speedup: rate.bf16 / rate.fp32,
    fp32FrozenBytes: models.fp32.frozenBytes(),
    bf16FrozenBytes: models.bf16.frozenBytes(),
    fp32ProductGflops: await productGflops(H, 'fp32'),
    bf16ProductGflops: await productGflops(H, 'bf16'),
  };
  for (const m of Object.values(models)) m.dispose();
  rows.push(row);
  console.error(`  H=${H}: fp32 ${rate.fp32.toFixed(0)}, bf16 ${rate.bf16.toFixed(0)} samples/s (${row.speedup.toFixed(2)}x)`);
}
const peakAfter = await native.benchCpuPeak(1);
const peak = { bf16: Math.max(peakBefore.bf16, peakAfter.bf16), fp32: Math.max(peakBefore.fp32, peakAfter.fp32) };
for (const r of rows) {
  r.bf16FractionOfBf16Peak = peak.bf16 > 0 ? r.bf16ProductGflops / peak.bf16 : null;
  r.fp32FractionOfFp32Peak = peak.fp32 > 0 ? r.fp32ProductGflops / peak.fp32 : null;
  r.meetsTarget = r.speedup >= 1.7;
}

const result = {
  benchmark: 'precision-step',
  date: new Date().toISOString(),
  command: `node bench/precision_step.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  machine: machineInfo(),
  runtime: runtimeInfo(),
  bf16Kernel: kernel,
  peakGflops: { before: peakBefore, after: peakAfter, bf16: peak.bf16, fp32: peak.fp32 },
  rows,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
renameSync(`${out}.tmp`, out);

console.log(
  `bf16 kernel ${kernel}; peak on ${peakBefore.threads} threads: bf16 ${peak.bf16.toFixed(0)} GFLOP/s, fp32 ${peak.fp32.toFixed(0)} GFLOP/s; gemm ${result.runtime.gemm}`,
);
console.log(
  '| width | fp32 samples/s | bf16 samples/s | bf16 / fp32 | fp32 product GFLOP/s (of fp32 peak) | bf16 product GFLOP/s (of bf16 peak) | frozen MiB fp32 / bf16 |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|');
const pct = (f) => (f === null ? 'n/a' : `${(100 * f).toFixed(0)}%`);
for (const r of rows) {
  console.log(
    `| ${r.width} | ${r.fp32SamplesPerSec.toFixed(0)} | ${r.bf16SamplesPerSec.toFixed(0)} | ${r.speedup.toFixed(2)}x | ${r.fp32ProductGflops.toFixed(0)} (${pct(r.fp32FractionOfFp32Peak)}) | ${r.bf16ProductGflops.toFixed(0)} (${pct(r.bf16FractionOfBf16Peak)}) | ${(r.fp32FrozenBytes / 2 ** 20).toFixed(1)} / ${(r.bf16FrozenBytes / 2 ** 20).toFixed(1)} |`,
  );
}
console.log(`wrote ${out}`);
