// A few bias-only MLP train steps on CUDA (784 -> 16384 -> 10, batch 1024, no input cache), to
// run under Nsight Compute for per-kernel times:
//   ncu --metrics gpu__time_duration.sum --print-summary per-kernel node bench/gpu/profile_mlp_step.mjs
import { Dataset, MLP, Rng } from '../../dist/index.js';

const H = Number(process.argv[2] ?? 16384);
const B = Number(process.argv[3] ?? 1024);
const rng = new Rng(1);
const n = B * 4;
const x = new Float32Array(n * 784).map(() => rng.uniform());
const labels = new Int32Array(n).map(() => rng.int(10));
const data = Dataset.classification(x, 784, labels, 10);
const model = await MLP.create({ inputSize: 784, hidden: [H], outputSize: 10, train: 'bias', seed: 1, backend: 'cuda' });
const order = Int32Array.from({ length: n }, (_, i) => i);
await model.trainIndices(data, order, B, 1e-2, { cacheInputLayer: false });
console.log('done');
