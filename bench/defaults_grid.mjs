// The measurements behind the library's defaults: bias-only MLPs on Fashion-MNIST with
// different frozen-readout scales, hidden scales, learning rates and schedules.
// Usage: node bench/defaults_grid.mjs H EPOCHS LR HIDDEN_SCALE READOUT_SCALE [BATCH] [DIST] [cos]
//   e.g. node bench/defaults_grid.mjs 4096 2 0.05 2.449 30
// Prints one JSON line: test accuracy per epoch (val_acc), train accuracy, samples/s.
import { MLP, cosineDecay, loadFashionMnist } from '../dist/index.js';

const [H, epochs, lr, hs, rs, bs, dist, sched] = process.argv.slice(2);
if (!rs) {
  console.error('usage: node bench/defaults_grid.mjs H EPOCHS LR HIDDEN_SCALE READOUT_SCALE [BATCH] [uniform|normal] [cos]');
  process.exit(2);
}
const train = await loadFashionMnist({ split: 'train' });
const test = await loadFashionMnist({ split: 'test' });
const model = await MLP.create({
  inputSize: 784,
  hidden: [+H],
  outputSize: 10,
  train: 'bias',
  seed: 1,
  weightInit: { scale: +hs, dist: dist ?? 'uniform' },
  readoutInit: { scale: +rs, dist: dist ?? 'uniform' },
  optimizer: { lr: +lr },
});
const t0 = Date.now();
const h = await model.fit(train, {
  epochs: +epochs,
  batchSize: +(bs ?? 256),
  validationData: test,
  ...(sched === 'cos' ? { lrSchedule: cosineDecay({ epochs: +epochs }) } : {}),
});
console.log(
  JSON.stringify({
    H: +H,
    lr: +lr,
    hiddenScale: +hs,
    readoutScale: +rs,
    batch: +(bs ?? 256),
    dist: dist ?? 'uniform',
    schedule: sched === 'cos' ? 'cosine' : 'constant',
    val_acc: h.history.val_acc.map((v) => +v.toFixed(4)),
    acc: h.history.acc.map((v) => +v.toFixed(4)),
    seconds: (Date.now() - t0) / 1000,
  }),
);
