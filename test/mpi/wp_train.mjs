// Worker of test/distributed.test.ts: `mpirun -np N node test/mpi/wp_train.mjs <train> <out.json> [mlp|multitask]`
// trains a width-parallel MLP or multi-task MLP (hidden units split over the ranks); with plain
// node the same network in one process. Rank 0 writes the full learned tensors (gathered), the history, the
// predictions and the logits-allreduce bytes per step.
import { writeFileSync } from 'node:fs';
import { Dataset, MLP, MultitaskDataset, MultitaskModel, initDistributed, launchedByMpi, setThreads } from '../../dist/index.js';

const [train, out, kind = 'mlp'] = process.argv.slice(2);
setThreads(1);
const world = launchedByMpi() ? initDistributed() : undefined;
let s = 99;
const r = () => {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  return s / 4294967296;
};
const N = 45;
const I = 6;
const x = Float32Array.from({ length: N * I }, () => r() * 2 - 1);
const y = Int32Array.from({ length: N }, () => Math.floor(r() * 4));
const data = Dataset.classification(x, I, y, 4);
// hidden 37: an odd width, 18 + 19 units on 2 ranks
let model;
let fitData = data;
if (kind === 'multitask') {
  const half = (lo, hi, c) =>
    Dataset.classification(
      x.slice(lo * I, hi * I),
      I,
      Int32Array.from(y.subarray(lo, hi), (v) => v % c),
      c,
    );
  fitData = MultitaskDataset.fromTasks([
    { name: 'a', data: half(0, 20, 3) },
    { name: 'b', data: half(20, N, 4) },
  ]);
  const options = {
    inputSize: I,
    hidden: 37,
    seed: 11,
    train,
    tasks: fitData.tasks.map((t) => ({ name: t.name, classes: t.classes })),
  };
  model = world ? await MultitaskModel.createWidthParallel(options) : await MultitaskModel.create(options);
} else {
  const options = { inputSize: I, hidden: [37], outputSize: 4, train, seed: 11 };
  model = world ? await MLP.createWidthParallel(options) : await MLP.create(options);
}
const initial = world ? await model.gatherLearned() : await model.getLearned();
world?.commStats(true);
const history = await model.fit(fitData, { epochs: 3, batchSize: 8, seed: 2, cacheInputLayer: train === 'bias' });
const comm = world?.commStats();
const learned = world ? await model.gatherLearned() : await model.getLearned();
const predictions =
  kind === 'multitask'
    ? await model.predict(x.subarray(0, 5 * I), 1)
    : await model.predict(x.subarray(0, 5 * I), { output: 'logits' });
const frozen = undefined;
if (!world || world.rank === 0)
  writeFileSync(
    out,
    JSON.stringify({
      initial: Object.fromEntries(Object.entries(initial).map(([k, v]) => [k, Array.from(v)])),
      tensors: Object.fromEntries(Object.entries(learned).map(([k, v]) => [k, Array.from(v)])),
      history: history.history,
      predictions: Array.from(predictions),
      frozen,
      steps: 3 * Math.ceil(N / 8),
      comm,
    }),
  );
