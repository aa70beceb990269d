/** Kestrel: train image classifiers from TypeScript on libtorch. */
export * from './tensor/index.js';
