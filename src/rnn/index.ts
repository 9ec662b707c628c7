/** Bias-learning recurrent networks. */
export {
  RNN,
  type RunModeOptions,
  type RNNFitOptions,
  type RNNEvaluateOptions,
  type RNNEvaluateResult,
  type PredictOptions,
  type PredictResult,
  type GenerateOptions,
} from './rnn.js';
export {
  RNN_DEFAULTS,
  RNN_TRAINABLE_SETS,
  RULE_KINDS,
  parseRule,
  formatRule,
  resolveRNNConfig,
  type RNNOptions,
  type RNNConfig,
  type RNNTrainable,
  type RNNTrainablePreset,
  type RuleKind,
  type RuleSpec,
  type ResolvedRule,
} from './config.js';
export { SequenceDataset, type SequenceDataOptions } from './sequences.js';
export { trajectoryMetrics, sequenceLosses, type TrajectoryMetrics } from './metrics.js';
