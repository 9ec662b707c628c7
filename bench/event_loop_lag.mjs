// Event-loop responsiveness during fit: a 10 ms interval timer runs while a bias-learning MLP
// trains; reports the worst and the 99th-percentile lag (actual interval minus 10 ms).
// Usage: node bench/event_loop_lag.mjs [--hidden 4096] [--samples 20000] [--epochs 1] [--cache auto|false]
import { writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { Dataset, MLP, Rng, runtimeInfo } from '../dist/index.js';
import { withLagMonitor } from './lag_monitor.mjs';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const H = Number(arg('hidden', '4096'));
const n = Number(arg('samples', '20000'));
const epochs = Number(arg('epochs', '1'));
const cache = arg('cache', 'false') === 'auto' ? 'auto' : false;
const out = arg('out', 'bench/results/event-loop-lag.json');

const rng = new Rng(1);
const x = new Float32Array(n * 784).map(() => rng.uniform());
const labels = new Int32Array(n).map(() => rng.int(10));
const data = Dataset.classification(x, 784, labels, 10);
const model = await MLP.create({ inputSize: 784, hidden: [H], outputSize: 10, train: 'bias', seed: 1 });

const lag = await withLagMonitor(() => model.fit(data, { epochs, batchSize: 256, cacheInputLayer: cache }));
const result = {
  benchmark: 'event-loop-lag',
  date: new Date().toISOString(),
  command: `node bench/event_loop_lag.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  runtime: runtimeInfo(),
  hidden: H,
  samples: n,
  epochs,
  cacheInputLayer: cache,
  fitSeconds: lag.seconds,
  ticks: lag.ticks,
  maxLagMs: lag.maxLagMs,
  p99LagMs: lag.p99LagMs,
  medianLagMs: lag.medianLagMs,
};
mkdirSync('bench/results', { recursive: true });
writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
renameSync(`${out}.tmp`, out);
console.log(
  `fit ${lag.seconds.toFixed(1)} s, ${lag.ticks} ticks of a 10 ms timer: max lag ${result.maxLagMs.toFixed(1)} ms, p99 ${result.p99LagMs.toFixed(1)} ms, median ${result.medianLagMs.toFixed(2)} ms`,
);
