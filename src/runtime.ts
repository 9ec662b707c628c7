/** Process-wide native settings and facts. */
import { nativeFor, native, type BackendName } from './native/binding.js';
import { BackendUnavailableError, fromNativeError } from './errors.js';
import { expectInt } from './util/validate.js';

export interface RuntimeInfo {
  /** Backends compiled into the CPU module ("cpu"), plus "cuda" when the CUDA module loads. */
  backends: BackendName[];
  /** The CPU matrix-product path: "cblas" (system OpenBLAS) or "builtin". */
  gemm: string;
  /** CPU threads used by the thread pool and BLAS. */
  threads: number;
}

/** The native runtime: version, backends, BLAS, threads, activations. */
export function runtimeInfo(): RuntimeInfo {
  const i = native().info();
  const backends: BackendName[] = ['cpu'];
  if (cudaAvailable()) backends.push('cuda');
  return { backends, gemm: i.gemm, threads: i.threads };
}

/** True when the CUDA module is built and loads (a device may still be absent). */
export function cudaAvailable(): boolean {
  try {
    nativeFor('cuda');
    return true;
  } catch (err) {
    if (err instanceof BackendUnavailableError) return false;
    throw err;
  }
}

/**
 * Sets the number of CPU threads (thread pool and BLAS). 0 means all hardware threads.
 * Call it while no native work is running. Results do not depend on it.
 */
export function setThreads(threads: number): void {
  expectInt('threads', threads, 0, 1024);
  native().setThreads(threads);
}

/**
 * Measures this machine's single-precision matrix-product rate through the backend's own gemm
 * (BLAS / cuBLAS): C[M,N] = A[M,K] B[K,N] (B transposed when `transB`), median of `reps` runs.
 * Returns GFLOP/s (2*M*N*K flops per product). Used by benchmarks as the ceiling.
 */
export async function measureSgemm(opts: { M: number; N: number; K: number; reps?: number; transB?: boolean; backend?: BackendName }): Promise<{ gflops: number; seconds: number }> {
  const M = expectInt('M', opts.M, 1);
  const N = expectInt('N', opts.N, 1);
  const K = expectInt('K', opts.K, 1);
  const reps = expectInt('reps', opts.reps ?? 10, 1);
  const backend = opts.backend ?? 'cpu';
  let seconds: number;
  try {
    seconds = await nativeFor(backend).benchGemm(backend, M, N, K, reps, opts.transB ?? false);
  } catch (err) {
    throw fromNativeError(err);
  }
  return { gflops: (2 * M * N * K) / seconds / 1e9, seconds };
}
