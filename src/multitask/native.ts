/** Names of the multi-task model's native types (aliases of `Binding` in ../native/binding.ts). Internal. */
import { nativeFor, type BackendName, type Binding } from '../native/binding.js';

export type NativeMultitaskSpec = Binding.MultitaskSpec;
export type NativeMultitaskStats = Binding.MultitaskStats;
export type NativeActivity = Binding.Activity;
export type NativeMultitaskDataset = Binding.MultitaskDataset;
export type NativeTensorInfo = Binding.TensorInfo;
export type NativeMultitaskMlp = Binding.MultitaskMlp;
export type MultitaskNativeModule = Binding.Module;

/** The module serving `backend`. */
export function multitaskNative(backend: BackendName): Binding.Module {
  return nativeFor(backend);
}
