/** Data: IDX files, in-memory datasets, loaders and splits (images from disk in ./image). */
export { parseIdx, readIdx, encodeIdx, type IdxArray, type IdxType } from './idx.js';
export { TensorDataset, type Batch, type Dataset, type Normalize, type TensorDatasetOptions } from './dataset.js';
export { DataLoader, type BatchSource, type DataLoaderOptions, type DataLoaderState } from './loader.js';
export { splitDataset } from './split.js';
export {
  loadIdxDataset, loadFashionMnist, loadSample, sampleDir, FASHION_MNIST_CLASSES, MNIST_CLASSES,
  DEBIAN_FASHION_MNIST_DIR, type Split,
} from './mnist.js';
