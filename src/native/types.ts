/** Types of the native addon's exports (native/addon/addon.cpp). Internal. */

export interface NativeInitSpec {
  dist: 'uniform' | 'normal' | 'zeros';
  scale: number;
  relative: boolean;
}

export interface NativeLayerSpec {
  in: number;
  out: number;
  activation: string;
  weightInit: NativeInitSpec;
  biasInit: NativeInitSpec;
  trainWeight: boolean;
  trainBias: boolean;
}

export interface NativeMlpSpec {
  seed: number;
  loss: 'softmax-cross-entropy' | 'mse';
  optimizer: { kind: 'adam' | 'sgd'; beta1?: number; beta2?: number; eps?: number; momentum?: number; nesterov?: boolean; weightDecay?: number };
  layers: NativeLayerSpec[];
}

/** Per-batch sums of one pass, in batch order. */
export interface NativePassStats {
  lossSum: Float32Array;
  correct: Float32Array;
  size: Int32Array;
}

export interface NativeDataset {
  readonly size: number;
}

export interface NativeMlp {
  train(ds: NativeDataset, indices: Int32Array, batchSize: number, lr: number, cacheInputLayer?: boolean): Promise<NativePassStats>;
  dropInputCache(): Promise<void>;
  evaluate(ds: NativeDataset, batchSize: number): Promise<NativePassStats>;
  predict(x: Float32Array): Promise<Float32Array>;
  gradients(x: Float32Array, labels: Int32Array | null, values: Float32Array | null): Promise<{ loss: number; grads: Record<string, Float32Array> }>;
  params(): { name: string; size: number }[];
  getParams(): Promise<Record<string, Float32Array>>;
  setParams(values: Record<string, Float32Array>): Promise<void>;
  getTensor(name: string): Promise<Float32Array>;
  resetOptimizer(): Promise<void>;
  dispose(): void;
}

export interface NativeModule {
  info(): { backends: string; gemm: string; threads: number };
  setThreads(threads: number): void;
  createMlp(spec: NativeMlpSpec, backend: string): Promise<NativeMlp>;
  createDataset(
    backend: string,
    x: Float32Array,
    inputSize: number,
    labels: Int32Array | null,
    classes: number,
    values: Float32Array | null,
    width: number,
  ): Promise<NativeDataset>;
  fillWeights(backend: string, rows: number, cols: number, seed: number, stream: number, dist: string, a: number): Promise<Float32Array>;
  /** Runs one backend kernel on host arrays (tests); returns every Float32Array after the op. */
  runKernel(backend: string, op: string, args: Record<string, number | boolean | Float32Array | Int32Array>): Promise<Record<string, Float32Array>>;
  benchGemm(backend: string, M: number, N: number, K: number, reps: number, transB: boolean): Promise<number>;
}
