/** The energy network trained by contrastive rules (equilibrium propagation and its temporally local forms). */
export { EnergyNetwork, type EnergyFitOptions, type EnergyGradients } from './energy_network.js';
export {
  CONTRASTIVE_RULES,
  DEFAULT_RELAXATION,
  optimalPi,
  resolveEnergyConfig,
  resolveRelaxation,
  type ContrastiveRule,
  type EnergyNetworkConfig,
  type EnergyNetworkOptions,
  type EnergyTrainable,
  type RelaxationOptions,
  type ResolvedRelaxation,
} from './config.js';
export { errorVsBetaPlot, accuracyCurvesPlot, phaseTimelinePlot } from './plots.js';
