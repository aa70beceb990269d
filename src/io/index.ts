/** Saving and loading: safetensors files, model bundles and optimizer state. */
/** Safetensors read/write (files atomically, or in-memory buffers). */
export { saveSafetensors, loadSafetensors, encodeSafetensors, decodeSafetensors, type NamedTensors, type Safetensors } from '../tensor/index.js';
/** Safetensors dtype names Kestrel reads and how they map to Kestrel dtypes. */
export { SAFETENSORS_DTYPES, type SafetensorsDType } from '../tensor/index.js';
/** Crash-safe file writing (temporary file, fsync, rename). */
export { writeFileAtomic, writeTextFileAtomic } from '../tensor/index.js';
/** Model bundles: directory with model.safetensors + model.json. */
export { saveModel, loadModel, readModelManifest, kestrelVersion, bundlePreprocessing, LoadedModel, MODEL_WEIGHTS_FILE, MODEL_MANIFEST_FILE } from './bundle.js';
/** Predictions on images from loaded models and ensembles. */
export {
  ImageClassifier, Ensemble, classify, labelPredictions, meanProbabilities, type Classifier, type ImageInput, type PredictOptions, type Prediction, type PredictResults, type Probabilities,
} from './predict.js';
/** The model.json schema of a bundle. */
export { type ModelInfo, type ModelManifest, type BundlePreprocess, MODEL_FORMAT, MODEL_FORMAT_VERSION } from './manifest.js';
/** Architecture registry used to rebuild bundled models. */
export { defaultArchitectures, inputOption, type ArchitectureFactory, type ArchitectureRegistry } from './architectures.js';
/** Optimizer state as safetensors + JSON meta. */
export { saveOptimizerState, loadOptimizerState, type OptimizerState, OPTIMIZER_FORMAT } from '../tensor/index.js';
