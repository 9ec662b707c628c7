/**
 * Standard formats: .npy (read and write, checked against numpy), safetensors (an independent
 * Python + numpy reader rebuilds the MLP as nn.Sequential and matches predict), ONNX (run by
 * onnxruntime-node; logits within 1e-5 + 1e-4 |x| of predict, probabilities within 1e-6; the
 * RNN unrolled over T steps: outputs and final state within 1e-5 + 1e-4 |x| of predict),
 * and import of learned tensors from safetensors (bit for bit; frozen tensors of another seed
 * refused). The Python checks skip with a reason when python3 or numpy is absent.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import {
  MLP,
  MultitaskModel,
  RNN,
  Rng,
  SequenceDataset,
  readNpy,
  readSafetensors,
  writeNpy,
  type Activation,
} from '../src/index.js';
import { firstBitDiff, randomLabels, randomNormalF32 } from './helpers/numeric.js';

const work = mkdtempSync(join(tmpdir(), 'biaslearn-export-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function numpyMissing(): string | undefined {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'python3 with numpy not found';
  }
}
const noNumpy = numpyMissing();
if (noNumpy) console.log(`[io.export] numpy checks skipped: ${noNumpy}`);

function py(code: string): string {
  return execFileSync('python3', ['-c', code], { encoding: 'utf8' });
}

function expectClose(got: Float32Array, want: Float32Array, abs: number, rel: number): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) - (abs + rel * Math.abs(want[i]!)));
  expect(worst).toBeLessThanOrEqual(0);
}

const I = 7;
const rng = new Rng(9);
const x = randomNormalF32(rng, 11 * I);

async function trained(activation: Activation, hidden = [13, 5]): Promise<MLP> {
  const m = await MLP.create({
    inputSize: I,
    hidden,
    outputSize: 3,
    activation,
    seed: 4,
    biasInit: { dist: 'uniform', scale: 0.5, relative: false },
  });
  await m.fit(x, randomLabels(new Rng(2), 11, 3), { epochs: 2, batchSize: 4 });
  return m;
}

describe('.npy', () => {
  it('round trip in JS for every dtype; odd shapes', async () => {
    const cases = [
      { data: Float32Array.from([1.5, -2, 3]), shape: [3] },
      { data: Float64Array.from({ length: 14 }, (_, i) => i / 7), shape: [2, 7] },
      { data: Int32Array.from([1, -2, 3, 4]), shape: [1, 4, 1] },
      { data: new Uint8Array([0, 255]), shape: [2] },
    ];
    for (const [i, c] of cases.entries()) {
      const p = join(work, `a${i}.npy`);
      await writeNpy(p, c.data, c.shape);
      const back = await readNpy(p);
      expect(back.shape).toEqual(c.shape);
      expect(Array.from(back.data as ArrayLike<number>)).toEqual(Array.from(c.data));
      expect(back.data.constructor).toBe(c.data.constructor);
    }
    await expect(writeNpy(join(work, 'bad.npy'), new Float32Array(3), [2, 2])).rejects.toMatchObject({ code: 'E_SHAPE' });
    await expect(readNpy(join(work, 'missing.npy'))).rejects.toMatchObject({ code: 'E_IO' });
  });

  it.skipIf(noNumpy)('numpy reads what writeNpy wrote and writeNpy reads what numpy wrote', async () => {
    const p = join(work, 'to_numpy.npy');
    await writeNpy(p, Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect(py(`import numpy as np; a = np.load('${p}'); print(a.dtype, a.shape, a.sum(), a[1, 2])`).trim()).toBe(
      'float32 (2, 3) 21.0 6.0',
    );
    const q = join(work, 'from_numpy.npy');
    py(`import numpy as np; np.save('${q}', np.arange(12, dtype=np.float64).reshape(3, 4) / 4)`);
    const a = await readNpy(q);
    expect(a.shape).toEqual([3, 4]);
    expect(a.data[5]).toBe(1.25);
    const f = join(work, 'fortran.npy');
    py(`import numpy as np; np.save('${f}', np.asfortranarray(np.ones((2, 3), dtype=np.float32)))`);
    await expect(readNpy(f)).rejects.toMatchObject({ code: 'E_FORMAT' });
  });
});

function safetensorsMissing(): string | undefined {
  if (noNumpy) return noNumpy;
  try {
    execFileSync('python3', ['-c', 'import safetensors.numpy'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'the safetensors Python package is not installed (pip install safetensors)';
  }
}
const noSafetensors = safetensorsMissing();
if (noSafetensors) console.log(`[io.export] safetensors.numpy check skipped: ${noSafetensors}`);

describe('safetensors', () => {
  it.skipIf(noSafetensors)('the official reader (safetensors.numpy.load_file) loads the export', async () => {
    const m = await trained('relu', [6]);
    const file = join(work, 'official.safetensors');
    await m.export(file, { format: 'safetensors' });
    const out = py(
      `from safetensors.numpy import load_file; t = load_file('${file}'); print(sorted((k, v.shape) for k, v in t.items()))`,
    );
    expect(out.trim()).toBe("[('0.bias', (6,)), ('0.weight', (6, 7)), ('2.bias', (3,)), ('2.weight', (3, 6))]");
    m.dispose();
  });

  for (const act of ['relu', 'tanh', 'softplus', 'leaky-relu'] as Activation[]) {
    it.skipIf(noNumpy)(`MLP (${act}): an independent numpy reader rebuilds nn.Sequential and matches predict`, async () => {
      const m = await trained(act);
      const file = join(work, `mlp-${act}.safetensors`);
      await m.export(file, { format: 'safetensors' });
      const xp = join(work, 'x.npy');
      await writeNpy(xp, x, [11, I]);
      const outp = join(work, `out-${act}.npy`);
      execFileSync('python3', [join(import.meta.dirname, 'helpers', 'safetensors_forward.py'), file, xp, act, outp]);
      expectClose((await readNpy(outp)).data as Float32Array, await m.predict(x), 1e-5, 1e-4);
      m.dispose();
    });
  }

  it('names and shapes: nn.Sequential for the MLP, metadata with the config', async () => {
    const m = await trained('relu', [6]);
    const file = join(work, 'names.safetensors');
    await m.export(file, { format: 'safetensors' });
    const { tensors, metadata } = await readSafetensors(file);
    expect(Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.shape]))).toEqual({
      '0.weight': [6, 7],
      '0.bias': [6],
      '2.weight': [3, 6],
      '2.bias': [3],
    });
    expect(JSON.parse(metadata.config!).seed).toBe(4);
    expect(firstBitDiff(tensors['0.bias']!.data as Float32Array, await m.biases(0))).toBe(-1);
    m.dispose();
  });

  it('import: a fresh model of the same seed gets the learned tensors bit for bit; another seed is refused', async () => {
    const m = await trained('tanh');
    const file = join(work, 'import.safetensors');
    await m.export(file, { format: 'safetensors' });
    const fresh = await MLP.create({ inputSize: I, hidden: [13, 5], outputSize: 3, activation: 'tanh', seed: 4 });
    await fresh.importSafetensors(file);
    expect(firstBitDiff(await fresh.predict(x), await m.predict(x))).toBe(-1);
    const other = await MLP.create({ inputSize: I, hidden: [13, 5], outputSize: 3, activation: 'tanh', seed: 5 });
    await expect(other.importSafetensors(file)).rejects.toMatchObject({ code: 'E_CONFIG' });
    for (const mm of [m, fresh, other]) mm.dispose();
  });

  it('RNN and multi-task: every tensor exported, learned ones importable', async () => {
    const r = await RNN.create({ inputSize: 2, hidden: 6, outputSize: 1, seed: 1 });
    const rf = join(work, 'rnn.safetensors');
    await r.export(rf, { format: 'safetensors' });
    const rt = (await readSafetensors(rf)).tensors;
    expect(rt['recurrent.weight']!.shape).toEqual([6, 6]);
    expect(rt['recurrent.bias']!.shape).toEqual([6]);
    await r.importSafetensors(rf);
    await expect(r.export(join(work, 'rnn.onnx'), { format: 'onnx' })).rejects.toMatchObject({ code: 'E_CONFIG' });
    const mt = await MultitaskModel.create({
      inputSize: 3,
      hidden: [4],
      tasks: [
        { name: 'a', classes: 3 },
        { name: 'b', classes: 2 },
      ],
      seed: 1,
    });
    const mf = join(work, 'mt.safetensors');
    await mt.export(mf, { format: 'safetensors' });
    const mtt = (await readSafetensors(mf)).tensors;
    expect(mtt['layers.0.weight']!.shape).toEqual([4, 3]);
    expect(mtt['layers.0.bias']!.shape).toEqual([2, 4]);
    await mt.importSafetensors(mf);
    r.dispose();
    mt.dispose();
  });
});

async function runOnnx(
  file: string,
  input: Float32Array,
  cols: number,
): Promise<{ logits: Float32Array; probabilities: Float32Array }> {
  const session = await ort.InferenceSession.create(file);
  const out = await session.run({ x: new ort.Tensor('float32', input, [input.length / cols, cols]) });
  return { logits: out.logits!.data as Float32Array, probabilities: out.probabilities!.data as Float32Array };
}

describe('ONNX (onnxruntime-node)', () => {
  for (const act of ['relu', 'tanh', 'tanh-rational', 'sigmoid', 'hard-sigmoid', 'softplus', 'leaky-relu'] as Activation[]) {
    it(`MLP (${act}): logits and probabilities match predict`, async () => {
      const m = await trained(act);
      const file = join(work, `mlp-${act}.onnx`);
      await m.export(file, { format: 'onnx' });
      const r = await runOnnx(file, x, I);
      expectClose(r.logits, await m.predict(x), 1e-5, 1e-4);
      expectClose(r.probabilities, await m.predict(x, { output: 'probabilities' }), 1e-6, 0);
      m.dispose();
    });
  }

  for (const readout of ['shared', 'per-task'] as const) {
    it(`multi-task (${readout} readout): each task's graph matches predict(x, task)`, async () => {
      const tasks =
        readout === 'shared'
          ? [
              { name: 'a', classes: 3 },
              { name: 'b', classes: 3 },
            ]
          : [
              { name: 'a', classes: 3 },
              { name: 'b', classes: 2 },
            ];
      const m = await MultitaskModel.create({
        inputSize: I,
        hidden: [9, 4],
        tasks,
        readout,
        seed: 3,
        biasInit: { dist: 'uniform', scale: 0.5, relative: false },
      });
      await m.fit(x, randomLabels(new Rng(1), 11, 2), { task: 'b', epochs: 2, batchSize: 4 });
      for (const t of tasks) {
        const file = join(work, `mt-${readout}-${t.name}.onnx`);
        await m.export(file, { format: 'onnx', task: t.name });
        const r = await runOnnx(file, x, I);
        expectClose(r.logits, await m.predict(x, t.name), 1e-5, 1e-4);
      }
      await expect(m.export(join(work, 'no-task.onnx'), { format: 'onnx' })).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
      m.dispose();
    });
  }

  /** An RNN with random biases, r0 and readout bias (so every term of the recurrence matters). */
  async function randomRnn(inputSize: number, activation: Activation, extra: { decay?: number; gain?: number } = {}) {
    const H = 7;
    const O = 2;
    const m = await RNN.create({
      inputSize,
      hidden: H,
      outputSize: O,
      activation,
      seed: 5,
      conditions: 2,
      learnInitialState: true,
      learnReadoutBias: true,
      ...extra,
    });
    const g = new Rng(13);
    await m.setLearned({
      'recurrent.bias': randomNormalF32(g, H).map((v) => 0.5 * v),
      'readout.bias': randomNormalF32(g, O),
      initial_state: randomNormalF32(g, 2 * H).map((v) => 0.5 * v),
    });
    return m;
  }

  /** Runs the unrolled RNN graph: y [n, T, O] and final_state [n, H]. */
  async function runRnnOnnx(file: string, feeds: Record<string, ort.Tensor>) {
    const session = await ort.InferenceSession.create(file);
    const out = await session.run(feeds);
    return { y: out.y!.data as Float32Array, finalState: out.final_state!.data as Float32Array, yDims: out.y!.dims };
  }

  /** r[T] of every sequence from predict's states [n, T+1, H]. */
  function lastStates(states: Float32Array, n: number, T: number, H: number): Float32Array {
    const out = new Float32Array(n * H);
    for (let s = 0; s < n; s++) out.set(states.subarray((s * (T + 1) + T) * H, (s * (T + 1) + T + 1) * H), s * H);
    return out;
  }

  const rnnActs: Activation[] = [
    'tanh',
    'tanh-rational',
    'relu',
    'sigmoid',
    'softplus',
    'leaky-relu',
    'hard-sigmoid',
    'identity',
  ];
  for (const act of rnnActs) {
    it(`RNN (${act}, hidden 7, T 5, I 3, O 2) unrolled: y and final state match predict`, async () => {
      const [n, T, In, H] = [4, 5, 3, 7];
      const m = await randomRnn(In, act, act === 'relu' ? { decay: 0.8, gain: 0.2 } : {});
      const inputs = randomNormalF32(new Rng(21), n * T * In);
      const data = SequenceDataset.create({
        inputs,
        targets: new Float32Array(n * T * 2),
        steps: T,
        inputSize: In,
        outputSize: 2,
      });
      const want = await m.predict(data, { states: true });
      const file = join(work, `rnn-${act}.onnx`);
      await m.export(file, { format: 'onnx', steps: T });
      const got = await runRnnOnnx(file, { x: new ort.Tensor('float32', inputs, [n, T, In]) });
      expect(got.yDims).toEqual([n, T, 2]);
      expectClose(got.y, want.outputs, 1e-5, 1e-4);
      expectClose(got.finalState, lastStates(want.states!, n, T, H), 1e-5, 1e-4);
      m.dispose();
    });
  }

  it('RNN with inputSize 0: r[0] is condition 0 by default, or the initial_state input', async () => {
    const [T, H] = [6, 7];
    const m = await randomRnn(0, 'tanh', { decay: 0.7, gain: 0.3 });
    const file = join(work, 'rnn-autonomous.onnx');
    const fedFile = join(work, 'rnn-autonomous-state.onnx');
    await m.export(file, { format: 'onnx', steps: T });
    await m.export(fedFile, { format: 'onnx', steps: T, initialStateInput: true });
    const conditions = Int32Array.of(0, 1);
    const data = SequenceDataset.create({
      targets: new Float32Array(2 * T * 2),
      steps: T,
      inputSize: 0,
      outputSize: 2,
      conditions,
    });
    const want = await m.predict(data, { states: true });
    const byDefault = await runRnnOnnx(file, {});
    expect(byDefault.yDims).toEqual([1, T, 2]);
    expectClose(byDefault.y, want.outputs.subarray(0, T * 2), 1e-5, 1e-4);
    const r0 = await m.tensor('initial_state'); // [2, H]: the rows of conditions 0 and 1
    const fed = await runRnnOnnx(fedFile, { initial_state: new ort.Tensor('float32', r0, [2, H]) });
    expectClose(fed.y, want.outputs, 1e-5, 1e-4);
    expectClose(fed.finalState, lastStates(want.states!, 2, T, H), 1e-5, 1e-4);
    m.dispose();
  });

  it('RNN ONNX export needs steps (E_CONFIG naming the option), an integer >= 1', async () => {
    const m = await randomRnn(3, 'tanh');
    await expect(m.export(join(work, 'rnn-nosteps.onnx'), { format: 'onnx' })).rejects.toMatchObject({
      code: 'E_CONFIG',
      message: expect.stringMatching(/steps/),
    });
    await expect(m.export(join(work, 'rnn-badsteps.onnx'), { format: 'onnx', steps: 0 })).rejects.toMatchObject({
      code: 'E_INVALID_ARG',
    });
    m.dispose();
  });

  it('unknown format is a typed error', async () => {
    const m = await trained('relu', [3]);
    await expect(m.export(join(work, 'x.bin'), { format: 'pickle' as never })).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
    m.dispose();
  });
});
