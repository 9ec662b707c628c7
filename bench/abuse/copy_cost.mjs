#!/usr/bin/env node
// The cost of copying inputs on the JS thread (issue 14, point 1): the longest the event loop is
// blocked (max gap of a 2 ms interval timer) while MLP predict or dataset creation copies x
// (native/addon/staged_copy.h: fresh memory touched on a worker, then one memcpy on the JS
// thread), next to an idle wait and to x.slice() in JavaScript. Median over `--reps`. A rough
// figure: run on a quiet machine for a real one.
//
//   npm run build:ts && node bench/abuse/copy_cost.mjs [--reps 5] [--sizes 4,64,256]   (MiB of x)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { MLP } = await import(join(root, 'dist', 'index.js'));
const { nativeFor } = await import(join(root, 'dist', 'native', 'binding.js'));
const { machineInfo } = await import(join(root, 'bench', 'machine.mjs'));
const args = process.argv.slice(2);
const at = (k, d) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const reps = Number(at('--reps', 5));
const sizes = at('--sizes', '4,64,256').split(',').map(Number);
const I = 256;
const nat = nativeFor('cpu');
const model = await MLP.create({ inputSize: I, hidden: 8, outputSize: 2, seed: 1 });
const h = model.native.live();

const median = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
/** The longest event-loop block while f() runs, in ms (median over reps). */
async function lagMs(f) {
  const t = [];
  for (let r = 0; r < reps; r++) {
    let last = performance.now();
    let max = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      max = Math.max(max, now - last - 2);
      last = now;
    }, 2);
    await f();
    clearInterval(timer);
    t.push(max);
  }
  return median(t);
}
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

const rows = [];
for (const mib of sizes) {
  const n = Math.floor((mib * 2 ** 20) / 4 / I);
  const x = new Float32Array(n * I).fill(0.5);
  const labels = new Int32Array(n);
  const idle = await lagMs(() => pause(100));
  const predict = await lagMs(() => h.predict(x));
  const dataset = await lagMs(() => nat.createDataset('cpu', x, I, labels, 2, null, 0));
  const slice = await lagMs(async () => {
    x.slice();
    await pause(20);
  });
  const row = { mib, rows: n, idleLagMs: idle, predictLagMs: predict, datasetLagMs: dataset, sliceLagMs: slice };
  rows.push(row);
  console.log(
    `${String(mib).padStart(5)} MiB  max event-loop block: idle ${idle.toFixed(1)} ms, predict ${predict.toFixed(1)} ms, createDataset ${dataset.toFixed(1)} ms, x.slice() ${slice.toFixed(1)} ms`,
  );
}
model.dispose();
const out = join(root, 'bench', 'results', 'copy_cost.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ machine: machineInfo(), reps, rows }, null, 2)}\n`);
