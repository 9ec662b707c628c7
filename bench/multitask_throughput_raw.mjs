// bench/multitask_throughput.mjs without the TypeScript layer: drives the native addon directly,
// so it runs on a machine with only node and a built addon (no node_modules, no dist), e.g. a
// quiet many-core box. Same model and protocol: 784 -> H -> 10, 7 tasks, shared frozen readout,
// bias mode, Adam, batch 256, no input-layer cache; mixed 7-task batches vs single-task batches of
// the same 7-task model vs a one-task model; rounds alternate, medians reported.
//
// Usage: node bench/multitask_throughput_raw.mjs --addon build/Release/biaslearn.node
//        [--widths 4096,16384] [--batch 256] [--tasks 7] [--seconds 2] [--rounds 5] [--out file.json]
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { machineInfo } from './machine.mjs';

const require = createRequire(import.meta.url);
function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const native = require(resolve(arg('addon', 'build/Release/biaslearn.node')));
const widths = arg('widths', '4096,16384').split(',').map(Number);
const batch = Number(arg('batch', '256'));
const K = Number(arg('tasks', '7'));
const minSeconds = Number(arg('seconds', '2'));
const rounds = Number(arg('rounds', '5'));
const out = arg('out', '');
const I = 784;
const O = 10;
const perTask = batch * 8;

// xorshift for data (values do not matter for throughput)
let s = 42;
const rnd = () => {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return (s >>> 0) / 4294967296;
};
const N = K * perTask;
const x = new Float32Array(N * I).map(() => rnd());
const labels = new Int32Array(N).map(() => Math.floor(rnd() * O));
const task = new Int32Array(N).map((_, i) => Math.floor(i / perTask));
const perm = Int32Array.from({ length: N }, (_, i) => i);
for (let i = N - 1; i > 0; i--) {
  const j = Math.floor(rnd() * (i + 1));
  [perm[i], perm[j]] = [perm[j], perm[i]];
}
const mixedOrder = perm.subarray(0, perTask);
const singleOrder = Int32Array.from({ length: perTask }, (_, i) => i);

const spec = (H, k) => ({
  seed: 1,
  input: I,
  hidden: [H],
  activation: 'relu',
  weightInit: [
    { dist: 'uniform', scale: Math.sqrt(6), relative: true },
    { dist: 'uniform', scale: 30, relative: true },
  ],
  biasInit: [
    { dist: 'zeros', scale: 0, relative: false },
    { dist: 'zeros', scale: 0, relative: false },
  ],
  classes: Array(k).fill(O),
  perTaskReadout: false,
  mode: 'bias',
  maskInit: 0,
  optimizer: { kind: 'adam' },
});

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
async function timeIt(step) {
  let n = 0;
  const t0 = performance.now();
  while ((performance.now() - t0) / 1000 < minSeconds) n += await step();
  return n / ((performance.now() - t0) / 1000);
}

const ds = await native.createMultitaskDataset('cpu', x, I, labels, task, Int32Array.from(Array(K).fill(O)));
const ds1 = await native.createMultitaskDataset(
  'cpu',
  x.subarray(0, perTask * I),
  I,
  labels.subarray(0, perTask),
  new Int32Array(perTask),
  Int32Array.from([O]),
);
const rows = [];
for (const H of widths) {
  const mt = await native.createMultitaskMlp(spec(H, K), 'cpu');
  const mt1 = await native.createMultitaskMlp(spec(H, 1), 'cpu');
  const configs = [
    {
      name: `mixed ${K}-task batch`,
      step: async () => {
        await mt.train(ds, mixedOrder, batch, 1e-3, 1, false);
        return perTask;
      },
    },
    {
      name: `single-task batch (${K}-task model)`,
      step: async () => {
        await mt.train(ds, singleOrder, batch, 1e-3, 1, false);
        return perTask;
      },
    },
    {
      name: 'one-task model',
      step: async () => {
        await mt1.train(ds1, singleOrder, batch, 1e-3, 1, false);
        return perTask;
      },
    },
  ];
  for (const c of configs) await c.step();
  const rates = configs.map(() => []);
  for (let r = 0; r < rounds; r++) for (let i = 0; i < configs.length; i++) rates[i].push(await timeIt(configs[i].step));
  const med = rates.map(median);
  configs.forEach((c, i) => {
    rows.push({ width: H, config: c.name, samplesPerSec: med[i], ratioToSingleTaskBatch: med[i] / med[1], rounds: rates[i] });
  });
  console.log(
    `H=${H}: ${configs.map((c, i) => `${c.name} ${med[i].toFixed(0)}/s`).join(', ')}; mixed/single ${(med[0] / med[1]).toFixed(3)}`,
  );
  mt.dispose();
  mt1.dispose();
}
const result = {
  benchmark: 'multitask-throughput-raw',
  date: new Date().toISOString(),
  machine: machineInfo(),
  info: native.info(),
  batch,
  tasks: K,
  rows,
};
if (out) writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result.rows.map(({ rounds: _r, ...r }) => r)));
