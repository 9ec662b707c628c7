/**
 * The backends the core tests run against: 'cpu' always, plus 'cuda' when the CUDA module is
 * built, loads, and a device initialises (probed with one tiny kernel). On a machine without
 * CUDA the list is ['cpu'] and the reason is kept for the test log.
 */
import { cudaAvailable } from '../../src/runtime.js';
import { nativeFor, type BackendName } from '../../src/native/binding.js';

export interface BackendProbe {
  backends: BackendName[];
  /** Why 'cuda' is not in the list (undefined when it is). */
  cudaSkipReason?: string;
}

let cached: Promise<BackendProbe> | undefined;

export function probeBackends(): Promise<BackendProbe> {
  cached ??= (async (): Promise<BackendProbe> => {
    if (!cudaAvailable()) return { backends: ['cpu'], cudaSkipReason: 'the CUDA module is not built or does not load' };
    try {
      const out = await nativeFor('cuda').runKernel('cuda', 'column_sum', {
        B: 1,
        H: 1,
        beta: 0,
        G: new Float32Array([2]),
        out: new Float32Array([0]),
      });
      if (out.out?.[0] !== 2) return { backends: ['cpu'], cudaSkipReason: `CUDA probe kernel returned ${String(out.out?.[0])}` };
      return { backends: ['cpu', 'cuda'] };
    } catch (err) {
      return { backends: ['cpu'], cudaSkipReason: `CUDA did not initialise: ${(err as Error).message}` };
    }
  })();
  return cached;
}
