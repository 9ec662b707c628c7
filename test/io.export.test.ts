/**
 * Standard formats: .npy (read and write, checked against numpy), safetensors (an independent
 * Python + numpy reader rebuilds the MLP as nn.Sequential and matches predict), ONNX (run by
 * onnxruntime-node; logits within 1e-5 + 1e-4 |x| of predict, probabilities within 1e-6),
 * and import of learned tensors from safetensors (bit for bit; frozen tensors of another seed
 * refused). The Python checks skip with a reason when python3 or numpy is absent.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { MLP, MultitaskModel, RNN, Rng, readNpy, readSafetensors, writeNpy, type Activation } from '../src/index.js';
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

  it('unknown format is a typed error', async () => {
    const m = await trained('relu', [3]);
    await expect(m.export(join(work, 'x.bin'), { format: 'pickle' as never })).rejects.toMatchObject({ code: 'E_INVALID_ARG' });
    m.dispose();
  });
});
