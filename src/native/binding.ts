/**
 * Loads the native addon. The CPU module (build/Release/biaslearn.node) is always built by
 * `npm install`; the CUDA module (biaslearn_cuda.node) only by `npm run build:cuda`, and is
 * loaded lazily the first time a model asks for `backend: 'cuda'`.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package_root.js';
import { cpuModuleCandidates } from './prebuilt.js';
import { BackendUnavailableError, BiasLearnError } from '../errors.js';

export { packageRoot };

export type BackendName = 'cpu' | 'cuda';

/**
 * The whole native surface (native/addon/*_binding.cpp, addon.cpp, the kernel probes), typed
 * once. Every method that does work returns a Promise and runs off the JS thread, one operation
 * at a time per model (E_CONCURRENT otherwise); native code re-validates every argument (types,
 * safe integers in range, lengths, index ranges) and rejects with a typed `code`. Integers are
 * never wrapped: a batch size of 2^32 + 8 is E_INVALID_ARG. Seeds are integers in [0, 2^53 - 1].
 */
export declare namespace Binding {
  interface InitSpec {
    dist: 'uniform' | 'normal' | 'zeros';
    scale: number;
    relative: boolean;
  }

  /** The optimizer of every model kind (native/train/params.h). */
  interface OptimizerSpec {
    kind: 'adam' | 'adamw' | 'sgd';
    beta1?: number;
    beta2?: number;
    eps?: number;
    momentum?: number;
    nesterov?: boolean;
    /** L2 added to the gradient (adam, sgd); decoupled decay p *= 1 - lr * weightDecay (adamw). */
    weightDecay?: number;
  }

  /** One tensor of a model's parameter table, in `<module>.<param>` naming. */
  interface TensorInfo {
    name: string;
    rows: number;
    cols: number;
    size: number;
    trainable: boolean;
    /** Rows are tasks (multi-task per-task tensors). */
    perTask: boolean;
  }

  /** Per-batch sums of one pass, in batch order. */
  interface PassStats {
    lossSum: Float32Array;
    /** Argmax hits (classification), else 0. */
    correct: Float32Array;
    /** Squared-error part of lossSum (RNN: without the velocity penalty), else 0. */
    sqError: Float32Array;
    size: Int32Array;
  }

  /** Methods every model kind shares (ModelSlot in native/addon/binding_util.h). */
  interface Model {
    /** The learned tensors. */
    params(): TensorInfo[];
    /** Every tensor, learned or frozen. */
    tensors(): TensorInfo[];
    getParams(): Promise<Record<string, Float32Array>>;
    /** Every learned tensor must be present at its exact size, finite. */
    setParams(values: Record<string, Float32Array>): Promise<void>;
    getTensor(name: string): Promise<Float32Array>;
    resetOptimizer(): Promise<void>;
    /** Step counts [shared, per task...] and the moment buffers by PyTorch's state names. */
    getOptimizerState(): Promise<{ steps: number[]; tensors: Record<string, Float32Array> }>;
    /** Every buffer of getOptimizerState at its exact size, finite; steps safe integers >= 0. */
    setOptimizerState(steps: number[], tensors: Record<string, Float32Array>): Promise<void>;
    /** Data-parallel: sum gradients over the loaded MPI module at `path` (native/distributed/collective.h); null detaches. */
    attachCollective(path: string | null): void;
    /** Bytes the frozen tensors' values hold on the backend (bf16 weights: about half of fp32's). */
    frozenBytes(): number;
    dispose(): void;
  }
  /** The frozen-weight precision of a model spec (src/model/precision.ts; read_precision in binding_util.h). */
  interface PrecisionSpec {
    weightPrecision?: 'fp32' | 'bf16';
    tf32?: boolean;
  }

