// Train-step throughput of multi-task bias learning: a batch mixing 7 tasks against a batch of one
// task, same model (784 -> H -> 10, 7 tasks, shared frozen readout, bias mode, Adam), same width.
// The mixed batch shares the big [B, I] x [I, H] product across tasks; biases are gathered per
// sample (bias_act_gather) and bias gradients scattered per task (column_sum_scatter), and every
// task present takes its own Adam step. Also measured: a one-task model (K = 1) and the plain MLP
// of the same shape, for reference.
//
// The input-layer cache is off (each step multiplies), so the numbers are those of the general
// path; with --cache on, the cached path (gather of X W_0^T rows) is measured too.
// Rounds alternate between the configurations and the median per configuration is reported,
// so a busy shared machine affects them alike.
//
// Usage: node bench/multitask_throughput.mjs [--widths 4096,16384] [--batch 256] [--tasks 7]
//        [--seconds 2] [--rounds 5] [--cache off|on] [--backend cpu|cuda] [--out bench/results/multitask-throughput-<backend>.json]
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Dataset, MLP, MultitaskDataset, MultitaskModel, Rng, runtimeInfo } from '../dist/index.js';
import { machineInfo } from './machine.mjs';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const widths = arg('widths', '4096,16384').split(',').map(Number);
const batch = Number(arg('batch', '256'));
const K = Number(arg('tasks', '7'));
const minSeconds = Number(arg('seconds', '2'));
const rounds = Number(arg('rounds', '5'));
const withCache = arg('cache', 'off') === 'on';
const backend = arg('backend', 'cpu');
const out = arg('out', `bench/results/multitask-throughput-${backend}.json`);
const I = 784;
const O = 10;
const perTask = batch * 8;

const rng = new Rng(42);
const tasks = Array.from({ length: K }, (_, k) => {
  const x = new Float32Array(perTask * I).map(() => rng.uniform());
  const y = new Int32Array(perTask).map(() => rng.int(O));
  return { name: `task${k}`, data: Dataset.classification(x, I, y, O) };
});
const data = MultitaskDataset.fromTasks(tasks);
const one = MultitaskDataset.fromTasks([tasks[0]]);
// Mixed: a seeded shuffle of the union (every batch holds ~batch/K rows of each task).
const mixedOrder = new Rng(7).permutation(data.n);
// Single-task batches on the same 7-task model: task 0's rows only.
const singleOrder = Int32Array.from({ length: perTask }, (_, i) => i);

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timeIt(step) {
  let samples = 0;
  const t0 = performance.now();
  while ((performance.now() - t0) / 1000 < minSeconds) samples += await step();
  return samples / ((performance.now() - t0) / 1000);
}

const rows = [];
for (const H of widths) {
  const mk = async (k) =>
    MultitaskModel.create({ inputSize: I, hidden: H, tasks: (k === 1 ? one : data).tasks, train: 'bias', seed: 1, backend });
  const mt = await mk(K);
  const mt1 = await mk(1);
  const mlp = await MLP.create({ inputSize: I, hidden: [H], outputSize: O, train: 'bias', seed: 1, backend });
  const lr = 1e-3;
  const configs = [
    {
      name: `mixed ${K}-task batch`,
      step: async (cache) => {
        await mt.trainIndices(data, mixedOrder.subarray(0, perTask), batch, lr, { cacheInputLayer: cache });
        return perTask;
      },
    },
    {
      name: `single-task batch (${K}-task model)`,
      step: async (cache) => {
        await mt.trainIndices(data, singleOrder, batch, lr, { cacheInputLayer: cache });
        return perTask;
      },
    },
    {
      name: 'one-task model',
      step: async (cache) => {
        await mt1.trainIndices(one, singleOrder, batch, lr, { cacheInputLayer: cache });
        return perTask;
      },
    },
    {
      name: 'MLP (single task)',
      step: async (cache) => {
        await mlp.trainIndices(tasks[0].data, singleOrder, batch, lr, { cacheInputLayer: cache });
        return perTask;
      },
    },
  ];
  for (const cache of withCache ? [false, true] : [false]) {
    for (const c of configs) await c.step(cache); // warm-up: workspace, caches, upload
    const rates = configs.map(() => []);
    for (let r = 0; r < rounds; r++)
      for (let i = 0; i < configs.length; i++) rates[i].push(await timeIt(() => configs[i].step(cache)));
    const med = rates.map(median);
    configs.forEach((c, i) => {
      rows.push({
        width: H,
        batch,
        tasks: K,
        inputCache: cache,
        config: c.name,
        samplesPerSec: med[i],
        rounds: rates[i],
        ratioToSingleTaskBatch: med[i] / med[1],
      });
    });
    console.log(
      `H=${H} cache=${cache}: ${configs.map((c, i) => `${c.name} ${med[i].toFixed(0)}/s`).join(', ')}; mixed/single ${(med[0] / med[1]).toFixed(3)}, mixed/MLP ${(med[0] / med[3]).toFixed(3)}`,
    );
    if (cache) for (const m of [mt, mt1, mlp]) await m.endFit();
  }
  mt.dispose();
  mt1.dispose();
  mlp.dispose();
}

const result = {
  benchmark: 'multitask-throughput',
  date: new Date().toISOString(),
  command: `node bench/multitask_throughput.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  machine: machineInfo(),
  runtime: runtimeInfo(),
  backend,
  notes:
    'bias mode, shared frozen readout, Adam; samples/s = median over rounds of (samples / seconds) of trainIndices calls of 8 batches; rounds alternate between configurations',
  rows,
};
mkdirSync(dirname(out), { recursive: true });
writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
renameSync(`${out}.tmp`, out);
console.log('| width | input cache | configuration | samples/s | vs single-task batch |');
console.log('|---:|---|---|---:|---:|');
for (const r of rows)
  console.log(
    `| ${r.width} | ${r.inputCache ? 'on' : 'off'} | ${r.config} | ${r.samplesPerSec.toFixed(0)} | ${(100 * r.ratioToSingleTaskBatch).toFixed(1)}% |`,
  );
console.log(`wrote ${out}`);
