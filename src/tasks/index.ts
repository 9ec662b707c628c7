/** Seeded dynamical-systems tasks for recurrent networks. */
export {
  TASK_NAMES,
  cosineTask,
  vanDerPolTask,
  lorenzTask,
  mackeyGlassTask,
  reachingTask,
  makeTask,
  reachingErrors,
  type RnnTask,
  type TaskKind,
  type TaskName,
  type TaskDefaults,
  type CosineTaskOptions,
  type VanDerPolTaskOptions,
  type ForecastTaskOptions,
  type ReachingTaskOptions,
} from './tasks.js';
export { rk4Step, integrate, vanDerPolField, lorenzField, mackeyGlass, type Field, type Vector } from './systems.js';
export {
  TASK_REPORTS,
  type ReportedRnn,
  type TaskFigure,
  type TaskReport,
  type TaskReportOptions,
  type TaskReporter,
} from './reports.js';
