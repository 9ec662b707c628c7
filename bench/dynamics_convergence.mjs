// The 20-seed convergence study of docs/dynamics.md (Williams, Payeur & Lajoie 2026, section
// "convergence"): BPTT, one-step tBPTT, RFLO and e-prop, each from `--seeds` random starts on a
// mode-aligned teacher (H = 16 hidden, I = O = 4, 4 modes, T = 20, batch 64, K = 4000 updates,
// lr 0.02), two simulations at once. Prints the table and the wall time; also measures the event
// loop lag meanwhile (the simulations run on workers). Writes bench/results/dynamics-convergence.json.
// Usage: npm run build:ts && node bench/dynamics_convergence.mjs [--seeds 20] [--iterations 4000] [--lr 0.02] [--rules bptt,rflo] [--concurrency 2]
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dynamics } from '../dist/index.js';
import { withLagMonitor } from './lag_monitor.mjs';
import { machineInfo } from './machine.mjs';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const options = {
  seeds: Number(arg('seeds', '20')),
  iterations: Number(arg('iterations', '4000')),
  concurrency: Number(arg('concurrency', '2')),
  hidden: Number(arg('hidden', '16')),
  inputSize: 4,
  outputSize: 4,
  modes: 4,
  steps: 20,
  batch: 64,
  lr: Number(arg('lr', '0.02')),
  threshold: 1e-2,
  rules: arg('rules', 'bptt,tbptt,rflo,eprop').split(','),
};
const out = arg('out', 'bench/results/dynamics-convergence.json');

let last = -1;
const {
  result: study,
  seconds,
  maxLagMs,
  p99LagMs,
} = await withLagMonitor(() =>
  dynamics.convergenceStudy({
    ...options,
    onProgress: (done, total) => {
      const tenth = Math.floor((10 * done) / total);
      if (tenth !== last) {
        last = tenth;
        process.stderr.write(`${done}/${total}\n`);
      }
    },
  }),
);

console.log(`criterion: ${study.criterion}`);
console.log('rule    converged  median rel. loss  mean s/run');
for (const s of study.summary) {
  const mine = study.runs.filter((r) => r.rule === s.rule);
  const perRun = mine.reduce((a, r) => a + r.seconds, 0) / mine.length;
  console.log(
    `${s.rule.padEnd(7)} ${`${s.converged}/${s.runs}`.padStart(9)}  ${s.medianRelativeLoss.toExponential(2).padStart(16)}  ${perRun.toFixed(2).padStart(10)}`,
  );
}
console.log(
  `${study.runs.length} runs in ${seconds.toFixed(1)} s (event-loop lag max ${maxLagMs.toFixed(1)} ms, p99 ${p99LagMs.toFixed(1)} ms)`,
);

const result = { benchmark: 'dynamics-convergence', options, seconds, maxLagMs, p99LagMs, study, machine: machineInfo() };
mkdirSync('bench/results', { recursive: true });
writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
renameSync(`${out}.tmp`, out);
console.log(`wrote ${out}`);
