/** Names of the RNN's native types (aliases of `Binding` in ../native/binding.ts). Internal. */
import { nativeFor, type BackendName, type Binding } from '../native/binding.js';

export type NativeRnnSpec = Binding.RnnSpec;
export type NativeRunOptions = Binding.RunOptions;
export type NativeSeqDataset = Binding.SeqDataset;
export type NativeTensorInfo = Binding.TensorInfo;
export type NativeRnn = Binding.Rnn;
export type NativeSeqData = Binding.SeqData;
export type RnnNativeModule = Binding.Module;

/** The module serving `backend`. */
export function rnnNative(backend: BackendName): Binding.Module {
  return nativeFor(backend);
}
