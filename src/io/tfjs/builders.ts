/**
 * The Keras layer table: class name -> a builder that reads the config as Keras 2.x / TF.js write
 * it and returns a Kestrel module plus where each of its parameters comes from in the weights.
 */
import * as nn from '../../nn/index.js';
import type { Module } from '../../nn/index.js';
import { KerasActivation, KerasReLU, activationName } from './activations.js';
import { KerasConv2d, type Pads, SeparableConv2d, samePadding } from './conv.js';
import { KerasConfig } from './keras-config.js';
import { BATCH_NORM_NAMES, type LayoutConversion } from './layout.js';
import { GlobalPool2d, SamePool2d } from './pooling.js';
import { KerasDense, KerasFlatten, KerasReshape, Rescaling } from './reshape.js';

/** A Kestrel parameter (or buffer) of a layer and the Keras weight it is read from. */
export interface WeightBinding {
  /** Name inside the module (`weight`, `pointwise.bias`, `running_mean`). */
  param: string;
  /** The Keras weight name (`kernel`, `depthwise_kernel`, `moving_mean`). */
  keras: string;
  conversion: LayoutConversion;
  /** DepthwiseConv2D's channel multiplier (to name the Keras shape in errors). */
  depthMultiplier?: number;
}

/** What a builder sees: the layer's config and its inputs' shapes in Kestrel's layout (no batch dim). */
export interface BuildContext {
  config: KerasConfig;
  inputShapes: number[][];
  /** Replaces a softmax activation by none (an output layer of a model imported as logits). */
  dropSoftmax: boolean;
  /** Set by the builder when it dropped a softmax. */
  droppedSoftmax?: boolean;
}

/** A built layer: its module and weight bindings. */
export interface BuiltLayer {
  module: Module;
  weights: WeightBinding[];
}

/** Builds one Keras layer class. */
export type LayerBuilder = (ctx: BuildContext) => BuiltLayer;

const bias = (useBias: boolean): WeightBinding[] => (useBias ? [{ param: 'bias', keras: 'bias', conversion: 'none' }] : []);

/** The single input's shape; image layers check it is [C, H, W]. */
function imageInput(ctx: BuildContext): [number, number, number] {
  const shape = single(ctx);
  if (shape.length !== 3) throw new Error(`expects an image input [height, width, channels], got a rank-${shape.length + 1} tensor`);
  return shape as [number, number, number];
}

function single(ctx: BuildContext): number[] {
  if (ctx.inputShapes.length !== 1) throw new Error(`takes one input, got ${ctx.inputShapes.length}`);
  return ctx.inputShapes[0];
}

/** Kestrel's dim for a Keras axis of a tensor with `rank` dims (batch included): NHWC axes move to NCHW. */
export function kestrelAxis(axis: number, rank: number): number {
  const positive = axis < 0 ? axis + rank : axis;
  if (positive < 1 || positive >= rank) throw new Error(`axis ${axis} is out of range for a rank-${rank} tensor (or is the batch axis)`);
  return rank === 4 ? [0, 2, 3, 1][positive] : positive;
}

/** The activation option, with a model output's softmax dropped when importing logits. */
function activation(ctx: BuildContext, key = 'activation'): string {
  const name = activationName(ctx.config.raw[key]);
  if (!ctx.dropSoftmax || name !== 'softmax') return name;
  ctx.droppedSoftmax = true;
  return 'linear';
}

/** Padding [left, right, top, bottom] for Keras's 'valid' or 'same' on an input of [h, w]. */
function pads(ctx: BuildContext, size: [number, number], kernel: [number, number], stride: [number, number], dilation: [number, number] = [1, 1]): Pads {
  if (ctx.config.choice('padding', ['valid', 'same'], 'valid') === 'valid') return [0, 0, 0, 0];
  const [top, bottom] = samePadding(size[0], kernel[0], stride[0], dilation[0]);
  const [left, right] = samePadding(size[1], kernel[1], stride[1], dilation[1]);
  return [left, right, top, bottom];
}

/** Options every Keras convolution shares. */
function convGeometry(ctx: BuildContext) {
  const c = ctx.config;
  c.channelsLast();
  const [channels, height, width] = imageInput(ctx);
  const kernel = c.pair('kernel_size');
  const stride = c.pair('strides', [1, 1]);
  const dilation = c.pair('dilation_rate', [1, 1]);
  return { channels, kernel, stride, dilation, pads: pads(ctx, [height, width], kernel, stride, dilation), useBias: c.bool('use_bias', true) };
}

