/**
 * Learning dynamics of local rules in linear RNNs (Williams, Payeur & Lajoie 2026): linear
 * teachers, teacher-student simulation on the native rules, per-mode ODEs with their fixed
 * points and Jacobians, and the studies of docs/dynamics.md.
 */
export {
  alignedFeedback,
  alignedTeacher,
  alignedTensors,
  generalTeacher,
  modeCoordinates,
  type AlignedTeacherOptions,
  type GeneralTeacherOptions,
  type LinearTeacher,
  type ModeBasis,
} from './teacher.js';
export {
  DYNAMICS_RULES,
  findModeFixedPoint,
  integrateModeOde,
  integrateModeOdeAt,
  modeDelta,
  modeEigenvalues,
  modeJacobian,
  modeLoss,
  modeResidual,
  modeVelocity,
  optimalPoint,
  type DynamicsRule,
  type ModeEigen,
  type ModeRuleOptions,
  type ModeState,
  type OdeTrajectory,
} from './modes.js';
export {
  simulateStudent,
  teacherBatches,
  type SimulateOptions,
  type SimulationResult,
  type StudentParams,
  type StudentTrainable,
} from './simulate.js';
export {
  biasOnlySubspace,
  compareOdeToSimulation,
  convergenceStudy,
  fractionOutsideSpan,
  rankSpectra,
  stabilityMap,
  type BiasOnlyOptions,
  type BiasOnlyResult,
  type ConvergenceOptions,
  type ConvergenceRun,
  type ConvergenceStudy,
  type LeaveRun,
  type ModeComparison,
  type OdeComparison,
  type OdeComparisonOptions,
  type Progress,
  type RankOptions,
  type RankResult,
  type RankStudy,
  type StabilityOptions,
  type StabilityRow,
  type StabilityStudy,
  type StudyOptions,
} from './experiments.js';
export { convergenceFigure, lossFigure, odeFigure, rankFigure, stabilityFigure } from './figures.js';
