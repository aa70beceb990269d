/** Kestrel: train image classifiers from TypeScript on libtorch. */
export * from './tensor/index.js';
export * as nn from './nn/index.js';
