/** Training: the Learner, its events and callbacks, metrics and progress. */
export { Learner, type LearnerOptions, type EpochRecord, type DataPair, type LossFunction, type OptimizerFactory } from './learner.js';
export * from './events.js';
export * from './metrics.js';
export { ProgressCallback, renderBar, type ProgressWriter } from './progress.js';
