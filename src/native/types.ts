/**
 * Names of the native types used across src/ (aliases of `Binding` in ./binding.ts, where the
 * whole native surface is typed). Internal.
 */
import type { Binding } from './binding.js';

export type NativeInitSpec = Binding.InitSpec;
export type NativeOptimizerSpec = Binding.OptimizerSpec;
export type NativeTensorInfo = Binding.TensorInfo;
export type NativeLayerSpec = Binding.LayerSpec;
export type NativeMlpSpec = Binding.MlpSpec;
export type NativePassStats = Binding.PassStats;
export type NativeDataset = Binding.Dataset;
export type NativeMlp = Binding.Mlp;
export type NativeModule = Binding.Module;
