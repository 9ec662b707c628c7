/**
 * The CUDA backend against the CPU backend, through the public API only.
 *
 * Frozen weights must be bit-identical (same counter-based generator, no FMA on either side).
 * Everything else agrees to float rounding: cuBLAS and our kernels sum in another order than the
 * CPU, so outputs, gradients and trained values are compared with the tolerances stated at each
 * check. The CUDA backend must also repeat itself bit for bit (fixed reduction orders), including
 * when two models train at once from two worker threads.
 *
 * The whole file skips, printing why, when biaslearn_cuda.node is not built or loads but finds
 * no driver / device (BackendUnavailableError), or when BIASLEARN_CUDA_TF32=1 (TF32 products
 * are outside these FP32 tolerances).
 */
import { describe, it, expect } from 'vitest';
import {
  BackendUnavailableError,
  Dataset,
  MLP,
  cudaAvailable,
  generateWeights,
  type Activation,
  type BackendName,
  type MLPOptions,
  type OptimizerOptions,
  type TrainableSet,
  type WeightDistribution,
} from '../src/index.js';
import { Rng } from '../src/util/rng.js';

// ---------------------------------------------------------------- availability

async function cudaSkipReason(): Promise<string | null> {
  if (process.env.BIASLEARN_CUDA_TF32 === '1') return 'BIASLEARN_CUDA_TF32=1 is set: these checks assume full FP32 products';
  if (!cudaAvailable()) return 'biaslearn_cuda.node is not built or does not load (build it with `npm run build:cuda`)';
  try {
    const probe = await MLP.create({ inputSize: 1, hidden: [1], outputSize: 1, backend: 'cuda' });
    probe.dispose();
    return null;
  } catch (err) {
    if (err instanceof BackendUnavailableError) return err.message;
    throw err;
  }
}

const skipReason = await cudaSkipReason();
if (skipReason) console.warn(`[cuda.backend.test] skipping every CUDA check: ${skipReason}`);

// ---------------------------------------------------------------- helpers

function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * rng.normal();
  return a;
}

/** Same bits, element by element (reports the first difference). */
function expectBitIdentical(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) {
      expect.fail(
        `${what}: element ${i} differs: cuda ${actual[i]} (0x${a[i]!.toString(16)}) vs cpu ${expected[i]} (0x${e[i]!.toString(16)})`,
      );
    }
  }
}

/**
 * |actual - expected| <= atol + rtol * |expected| for every element, where atol may scale with
 * the tensor: atol = atolAbs + atolRel * max|expected|. Reports the worst element.
 */
function expectClose(
  actual: Float32Array,
  expected: Float32Array,
  tol: { rtol: number; atolAbs?: number; atolRel?: number },
  what: string,
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let maxAbs = 0;
  for (let i = 0; i < expected.length; i++) maxAbs = Math.max(maxAbs, Math.abs(expected[i]!));
  const atol = (tol.atolAbs ?? 0) + (tol.atolRel ?? 0) * maxAbs;
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!Number.isFinite(a)) expect.fail(`${what}: element ${i} is ${a} on cuda (cpu ${e})`);
    const excess = Math.abs(a - e) - (atol + tol.rtol * Math.abs(e));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `${what}: element ${worst}: cuda ${actual[worst]} vs cpu ${expected[worst]} (|diff| ${Math.abs(actual[worst]! - expected[worst]!)} > atol ${atol} + rtol ${tol.rtol} * |cpu|)`,
    );
  }
}

function expectCloseNumber(actual: number, expected: number, rtol: number, what: string): void {
  expect(Math.abs(actual - expected), `${what}: cuda ${actual} vs cpu ${expected}`).toBeLessThanOrEqual(
    rtol * Math.max(1, Math.abs(expected)),
  );
}

/** One model per backend from the same options (same seed: same frozen weights). */
async function pair(options: Omit<MLPOptions, 'backend'>): Promise<{ cpu: MLP; cuda: MLP; dispose: () => void }> {
  const cpu = await MLP.create({ ...options, backend: 'cpu' });
  const cuda = await MLP.create({ ...options, backend: 'cuda' });
  return {
    cpu,
    cuda,
    dispose: () => {
      cpu.dispose();
      cuda.dispose();
    },
  };
}

