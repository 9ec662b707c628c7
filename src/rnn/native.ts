/** Types of the RNN exports of the native addon (native/addon/rnn_binding.cpp). Internal. */
import { nativeFor, type BackendName } from '../native/binding.js';
import type { NativeInitSpec, NativePassStats } from '../native/types.js';

export interface NativeRnnSpec {
  inputSize: number;
  hidden: number;
  outputSize: number;
  conditions: number;
  activation: string;
  decay: number;
  gain: number;
  seed: number;
  recurrentInit: NativeInitSpec;
  inputInit: NativeInitSpec;
  readoutInit: NativeInitSpec;
  biasInit: NativeInitSpec;
  stateInit: NativeInitSpec;
  readoutBiasInit: NativeInitSpec;
  feedbackInit: NativeInitSpec;
  trainable: {
    recurrentWeight: boolean;
    inputWeight: boolean;
    readoutWeight: boolean;
    recurrentBias: boolean;
    readoutBias: boolean;
    initialState: boolean;
  };
  optimizer: { kind: 'adam' | 'sgd'; beta1?: number; beta2?: number; eps?: number; momentum?: number; nesterov?: boolean; weightDecay?: number };
}

/** Per-call run options (RnnRunOptions in native/rnn/rnn.h). */
export interface NativeRunOptions {
  rule?: 'bptt' | 'tbptt' | 'rflo';
  window?: number;
  online?: boolean;
  symmetric?: boolean;
  clip?: number;
  closedLoop?: boolean;
  warmup?: number;
  delay?: number;
}

export interface NativeSeqDataset {
  readonly size: number;
  readonly steps: number;
}

export interface NativeTensorInfo {
  name: string;
  rows: number;
  cols: number;
  size: number;
  trainable: boolean;
}

export interface NativeRnn {
  train(ds: NativeSeqDataset, indices: Int32Array, batchSize: number, lr: number, opts: NativeRunOptions): Promise<NativePassStats>;
  evaluate(ds: NativeSeqDataset, batchSize: number, opts: NativeRunOptions): Promise<NativePassStats>;
  predict(ds: NativeSeqDataset, indices: Int32Array, opts: NativeRunOptions, wantStates: boolean): Promise<{ outputs: Float32Array; states?: Float32Array }>;
  gradients(ds: NativeSeqDataset, indices: Int32Array, opts: NativeRunOptions): Promise<{ loss: number; grads: Record<string, Float32Array> }>;
  tensors(): NativeTensorInfo[];
  getParams(): Promise<Record<string, Float32Array>>;
  setParams(values: Record<string, Float32Array>): Promise<void>;
  getTensor(name: string): Promise<Float32Array>;
  resetOptimizer(): Promise<void>;
  optimizerSteps(): number;
  dispose(): void;
}

export interface NativeSeqData {
  n: number;
  steps: number;
  in: number;
  out: number;
  x?: Float32Array | null;
  y?: Float32Array | null;
  w?: Float32Array | null;
  v?: Float32Array | null;
  cond?: Int32Array | null;
}

export interface RnnNativeModule {
  createRnn(spec: NativeRnnSpec, backend: string): Promise<NativeRnn>;
  createSeqDataset(backend: string, data: NativeSeqData): Promise<NativeSeqDataset>;
  /** Runs one RNN backend kernel on host arrays (tests). */
  runRnnKernel(backend: string, op: string, args: Record<string, number | boolean | Float32Array | Int32Array>): Promise<Record<string, Float32Array>>;
}

/** The module serving `backend`, seen through its RNN exports. */
export function rnnNative(backend: BackendName): RnnNativeModule {
  return nativeFor(backend) as unknown as RnnNativeModule;
}
