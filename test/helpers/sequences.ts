/** Random sequence data for RNN tests: inputs ~ N(0, 1), targets ~ N(0, 0.25), seeded. */
import { Rng, SequenceDataset } from '../../src/index.js';

/** n sequences of T steps, I inputs and O targets; with `conditions`, sequence i uses initial state i % conditions. */
export function randomSeqs(seed: number, n: number, T: number, I: number, O: number, conditions?: number): SequenceDataset {
  const rng = new Rng(seed);
  return SequenceDataset.create({
    inputs: Float32Array.from({ length: n * T * I }, () => rng.normal()),
    targets: Float32Array.from({ length: n * T * O }, () => rng.normal() * 0.5),
    steps: T,
    inputSize: I,
    outputSize: O,
    ...(conditions ? { conditions: Int32Array.from({ length: n }, (_, i) => i % conditions) } : {}),
  });
}
