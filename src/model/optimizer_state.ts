/**
 * A model's optimizer state: what `fit` must restore, beside the learned values, to resume
 * bit for bit. Moment buffers are named as in PyTorch's optimizer state (`<tensor>.exp_avg`,
 * `<tensor>.exp_avg_sq` for Adam and AdamW, `<tensor>.momentum_buffer` for SGD with momentum;
 * none for plain SGD), and the step counts are `[shared, task 0, task 1, ...]` (one entry for
 * the MLP and the RNN; the multi-task model steps each task's rows with the task's own count).
 */
import { ValidationError } from '../errors.js';
import type { Binding } from '../native/binding.js';
import { describe } from '../util/validate.js';
import type { NativeHandle } from './native_handle.js';

export interface OptimizerState {
  /** Optimizer steps taken: [shared tensors, then each task's rows]. */
  steps: number[];
  /** Moment buffers by `<tensor>.<state>` name, each the size of its tensor. */
  tensors: Record<string, Float32Array>;
}

/** A copy of the state of the model behind `native`. */
export function optimizerStateOf(native: NativeHandle<Binding.Model>): Promise<OptimizerState> {
  return native.exclusive((h) => h.getOptimizerState());
}

/** Restores a state read from a model of the same configuration (names, sizes, step counts checked natively). */
export async function restoreOptimizerState(native: NativeHandle<Binding.Model>, state: OptimizerState): Promise<void> {
  if (
    typeof state !== 'object' ||
    state === null ||
    !Array.isArray(state.steps) ||
    typeof state.tensors !== 'object' ||
    state.tensors === null
  ) {
    throw new ValidationError(
      'E_INVALID_ARG',
      `expected { steps: number[], tensors: { name: Float32Array } } for the optimizer state, got ${describe(state)}`,
    );
  }
  await native.exclusive((h) => h.setOptimizerState(state.steps, state.tensors));
}