  // ---- MLP (native/mlp, mlp_binding.cpp)
  interface LayerSpec {
    in: number;
    out: number;
    activation: string;
    weightInit: InitSpec;
    biasInit: InitSpec;
    trainWeight: boolean;
    trainBias: boolean;
  }
  interface MlpSpec extends PrecisionSpec {
    seed: number;
    loss: 'softmax-cross-entropy' | 'mse';
    optimizer: OptimizerSpec;
    layers: LayerSpec[];
    /** Width-parallel: this rank's hidden units [offset, offset + layers[0].out) of `full` (native/mlp/mlp.h). */
    widthShard?: { ranks: number; offset: number; full: number };
  }
  interface Dataset {
    readonly size: number;
  }
  interface Mlp extends Model {
    train(
      ds: Dataset,
      indices: Int32Array,
      batchSize: number,
      lr: number,
      cacheInputLayer?: boolean,
      clip?: number,
    ): Promise<PassStats>;
    dropInputCache(): Promise<void>;
    evaluate(ds: Dataset, batchSize: number): Promise<PassStats>;
    predict(x: Float32Array): Promise<Float32Array>;
    gradients(
      x: Float32Array,
      labels: Int32Array | null,
      values: Float32Array | null,
    ): Promise<{ loss: number; grads: Record<string, Float32Array> }>;
    optimizerSteps(): number;
  }

  // ---- RNN (native/rnn, rnn_binding.cpp)
  interface RnnSpec extends PrecisionSpec {
    inputSize: number;
    hidden: number;
    outputSize: number;
    conditions: number;
    activation: string;
    decay: number;
    gain: number;
    seed: number;
    recurrentInit: InitSpec;
    inputInit: InitSpec;
    readoutInit: InitSpec;
    biasInit: InitSpec;
    stateInit: InitSpec;
    readoutBiasInit: InitSpec;
    feedbackInit: InitSpec;
    trainable: {
      recurrentWeight: boolean;
      inputWeight: boolean;
      readoutWeight: boolean;
      recurrentBias: boolean;
      readoutBias: boolean;
      initialState: boolean;
    };
    optimizer: OptimizerSpec;
  }
  /** Per-call run options (RnnRunOptions in native/rnn/rnn.h). */
  interface RunOptions {
    rule?: 'bptt' | 'tbptt' | 'rflo' | 'eprop';
    window?: number;
    online?: boolean;
    symmetric?: boolean;
    /** rflo: the traces' leak w-hat (default the model's decay). */
    traceDecay?: number;
    /** rflo, eprop: [H, O] feedback matrix used instead of F (and of A^T). */
    feedback?: Float32Array;
    clip?: number;
    closedLoop?: boolean;
    warmup?: number;
    delay?: number;
  }
  interface SeqDataset {
    readonly size: number;
    readonly steps: number;
  }
  interface SeqData {
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
  interface Rnn extends Model {
    train(ds: SeqDataset, indices: Int32Array, batchSize: number, lr: number, opts: RunOptions): Promise<PassStats>;
    evaluate(ds: SeqDataset, batchSize: number, opts: RunOptions): Promise<PassStats>;
    predict(
      ds: SeqDataset,
      indices: Int32Array,
      opts: RunOptions,
      wantStates: boolean,
    ): Promise<{ outputs: Float32Array; states?: Float32Array }>;
    gradients(
      ds: SeqDataset,
      indices: Int32Array,
      opts: RunOptions,
    ): Promise<{ loss: number; grads: Record<string, Float32Array> }>;
    optimizerSteps(): number;
  }

  // ---- energy network (native/contrastive, energy_binding.cpp)
  interface EnergySpec {
    seed: number;
    /** [I, H_1, ..., O] */
    sizes: number[];
    activation: string;
    outputActivation: string;
    /** One entry per weight matrix (sizes.length - 1). */
    weightInit: InitSpec[];
    biasInit: InitSpec[];
    trainWeight: boolean[];
    trainBias: boolean[];
    optimizer: OptimizerSpec;
  }
  /** How a pass relaxes and learns (native/contrastive/energy_net.h RelaxOptions). */
  interface RelaxOptions {
    rule?: string;
    stepSize?: number;
    freeSteps?: number;
    nudgedSteps?: number;
    beta?: number;
    periods?: number;
    pi?: number;
    phases?: number;
    phaseMin?: number;
    phaseMax?: number;
    traceTau?: number;
    tolerance?: number;
    clip?: number;
    rngSeed?: number;
    logUnit?: number;
    persistent?: boolean;
    stepUpdates?: boolean;
  }
  interface EnergyStats extends PassStats {
    /** Per batch: max |dU| at the last free step. */
    residual: Float32Array;
    /** random-phase with logUnit: per phase (nudged 1 / free 0, length, bias of the logged unit). */
    phaseLog: Float32Array;
    /** random-phase gradients: second moments of the per-phase contributions by type, counts, mean |e_p|^2. */
    mPlus: number;
    mMinus: number;
    eSq: number;
    nPlus: number;
    nMinus: number;
  }
  interface EnergyNet extends Model {
    train(ds: Dataset, indices: Int32Array, batchSize: number, lr: number, opts: RelaxOptions): Promise<EnergyStats>;
    evaluate(ds: Dataset, batchSize: number, opts: RelaxOptions): Promise<EnergyStats>;
    predict(
      ds: Dataset,
      indices: Int32Array,
      opts: RelaxOptions,
      wantStates: boolean,
    ): Promise<{ outputs: Float32Array; states?: Float32Array }>;
    gradients(
      ds: Dataset,
      indices: Int32Array,
      opts: RelaxOptions,
    ): Promise<{ loss: EnergyStats; grads: Record<string, Float32Array> }>;
    optimizerSteps(): number;
  }

