/**
 * Golden checkpoints (test/golden/, written by test/golden/generate.mjs with release 0.1.0 before
 * the "one model core" refactor): every model kind still loads them and predicts the recorded
 * outputs bit for bit, so no refactor of the core silently changes weights, names or numerics.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MLP, MultitaskModel, RNN, SequenceDataset, runtimeInfo } from '../src/index.js';
import { firstBitDiff } from './helpers/numeric.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'golden');
function f32(name: string): Float32Array {
  const b = readFileSync(join(dir, name));
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
function i32(name: string): Int32Array {
  const b = readFileSync(join(dir, name));
  return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/**
 * Kernels compiled for a target with FMA, where GCC contracts `a * b + c` as in the build that
 * recorded the outputs. Without FMA (portable x86-64 / x86-64-v2 builds) the RNN's rational tanh
 * and leak round twice: its outputs are promised within 1e-5 relative there (docs/safety.md).
 */
const FMA_KERNELS = ['avx512', 'avx2+fma'].includes(runtimeInfo().kernels);

describe('golden checkpoints of release 0.1.0 predict bit for bit', () => {
  for (const train of ['bias', 'full']) {
    it(`MLP '${train}'`, async () => {
      const m = await MLP.load(join(dir, `mlp-${train}.blck`));
      try {
        const want = f32(`mlp-${train}.y.f32`);
        const got = await m.predict(f32('mlp.x.f32'));
        expect(got.length).toBe(want.length);
        expect(firstBitDiff(got, want)).toBe(-1);
      } finally {
        m.dispose();
      }
    });
  }
  for (const train of ['bias', 'mask']) {
    it(`multi-task '${train}'`, async () => {
      const m = await MultitaskModel.load(join(dir, `multitask-${train}.blck`));
      try {
        const want = f32(`multitask-${train}.y.f32`);
        const got = await m.predict(f32('multitask.x.f32'), i32('multitask.task.i32'));
        expect(got.length).toBe(want.length);
        expect(firstBitDiff(got, want)).toBe(-1);
      } finally {
        m.dispose();
      }
    });
  }
  it('RNN bias + initial state', async () => {
    const m = await RNN.load(join(dir, 'rnn-bias.blck'));
    try {
      const data = SequenceDataset.create({
        inputs: f32('rnn.x.f32'),
        targets: f32('rnn.t.f32'),
        steps: 12,
        inputSize: 2,
        outputSize: 1,
      });
      const want = f32('rnn-bias.y.f32');
      const { outputs } = await m.predict(data);
      expect(outputs.length).toBe(want.length);
      if (FMA_KERNELS) expect(firstBitDiff(outputs, want)).toBe(-1);
      else
        for (let i = 0; i < want.length; i++)
          expect(Math.abs(outputs[i]! - want[i]!), `${i}`).toBeLessThanOrEqual(1e-5 * Math.abs(want[i]!));
    } finally {
      m.dispose();
    }
  });
});
