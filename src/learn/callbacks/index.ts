/** The Learner's callbacks, one per file. */
export { Recorder } from './recorder.js';
export { CSVLogger } from './csv-logger.js';
export { SaveModel, type SaveModelOptions } from './save-model.js';
export { EarlyStopping, type EarlyStoppingOptions } from './early-stopping.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './reduce-lr-on-plateau.js';
export { TerminateOnNaN, type NonFiniteAt } from './terminate-on-nan.js';
export { GradientClipping, clipGradNorm } from './gradient-clipping.js';
export { MixUp, type MixUpOptions, type PerSampleLoss } from './mixup.js';
export { ParamScheduler, type ParamSchedules, groupMomentum, setGroupMomentum } from './param-scheduler.js';
export { Checkpoint } from './checkpoint.js';
export { Monitor, type MonitorMode, type MonitorOptions } from './monitor.js';
export { GracefulStop, type StopInfo } from './graceful-stop.js';
export { TimeKeeper, type TimeKeeperOptions, type TimeKeeperChange } from './time-keeper.js';
