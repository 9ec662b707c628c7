// BPTT train-step throughput of the RNN (T = 100 steps, batch 32 sequences, I = O = 2) for
// bias-only and full training at m = 256, 1024, 4096, next to this machine's sgemm rate measured
// in the same run (the ceiling).
//
// Useful FLOPs of one train step (one batch; multiply-add = 2 flops):
//   forward, per time step        2 B (m m + m I + m O)        recurrent, input and readout products
//   bias-only backward, per step  2 B (m m + m O)              dR = dZ W and the readout error dY A
//   full backward adds, per step  2 B (m m + m I + m O)        dW, dB and dA
// (bias gradients are column sums, not counted). fraction of ceiling = useful FLOP/s / sgemm FLOP/s,
// with the ceiling = max(sgemm at the per-step shape [B, m] x [m, m]^T, sgemm 2048^3).
//
// Usage: node bench/rnn_train_step.mjs [--widths 256,1024,4096] [--modes bias,full] [--steps 100]
//        [--batch 32] [--seconds 3] [--backend cpu] [--out bench/results/rnn-train-step-cpu.json]
import { writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { RNN, Rng, SequenceDataset, measureSgemm, runtimeInfo } from '../dist/index.js';
import { machineInfo } from './machine.mjs';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const widths = arg('widths', '256,1024,4096').split(',').map(Number);
const modes = arg('modes', 'bias,full').split(',');
const T = Number(arg('steps', '100'));
const B = Number(arg('batch', '32'));
const minSeconds = Number(arg('seconds', '3'));
const backend = arg('backend', 'cpu');
const out = arg('out', `bench/results/rnn-train-step-${backend}.json`);
const I = 2;
const O = 2;

function usefulFlops(mode, m) {
  const fwd = 2 * B * (m * m + m * I + m * O);
  const back = mode === 'full' ? 2 * B * (m * m + m * O) + 2 * B * (m * m + m * I + m * O) : 2 * B * (m * m + m * O);
  return T * (fwd + back);
}

// Random inputs and targets: throughput does not depend on the values.
const rng = new Rng(7);
const data = SequenceDataset.create({
  inputs: Float32Array.from({ length: B * T * I }, () => rng.normal()),
  targets: Float32Array.from({ length: B * T * O }, () => rng.normal() * 0.5),
  steps: T,
  inputSize: I,
  outputSize: O,
});
const order = Int32Array.from({ length: B }, (_, i) => i);

async function ceiling() {
  const shapes = {};
  for (const m of widths)
    shapes[`step${m}`] = (await measureSgemm({ M: B, N: m, K: m, transB: true, reps: m >= 4096 ? 5 : 30, backend })).gflops;
  shapes.square2048 = (await measureSgemm({ M: 2048, N: 2048, K: 2048, reps: 5, backend })).gflops;
  return { ...shapes, ceiling: Math.max(...Object.values(shapes)) };
}

async function timeMode(mode, m) {
  const lr = mode === 'full' ? 1e-4 : 1e-3;
  const model = await RNN.create({ inputSize: I, hidden: m, outputSize: O, train: mode, seed: 1, backend, optimizer: { lr } });
  await model.trainSequences(data, order, B, lr); // warm-up: workspace, caches
  let steps = 0;
  const t0 = performance.now();
  while ((performance.now() - t0) / 1000 < minSeconds || steps < 2) {
    await model.trainSequences(data, order, B, lr);
    steps++;
  }
  const secs = (performance.now() - t0) / 1000;
  model.dispose();
  return steps / secs;
}

const before = await ceiling();
const rows = [];
for (const m of widths) {
  for (const mode of modes) {
    const sps = await timeMode(mode, m);
    rows.push({
      width: m,
      mode,
      batch: B,
      steps: T,
      trainStepsPerSec: sps,
      sequencesPerSec: sps * B,
      usefulGflops: (usefulFlops(mode, m) * sps) / 1e9,
    });
  }
}
const after = await ceiling();
const sgemm = Math.max(before.ceiling, after.ceiling);
for (const r of rows) r.fractionOfSgemm = r.usefulGflops / sgemm;
for (const m of widths) {
  const bias = rows.find((r) => r.width === m && r.mode === 'bias');
  const full = rows.find((r) => r.width === m && r.mode === 'full');
  if (bias && full) bias.speedupOverFull = bias.trainStepsPerSec / full.trainStepsPerSec;
}

const result = {
  benchmark: 'rnn-train-step',
  date: new Date().toISOString(),
  command: `node bench/rnn_train_step.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  machine: machineInfo(),
  runtime: runtimeInfo(),
  backend,
  rule: 'bptt',
  sgemmGflops: { before, after, ceiling: sgemm },
  rows,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
renameSync(`${out}.tmp`, out);

console.log(
  `sgemm ceiling (${backend}, ${result.runtime.gemm}): ${sgemm.toFixed(1)} GFLOP/s  ${JSON.stringify(before)} / ${JSON.stringify(after)}`,
);
console.log(`| m | train | train steps/s (T=${T}, B=${B}) | useful GFLOP/s | fraction of sgemm | bias speed-up over full |`);
console.log('|---:|---|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.width} | ${r.mode} | ${r.trainStepsPerSec.toFixed(2)} | ${r.usefulGflops.toFixed(1)} | ${(100 * r.fractionOfSgemm).toFixed(1)}% | ${r.speedupOverFull ? `${r.speedupOverFull.toFixed(2)}x` : ''} |`,
  );
}
console.log(`wrote ${out}`);
