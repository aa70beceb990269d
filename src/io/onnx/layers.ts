/** ONNX emitters of Kestrel's layers (src/nn), eval-mode semantics, opset 17. */
import {
  Add, AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, BatchNorm1d, BatchNorm2d, Concatenate, Conv2d, Dropout, Flatten,
  GlobalAvgPool2d, Hardswish, Identity, LeakyReLU, Linear, MaxPool2d, Multiply, ReLU, ReLU6, Reshape, Sigmoid, SiLU, Softmax, Tanh,
  ZeroPad2d,
} from '../../nn/index.js';
import { attr } from './builder.js';
import type { OnnxValue } from './builder.js';
import { type ExportContext, registerOnnxEmitter } from './context.js';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (Array.isArray(v) ? v : [v, v]);

/** Element-wise ops whose output has the input's shape. */
function unary(opType: string, attributes: Parameters<ExportContext['op']>[3] = {}) {
  return (_m: unknown, [x]: OnnxValue[], ctx: ExportContext) => ctx.op(opType, [x.name], x.shape, attributes);
}

/** Pads of a convolution: explicit per side, PyTorch's 'same' (extra on the bottom/right) or 'valid'. */
function convPads(m: Conv2d): number[] {
  const { padding, dilation } = m.options;
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') {
    const [dh, dw] = pair(dilation);
    const [th, tw] = [dh * (m.kernelSize[0] - 1), dw * (m.kernelSize[1] - 1)];
    return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
  }
  const [ph, pw] = pair(padding);
  return [ph, pw, ph, pw];
}

registerOnnxEmitter(Conv2d, (m, [x], ctx) => {
  const inputs = [x.name, ctx.weight(m.weight, 'weight'), ...(m.bias ? [ctx.weight(m.bias, 'bias')] : [])];
  return ctx.op('Conv', inputs, ctx.outputShape(m, [x]), {
    kernel_shape: attr.ints(m.kernelSize), strides: attr.ints(pair(m.options.stride)), pads: attr.ints(convPads(m)),
    dilations: attr.ints(pair(m.options.dilation)), group: attr.int(m.options.groups),
  });
});

registerOnnxEmitter(Linear, (m, [x], ctx) => {
  const shape = [...x.shape.slice(0, -1), m.outFeatures];
  if (x.shape.length === 2) {
    const inputs = [x.name, ctx.weight(m.weight, 'weight'), ...(m.bias ? [ctx.weight(m.bias, 'bias')] : [])];
    return ctx.op('Gemm', inputs, shape, { transB: attr.int(1) });
  }
  // NOTE: Gemm is 2-D only; other ranks use MatMul with the transposed weight (+ bias).
  const transposed = ctx.builder.constant(ctx.label('weight_t'), [m.inFeatures, m.outFeatures], transpose(m.weight.toArray() as Float32Array, m.outFeatures, m.inFeatures));
  const product = ctx.op('MatMul', [x.name, transposed], shape, {}, 'matmul');
  return m.bias ? ctx.op('Add', [product.name, ctx.weight(m.bias, 'bias')], shape, {}, 'bias_add') : product;
});

function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

const batchNorm = (m: BatchNorm1d | BatchNorm2d, [x]: OnnxValue[], ctx: ExportContext): OnnxValue => {
  if (!m.running_mean || !m.running_var) throw new Error(`ONNX export: layer '${ctx.label()}' (${m.constructor.name}) keeps no running statistics; eval-mode export needs them`);
  const ones = (n: number) => ctx.builder.constant(ctx.label('ones'), [n], new Float32Array(n).fill(1));
  const zeros = (n: number) => ctx.builder.constant(ctx.label('zeros'), [n], new Float32Array(n));
  const scale = m.weight ? ctx.weight(m.weight, 'weight') : ones(m.numFeatures);
  const bias = m.bias ? ctx.weight(m.bias, 'bias') : zeros(m.numFeatures);
  const inputs = [x.name, scale, bias, ctx.weight(m.running_mean, 'running_mean'), ctx.weight(m.running_var, 'running_var')];
  return ctx.op('BatchNormalization', inputs, x.shape, { epsilon: attr.float(m.eps) });
};
registerOnnxEmitter(BatchNorm1d, batchNorm);
registerOnnxEmitter(BatchNorm2d, batchNorm);

registerOnnxEmitter(ReLU, unary('Relu'));
registerOnnxEmitter(Sigmoid, unary('Sigmoid'));
registerOnnxEmitter(Tanh, unary('Tanh'));
registerOnnxEmitter(Hardswish, unary('HardSwish'));
registerOnnxEmitter(LeakyReLU, (m, [x], ctx) => ctx.op('LeakyRelu', [x.name], x.shape, { alpha: attr.float(m.negativeSlope) }));
registerOnnxEmitter(Softmax, (m, [x], ctx) => ctx.op('Softmax', [x.name], x.shape, { axis: attr.int(m.dim) }));
registerOnnxEmitter(ReLU6, (_m, [x], ctx) => {
  const bounds = [ctx.builder.constant(ctx.label('min'), [], Float32Array.of(0)), ctx.builder.constant(ctx.label('max'), [], Float32Array.of(6))];
  return ctx.op('Clip', [x.name, ...bounds], x.shape);
});
registerOnnxEmitter(SiLU, (_m, [x], ctx) => {
  const gate = ctx.op('Sigmoid', [x.name], x.shape, {}, 'sigmoid');
  return ctx.op('Mul', [x.name, gate.name], x.shape);
});
registerOnnxEmitter(Identity, (_m, [x]) => x);
registerOnnxEmitter(Dropout, (_m, [x]) => x);

