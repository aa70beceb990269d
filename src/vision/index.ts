/** Vision: ready-made architectures (the Keras MNIST CNN, an MLP, ResNet-18/34/50, MobileNetV2) and transfer learning (metadata, the fastai head, TransferModel, visionLearner, precompute). */
export { MobileNetV2, mobilenetV2, InvertedResidual, ConvBNReLU6, makeDivisible, type MobileNetV2Options } from './mobilenet.js';
export {
  modelMeta, archMeta, metaOf, cutModel, cutNames, cutGraph, graphCutLayer, resnetSplit, mobilenetV2Split, defaultSplit, graphSplit,
  type ArchMeta, type WeightsFile,
} from './meta.js';
export { createHead, initHead, AdaptiveConcatPool2d, type HeadOptions } from './head.js';
export { TransferModel, bodyOutputShape, bodyInputChannels } from './transfer-model.js';
export { PrecomputeSource, type PrecomputeState, type PrecomputeSourceOptions } from './precompute.js';
export {
  visionLearner, VisionLearner, transferModel, buildTransferModel, type VisionLearnerOptions, type TransferArchitecture,
} from './vision-learner.js';
export { mnistCnn, mlp, type InputShape } from './simple.js';
export { resnet18, resnet34, resnet50, ResNet, BasicBlock, Bottleneck, type ResNetOptions } from './resnet.js';
