/** Process-wide native settings and facts. */
import { nativeFor, native, nativeModulePath, type BackendName } from './native/binding.js';
import { prebuiltVariant } from './native/prebuilt.js';
import { BackendUnavailableError, fromNativeError } from './errors.js';
import { expectInt } from './util/validate.js';

export interface RuntimeInfo {
  /** Backends compiled into the CPU module ("cpu"), plus "cuda" when the CUDA module loads. */
  backends: BackendName[];
  /** The CPU matrix-product path: "cblas" (system OpenBLAS) or "builtin". */
  gemm: string;
  /** CPU threads used by the thread pool and BLAS. */
  threads: number;
  /** The CPU module's file and kind: "prebuilt x86-64-v4", "source build". */
  binary: { path: string; kind: string };
  /** Instruction set the module's own kernels were compiled for: "avx512", "avx2+fma", "sse4.2", ... */
  kernels: string;
  /** The matrix-product library in detail: OpenBLAS's configuration and the core its run-time dispatch chose. */
  gemmDetail: string;
}

interface BuildInfo {
  kernelIsa?: string;
  blas?: string;
  blasCore?: string;
}

/** The native runtime: version, backends, BLAS, threads, activations. */
export function runtimeInfo(): RuntimeInfo {
  const i = native().info();
  const backends: BackendName[] = ['cpu'];
  if (cudaAvailable()) backends.push('cuda');
  const mod = native() as unknown as { buildInfo?: () => BuildInfo };
  const b = mod.buildInfo?.() ?? {};
  const path = nativeModulePath('cpu') ?? '';
  const variant = prebuiltVariant(path);
  const binary = { path, kind: variant ? `prebuilt ${variant}` : 'source build' };
  const gemmDetail = b.blas ? `${b.blas}${b.blasCore ? ` (core ${b.blasCore})` : ''}` : i.gemm;
  return { backends, gemm: i.gemm, threads: i.threads, binary, kernels: b.kernelIsa ?? 'unknown', gemmDetail };
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
export async function measureSgemm(opts: {
  M: number;
  N: number;
  K: number;
  reps?: number;
  transB?: boolean;
  backend?: BackendName;
}): Promise<{ gflops: number; seconds: number }> {
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