registerOnnxEmitter(MaxPool2d, (m, [x], ctx) => {
  const [ph, pw] = pair(m.options.padding ?? 0);
  return ctx.op('MaxPool', [x.name], ctx.outputShape(m, [x]), {
    kernel_shape: attr.ints(pair(m.kernelSize)), strides: attr.ints(pair(m.options.stride ?? m.kernelSize)), pads: attr.ints([ph, pw, ph, pw]),
    dilations: attr.ints(pair(m.options.dilation ?? 1)), ceil_mode: attr.int(m.options.ceilMode ? 1 : 0),
  });
});

registerOnnxEmitter(AvgPool2d, (m, [x], ctx) => {
  const [ph, pw] = pair(m.options.padding ?? 0);
  return ctx.op('AveragePool', [x.name], ctx.outputShape(m, [x]), {
    kernel_shape: attr.ints(pair(m.kernelSize)), strides: attr.ints(pair(m.options.stride ?? m.kernelSize)), pads: attr.ints([ph, pw, ph, pw]),
    ceil_mode: attr.int(m.options.ceilMode ? 1 : 0), count_include_pad: attr.int(m.options.countIncludePad ?? true ? 1 : 0),
  });
});

/**
 * Adaptive pooling of `x` to `size` (layer `layer`, named in errors): global when the output is 1x1, else a
 * fixed pool when the input divides evenly. Shared with the fine-tuning head's AdaptiveConcatPool2d.
 */
export function adaptivePool(kind: 'Average' | 'Max', size: Pair, x: OnnxValue, ctx: ExportContext, layer: string, suffix?: string): OnnxValue {
  const [oh, ow] = pair(size);
  const shape = [x.shape[0], x.shape[1], oh, ow];
  if (oh === 1 && ow === 1) return ctx.op(`Global${kind}Pool`, [x.name], shape, {}, suffix);
  const [h, w] = [x.shape[2], x.shape[3]];
  if (h === null || w === null || h % oh !== 0 || w % ow !== 0) {
    throw new Error(`ONNX export: layer '${ctx.label()}' (${layer}) pools ${h}x${w} to ${oh}x${ow}, which ONNX can express only when the sizes divide evenly`);
  }
  return ctx.op(`${kind}Pool`, [x.name], shape, { kernel_shape: attr.ints([h / oh, w / ow]), strides: attr.ints([h / oh, w / ow]) }, suffix);
}
registerOnnxEmitter(AdaptiveAvgPool2d, (m, [x], ctx) => adaptivePool('Average', m.outputSize, x, ctx, m.constructor.name));
registerOnnxEmitter(AdaptiveMaxPool2d, (m, [x], ctx) => adaptivePool('Max', m.outputSize, x, ctx, m.constructor.name));

registerOnnxEmitter(GlobalAvgPool2d, (m, [x], ctx) => {
  const pooled = ctx.op('GlobalAveragePool', [x.name], [x.shape[0], x.shape[1], 1, 1], {}, 'pool');
  if (m.options.keepDim) return pooled;
  return ctx.op('Flatten', [pooled.name], [x.shape[0], x.shape[1]], { axis: attr.int(1) });
});

registerOnnxEmitter(Flatten, (m, [x], ctx) => {
  const shape = ctx.outputShape(m, [x]);
  const rank = x.shape.length;
  const end = m.endDim < 0 ? rank + m.endDim : m.endDim;
  if (m.startDim === 1 && end === rank - 1) return ctx.op('Flatten', [x.name], shape, { axis: attr.int(1) });
  if (shape.slice(1).some((d) => d === null)) throw new Error(`ONNX export: layer '${ctx.label()}' (Flatten ${m.startDim}..${m.endDim}) needs fixed sizes`);
  return ctx.op('Reshape', [x.name, ctx.builder.int64s(ctx.label('shape'), [0, ...(shape.slice(1) as number[])])], shape);
});

registerOnnxEmitter(Reshape, (m, [x], ctx) => {
  // NOTE: 0 copies the batch size from the input, so the batch stays dynamic.
  return ctx.op('Reshape', [x.name, ctx.builder.int64s(ctx.label('shape'), [0, ...m.shape])], ctx.outputShape(m, [x]));
});

registerOnnxEmitter(ZeroPad2d, (m, [x], ctx) => {
  const [left, right, top, bottom] = m.padding;
  if (m.padding.some((p) => p < 0)) throw new Error(`ONNX export: layer '${ctx.label()}' (ZeroPad2d) crops (negative padding); not exported`);
  const pads = ctx.builder.int64s(ctx.label('pads'), [0, 0, top, left, 0, 0, bottom, right]);
  return ctx.op('Pad', [x.name, pads], ctx.outputShape(m, [x]), { mode: attr.string('constant') });
});

registerOnnxEmitter(Add, (_m, xs, ctx) => xs.slice(1).reduce((sum, x, i) => ctx.op('Add', [sum.name, x.name], sum.shape, {}, i === xs.length - 2 ? undefined : `add${i}`), xs[0]));
registerOnnxEmitter(Multiply, (_m, xs, ctx) => xs.slice(1).reduce((prod, x, i) => ctx.op('Mul', [prod.name, x.name], prod.shape, {}, i === xs.length - 2 ? undefined : `mul${i}`), xs[0]));
registerOnnxEmitter(Concatenate, (m, xs, ctx) => ctx.op('Concat', xs.map((x) => x.name), ctx.outputShape(m, xs), { axis: attr.int(m.dim) }));
