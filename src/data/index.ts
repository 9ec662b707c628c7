/** The data layer: IDX files, in-memory datasets, image-set loaders and synthetic data. */
export { readIdx, writeIdx, parseIdx, encodeIdx } from './idx.js';
export type { IdxArray, IdxData, ReadIdxOptions, ReadProgress, WriteIdxOptions } from './idx.js';
export { Dataset } from './dataset.js';
export type {
  Batch,
  BatchOptions,
  ClassTargets,
  FeatureStats,
  SplitResult,
  StandardizeOptions,
  Targets,
  ValueTargets,
} from './dataset.js';
export {
  FASHION_MNIST_DEFAULT_DIR,
  defaultSharedDataDir,
  loadFashionMnist,
  loadIdxClassification,
  loadKmnist,
  loadMnist,
} from './images.js';
export type { IdxClassificationOptions, ImageSplit, NamedImageLoaderOptions } from './images.js';
export {
  DATASET_NAMES,
  dataHome,
  datasetDir,
  datasetSearchDirs,
  fetchCommand,
  splitsIn,
  systemDataDirs,
  type DatasetName,
  type Env,
} from './locations.js';
export {
  DATASET_SOURCES,
  fetchDataset,
  fetchFiles,
  type DatasetSource,
  type FetchOptions,
  type FetchResult,
  type FetchedFile,
  type RemoteFile,
} from './fetch.js';
export {
  evaluateSyntheticFunction,
  spiralClassification,
  syntheticFunctionInfo,
  syntheticFunctionNames,
  syntheticGrid,
  syntheticRegression,
} from './synthetic.js';
export type { SpiralOptions, SyntheticFunctionName, SyntheticGridOptions, SyntheticRegressionOptions } from './synthetic.js';
