/** Types of the multi-task exports of the native addon (native/addon/multitask_binding.cpp). Internal. */
import { nativeFor, type BackendName } from '../native/binding.js';
import type { NativeInitSpec } from '../native/types.js';

export interface NativeMultitaskSpec {
  seed: number;
  input: number;
  hidden: number[];
  activation: string;
  /** L + 1 entries: hidden layers, then the readout. */
  weightInit: NativeInitSpec[];
  biasInit: NativeInitSpec[];
  classes: number[];
  perTaskReadout: boolean;
  mode: 'bias' | 'mask' | 'full';
  maskInit: number;
  optimizer: { kind: 'adam' | 'sgd'; beta1?: number; beta2?: number; eps?: number; momentum?: number; nesterov?: boolean; weightDecay?: number };
}

/** Per-batch, per-task sums of a pass: stats [nb, K, 2] = (loss sum, hits); count [nb, K]; size [nb]. */
export interface NativeMultitaskStats {
  tasks: number;
  stats: Float32Array;
  count: Int32Array;
  size: Int32Array;
}

export interface NativeActivity {
  tasks: number;
  units: number;
  count: Int32Array;
  /** [K, H] */
  mean: Float64Array;
  variance: Float64Array;
  active: Float64Array;
}

export interface NativeMultitaskDataset {
  readonly size: number;
  readonly tasks: number;
}

export interface NativeTensorInfo {
  name: string;
  size: number;
  rows: number;
  cols: number;
  perTask: boolean;
}

export interface NativeMultitaskMlp {
  readonly readoutWidth: number;
  readonly readoutOffsets: Int32Array;
  train(ds: NativeMultitaskDataset, indices: Int32Array, batchSize: number, lr: number, slope: number, cacheInput: boolean): Promise<NativeMultitaskStats>;
  dropInputCache(): Promise<void>;
  evaluate(ds: NativeMultitaskDataset, batchSize: number, hard: boolean, slope: number): Promise<NativeMultitaskStats>;
  predict(x: Float32Array, task: Int32Array, hard: boolean, slope: number): Promise<Float32Array>;
  gradients(x: Float32Array, labels: Int32Array, task: Int32Array, slope: number): Promise<{ loss: Float64Array; grads: Record<string, Float32Array> }>;
  activity(ds: NativeMultitaskDataset, layer: number, batchSize: number, threshold: number, hard: boolean, slope: number): Promise<NativeActivity>;
  params(): NativeTensorInfo[];
  tensors(): NativeTensorInfo[];
  getTensor(name: string): Promise<Float32Array>;
  getParams(): Promise<Record<string, Float32Array>>;
  setParams(values: Record<string, Float32Array>): Promise<void>;
  setTaskTrainable(flags: Int32Array): void;
  taskSteps(): number[];
  resetOptimizer(): Promise<void>;
  dispose(): void;
}

export interface MultitaskNativeModule {
  createMultitaskMlp(spec: NativeMultitaskSpec, backend: string): Promise<NativeMultitaskMlp>;
  createMultitaskDataset(
    backend: string,
    x: Float32Array,
    inputSize: number,
    labels: Int32Array,
    task: Int32Array,
    classes: Int32Array,
  ): Promise<NativeMultitaskDataset>;
  /** Runs one multi-task backend kernel on host arrays (tests); returns every Float32Array after the op. */
  runMultitaskKernel(backend: string, op: string, args: Record<string, number | boolean | Float32Array | Int32Array>): Promise<Record<string, Float32Array>>;
}

export function multitaskNative(backend: BackendName): MultitaskNativeModule {
  return nativeFor(backend) as unknown as MultitaskNativeModule;
}
