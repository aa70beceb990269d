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
/** ONNX export. */
export * from './onnx/index.js';
/** Weight sources: one interface over torch.save files, safetensors and tensors in memory; renaming. */
export { type WeightSource, type RenameRule, type RemapOptions, weightsFromTensors, openSafetensorsWeights, remapWeights, remapName } from './weight-source.js';
/** PyTorch torch.save files (zip and legacy), read without executing anything. */
export { openTorchFile, TorchFile, type TorchFileOptions } from './torch-file.js';
/** Python pickles decoded as data (never executed). */
export { decodePickle, type DecodedPickle, type PickleLimits, type PickleValue, PickleError } from './pickle.js';
/** Loading weights into a model by name, strictly or leniently, with a report. */
export { loadWeightsFrom, compareWeights, type LoadWeightsOptions, type LoadReport, type ShapeMismatch } from './load-weights.js';
/** Which torchvision architecture a state dict belongs to. */
export { detectArchitecture, type DetectedArchitecture } from './detect-architecture.js';
/** Weights by path or URL (downloaded, checked, cached), opened by file type. */
export { resolveWeights, openWeights, loadPretrained, hashPrefixOf, type ResolveWeightsOptions } from './open-weights.js';
/** Building the model a state dict describes. */
export { buildFromWeights, type BuildFromWeightsOptions, type BuiltModel } from './build-from-weights.js';
/** TF.js layers models (Keras) imported as graph models; the rest of the importer under `tfjs`. */
export { loadTfjsModel, kerasArchitecture, kerasArchitectureOf, KERAS_ARCHITECTURE, type LoadTfjsOptions, type TfjsModel } from './tfjs/index.js';
export * as tfjs from './tfjs/index.js';
