/** Analysis of multi-task models: task variance, clusters of units, bias vs variance, bias vs mask learning. */
export {
  DEFAULT_MIN_TOTAL_VARIANCE,
  averageRanks,
  mean,
  normalizeTaskVariance,
  pearson,
  spearman,
  type NormalizedTaskVariance,
} from './stats.js';
export {
  canonicalOrder,
  chooseK,
  kmeans,
  silhouetteScore,
  type ChooseKOptions,
  type ChooseKResult,
  type KMeansOptions,
  type KMeansResult,
} from './kmeans.js';
export {
  analyzeTaskVariance,
  compareVarianceProfiles,
  heatmapOrder,
  type AnalysisOptions,
  type ClusterSummary,
  type ProfileComparison,
  type TaskVarianceAnalysis,
  type TaskVarianceReport,
} from './report.js';
export { accuracyBars, clusterBars, heatmapRows, taskVarianceHeatmap, type AccuracyRow, type HeatmapOptions } from './plots.js';
