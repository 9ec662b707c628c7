// Writes the golden checkpoints of test/core.golden.test.ts: small trained models of every kind
// (MLP bias and full, multi-task bias and mask, RNN bias), the inputs they are evaluated on, and
// the outputs that the release which wrote them predicted. Run once, from the release whose
// checkpoints must stay loadable: `npm run build:ts && node test/golden/generate.mjs`.
// The files are committed; the test only reads them.
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Dataset, MLP, MultitaskDataset, MultitaskModel, RNN, Rng, SequenceDataset } from '../../dist/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const rng = new Rng(20261201);
const normal = (n) => Float32Array.from({ length: n }, () => rng.normal());
const labels = (n, k) => Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * k));
const f32 = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const i32 = f32;

async function put(name, bytes) {
  await writeFile(join(here, name), bytes);
}

// MLP 13 -> 17 -> 5, relu; 40 training samples, 9 evaluation rows.
const mlpTrain = Dataset.classification(normal(40 * 13), 13, labels(40, 5), 5);
const mlpX = normal(9 * 13);
await put('mlp.x.f32', f32(mlpX));
for (const train of ['bias', 'full']) {
  const m = await MLP.create({ inputSize: 13, hidden: [17], outputSize: 5, train, seed: 11 });
  await m.fit(mlpTrain, { epochs: 2, batchSize: 8, seed: 3 });
  await m.save(join(here, `mlp-${train}.blck`));
  await put(`mlp-${train}.y.f32`, f32(await m.predict(mlpX)));
  m.dispose();
}

// Multi-task 11 -> [7, 5] -> per-task readouts (3 and 4 classes), tanh; bias and mask modes.
const tasks = [
  { name: 'a', data: Dataset.classification(normal(30 * 11), 11, labels(30, 3), 3) },
  { name: 'b', data: Dataset.classification(normal(30 * 11), 11, labels(30, 4), 4) },
];
const mtData = MultitaskDataset.fromTasks(tasks);
const mtX = normal(6 * 11);
const mtTask = Int32Array.from([0, 1, 1, 0, 1, 0]);
await put('multitask.x.f32', f32(mtX));
await put('multitask.task.i32', i32(mtTask));
for (const train of ['bias', 'mask']) {
  const m = await MultitaskModel.create({
    inputSize: 11,
    hidden: [7, 5],
    activation: 'tanh',
    train,
    seed: 12,
    readout: 'per-task',
    tasks: tasks.map((t) => ({ name: t.name, classes: t.data.outputSize })),
  });
  await m.fit(mtData, { epochs: 2, batchSize: 10, seed: 4 });
  await m.save(join(here, `multitask-${train}.blck`));
  await put(`multitask-${train}.y.f32`, f32(await m.predict(mtX, mtTask)));
  m.dispose();
}

// RNN 2 -> 19 -> 1 (leaky, alpha 0.5), bias + initial state learned; 4 sequences of 12 steps.
const seqs = () =>
  SequenceDataset.create({ inputs: normal(4 * 12 * 2), targets: normal(4 * 12), steps: 12, inputSize: 2, outputSize: 1 });
const rnnTrain = seqs();
const rnnEval = seqs();
await put('rnn.x.f32', f32(rnnEval.inputs));
await put('rnn.t.f32', f32(rnnEval.targets));
const rnn = await RNN.create({ inputSize: 2, hidden: 19, outputSize: 1, alpha: 0.5, learnInitialState: true, seed: 13 });
await rnn.fit(rnnTrain, { epochs: 3, batchSize: 2, seed: 5 });
await rnn.save(join(here, 'rnn-bias.blck'));
await put('rnn-bias.y.f32', f32((await rnn.predict(rnnEval)).outputs));
rnn.dispose();
console.log('golden checkpoints written to', here);
