/** Batch augmentation of in-memory image batches and the data-based flip decision. */
export { BatchAugment, type BatchAugmentOptions, type AugmentDraws } from './batch-augment.js';
export { AugmentedLoader, augmentBatches, type AugmentedLoaderState } from './augmented-loader.js';
export { flipCheck, flipCheckDataset, flipCheckSource, FLIP_THRESHOLD, type FlipCheck } from './flip-check.js';
