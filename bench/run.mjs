// `npm run bench`: every benchmark, one after another. Each prints a table and writes JSON
// under bench/results/. Benchmarks are never part of `npm test`.
import { spawnSync } from 'node:child_process';

// `npm run bench -- --seconds 1` passes extra flags to the MLP benchmark only.
const benches = [
  ['bench/mlp_train_step.mjs', ...process.argv.slice(2)],
  ['bench/event_loop_lag.mjs'],
  ['bench/rnn_train_step.mjs'],
  ['bench/multitask_throughput.mjs'],
];
for (const [script, ...args] of benches) {
  console.log(`\n== ${script} ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [script, ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
