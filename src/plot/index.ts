/** Figures: Vega-Lite specs for training results, rendered to SVG in Node (no browser). */
export { renderVegaLiteSvg, writeSvg, type VegaLiteSpec } from './render.js';
export {
  linePlot,
  linePanel,
  concatPlots,
  VEGA_LITE_SCHEMA,
  type AxisOptions,
  type LinePlotOptions,
  type PlotRow,
  type SeriesOptions,
  type VegaLitePanel,
} from './line.js';
export {
  accuracyVsWidthPlot,
  summarizeByWidth,
  TRAIN_ORDER,
  type AccuracyVsWidthOptions,
  type WidthAccuracyRow,
  type WidthAccuracySummary,
} from './accuracy.js';
export { lossCurvePlot, type HistoryLike } from './loss.js';
