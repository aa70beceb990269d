/** Optimizers: SGD, Adam and AdamW with parameter groups and bit-exact state save/load. */
export { Optimizer, type ParamGroup, type GroupInit, type ParamsInput, type ParamState } from './optimizer.js';
export type { OptimizerMeta, OptimizerStateDict, GroupMeta, HyperValue } from './state.js';
export { SGD, type SGDGroup, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamGroup, type AdamOptions } from './adam.js';
export { GradScaler, type GradScalerOptions, type GradScalerState } from './grad-scaler.js';
