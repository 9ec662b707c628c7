// One rank of bench/distributed.mjs (run by mpirun): trains the bias-learning MLP data-parallel
// for a fixed number of global batches on random data and prints one JSON line from rank 0:
// global samples/s, and per step the time inside the gradient allreduce and its bytes.
import { Dataset, MLP, initDistributed, setThreads } from '../dist/index.js';

const [width, perRank, steps, inputs] = process.argv.slice(2, 6).map(Number);
// 'data': data-parallel, perRank samples per rank per step; 'width': width-parallel, every rank
// sees the whole batch of perRank samples and holds width / ranks hidden units.
const mode = process.argv[6] ?? 'data';
setThreads(1);
const world = initDistributed();
const batch = mode === 'width' ? perRank : perRank * world.size;
const n = batch * steps;
let s = 1;
const rand = () => {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  return s / 4294967296;
};
const x = Float32Array.from({ length: n * inputs }, () => rand());
const y = Int32Array.from({ length: n }, () => Math.floor(rand() * 10));
const data = Dataset.classification(x, inputs, y, 10);
const options = { inputSize: inputs, hidden: [width], outputSize: 10, train: 'bias', seed: 1 };
const model = mode === 'width' && world.size > 1 ? await MLP.createWidthParallel(options) : await MLP.create(options);
// One warm-up epoch (allocations, first-touch), then the timed one. No input cache: every step
// runs its gemm, as on data that does not repeat.
await model.fit(data, { epochs: 1, batchSize: batch, seed: 1, cacheInputLayer: false });
world.barrier();
world.commStats(true);
const t0 = performance.now();
await model.fit(data, { epochs: 1, batchSize: batch, seed: 2, cacheInputLayer: false });
world.barrier();
const seconds = (performance.now() - t0) / 1000;
const comm = world.commStats();
const rss = world.allreduce([process.memoryUsage().rss], 'max')[0];
if (world.rank === 0)
  console.log(
    JSON.stringify({
      mode,
      ranks: world.size,
      width,
      batchPerRank: perRank,
      steps,
      seconds,
      samplesPerSec: n / seconds,
      commSecondsPerStep: comm.calls ? comm.seconds / comm.calls : 0,
      commBytesPerStep: comm.calls ? comm.bytes / comm.calls : 0,
      maxRssMiB: rss / 2 ** 20,
      // frozen W_0 [H_r, 784] and readout W_1 [10, H_r] held by one rank (float32)
      weightMiBPerRank: ((mode === 'width' ? Math.ceil(width / world.size) : width) * (inputs + 10) * 4) / 2 ** 20,
    }),
  );
