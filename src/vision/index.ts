/** Vision: ready-made architectures (the Keras MNIST CNN, an MLP, ResNet-18/34/50). */
export { mnistCnn, mlp, type InputShape } from './simple.js';
export { resnet18, resnet34, resnet50, ResNet, BasicBlock, Bottleneck, type ResNetOptions } from './resnet.js';
