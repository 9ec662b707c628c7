/**
 * biaslearn: neural networks with random frozen weights and learned biases.
 * @packageDocumentation
 */
export * from './errors.js';
export * from './data/index.js';
export { MLP, type EvaluateOptions, type MLPPredictOptions } from './model/mlp.js';
export { PREDICT_OUTPUTS, type PredictOutput, type FitTargets, type ArrayFitOptions } from './model/outputs.js';
export type { MultitaskArrayFitOptions } from './multitask/model.js';
export { readNpy, writeNpy, encodeNpy, decodeNpy, type NpyArray, type NpyData } from './io/npy.js';
export {
  readSafetensors,
  writeSafetensors,
  encodeSafetensors,
  decodeSafetensors,
  type NamedTensor,
  type LoadedTensor,
} from './io/safetensors.js';
export { EXPORT_FORMATS, exportTensors, type ExportFormat, type ExportOptions, type AnyModel } from './io/model_export.js';
export { METRIC_ALIASES, canonicalMetric } from './train/metric_names.js';
export { libraryVersion } from './util/package_root.js';
export {
  ACTIVATIONS,
  LOSSES,
  TRAINABLE_SETS,
  DEFAULT_HIDDEN_INIT,
  DEFAULT_READOUT_INIT,
  DEFAULT_FROZEN_READOUT_INIT,
  DEFAULT_LEARNED_READOUT_INIT,
  defaultLearningRate,
  DEFAULT_BIAS_INIT,
  DEFAULT_OPTIMIZER,
  resolveMLPConfig,
  type Activation,
  type LossName,
  type TrainableSet,
  type InitSpec,
  type OptimizerOptions,
  type OptimizerConfig,
  type MLPOptions,
  type MLPConfig,
  type LayerConfig,
  type LoadOptions,
} from './model/config.js';
export { activationMath, LEAKY_RELU_SLOPE, type ActivationMath } from './model/activation.js';
export {
  readCheckpoint,
  CHECKPOINT_VERSION,
  type Checkpoint,
  type CheckpointHeader,
  type ReadCheckpointOptions,
} from './model/checkpoint.js';
export { DEFAULT_MAX_LOAD_WEIGHTS } from './model/checkpoint_schema.js';
export { fit } from './train/fit.js';
export type { FitOptions, FitLoopOptions } from './train/fit_options.js';
export { History } from './train/history.js';
export {
  Callback,
  CallbackList,
  LambdaCallback,
  EarlyStopping,
  ReduceLROnPlateau,
  type Logs,
  type FitState,
  type CallbackHooks,
  type CallbackContext,
  type PlainCallback,
  type FitCallback,
  type BatchLogs,
  type ProgressInfo,
  type EarlyStoppingOptions,
  type ReduceLROnPlateauOptions,
} from './train/callbacks.js';
export {
  ProgressBar,
  LiveBar,
  epochLabel,
  epochSummary,
  type ProgressBarOptions,
  type TextStream,
  type BarStyle,
  type Verbosity,
} from './train/progress_bar.js';
export { CSVLogger, JsonLinesLogger, type CSVLoggerOptions, type JsonLinesLoggerOptions } from './train/loggers.js';
export {
  ModelCheckpoint,
  restoreTraining,
  formatCheckpointPath,
  hasOptimizerState,
  readOptimizerState,
  writeOptimizerState,
  optimizerStatePath,
  type ModelCheckpointOptions,
  type OptimizerStateAccess,
  type TrainingState,
  type SavingModel,
  type ResumeInfo,
} from './train/model_checkpoint.js';
export type { OptimizerState } from './model/optimizer_state.js';
export { constantLr, stepDecay, cosineDecay, type LrSchedule } from './train/schedules.js';
export type {
  FitTarget,
  FitSource,
  FitModel,
  SplittableSource,
  EvaluateResult,
  PassStats,
  TrainStepOptions,
} from './train/fit_target.js';
export { Rng } from './util/rng.js';
export { runtimeInfo, setThreads, cudaAvailable, measureSgemm, type RuntimeInfo } from './runtime.js';
export { generateWeights, type WeightDistribution } from './model/weights.js';
export type { BackendName } from './native/binding.js';
export * from './multitask/index.js';
export * as multitaskAnalysis from './analysis/multitask/index.js';
export {
  analyzeTaskVariance,
  compareVarianceProfiles,
  type TaskVarianceReport,
  type ProfileComparison,
} from './analysis/multitask/index.js';
export * from './rnn/index.js';
export * from './contrastive/index.js';
export * from './tasks/index.js';
export * from './analysis/rnn_dynamics.js';
export * as dynamics from './dynamics/index.js';
export { initDistributed, currentWorld, isRootRank, World } from './distributed/world.js';
export type { WidthShard } from './distributed/width_parallel.js';
export { mpiInfo, launchedByMpi } from './distributed/mpi_module.js';
export { enableNccl, ncclVersion } from './distributed/nccl.js';
