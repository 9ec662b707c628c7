/**
 * The native MLP against an independent float64 reference (test/helpers/reference_mlp.ts) built
 * from the model's own weights and biases:
 *   - predict == reference forward (atol 1e-4 + rtol 1e-4 * |ref|) for random architectures
 *     (hidden widths 1, 7, 1023; 1-4 layers), every activation, both losses, 1030 rows (crosses
 *     the 1024-row predict chunk);
 *   - evaluate's mean loss / accuracy == reference;
 *   - model.gradients(batch) == central finite differences of the float64 mean loss
 *     (step h = 1e-4 in float64), for train 'bias', 'readout', 'full' and per-layer choices,
 *     both losses, every activation. Error = ||g - fd|| / max(||fd||, 1e-6) per tensor, <= 1e-3.
 *     For activations with kinks (relu, leaky-relu, hard-sigmoid) the inputs are re-drawn until
 *     every hidden pre-activation is >= 1e-2 from a kink, so the finite differences never straddle one.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { ACTIVATIONS, Dataset, LOSSES, MLP, Rng, type LossName, type TrainableSet } from '../src/index.js';
import { assertClose, randomLabels, randomNormalF32, relNormError, sameBits } from './helpers/numeric.js';
import {
  finiteDiffGrad,
  refForward,
  refForwardFull,
  refLoss,
  refSampleLosses,
  referenceFromModel,
  type RefTargets,
} from './helpers/reference_mlp.js';

const FD_STEP = 1e-4;
const GRAD_TOL = 1e-3;
const KINK_MARGIN = 1e-2;
let worstGradError = 0;
let worstGradCase = '';

afterAll(() => {
  console.log(
    `[core.reference] worst gradient relative error ||g - fd|| / ||fd|| = ${worstGradError.toExponential(2)} (${worstGradCase})`,
  );
});

function makeData(
  rng: Rng,
  n: number,
  inputSize: number,
  outputSize: number,
  loss: LossName,
): { ds: Dataset; targets: RefTargets } {
  const x = randomNormalF32(rng, n * inputSize, 1);
  if (loss === 'softmax-cross-entropy') {
    const labels = randomLabels(rng, n, outputSize);
    return { ds: Dataset.classification(x, inputSize, labels, outputSize), targets: { kind: 'classes', labels } };
  }
  const values = randomNormalF32(rng, n * outputSize, 1);
  return { ds: Dataset.regression(x, inputSize, values, outputSize), targets: { kind: 'values', values } };
}

describe('predict matches the float64 reference forward pass', () => {
  const ARCHS: { inputSize: number; hidden: number[]; outputSize: number }[] = [
    { inputSize: 13, hidden: [], outputSize: 3 }, // depth 1
    { inputSize: 7, hidden: [1], outputSize: 3 },
    { inputSize: 1, hidden: [7], outputSize: 1 },
    { inputSize: 13, hidden: [1023], outputSize: 10 },
    { inputSize: 7, hidden: [7, 1], outputSize: 3 }, // depth 3
    { inputSize: 13, hidden: [1023, 7], outputSize: 10 },
    { inputSize: 5, hidden: [1, 1023], outputSize: 7 },
    { inputSize: 3, hidden: [7, 13, 5], outputSize: 2 }, // depth 4
  ];
  let caseNo = 0;
  for (const arch of ARCHS) {
    for (const activation of ACTIVATIONS) {
      for (const loss of LOSSES) {
        const seed = 1000 + caseNo++;
        it(`${arch.inputSize} -> [${arch.hidden.join(', ')}] -> ${arch.outputSize}, ${activation}, ${loss}`, async () => {
          const model = await MLP.create({
            ...arch,
            activation,
            loss,
            seed,
            // non-zero biases, and both weight distributions
            biasInit: { dist: 'uniform', scale: 0.5, relative: false },
            weightInit: seed % 2 ? { dist: 'normal', scale: 1.5, relative: true } : undefined,
          });
          try {
            const rng = new Rng(seed);
            const n = 5;
            const x = randomNormalF32(rng, n * arch.inputSize, 1);
            const got = await model.predict(x);
            expect(got).toBeInstanceOf(Float32Array);
            expect(got.length).toBe(n * arch.outputSize);
            const ref = await referenceFromModel(model);
            // the biases really are non-zero (otherwise the test would not exercise them)
            expect(ref.layers.every((l) => l.b.some((v) => v !== 0))).toBe(true);
            assertClose('predict', got, refForward(ref, x, n), 1e-4, 1e-4);
          } finally {
            model.dispose();
          }
        });
      }
    }
  }

  it('1030 rows (more than one 1024-row chunk) match row by row', async () => {
    const model = await MLP.create({
      inputSize: 9,
      hidden: [31],
      outputSize: 4,
      activation: 'tanh',
      seed: 77,
      biasInit: { dist: 'normal', scale: 0.3, relative: false },
    });
    const rng = new Rng(77);
    const n = 1030;
    const x = randomNormalF32(rng, n * 9, 1);
    const got = await model.predict(x);
    const ref = await referenceFromModel(model);
    assertClose('predict 1030 rows', got, refForward(ref, x, n), 1e-4, 1e-4);
    // a single row agrees with the same row inside the big batch (not bit for bit: BLAS may
    // pick a different kernel for one row)
    const one = await model.predict(x.slice(1025 * 9, 1026 * 9));
    assertClose('single row vs row 1025 of the batch', one, got.slice(1025 * 4, 1026 * 4), 1e-6, 1e-6);
    model.dispose();
  });

  for (const loss of LOSSES) {
    it(`evaluate gives the reference mean loss${loss === 'softmax-cross-entropy' ? ' and accuracy' : ''} (${loss})`, async () => {
      const model = await MLP.create({
        inputSize: 6,
        hidden: [11],
        outputSize: 4,
        activation: 'sigmoid',
        loss,
        seed: 5,
        biasInit: { dist: 'uniform', scale: 1, relative: false },
      });
      const rng = new Rng(55);
      const n = 300;
      const { ds, targets } = makeData(rng, n, 6, 4, loss);
      const ref = await referenceFromModel(model);
      const out = refForward(ref, ds.x, n);
      const per = refSampleLosses(loss, out, n, 4, targets);
      const mean = per.reduce((s, v) => s + v, 0) / n;
      const r = await model.evaluate(ds, { batchSize: 64 });
      expect(r.n).toBe(n);
      assertClose('evaluate loss', [r.loss], [mean], 1e-6, 1e-5);
      if (loss === 'softmax-cross-entropy') {
        let hits = 0;
        for (let i = 0; i < n; i++) {
          let best = 0;
          for (let o = 1; o < 4; o++) if (out[i * 4 + o]! > out[i * 4 + best]!) best = o;
          if (targets.kind === 'classes' && best === targets.labels[i]) hits++;
        }
        expect(r.accuracy).toBe(hits / n);
      } else {
        expect(r.accuracy).toBeUndefined();
      }
      model.dispose();
    });
  }
});

interface GradCase {
  label: string;
  train: TrainableSet;
  hidden: number[];
  expected: string[];
}

const GRAD_CASES: GradCase[] = [
  { label: 'bias', train: 'bias', hidden: [7, 6], expected: ['layers.0.bias', 'layers.1.bias', 'layers.2.bias'] },
  { label: 'readout', train: 'readout', hidden: [7, 6], expected: ['layers.2.weight', 'layers.2.bias'] },
  {
    label: 'full',
    train: 'full',
    hidden: [7, 6],
    expected: ['layers.0.weight', 'layers.0.bias', 'layers.1.weight', 'layers.1.bias', 'layers.2.weight', 'layers.2.bias'],
  },
  {
    label: 'per-layer [bias | weight]',
    train: {
      layers: [
        { weight: false, bias: true },
        { weight: true, bias: false },
      ],
    },
    hidden: [7],
    expected: ['layers.0.bias', 'layers.1.weight'],
  },
  {
    label: 'per-layer [frozen | weight | bias]',
    train: {
      layers: [
        { weight: false, bias: false },
        { weight: true, bias: false },
        { weight: false, bias: true },
      ],
    },
    hidden: [7, 6],
    expected: ['layers.1.weight', 'layers.2.bias'],
  },
];

describe('gradients match central finite differences of the float64 reference loss', () => {
  let caseNo = 0;
  for (const gc of GRAD_CASES) {
    for (const loss of LOSSES) {
      for (const activation of ACTIVATIONS) {
        for (const n of [1, 7]) {
          const seed = 5000 + caseNo++;
          it(`train ${gc.label}, ${loss}, ${activation}, batch ${n}`, async () => {
            const inputSize = 5;
            const outputSize = 4;
            const model = await MLP.create({
              inputSize,
              hidden: gc.hidden,
              outputSize,
              activation,
              loss,
              train: gc.train,
              seed,
              biasInit: { dist: 'uniform', scale: 0.5, relative: false },
            });
            try {
              const names = model.learnedTensors().map((t) => t.name);
              expect([...names].sort()).toEqual([...gc.expected].sort());
              const ref = await referenceFromModel(model);
              // inputs away from relu kinks (see the file comment)
              const rng = new Rng(seed);
              let data = makeData(rng, n, inputSize, outputSize, loss);
              for (let tries = 0; refForwardFull(ref, data.ds.x, n).minKinkMargin < KINK_MARGIN; tries++) {
                if (tries > 200) throw new Error(`could not draw inputs away from the ${activation} kinks`);
                data = makeData(rng, n, inputSize, outputSize, loss);
              }
              const before = await model.getLearned();
              const r = await model.gradients(data.ds);
              assertClose('gradients().loss (mean)', [r.loss], [refLoss(ref, data.ds.x, n, data.targets)], 1e-6, 1e-5);
              expect(Object.keys(r.grads).sort()).toEqual([...gc.expected].sort());
              for (const name of gc.expected) {
                const g = r.grads[name]!;
                expect(g).toBeInstanceOf(Float32Array);
                const fd = finiteDiffGrad(ref, name, data.ds.x, n, data.targets, FD_STEP);
                expect(g.length).toBe(fd.length);
                const err = relNormError(g, fd, 1e-6);
                if (err > worstGradError) {
                  worstGradError = err;
                  worstGradCase = `${gc.label} ${loss} ${activation} n=${n} ${name}`;
                }
                expect(
                  err,
                  `${name}: ||g - fd|| / ||fd|| (||fd|| = ${Math.sqrt(fd.reduce((s, v) => s + v * v, 0)).toExponential(2)})`,
                ).toBeLessThanOrEqual(GRAD_TOL);
              }
              // gradients() must not update anything
              const after = await model.getLearned();
              for (const name of gc.expected) expect(sameBits(after[name]!, before[name]!)).toBe(true);
            } finally {
              model.dispose();
            }
          });
        }
      }
    }
  }

  it("in 'bias' mode no weight is learned and gradients() returns only biases", async () => {
    const model = await MLP.create({ inputSize: 8, hidden: [16, 9], outputSize: 3, train: 'bias', seed: 3 });
    const tensors = model.learnedTensors();
    expect(tensors).toEqual([
      { name: 'layers.0.bias', size: 16 },
      { name: 'layers.1.bias', size: 9 },
      { name: 'layers.2.bias', size: 3 },
    ]);
    expect(tensors.some((t) => t.name.endsWith('.weight'))).toBe(false);
    const rng = new Rng(3);
    const { ds } = makeData(rng, 4, 8, 3, 'softmax-cross-entropy');
    const r = await model.gradients(ds);
    expect(Object.keys(r.grads).sort()).toEqual(['layers.0.bias', 'layers.1.bias', 'layers.2.bias']);
    // the bias gradients are real (non-zero) numbers
    for (const g of Object.values(r.grads)) expect(g.some((v) => v !== 0 && Number.isFinite(v))).toBe(true);
    const learned = await model.getLearned();
    expect(Object.keys(learned).sort()).toEqual(['layers.0.bias', 'layers.1.bias', 'layers.2.bias']);
    model.dispose();
  });
});
