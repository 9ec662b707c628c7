// Worker of test/distributed.test.ts, run as `mpirun -np N node test/mpi/dp_train.mjs <kind> <out.json>`
// (or with plain node for the single-process reference, same arguments). Trains one model kind on
// fixed random data and writes (rank 0) the learned tensors, the history and the frozen-weight
// hashes of every rank.
import { writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import {
  Dataset,
  EnergyNetwork,
  MLP,
  MultitaskDataset,
  MultitaskModel,
  RNN,
  SequenceDataset,
  initDistributed,
  launchedByMpi,
  readNpy,
  setThreads,
} from '../../dist/index.js';

const [kind, out, mode = 'ok'] = process.argv.slice(2);
setThreads(1);
const world = launchedByMpi() ? initDistributed() : undefined;
const rank = world?.rank ?? 0;
if (world && process.env.DP_NCCL === '1') enableNccl(world); // bench/gpu/run_on_device.sh: the NCCL path

function rand(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
const r = rand(12345);
const N = 66; // the last global batch is partial (2 samples: 1 per rank)
const I = 7;

async function build() {
  if (kind === 'mlp') {
    const x = Float32Array.from({ length: N * I }, () => r() * 2 - 1);
    const y = Int32Array.from({ length: N }, () => Math.floor(r() * 3));
    if (mode === 'bad-input' && rank === 1) y[5] = 99; // a label out of range on one rank only
    const model = await MLP.create({
      inputSize: I,
      hidden: [33],
      outputSize: 3,
      train: 'bias',
      seed: mode === 'seed-mismatch' ? 7 + rank : 7,
    });
    const data = Dataset.classification(x, I, y, 3);
    return {
      model,
      fit: () => model.fit(data, { epochs: 3, batchSize: 8, seed: 3 }),
      frozen: [() => model.weights(0), () => model.weights(1)],
    };
  }
  if (kind === 'multitask') {
    const task = (c) => {
      const x = Float32Array.from({ length: 30 * I }, () => r() * 2 - 1);
      return Dataset.classification(
        x,
        I,
        Int32Array.from({ length: 30 }, () => Math.floor(r() * c)),
        c,
      );
    };
    const data = MultitaskDataset.fromTasks([
      { name: 'a', data: task(3) },
      { name: 'b', data: task(4) },
    ]);
    const model = await MultitaskModel.create({
      inputSize: I,
      hidden: 9,
      seed: 3,
      tasks: data.tasks.map((t) => ({ name: t.name, classes: t.classes })),
    });
    return {
      model,
      fit: () => model.fit(data, { epochs: 2, batchSize: 6, seed: 5 }),
      frozen: [() => (model.getTensor ? model.getTensor('layers.0.weight') : new Float32Array())],
    };
  }
  if (kind === 'rnn') {
    const n = 10,
      T = 6;
    const data = SequenceDataset.create({
      inputs: Float32Array.from({ length: n * T * 2 }, () => r() * 2 - 1),
      targets: Float32Array.from({ length: n * T }, () => r() - 0.5),
      steps: T,
      inputSize: 2,
      outputSize: 1,
    });
    const model = await RNN.create({ inputSize: 2, hidden: 12, outputSize: 1, learnInitialState: true, seed: 4 });
    return { model, fit: () => model.fit(data, { epochs: 3, batchSize: 4, seed: 9 }), frozen: [] };
  }
  if (kind === 'energy') {
    const x = Float32Array.from({ length: N * I }, () => r() * 2 - 1);
    const y = Int32Array.from({ length: N }, () => Math.floor(r() * 3));
    const model = await EnergyNetwork.create({
      inputSize: I,
      hidden: 11,
      outputSize: 3,
      seed: 6,
      relaxation: { rule: 'ep-centered', freeSteps: 20, nudgedSteps: 8 },
    });
    const data = Dataset.classification(x, I, y, 3);
    return {
      model,
      fit: () => model.fit(data, { epochs: 2, batchSize: 8, seed: 3 }),
      frozen: [() => model.weights(0), () => model.weights(1)],
    };
  }
  throw new Error(`unknown kind ${kind}`);
}

if (mode === 'missing-file' && rank === 1) readNpy('/nonexistent/biaslearn-missing.npy');
if (mode === 'throw-late' && rank === 1)
  setTimeout(() => {
    throw new Error('rank 1 failed during training');
  }, 50);
const { model, fit, frozen: frozenTensors } = await build();
const history = await fit();
const learned = await model.getLearned();
const tensors = {};
for (const [k, v] of Object.entries(learned)) tensors[k] = Array.from(v);
const frozen = createHash('sha256');
for (const get of frozenTensors) frozen.update(Buffer.from((await get()).buffer));
const learnedHash = createHash('sha256');
for (const v of Object.values(learned)) learnedHash.update(Buffer.from(v.buffer));
const mine = `${frozen.digest('hex')}:${learnedHash.digest('hex')}`;
const all = world ? world.gather(mine) : [mine];
if (rank === 0)
  writeFileSync(
    out,
    JSON.stringify({
      tensors,
      history: history.history ?? history,
      hashes: all,
      ranks: world?.size ?? 1,
      comm: world?.commStats(),
    }),
  );
