/** TF.js layers models (Keras topologies + weight shards) imported as Kestrel graph models. */
export { loadTfjsModel, type LoadTfjsOptions, type TfjsModel } from './load.js';
export { decodeWeightsManifest, validateWeightsManifest, type WeightsManifest, type WeightsGroup, type WeightSpec, type WeightQuantization } from './manifest.js';
export { buildKerasGraph, type KerasGraph, type KerasGraphLayer, type KerasGraphOptions } from './graph.js';
export { parseKerasTopology, cutKerasModel, type KerasModelSpec, type KerasLayerSpec, type TensorRef } from './topology.js';
export { KERAS_LAYERS, type LayerBuilder, type BuildContext, type BuiltLayer, type WeightBinding } from './builders.js';
export { toKestrelLayout, type LayoutConversion } from './layout.js';
export { KERAS_ARCHITECTURE, kerasArchitecture, kerasArchitectureOf } from './architecture.js';
export { KerasConv2d, SeparableConv2d, samePadding } from './conv.js';
export { KerasActivation, KerasReLU, KERAS_ACTIVATIONS } from './activations.js';
export { SamePool2d, GlobalPool2d } from './pooling.js';
export { KerasDense, KerasFlatten, KerasReshape, Rescaling } from './reshape.js';