function conv2d(ctx: BuildContext): BuiltLayer {
  const g = convGeometry(ctx);
  const filters = ctx.config.int('filters');
  const groups = ctx.config.int('groups', 1);
  const module = new KerasConv2d(g.channels, filters, g.kernel, { ...g, groups, bias: g.useBias, activation: activation(ctx) });
  return { module, weights: [{ param: 'weight', keras: 'kernel', conversion: 'conv' }, ...bias(g.useBias)] };
}

function depthwiseConv2d(ctx: BuildContext): BuiltLayer {
  const g = convGeometry(ctx);
  const m = ctx.config.int('depth_multiplier', 1);
  const module = new KerasConv2d(g.channels, g.channels * m, g.kernel, { ...g, groups: g.channels, bias: g.useBias, activation: activation(ctx) });
  return { module, weights: [{ param: 'weight', keras: 'depthwise_kernel', conversion: 'depthwise', depthMultiplier: m }, ...bias(g.useBias)] };
}

function separableConv2d(ctx: BuildContext): BuiltLayer {
  const g = convGeometry(ctx);
  const m = ctx.config.int('depth_multiplier', 1);
  const module = new SeparableConv2d(g.channels, ctx.config.int('filters'), g.kernel, { ...g, depthMultiplier: m, bias: g.useBias, activation: activation(ctx) });
  return {
    module,
    weights: [
      { param: 'depthwise.weight', keras: 'depthwise_kernel', conversion: 'depthwise', depthMultiplier: m },
      { param: 'pointwise.weight', keras: 'pointwise_kernel', conversion: 'conv' },
      ...(g.useBias ? [{ param: 'pointwise.bias', keras: 'bias', conversion: 'none' as const }] : []),
    ],
  };
}

function batchNormalization(ctx: BuildContext): BuiltLayer {
  const c = ctx.config;
  const shape = single(ctx);
  const rank = shape.length + 1;
  if (rank !== 4 && rank !== 2) throw new Error(`is supported on images and feature vectors only, got a rank-${rank} input`);
  if (kestrelAxis(c.axis('axis', -1), rank) !== 1) throw new Error(`normalises axis ${c.axis('axis', -1)}, not the channels (only the channel axis is supported)`);
  const center = c.bool('center', true);
  const scale = c.bool('scale', true);
  // NOTE: Keras's moving average keeps `momentum` of the old value; PyTorch's momentum is the new value's share.
  const options = { eps: c.number('epsilon', 1e-3), momentum: 1 - c.number('momentum', 0.99), affine: center || scale };
  // NOTE: with only one of center/scale, the other is Kestrel's identity value (ones or zeros), trainable unlike Keras's.
  const module = rank === 4 ? new nn.BatchNorm2d(shape[0], options) : new nn.BatchNorm1d(shape[0], options);
  const names = Object.entries(BATCH_NORM_NAMES).filter(([keras]) => (keras !== 'gamma' || scale) && (keras !== 'beta' || center));
  return { module, weights: names.map(([keras, param]) => ({ param, keras, conversion: 'none' as const })) };
}

function relu(ctx: BuildContext): BuiltLayer {
  const c = ctx.config;
  const max = c.optionalNumber('max_value');
  const slope = c.number('negative_slope', 0);
  const threshold = c.number('threshold', 0);
  let module: Module;
  if (threshold === 0 && slope === 0 && max === null) module = new nn.ReLU();
  else if (threshold === 0 && slope === 0 && max === 6) module = new nn.ReLU6();
  else if (threshold === 0 && max === null) module = new nn.LeakyReLU(slope);
  else module = new KerasReLU(max, slope, threshold);
  return { module, weights: [] };
}

function activationLayer(ctx: BuildContext): BuiltLayer {
  const name = activation(ctx);
  return { module: name === 'linear' ? new nn.Identity() : new KerasActivation(name), weights: [] };
}

function zeroPadding2d(ctx: BuildContext): BuiltLayer {
  ctx.config.channelsLast();
  imageInput(ctx);
  const raw = ctx.config.raw.padding ?? 1;
  const ok = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  let top: number, bottom: number, left: number, right: number;
  if (ok(raw)) [top, bottom, left, right] = [raw, raw, raw, raw];
  else if (Array.isArray(raw) && raw.length === 2 && raw.every(ok)) [top, bottom, left, right] = [raw[0], raw[0], raw[1], raw[1]];
  else if (Array.isArray(raw) && raw.length === 2 && raw.every((p) => Array.isArray(p) && p.length === 2 && p.every(ok))) [[top, bottom], [left, right]] = raw as number[][];
  else throw new Error(`option 'padding' must be an integer, [height, width] or [[top, bottom], [left, right]], got ${JSON.stringify(raw)}`);
  return { module: new nn.ZeroPad2d(left, right, top, bottom), weights: [] };
}

