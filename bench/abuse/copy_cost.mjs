#!/usr/bin/env node
// The cost of copying inputs on the JS thread (issue 14, point 1): how long the synchronous part
// of a native call (argument checks + the copy of x) blocks the event loop, by input size, for
// MLP predict and dataset creation. Median of `--reps` calls; the Promise is awaited outside the
// timing. A rough figure: run on a quiet machine for a real one.
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
async function syncMs(call) {
  const t = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    const p = call();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await p;
  }
  return median(t);
}

const rows = [];
for (const mib of sizes) {
  const n = Math.floor((mib * 2 ** 20) / 4 / I);
  const x = new Float32Array(n * I).fill(0.5);
  const labels = new Int32Array(n);
  const predict = await syncMs(() => h.predict(x));
  const dataset = await syncMs(() => nat.createDataset('cpu', x, I, labels, 2, null, 0));
  const row = { mib, rows: n, predictSyncMs: predict, datasetSyncMs: dataset, gbPerS: mib / 1024 / (predict / 1e3) };
  rows.push(row);
  console.log(
    `${String(mib).padStart(5)} MiB  predict ${predict.toFixed(2).padStart(8)} ms  createDataset ${dataset.toFixed(2).padStart(8)} ms  (${row.gbPerS.toFixed(1)} GiB/s)`,
  );
}
model.dispose();
const out = join(root, 'bench', 'results', 'copy_cost.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ machine: machineInfo(), reps, rows }, null, 2)}\n`);
