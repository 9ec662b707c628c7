/** Multi-task bias learning: shared frozen weights, one bias vector (or gate vector) per task. */
export {
  MultitaskModel,
  MultitaskHistory,
  type ActivityStats,
  type MultitaskEvaluateOptions,
  type MultitaskEvaluateResult,
  type MultitaskFitOptions,
  type RunningTaskStats,
  type TaskHistory,
  type TaskMetrics,
} from './model.js';
export {
  DEFAULT_MASK_INIT,
  DEFAULT_MASK_SLOPE,
  MULTITASK_TRAIN_MODES,
  READOUT_KINDS,
  maskSlopeAt,
  resolveMultitaskConfig,
  type MaskSlope,
  type MultitaskConfig,
  type MultitaskOptions,
  type MultitaskTrainMode,
  type ReadoutKind,
  type TaskInfo,
} from './config.js';
export { MultitaskDataset, type TaskData, type TaskEntry } from './data.js';
export {
  BASE_TASKS,
  DEFAULT_SEVEN_TASKS,
  applyTransforms,
  defaultTaskDir,
  loadBaseTask,
  loadTasks,
  parseTaskList,
  parseTaskSpec,
  pixelPermutation,
  rotateImages,
  type BaseTask,
  type LoadedTasks,
  type TaskDataOptions,
  type TaskSpec,
  type TaskTransform,
} from './tasks.js';