function classification(seed: number, n: number, inputSize: number, classes: number): Dataset {
  const rng = new Rng(seed);
  const x = randomArray(rng, n * inputSize);
  const labels = new Int32Array(n);
  // Labels that depend on x, so training has something to learn.
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < inputSize; j++) s += x[i * inputSize + j]! * (j % 2 === 0 ? 1 : -0.5);
    labels[i] = Math.min(classes - 1, Math.max(0, Math.floor(((s + 1.5) * classes) / 3)));
  }
  return Dataset.classification(x, inputSize, labels, classes);
}

function regression(seed: number, n: number, inputSize: number, width: number): Dataset {
  const rng = new Rng(seed);
  const x = randomArray(rng, n * inputSize);
  const v = new Float32Array(n * width);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < width; k++) v[i * width + k] = Math.sin(x[i * inputSize + (k % inputSize)]! * (k + 1)) + 0.1 * k;
  return Dataset.regression(x, inputSize, v, width);
}

async function learnedOf(model: MLP): Promise<Record<string, Float32Array>> {
  return model.getLearned();
}

// ---------------------------------------------------------------- tests

describe.skipIf(skipReason !== null)(
  `CUDA backend matches the CPU backend${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    it('generates bit-identical frozen weights (uniform, normal, zeros; odd sizes; seeds above 2^32)', async () => {
      const sizes: [number, number][] = [
        [1, 1],
        [7, 13],
        [1023, 5],
      ];
      const dists: WeightDistribution[] = ['uniform', 'normal', 'zeros'];
      for (const dist of dists) {
        for (const [rows, cols] of sizes) {
          for (const seed of [0, 42, 2 ** 40 + 12345]) {
            for (const stream of [0, 3]) {
              const opts = { rows, cols, seed, stream, dist, a: 0.37 };
              const cpu = await generateWeights({ ...opts, backend: 'cpu' });
              const cuda = await generateWeights({ ...opts, backend: 'cuda' });
              expectBitIdentical(cuda, cpu, `${dist} ${rows}x${cols} seed ${seed} stream ${stream}`);
            }
          }
        }
      }
    });

    it('builds models with bit-identical frozen weights and initial biases', async () => {
      const m = await pair({
        inputSize: 13,
        hidden: [1023, 7],
        outputSize: 5,
        seed: 99,
        weightInit: { dist: 'normal', scale: 1.3, relative: true },
        biasInit: { dist: 'uniform', scale: 0.25, relative: false },
      });
      try {
        for (let l = 0; l < 3; l++) {
          expectBitIdentical(await m.cuda.weights(l), await m.cpu.weights(l), `layer ${l} weights`);
          expectBitIdentical(await m.cuda.biases(l), await m.cpu.biases(l), `layer ${l} biases`);
        }
      } finally {
        m.dispose();
      }
    });

    // predict: |cuda - cpu| <= 1e-4 + 1e-4 |cpu| (FP32 sums in another order).
    const widths = [1, 7, 1023];
    const activations: Activation[] = ['relu', 'tanh', 'sigmoid'];
    for (const width of widths) {
      for (const activation of activations) {
        it(`forward (predict) agrees: hidden ${width}, ${activation}`, async () => {
          const inputSize = 13;
          const m = await pair({
            inputSize,
            hidden: [width],
            outputSize: 5,
            activation,
            seed: 7 + width,
            biasInit: { dist: 'normal', scale: 0.5, relative: false },
          });
          try {
            // 1100 rows for the wide model: predict runs in chunks of 1024 rows.
            const n = width === 1023 ? 1100 : 37;
            const x = randomArray(new Rng(width), n * inputSize);
            const [cpu, cuda] = [await m.cpu.predict(x), await m.cuda.predict(x)];
            expectClose(cuda, cpu, { rtol: 1e-4, atolAbs: 1e-4 }, `predict hidden ${width} ${activation}`);
          } finally {
            m.dispose();
          }
        });
      }
    }

    it('forward agrees through two hidden layers (tanh, 64 -> 33)', async () => {
      const m = await pair({
        inputSize: 20,
        hidden: [64, 33],
        outputSize: 10,
        activation: 'tanh',
        seed: 3,
        biasInit: { dist: 'normal', scale: 0.3, relative: false },
      });
      try {
        const x = randomArray(new Rng(5), 50 * 20);
        expectClose(await m.cuda.predict(x), await m.cpu.predict(x), { rtol: 1e-4, atolAbs: 1e-4 }, 'predict 64 -> 33');
      } finally {
        m.dispose();
      }
    });

    // gradients: loss within 1e-5 (relative, floor 1); every gradient element within
    // 1e-4 |cpu| + 1e-5 max|cpu| of the tensor (FP32 products and sums in another order).
    const gradCases: {
      name: string;
      activation: Activation;
      hidden: number[];
      loss: 'softmax-cross-entropy' | 'mse';
      n: number;
    }[] = [
      { name: 'tanh 31-17 xent', activation: 'tanh', hidden: [31, 17], loss: 'softmax-cross-entropy', n: 50 },
      { name: 'sigmoid 1023 xent', activation: 'sigmoid', hidden: [1023], loss: 'softmax-cross-entropy', n: 40 },
      { name: 'relu 64 xent', activation: 'relu', hidden: [64], loss: 'softmax-cross-entropy', n: 32 },
      { name: 'tanh 7 mse', activation: 'tanh', hidden: [7], loss: 'mse', n: 45 },
    ];
    const trainSets: TrainableSet[] = ['bias', 'readout', 'full'];
    for (const c of gradCases) {
      for (const train of trainSets) {
        it(`gradients agree: ${c.name}, train '${train}'`, async () => {
          const inputSize = 9;
          const outputSize = c.loss === 'mse' ? 3 : 4;
          const m = await pair({
            inputSize,
            hidden: c.hidden,
            outputSize,
            activation: c.activation,
            loss: c.loss,
            train,
            seed: 11,
            biasInit: { dist: 'normal', scale: 0.2, relative: false },
          });
          try {
            const batch =
              c.loss === 'mse' ? regression(21, c.n, inputSize, outputSize) : classification(21, c.n, inputSize, outputSize);
            const cpu = await m.cpu.gradients(batch);
            const cuda = await m.cuda.gradients(batch);
            expectCloseNumber(cuda.loss, cpu.loss, 1e-5, 'loss');
            expect(Object.keys(cuda.grads).sort()).toEqual(Object.keys(cpu.grads).sort());
            for (const name of Object.keys(cpu.grads)) {
              expectClose(cuda.grads[name]!, cpu.grads[name]!, { rtol: 1e-4, atolRel: 1e-5 }, `grad ${name}`);
            }
          } finally {
            m.dispose();
          }
        });
      }
    }

    // fit, 1 epoch of 15 batches, same seed and shuffle: learned values within
    // 2e-4 + 1e-3 |cpu| (Adam) or 1e-5 + 1e-4 |cpu| (SGD); epoch loss within 1e-4 relative.
    const fitCases: {
      name: string;
      optimizer: OptimizerOptions;
      train: TrainableSet;
      loss: 'softmax-cross-entropy' | 'mse';
      tol: { rtol: number; atolAbs: number };
    }[] = [
      {
        name: 'adam, bias',
        optimizer: { type: 'adam', lr: 1e-2 },
        train: 'bias',
        loss: 'softmax-cross-entropy',
        tol: { rtol: 1e-3, atolAbs: 2e-4 },
      },
      {
        name: 'adam + weight decay, full',
        optimizer: { type: 'adam', lr: 5e-3, weightDecay: 1e-3 },
        train: 'full',
        loss: 'softmax-cross-entropy',
        tol: { rtol: 1e-3, atolAbs: 2e-4 },
      },
      {
        name: 'sgd nesterov, readout',
        optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true },
        train: 'readout',
        loss: 'softmax-cross-entropy',
        tol: { rtol: 1e-4, atolAbs: 1e-5 },
      },
      {
        name: 'sgd, bias, mse',
        optimizer: { type: 'sgd', lr: 0.05 },
        train: 'bias',
        loss: 'mse',
        tol: { rtol: 1e-4, atolAbs: 1e-5 },
      },
    ];
    for (const c of fitCases) {
      it(`one epoch of fit agrees: ${c.name}`, async () => {
        const inputSize = 6;
        const outputSize = 3;
        const data = c.loss === 'mse' ? regression(5, 240, inputSize, outputSize) : classification(5, 240, inputSize, outputSize);
        const m = await pair({
          inputSize,
          hidden: [48],
          outputSize,
          activation: 'tanh',
          loss: c.loss,
          train: c.train,
          seed: 17,
          optimizer: c.optimizer,
        });
        try {
          const fitOpts = { epochs: 1, batchSize: 16, shuffle: true, seed: 123 };
          const hCpu = await m.cpu.fit(data, fitOpts);
          const hCuda = await m.cuda.fit(data, fitOpts);
          expectCloseNumber(hCuda.last('loss')!, hCpu.last('loss')!, 1e-4, 'epoch loss');
          const [lCpu, lCuda] = [await learnedOf(m.cpu), await learnedOf(m.cuda)];
          expect(Object.keys(lCuda).sort()).toEqual(Object.keys(lCpu).sort());
          for (const name of Object.keys(lCpu)) expectClose(lCuda[name]!, lCpu[name]!, c.tol, `learned ${name}`);
        } finally {
          m.dispose();
        }
      });
    }

    it('evaluate agrees over several batches (loss within 1e-5 relative, accuracy within 2 samples)', async () => {
      const cls = classification(8, 2500, 10, 4);
      const reg = regression(8, 2500, 10, 2);
      const mc = await pair({ inputSize: 10, hidden: [129], outputSize: 4, seed: 1 });
      const mr = await pair({ inputSize: 10, hidden: [129], outputSize: 2, loss: 'mse', seed: 1 });
      try {
        const [c0, c1] = [await mc.cpu.evaluate(cls, { batchSize: 1000 }), await mc.cuda.evaluate(cls, { batchSize: 1000 })];
        expectCloseNumber(c1.loss, c0.loss, 1e-5, 'xent loss');
        expect(Math.abs(c1.accuracy! - c0.accuracy!)).toBeLessThanOrEqual(2 / cls.n);
        const [r0, r1] = [await mr.cpu.evaluate(reg, { batchSize: 1000 }), await mr.cuda.evaluate(reg, { batchSize: 1000 })];
        expectCloseNumber(r1.loss, r0.loss, 1e-5, 'mse loss');
      } finally {
        mc.dispose();
        mr.dispose();
      }
    });

    it('round-trips learned values exactly (setLearned / getLearned)', async () => {
      const model = await MLP.create({ inputSize: 5, hidden: [17], outputSize: 3, train: 'full', backend: 'cuda' });
      try {
        const rng = new Rng(3);
        const values: Record<string, Float32Array> = {};
        for (const t of model.learnedTensors()) values[t.name] = randomArray(rng, t.size);
        await model.setLearned(values);
        const back = await model.getLearned();
        for (const name of Object.keys(values)) expectBitIdentical(back[name]!, values[name]!, name);
      } finally {
        model.dispose();
      }
    });

    it('repeats bit for bit, also with two models training at once', async () => {
      const data = classification(12, 600, 8, 5);
      const options = (seed: number): MLPOptions => ({
        inputSize: 8,
        hidden: [257],
        outputSize: 5,
        train: 'full',
        seed,
        backend: 'cuda' as BackendName,
      });
      const fitOpts = { epochs: 2, batchSize: 32, shuffle: true, seed: 4 };
      // Alone, one after the other.
      const alone: Record<string, Float32Array>[] = [];
      for (const seed of [1, 2]) {
        const m = await MLP.create(options(seed));
        await m.fit(data, fitOpts);
        alone.push(await m.getLearned());
        m.dispose();
      }
      // Both at once: their batches interleave on the backend's one stream.
      const [a, b] = [await MLP.create(options(1)), await MLP.create(options(2))];
      try {
        await Promise.all([a.fit(data, fitOpts), b.fit(data, fitOpts)]);
        const together = [await a.getLearned(), await b.getLearned()];
        for (let k = 0; k < 2; k++) {
          for (const name of Object.keys(alone[k]!))
            expectBitIdentical(together[k]![name]!, alone[k]![name]!, `model ${k} ${name}`);
        }
      } finally {
        a.dispose();
        b.dispose();
      }
    });
  },
);
