/** Transfer learning: MobileNetV2, architecture metadata, the fastai head, TransferModel, visionLearner and precompute. */
export { MobileNetV2, mobilenetV2, InvertedResidual, ConvBNReLU6, makeDivisible, type MobileNetV2Options } from './mobilenet.js';
export {
  modelMeta, archMeta, metaOf, cutModel, cutNames, cutGraph, resnetSplit, mobilenetV2Split, defaultSplit, graphSplit,
  type ArchMeta, type WeightsFile,
} from './meta.js';
export { createHead, initHead, AdaptiveConcatPool2d, type HeadOptions } from './head.js';
export { TransferModel, bodyOutputShape, bodyInputChannels } from './transfer-model.js';
export { PrecomputeSource, type PrecomputeState, type PrecomputeSourceOptions } from './precompute.js';
export {
  visionLearner, VisionLearner, transferModel, buildTransferModel, type VisionLearnerOptions, type TransferArchitecture,
} from './vision-learner.js';
