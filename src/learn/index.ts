/** Training: the Learner, its events and callbacks, metrics, schedules, lr finder, TTA and checkpoints. */
export { Learner, type LearnerOptions, type EpochRecord, type DataPair, type LossFunction, type OptimizerFactory, type FitOptions } from './learner.js';
export * from './events.js';
export * from './metrics.js';
export { ProgressCallback, renderBar, type ProgressWriter } from './progress.js';
export * from './callbacks/index.js';
export * from './schedules.js';
export * from './lr-find.js';
export { LabelSmoothingCrossEntropy } from './losses.js';
export { tta, ttaViews, type TTAOptions } from './tta.js';
export { type ImagePrediction } from './predict-image.js';
export { saveCheckpoint, loadCheckpoint, hasCheckpoint, CHECKPOINT_POINTER, type CheckpointInfo } from './checkpoint.js';
export { saveWeights, loadWeights, WEIGHTS_FORMAT } from './weights.js';
export { DISPLAY, isDisplayable, notebookHost, setNotebookHost, tslabHost, preferredMime, type MimeBundle, type Displayable, type NotebookHost, type LiveOutput } from './notebook.js';
