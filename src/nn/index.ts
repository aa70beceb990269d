/** Layers, models, losses and initialisers. */
export { Module, Parameter, Buffer } from './module.js';
export { Linear } from './linear.js';
export { Conv2d, type Conv2dOptions } from './conv.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, GlobalAvgPool2d, type PoolOptions } from './pooling.js';
export { BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './batchnorm.js';
export { Dropout } from './dropout.js';
export { ReLU, ReLU6, Hardswish, SiLU, LeakyReLU, Sigmoid, Tanh, Softmax } from './activation.js';
export { Sequential, Flatten } from './sequential.js';
export { summarize, summarizeGraph, summaryHtml, type Summary, type SummaryRow } from './summary.js';
export { Identity, Reshape, Permute, ZeroPad2d } from './reshape.js';
export { Lambda } from './lambda.js';
export { Add, Multiply, Concatenate, add, multiply, concatenate, type ConcatenateOptions } from './merge.js';
export * from './graph/index.js';
export { withForwardHooks, withForwardHook, findModule, type ForwardHook } from './hooks.js';
export * from './losses.js';
export * as init from './init.js';
export { functional } from '../tensor/index.js';