  // ---- multi-task MLP (native/multitask, multitask_binding.cpp)
  interface MultitaskSpec extends PrecisionSpec {
    seed: number;
    input: number;
    hidden: number[];
    activation: string;
    /** L + 1 entries: hidden layers, then the readout. */
    weightInit: InitSpec[];
    biasInit: InitSpec[];
    classes: number[];
    perTaskReadout: boolean;
    mode: 'bias' | 'mask' | 'full';
    maskInit: number;
    optimizer: OptimizerSpec;
    /** Width-parallel: this rank's hidden units [offset, offset + hidden[0]) of `full` (native/train/width_shard.h). */
    widthShard?: { ranks: number; offset: number; full: number };
  }
  /** Per-batch, per-task sums of a pass: stats [nb, K, 2] = (loss sum, hits); count [nb, K]; size [nb]. */
  interface MultitaskStats {
    tasks: number;
    stats: Float32Array;
    count: Int32Array;
    size: Int32Array;
  }
  interface Activity {
    tasks: number;
    units: number;
    count: Int32Array;
    /** [K, H] */
    mean: Float64Array;
    variance: Float64Array;
    active: Float64Array;
  }
  interface MultitaskDataset {
    readonly size: number;
    readonly tasks: number;
  }
  interface MultitaskMlp extends Model {
    readonly readoutWidth: number;
    readonly readoutOffsets: Int32Array;
    train(
      ds: MultitaskDataset,
      indices: Int32Array,
      batchSize: number,
      lr: number,
      slope: number,
      cacheInput: boolean,
      clip?: number,
    ): Promise<MultitaskStats>;
    dropInputCache(): Promise<void>;
    evaluate(ds: MultitaskDataset, batchSize: number, hard: boolean, slope: number): Promise<MultitaskStats>;
    predict(x: Float32Array, task: Int32Array, hard: boolean, slope: number): Promise<Float32Array>;
    gradients(
      x: Float32Array,
      labels: Int32Array,
      task: Int32Array,
      slope: number,
    ): Promise<{ loss: Float64Array; grads: Record<string, Float32Array> }>;
    activity(
      ds: MultitaskDataset,
      layer: number,
      batchSize: number,
      threshold: number,
      hard: boolean,
      slope: number,
    ): Promise<Activity>;
    setTaskTrainable(flags: Int32Array): void;
    taskSteps(): number[];
  }

  type KernelArgs = Record<string, number | boolean | Float32Array | Int32Array>;

