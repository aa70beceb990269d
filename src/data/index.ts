/** Data: IDX files, in-memory datasets, loaders and splits (images from disk in ./image). */
export { parseIdx, readIdx, encodeIdx, type IdxArray, type IdxType } from './idx.js';
export { TensorDataset, type Batch, type Dataset, type Normalize, type TensorDatasetOptions } from './dataset.js';
export { DataLoader, requestLayout, type BatchSource, type DataLoaderOptions, type DataLoaderState } from './loader.js';
export { type Shard, shardOrder, shardLength, checkShard } from './sampler.js';
export { splitDataset, type SplitOptions } from './split.js';
export {
  loadIdxDataset, loadFashionMnist, loadSample, sampleDir, FASHION_MNIST_CLASSES, MNIST_CLASSES,
  DEBIAN_FASHION_MNIST_DIR, type Split,
} from './mnist.js';
export { download, DownloadError, type DownloadErrorKind, type DownloadOptions } from './download.js';
export { kestrelHome, datasetDir, hashFile, type HashAlgorithm } from './cache.js';
export { registerDataset, unregisterDataset, getDataset, listDatasets, type DatasetEntry, type DatasetFile } from './registry.js';
export { ensureDataset, verifyDataset, datasetCacheState, type EnsureDatasetOptions, type VerifyResult } from './ensure.js';
export { extractTar, type TarEntry } from './tar.js';
export { readCifar10, readCifar100, loadCifar10, loadCifar100, CIFAR_IMAGE_BYTES, type CifarData, type CifarOptions, type Cifar100Options } from './cifar.js';
export { readPixelCsv, readDigitsCsv, loadPixelCsv, writePredictionsCsv, type PixelCsvOptions, type PixelCsvData, type PredictionsCsvOptions } from './csv-pixels.js';
export { parseCsvRows, csvField, csvLine, type CsvRow } from './csv.js';
export { progressPrinter, formatBytes, formatDuration, type DownloadProgress, type ProgressSink, type ProgressPrinterOptions } from './progress.js';
export * from './image/index.js';
export * from './augment/index.js';
