// analyzeDynamics at m units: wall time and event-loop lag meanwhile (a 10 ms interval timer;
// lag = actual interval minus 10 ms). Eigenvalues and Newton's solves run through LAPACK on a
// worker; the fixed-point iteration pauses every ~10 ms. Writes bench/results/dynamics-lag.json.
// Usage: npm run build:ts && node bench/dynamics_lag.mjs [--hidden 1024] [--gain 1.5,0.9] [--initial-state]
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { RNN, analyzeDynamics, runtimeInfo } from '../dist/index.js';
import { lapackAvailable } from '../dist/analysis/linalg.js';
import { withLagMonitor } from './lag_monitor.mjs';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const H = Number(arg('hidden', '1024'));
const gains = arg('gain', '1.5,0.9').split(',').map(Number);
const out = arg('out', 'bench/results/dynamics-lag.json');
const initialState = process.argv.includes('--initial-state');

const runs = [];
// Random biases (uniform +-0.5) move the fixed point off the origin, so the iteration (and Newton) do real work.
const cases = gains.flatMap((gain) => [
  { gain, bias: 0 },
  { gain, bias: 0.5 },
]);
for (const { gain, bias } of cases) {
  const biasInit = bias ? { dist: 'uniform', scale: bias, relative: false } : undefined;
  const rnn = await RNN.create({
    inputSize: 1,
    hidden: H,
    outputSize: 1,
    seed: 1,
    recurrentGain: gain,
    ...(biasInit ? { biasInit } : {}),
  });
  const { result: a, seconds, ticks, maxLagMs, p99LagMs } = await withLagMonitor(() => analyzeDynamics(rnn, { initialState }));
  const run = {
    hidden: H,
    recurrentGain: gain,
    biasScale: bias,
    initialState,
    seconds,
    maxLagMs,
    p99LagMs,
    ticks,
    fixedPoint: {
      converged: a.fixedPoint.converged,
      iterations: a.fixedPoint.iterations,
      damping: a.fixedPoint.damping,
      residual: a.fixedPoint.residual,
    },
    weightSpectralRadius: a.weightSpectrum.spectralRadius,
  };
  console.log(JSON.stringify(run));
  runs.push(run);
  rnn.dispose();
}
const result = {
  bench: 'dynamics-lag',
  lapack: lapackAvailable(),
  createdAt: new Date().toISOString(),
  runtime: runtimeInfo(),
  runs,
};
mkdirSync('bench/results', { recursive: true });
writeFileSync(`${out}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
renameSync(`${out}.tmp`, out);