  /** Every export of biaslearn.node / biaslearn_cuda.node. */
  interface Module {
    /** ops: the backend ops (BL_OPS, the names runKernel takes); activations: name -> the number runKernel takes. */
    info(): { backends: string; gemm: string; threads: number; ops: string[]; activations: Record<string, number> };
    setThreads(threads: number): void;
    fillWeights(
      backend: string,
      rows: number,
      cols: number,
      seed: number,
      stream: number,
      dist: string,
      a: number,
    ): Promise<Float32Array>;
    benchGemm(backend: string, M: number, N: number, K: number, reps: number, transB: boolean): Promise<number>;
    /** Seconds (median of reps) of one frozen product Y[M,N] = X[M,K] W^T with W in `precision` (bf16_binding.cpp). */
    benchFrozenGemm(backend: string, M: number, N: number, K: number, reps: number, precision: string): Promise<number>;
    /** The CPU's bf16 (VDPBF16PS) and fp32 (FMA) peak rates in GFLOP/s on the pool's threads; bf16 0 without AVX512-BF16. */
    benchCpuPeak(seconds: number): Promise<{ bf16: number; fp32: number; threads: number }>;
    /** The CPU kernel of bf16 products; 'auto' or 'fallback' first sets it for the process. */
    bf16Kernel(which?: 'auto' | 'fallback'): 'avx512bf16' | 'fallback';
    createDataset(
      backend: string,
      x: Float32Array,
      inputSize: number,
      labels: Int32Array | null,
      classes: number,
      values: Float32Array | null,
      width: number,
    ): Promise<Dataset>;
    createMlp(spec: MlpSpec, backend: string): Promise<Mlp>;
    createSeqDataset(backend: string, data: SeqData): Promise<SeqDataset>;
    createRnn(spec: RnnSpec, backend: string): Promise<Rnn>;
    createEnergyNet(spec: EnergySpec, backend: string): Promise<EnergyNet>;
    createMultitaskDataset(
      backend: string,
      x: Float32Array,
      inputSize: number,
      labels: Int32Array,
      task: Int32Array,
      classes: Int32Array,
    ): Promise<MultitaskDataset>;
    createMultitaskMlp(spec: MultitaskSpec, backend: string): Promise<MultitaskMlp>;
    /** Runs one backend kernel on host arrays (tests); returns every Float32Array after the op. */
    runKernel(backend: string, op: string, args: KernelArgs): Promise<Record<string, Float32Array>>;
    runRnnKernel(backend: string, op: string, args: KernelArgs): Promise<Record<string, Float32Array>>;
    runMultitaskKernel(backend: string, op: string, args: KernelArgs): Promise<Record<string, Float32Array>>;
  }
}

/** What a native module exports. */
export type NativeModule = Binding.Module;

/** The optimizer of a resolved model config, as every native model kind reads it. */
export function toNativeOptimizer(o: {
  type: 'adam' | 'adamw' | 'sgd';
  beta1: number;
  beta2: number;
  eps: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
}): Binding.OptimizerSpec {
  return {
    kind: o.type,
    beta1: o.beta1,
    beta2: o.beta2,
    eps: o.eps,
    momentum: o.momentum,
    nesterov: o.nesterov,
    weightDecay: o.weightDecay,
  };
}

const require = createRequire(import.meta.url);

function candidates(file: string): string[] {
  const root = packageRoot();
  if (file === 'biaslearn.node') return cpuModuleCandidates(root);
  const fromEnv = process.env.BIASLEARN_BUILD_DIR;
  return [...(fromEnv ? [join(fromEnv, file)] : []), join(root, 'build', 'Release', file), join(root, 'build', 'Debug', file)];
}

const loaded = new Map<BackendName, NativeModule>();
const loadedFrom = new Map<BackendName, string>();

/** The file the module serving `backend` was loaded from (undefined before it is loaded). */
export function nativeModulePath(backend: BackendName): string | undefined {
  return loadedFrom.get(backend);
}

/** The native module that serves `backend`. Throws a typed error saying why it cannot load. */
export function nativeFor(backend: BackendName): NativeModule {
  const hit = loaded.get(backend);
  if (hit) return hit;
  const file = backend === 'cuda' ? 'biaslearn_cuda.node' : 'biaslearn.node';
  const path = candidates(file).find((p) => existsSync(p));
  if (!path) {
    if (backend === 'cuda') {
      throw new BackendUnavailableError(
        "backend 'cuda' is not built: run `npx biaslearn build-cuda` (`npm run build:cuda` in a clone) on a machine with the CUDA toolkit and cuBLAS",
      );
    }
    throw new BiasLearnError(
      'E_NATIVE',
      `the native addon is not built (looked for ${candidates(file).join(', ')}); run \`npm install\` or \`npm run build\``,
    );
  }
  let mod: NativeModule;
  try {
    mod = require(path) as NativeModule;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (backend === 'cuda') throw new BackendUnavailableError(`backend 'cuda' could not be loaded from ${path}: ${reason}`);
    throw new BiasLearnError('E_NATIVE', `the native addon at ${path} failed to load: ${reason}`, { cause: err });
  }
  loaded.set(backend, mod);
  loadedFrom.set(backend, path);
  return mod;
}

/** The always-present CPU module. */
export function native(): NativeModule {
  return nativeFor('cpu');
}
