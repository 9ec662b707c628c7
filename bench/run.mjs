// `npm run bench`: every benchmark, one after another. Each prints a table and writes JSON
// under bench/results/. Benchmarks are never part of `npm test`.
import { spawnSync } from 'node:child_process';

const benches = [['bench/mlp_train_step.mjs', ...process.argv.slice(2)]];
for (const [script, ...args] of benches) {
  console.log(`\n== ${script} ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [script, ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