function merge(make: (rank: number) => Module): LayerBuilder {
  return (ctx) => {
    if (ctx.inputShapes.length < 2) throw new Error(`takes at least 2 inputs, got ${ctx.inputShapes.length}`);
    return { module: make(ctx.inputShapes[0].length + 1), weights: [] };
  };
}

function pooling(kind: 'max' | 'avg'): LayerBuilder {
  return (ctx) => {
    const c = ctx.config;
    c.channelsLast();
    const [, height, width] = imageInput(ctx);
    const kernel = c.pair('pool_size', [2, 2]);
    const stride = c.pair('strides', kernel);
    const p = pads(ctx, [height, width], kernel, stride);
    if (p.some((v) => v > 0)) return { module: new SamePool2d(kind, kernel, stride, p), weights: [] };
    return { module: kind === 'max' ? new nn.MaxPool2d(kernel, { stride }) : new nn.AvgPool2d(kernel, { stride }), weights: [] };
  };
}

function globalPooling(kind: 'max' | 'avg'): LayerBuilder {
  return (ctx) => {
    ctx.config.channelsLast();
    imageInput(ctx);
    return { module: new GlobalPool2d(kind, ctx.config.bool('keepdims', false)), weights: [] };
  };
}

function dense(ctx: BuildContext): BuiltLayer {
  const shape = single(ctx);
  // NOTE: Keras's Dense acts on the last (channels) axis, which is dim 1 of Kestrel's NCHW images.
  const inFeatures = shape.length === 3 ? shape[0] : shape[shape.length - 1];
  const useBias = ctx.config.bool('use_bias', true);
  const module = new KerasDense(inFeatures, ctx.config.int('units'), { bias: useBias, activation: activation(ctx) });
  return { module, weights: [{ param: 'weight', keras: 'kernel', conversion: 'dense' }, ...bias(useBias)] };
}

function softmax(ctx: BuildContext): BuiltLayer {
  const rank = single(ctx).length + 1;
  const dim = kestrelAxis(ctx.config.axis('axis', -1), rank);
  ctx.droppedSoftmax = ctx.dropSoftmax;
  return { module: ctx.dropSoftmax ? new nn.Identity() : new nn.Softmax(dim), weights: [] };
}

/** The Keras layer classes Kestrel imports (InputLayer is handled by the graph builder). */
export const KERAS_LAYERS: Readonly<Record<string, LayerBuilder>> = Object.freeze({
  Conv2D: conv2d,
  Convolution2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  SeparableConvolution2D: separableConv2d,
  BatchNormalization: batchNormalization,
  ReLU: relu,
  LeakyReLU: (ctx) => ({ module: new nn.LeakyReLU(ctx.config.number('alpha', ctx.config.number('negative_slope', 0.3))), weights: [] }),
  Activation: activationLayer,
  Softmax: softmax,
  ZeroPadding2D: zeroPadding2d,
  Add: merge(() => new nn.Add()),
  Multiply: merge(() => new nn.Multiply()),
  Concatenate: (ctx) => merge((rank) => new nn.Concatenate({ dim: kestrelAxis(ctx.config.axis('axis', -1), rank) }))(ctx),
  MaxPooling2D: pooling('max'),
  MaxPool2D: pooling('max'),
  AveragePooling2D: pooling('avg'),
  AvgPool2D: pooling('avg'),
  GlobalAveragePooling2D: globalPooling('avg'),
  GlobalAvgPool2D: globalPooling('avg'),
  GlobalMaxPooling2D: globalPooling('max'),
  GlobalMaxPool2D: globalPooling('max'),
  Flatten: (ctx) => { ctx.config.channelsLast(); return { module: new KerasFlatten(), weights: [] }; },
  Dense: dense,
  Dropout: (ctx) => ({ module: new nn.Dropout(ctx.config.number('rate')), weights: [] }),
  Reshape: (ctx) => ({ module: new KerasReshape(ctx.config.shape('target_shape')), weights: [] }),
  Rescaling: (ctx) => ({ module: new Rescaling(ctx.config.number('scale'), ctx.config.number('offset', 0)), weights: [] }),
});
