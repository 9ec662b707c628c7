/**
 * What the three model classes (MLP, RNN, MultitaskModel) share: the resolved configuration, the
 * backend, the native handle (one call at a time), the optimizer state, the standard export
 * formats and dispose. Each subclass adds its own construction, training and inference.
 */
import { type AnyModel, type ExportOptions, exportModel, importSafetensors } from '../io/model_export.js';
import { BiasLearnError, ValidationError, fromNativeError } from '../errors.js';
import type { BackendName, Binding } from '../native/binding.js';
import { describe } from '../util/validate.js';
import { currentWorld } from '../distributed/world.js';
import { gatherSlices, type SliceAxis, type WidthShard } from '../distributed/width_parallel.js';
import { checkLearnedValues } from './checkpoint.js';
import { NativeHandle } from './native_handle.js';
import { type OptimizerState, optimizerStateOf, restoreOptimizerState } from './optimizer_state.js';

export abstract class NativeModel<C, H extends Binding.Model> {
  readonly config: C;
  readonly backend: BackendName;
  /** @internal */
  protected readonly native: NativeHandle<H>;

  protected constructor(config: C, backend: BackendName, handle: H) {
    this.config = config;
    this.backend = backend;
    this.native = new NativeHandle(handle);
  }

  /** The optimizer's state (moments under PyTorch's state names, step counts), to resume training bit for bit. */
  getOptimizerState(): Promise<OptimizerState> {
    return optimizerStateOf(this.native);
  }

  /** Restores an optimizer state read from a model of the same configuration. */
  setOptimizerState(state: OptimizerState): Promise<void> {
    return restoreOptimizerState(this.native, state);
  }

  /**
   * Writes the model in a standard format: 'safetensors' (every tensor, frozen and learned, under
   * the names of an equivalent PyTorch module; see src/io/model_export.ts) or 'onnx' (the
   * inference graph: MLP and multi-task output `logits` and `probabilities`; the RNN is unrolled
   * over `options.steps` steps, input `x` [batch, T, I] (with `initialStateInput` also
   * `initial_state` [batch, H]; default condition 0's r0), outputs `y` [batch, T, O] and
   * `final_state`).
   */
  async export(path: string, options: ExportOptions): Promise<void> {
    await exportModel(this as unknown as AnyModel, path, options);
  }

  /** Sets the learned tensors from a safetensors file (as `export` writes; frozen tensors in it must match). */
  async importSafetensors(path: string): Promise<void> {
    await importSafetensors(this as unknown as AnyModel, path);
  }

  /**
   * Data-parallel training over the MPI module at `modulePath` (null detaches); the fit loop calls
   * it when a distributed world is started.
   * @internal
   */
  attachCollective(modulePath: string | null): void {
    if (modulePath !== null && typeof modulePath !== 'string')
      throw new ValidationError('E_INVALID_ARG', `expected the MPI module's path or null, got ${describe(modulePath)}`);
    try {
      this.native.live().attachCollective(modulePath);
    } catch (err) {
      throw fromNativeError(err);
    }
  }

  /**
   * Bytes the frozen tensors (weights, and frozen biases or states) hold on the backend. With
   * `weightPrecision: 'bf16'` the large frozen matrices take about half of their fp32 bytes.
   */
  frozenBytes(): number {
    return this.native.live().frozenBytes();
  }

  /** Width-parallel models (MLP, multi-task; docs/distributed.md): this rank's hidden units; undefined otherwise. */
  widthShard: WidthShard | undefined;

  /** @internal Width-parallel models keep their collective (attached at creation); fit does not shard the data. */
  get widthParallel(): boolean {
    return this.widthShard !== undefined;
  }

  /** E_CONFIG for what a width-parallel model (this rank's slice only) cannot do. */
  protected expectWholeModel(what: string): void {
    if (this.widthShard)
      throw new BiasLearnError(
        'E_CONFIG',
        `${what} is not supported for a width-parallel model; gatherLearned() gives the full tensors`,
      );
  }

  /**
   * The full learned tensors of a width-parallel model on every rank (a collective: every rank
   * calls it), hidden-unit slices of width `H` concatenated in rank order along `axisOf(name)`;
   * other models: this model's learned tensors.
   */
  protected async gatherWidthSlices(axisOf: (name: string) => SliceAxis, H: number): Promise<Record<string, Float32Array>> {
    const local = await this.getLearned();
    const world = currentWorld();
    if (!this.widthShard || !world) return local;
    const cols = Object.fromEntries(
      this.native
        .live()
        .params()
        .map((t) => [t.name, t.cols]),
    );
    return gatherSlices(world, local, cols, axisOf, H);
  }

  /** Names and sizes of the learned tensors, in the native tensor table's order. */
  learnedTensors(): { name: string; size: number }[] {
    return this.native
      .live()
      .params()
      .map(({ name, size }) => ({ name, size }));
  }

  /** Copies of every learned tensor, by name. */
  async getLearned(): Promise<Record<string, Float32Array>> {
    return this.native.exclusive((h) => h.getParams());
  }

  /** Sets every learned tensor (all of them, exact sizes, finite values). */
  async setLearned(values: Record<string, Float32Array>): Promise<void> {
    checkLearnedValues(this.learnedTensors(), values);
    await this.native.exclusive((h) => h.setParams(values));
  }

  /** Resets the optimizer's moments and step count (learned values stay). */
  async resetOptimizer(): Promise<void> {
    await this.native.exclusive((h) => h.resetOptimizer());
  }

  /** Frees native memory now (otherwise freed when garbage-collected). */
  dispose(): void {
    this.native.dispose();
  }
}
